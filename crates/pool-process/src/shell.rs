//! The pipe shell: carries the dispatcher's effects out with local processes and pipes.
//!
//! # Threads and locks
//! One mutex guards the [`Dispatcher`] and the map from worker ids to their descriptors. No
//! I/O and no user code runs under it: a transition's [`Effects`] are carried out after the
//! lock is released ([`Inner::carry_out`]).
//!
//! - A **monitor** thread per worker process spawns it (Linux ties the parent-death signal to
//!   the forking thread, so the monitor lives until its worker is reaped), does the
//!   handshake, reads replies, and learns the worker's end from the process itself: it polls
//!   the reply pipe, a pidfd and a wake-up eventfd together, so a grandchild that holds the
//!   pipe open cannot hide an exit, and reaps through the pidfd.
//! - **Writers**: whichever thread receives [`Effect::Flush`] writes that worker's outbox
//!   (R4); the pipe is non-blocking and a writer waits in `poll` on the pipe and the pidfd,
//!   so a dead worker never leaves a writer stuck.
//! - The **delivery** thread runs done-callbacks. Replies are decoded and their futures
//!   completed on the monitor (waking blocked and async waiters at once), but the callbacks
//!   (`Promise::set_result_deferred`) run here: a callback that waits for another future of
//!   the same worker does not stop its replies from being read. A future without callbacks
//!   never touches this thread.

use std::cell::Cell;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cfutures_core::{Error, Future, Promise};

use crate::delivery::Delivery;
use crate::dispatch::{
    Body, Deadline, Dispatcher, Effect, Effects, End, EndCause, Outbox, Policy, Reply, Signal,
    TERMINATE_GRACE, Task, WorkerId,
};
use crate::identity::build_id;
use crate::job::{Callbacks, Job, failure_error, unsent};
use crate::spawn::{self, Spawned};
use crate::wire::{
    self, Call, Failure, FrameError, FrameReader, Hello, PROTOCOL_VERSION, REPLY_HEADER, Ready,
    kind,
};

/// An outbox buffer larger than this is not kept for reuse (a 100 MiB argument must not stay
/// resident until the pool is dropped).
const KEEP_BUFFER: usize = 1 << 20;
/// An outbox at least this large is written by a thread of its own, so `submit` (or a
/// monitor) never waits while a worker reads a large argument.
const BACKGROUND_WRITE: usize = 1 << 20;
/// How long a worker that closed its reply pipe may take to exit before it is killed.
const EOF_GRACE: Duration = Duration::from_secs(2);

/// The pool's fixed settings.
pub(crate) struct Config {
    pub(crate) max_workers: usize,
    pub(crate) max_tasks_per_child: Option<usize>,
    pub(crate) initializer: Option<(Call, Vec<u8>)>,
    pub(crate) max_frame: usize,
    /// The time limit of a task submitted without one of its own (R15).
    pub(crate) task_timeout: Option<Duration>,
}

type Machine = Dispatcher<Box<dyn Job>>;

/// A started worker's descriptors.
struct WorkerIo {
    pid: u32,
    pidfd: OwnedFd,
    to_worker: File,
    /// Written to wake the monitor (its timer changed).
    wake: OwnedFd,
    /// When the monitor must call `timer_expired` (a copy of `timer_of`, R13).
    timer: Mutex<Option<Instant>>,
}

struct Locked {
    machine: Machine,
    io: HashMap<WorkerId, Arc<WorkerIo>>,
    monitors: Vec<JoinHandle<()>>,
}

/// Everything a pool's handle and its threads share.
pub(crate) struct Inner {
    locked: Mutex<Locked>,
    /// Signalled when a worker is forgotten (shutdown waits for none to remain).
    gone: Condvar,
    pub(crate) config: Config,
    next_task: AtomicU64,
    delivery: Delivery,
}

thread_local! {
    /// The pool this thread monitors a worker of (its `Inner`'s address), if any.
    static MONITOR_OF: Cell<usize> = const { Cell::new(0) };
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // No transition leaves the machine half-updated across a panic that matters more than
    // refusing all further work would, so keep going.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inner {
    pub(crate) fn new(config: Config) -> Self {
        let policy = Policy {
            max_workers: config.max_workers,
            max_tasks_per_child: config.max_tasks_per_child,
            has_initializer: config.initializer.is_some(),
            terminate_grace: TERMINATE_GRACE,
        };
        Inner {
            locked: Mutex::new(Locked {
                machine: Dispatcher::new(policy),
                io: HashMap::new(),
                monitors: Vec::new(),
            }),
            gone: Condvar::new(),
            config,
            next_task: AtomicU64::new(0),
            delivery: Delivery::default(),
        }
    }

    /// Encodes a task frame and queues it; the future completes with the worker's answer.
    /// `job` wraps the future's promise in the record that decodes the worker's answer.
    /// `encode` appends the argument's encoding, or returns it as a body (then the frame is a
    /// TASK_BODY frame and the body is written from where it lies). `timeout` counts from now
    /// (R15).
    pub(crate) fn submit_encoded<T, E>(
        self: &Arc<Self>,
        call: Call,
        timeout: Option<Duration>,
        encode: E,
        job: fn(Promise<T>) -> Box<dyn Job>,
    ) -> Result<Future<T>, Error>
    where
        E: FnOnce(&mut Vec<u8>) -> Result<Option<Body>, String>,
    {
        let deadline = timeout.and_then(|after| Deadline::after(Instant::now(), after));
        let id = self.next_task.fetch_add(1, Ordering::Relaxed);
        let mut frame = Vec::with_capacity(64);
        let start = wire::begin_task_frame(&mut frame, id, call);
        let body = match encode(&mut frame) {
            Ok(body) => body,
            Err(e) => {
                let error = Error::Serialization(format!("cannot encode the argument: {e}"));
                return unsent(&lock(&self.locked).machine, error);
            }
        };
        let carried = body.as_ref().map(|body| (kind::TASK_BODY, body));
        if let Err(len) =
            wire::end_frame_carrying(&mut frame, start, carried, self.config.max_frame)
        {
            let error = Error::Serialization(format!(
                "the argument takes {len} bytes, more than the frame limit of {} bytes",
                self.config.max_frame
            ));
            return unsent(&lock(&self.locked).machine, error);
        }
        let (promise, future) = Promise::new();
        let task = Task {
            id,
            frame,
            body: body.map(Arc::new),
            job: job(promise),
            claimed: false,
            deadline,
        };
        let submitted = lock(&self.locked).machine.submit(task);
        match submitted {
            Ok(fx) => {
                self.carry_out(fx);
                Ok(future)
            }
            // Dropped outside the lock: the future was never handed out.
            Err((error, task)) => {
                drop(task);
                Err(error)
            }
        }
    }

    /// Carries out a transition's effects, in order. Never called under the lock.
    fn carry_out(self: &Arc<Self>, fx: Effects<Box<dyn Job>>) {
        let mut callbacks: Vec<Callbacks> = Vec::new();
        for effect in fx {
            match effect {
                Effect::Spawn(id) => self.start_monitor(id),
                Effect::Flush(id) => self.flush(id),
                Effect::Signal(id, how) => {
                    let io = lock(&self.locked).io.get(&id).cloned();
                    if let Some(io) = io {
                        send_signal(&io, how);
                    }
                }
                Effect::Rearm(id) => {
                    let (io, timer) = {
                        let st = lock(&self.locked);
                        (st.io.get(&id).cloned(), st.machine.timer_of(id))
                    };
                    if let Some(io) = io {
                        *lock(&io.timer) = timer;
                        wake(io.wake.as_fd());
                    }
                }
                Effect::Fail(job, error) => callbacks.extend(job.settle(Err(error))),
                Effect::Cancel(job) => job.cancel(),
                Effect::Discard(job) => drop(job),
                Effect::Forget(id) => {
                    lock(&self.locked).io.remove(&id);
                    self.gone.notify_all();
                }
            }
        }
        self.delivery.deliver(callbacks);
    }

    /// Starts the monitor thread of a new worker (R2, R9).
    fn start_monitor(self: &Arc<Self>, id: WorkerId) {
        let inner = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name(format!("cfutures-process-monitor-{}", id.0))
            .spawn(move || monitor(inner, id));
        match spawned {
            Ok(handle) => {
                let mut st = lock(&self.locked);
                st.monitors.retain(|h| !h.is_finished());
                st.monitors.push(handle);
            }
            Err(e) => {
                let fx = lock(&self.locked).machine.spawn_failed(id, &e);
                self.carry_out(fx);
            }
        }
    }

    /// Writes `id`'s outbox until it stays empty (R4). A large outbox is handed, with the
    /// writer's role, to a thread of its own.
    fn flush(self: &Arc<Self>, id: WorkerId) {
        self.flush_from(id, Outbox::default(), false);
    }

    fn flush_from(self: &Arc<Self>, id: WorkerId, mut spare: Outbox, background: bool) {
        loop {
            let (outbox, io) = {
                let mut st = lock(&self.locked);
                match st.machine.take_outbox_vectored(id, spare) {
                    Some(outbox) => (outbox, st.io.get(&id).cloned()),
                    None => return,
                }
            };
            if !background && outbox.len() >= BACKGROUND_WRITE {
                let inner = Arc::clone(self);
                let writer = std::thread::Builder::new()
                    .name("cfutures-writer".into())
                    .spawn(move || {
                        let written = io.is_some_and(|io| write_watched(&io, &outbox));
                        if !written {
                            let fx = lock(&inner.locked).machine.write_failed(id);
                            inner.carry_out(fx);
                        }
                        // Its bodies go now, not when the next writer reuses the buffer.
                        drop(outbox);
                        inner.flush_from(id, Outbox::default(), true);
                    });
                if writer.is_err() {
                    // No thread for it (the buffer went with the closure): R14, the worker
                    // is killed and R7 resends what it had not started.
                    let fx = lock(&self.locked).machine.write_failed(id);
                    self.carry_out(fx);
                    spare = Outbox::default();
                    continue;
                }
                return;
            }
            let written = io.is_some_and(|io| write_watched(&io, &outbox));
            if !written {
                // R14
                let fx = lock(&self.locked).machine.write_failed(id);
                self.carry_out(fx);
            }
            spare = if outbox.capacity() > KEEP_BUFFER {
                Outbox::default()
            } else {
                let mut outbox = outbox;
                outbox.clear();
                outbox
            };
        }
    }

    /// Python's `shutdown(wait, cancel_futures)`.
    pub(crate) fn shutdown(self: &Arc<Self>, wait: bool, cancel_futures: bool) {
        let fx = lock(&self.locked).machine.shutdown(cancel_futures);
        self.carry_out(fx);
        if wait && !self.is_monitor() {
            let handles = {
                let mut st = lock(&self.locked);
                while st.machine.worker_count() > 0 {
                    st = self.gone.wait(st).unwrap_or_else(|e| e.into_inner());
                }
                std::mem::take(&mut st.monitors)
            };
            for handle in handles {
                let _ = handle.join();
            }
            // Every future is completed; wait until their done-callbacks have run too.
            self.delivery.fence();
        }
    }

    /// Python 3.14's `terminate_workers` / `kill_workers` (R12).
    pub(crate) fn terminate(self: &Arc<Self>, how: Signal) {
        let fx = lock(&self.locked).machine.terminate(how, Instant::now());
        self.carry_out(fx);
    }

    fn is_monitor(&self) -> bool {
        MONITOR_OF.with(|m| m.get() == self as *const Inner as usize)
    }

    /// Number of workers (starting, serving or stopping).
    pub(crate) fn worker_count(&self) -> usize {
        lock(&self.locked).machine.worker_count()
    }

    /// Pids of the current worker processes.
    pub(crate) fn worker_pids(&self) -> Vec<u32> {
        let st = lock(&self.locked);
        let mut pids: Vec<u32> = st.io.values().map(|io| io.pid).collect();
        pids.sort_unstable();
        pids
    }
}

fn send_signal(io: &WorkerIo, how: Signal) {
    match how {
        Signal::Terminate => {
            spawn::signal(io.pidfd.as_fd(), libc::SIGTERM);
            // A stopped process keeps SIGTERM pending until it continues.
            spawn::signal(io.pidfd.as_fd(), libc::SIGCONT);
        }
        Signal::Kill => spawn::signal(io.pidfd.as_fd(), libc::SIGKILL),
    }
}

fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: eventfd takes an initial value and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a new descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn wake(fd: BorrowedFd<'_>) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a live u64 to an eventfd we own.
    unsafe { libc::write(fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
}

fn drain_wake(fd: BorrowedFd<'_>) {
    let mut value: u64 = 0;
    // SAFETY: reads 8 bytes into a live u64 from a non-blocking eventfd we own.
    unsafe { libc::read(fd.as_raw_fd(), (&mut value as *mut u64).cast(), 8) };
}

/// Waits until one of `fds` is ready for `events`, or `deadline`; returns their `revents`.
fn poll(fds: &[(BorrowedFd<'_>, i16)], deadline: Option<Instant>) -> [i16; 3] {
    let mut pfds = [libc::pollfd {
        fd: -1,
        events: 0,
        revents: 0,
    }; 3];
    let pfds = &mut pfds[..fds.len()];
    for (pfd, (fd, events)) in pfds.iter_mut().zip(fds) {
        pfd.fd = fd.as_raw_fd();
        pfd.events = *events;
    }
    let timeout = deadline.map_or(-1, |at| {
        let left = at.saturating_duration_since(Instant::now());
        // Round up so a timer never fires early.
        left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
    });
    // SAFETY: `pfds` is a valid array of pollfd for its length.
    let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout) };
    let mut out = [0; 3];
    if n > 0 {
        for (slot, pfd) in out.iter_mut().zip(pfds.iter()) {
            *slot = pfd.revents;
        }
    }
    out
}

/// Writes all of `outbox` to the worker, waiting while its pipe is full; false if the worker
/// died or its pipe broke first.
fn write_watched(io: &WorkerIo, outbox: &Outbox) -> bool {
    wire::write_all_vectored(&mut WatchedWriter(io), &mut outbox.slices()).is_ok()
}

/// The pipe to a worker as a blocking `Write`: waits in `poll` on the pipe and the pidfd, so
/// a dead worker fails the write instead of leaving it stuck.
struct WatchedWriter<'a>(&'a WorkerIo);

impl Write for WatchedWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[io::IoSlice::new(bytes)])
    }

    fn write_vectored(&mut self, slices: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let io = self.0;
        loop {
            match (&io.to_worker).write_vectored(slices) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let ready = poll(
                        &[
                            (io.to_worker.as_fd(), libc::POLLOUT),
                            (io.pidfd.as_fd(), libc::POLLIN),
                        ],
                        None,
                    );
                    if ready[1] != 0 {
                        return Err(io::ErrorKind::BrokenPipe.into());
                    }
                }
                other => return other,
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What reading the worker's pipe turned up besides bytes.
#[derive(Default)]
struct Seen {
    /// The process has exited (its pidfd became readable).
    exited: bool,
    /// The reply pipe ended while the process was alive.
    closed: bool,
}

/// The reply pipe as a blocking `Read`: waits in `poll` on the pipe, the pidfd and the wake-up
/// eventfd. A process exit reads as end of file once the pipe holds nothing more (a
/// grandchild may keep it open for ever); a wake-up or a due timer reads as `TimedOut`.
struct Watched<'a> {
    pipe: &'a File,
    io: &'a WorkerIo,
    seen: &'a Cell<Seen>,
}

impl Watched<'_> {
    fn exited(&self) -> bool {
        let seen = self.seen.take();
        let exited = seen.exited;
        self.seen.set(seen);
        exited
    }
}

impl Read for Watched<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            // Read first: a monitor usually finds replies waiting (measured: polling first,
            // when the last read came short, made P1 slower).
            match (&*self.pipe).read(buf) {
                Ok(0) => {
                    let mut seen = self.seen.take();
                    if !seen.exited {
                        seen.closed = true;
                    }
                    self.seen.set(seen);
                    return Ok(0);
                }
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.exited() {
                        return Ok(0);
                    }
                    let timer = *lock(&self.io.timer);
                    if timer.is_some_and(|at| at <= Instant::now()) {
                        return Err(io::ErrorKind::TimedOut.into());
                    }
                    let ready = poll(
                        &[
                            (self.pipe.as_fd(), libc::POLLIN),
                            (self.io.pidfd.as_fd(), libc::POLLIN),
                            (self.io.wake.as_fd(), libc::POLLIN),
                        ],
                        timer,
                    );
                    if ready[1] != 0 {
                        let mut seen = self.seen.take();
                        seen.exited = true;
                        self.seen.set(seen);
                        // Read what it wrote before exiting; then the exit reads as the end.
                    }
                    if ready[2] != 0 {
                        drain_wake(self.io.wake.as_fd());
                        return Err(io::ErrorKind::TimedOut.into());
                    }
                    if ready == [0; 3] {
                        return Err(io::ErrorKind::TimedOut.into());
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// A worker's monitor thread: spawns it, serves it, reaps it, reports its end.
fn monitor(inner: Arc<Inner>, id: WorkerId) {
    MONITOR_OF.with(|m| m.set(Arc::as_ptr(&inner) as usize));
    let spawned =
        eventfd().and_then(|wake| Ok((wake, spawn::spawn_worker(inner.config.max_frame)?)));
    let (wake, spawned) = match spawned {
        Ok(both) => both,
        Err(e) => {
            let fx = lock(&inner.locked).machine.spawn_failed(id, &e);
            inner.carry_out(fx);
            return;
        }
    };
    let Spawned {
        pid,
        pidfd,
        to_worker,
        from_worker,
        capacity,
        started,
    } = spawned;
    let io = Arc::new(WorkerIo {
        pid,
        pidfd,
        to_worker,
        wake,
        timer: Mutex::new(None),
    });
    let fx = {
        let mut st = lock(&inner.locked);
        st.io.insert(id, Arc::clone(&io));
        // The queue's deadlines may already concern it (R15).
        *lock(&io.timer) = st.machine.timer_of(id);
        st.machine.started(id, capacity, Instant::now())
    };
    inner.carry_out(fx);

    let seen = Cell::new(Seen::default());
    let mut session = Session {
        inner: &inner,
        id,
        io: &io,
        reader: FrameReader::new(
            Watched {
                pipe: &from_worker,
                io: &io,
                seen: &seen,
            },
            inner.config.max_frame,
        ),
        last_words: None,
    };
    let cause = match session.handshake() {
        Ok(()) => {
            let fx = lock(&inner.locked).machine.ready(id);
            inner.carry_out(fx);
            session.serve()
        }
        Err(cause) => cause,
    };
    let last_words = session.last_words.take();
    drop(session);

    if matches!(cause, EndCause::Protocol(_) | EndCause::Startup(Some(_))) {
        // Not our protocol (any more), or refused to serve: nothing it says can be trusted,
        // and it might not exit by itself.
        send_signal(&io, Signal::Kill);
    }
    let state = seen.take();
    if !state.exited {
        // It closed its reply pipe (or broke the protocol) but may live on: give it a moment
        // to exit, then make sure.
        let exited = poll(
            &[(io.pidfd.as_fd(), libc::POLLIN)],
            Some(Instant::now() + EOF_GRACE),
        )[0] != 0;
        if !exited {
            send_signal(&io, Signal::Kill);
            poll(&[(io.pidfd.as_fd(), libc::POLLIN)], None);
        }
    }
    let reason = spawn::reap(io.pidfd.as_fd());
    // Reaped: the worker's last store to the counter is visible now.
    let end = End {
        pid,
        reason,
        cause,
        started: started.as_ref().map(|c| c.load()),
        last_words,
    };
    let fx = lock(&inner.locked).machine.ended(id, end);
    inner.carry_out(fx);
}

/// One worker's service, from handshake to end.
struct Session<'a> {
    inner: &'a Arc<Inner>,
    id: WorkerId,
    io: &'a WorkerIo,
    reader: FrameReader<Watched<'a>>,
    last_words: Option<(u64, Error)>,
}

impl Session<'_> {
    /// Reads into the buffer; `Ok(false)` at the worker's end. Timers are handled here.
    fn fill(&mut self) -> Result<bool, EndCause> {
        loop {
            match self.reader.fill() {
                Ok(more) => return Ok(more),
                Err(FrameError::Truncated) => return Ok(false),
                Err(FrameError::Io(e)) if e.kind() == io::ErrorKind::TimedOut => {
                    let fx = lock(&self.inner.locked)
                        .machine
                        .timer_expired(self.id, Instant::now());
                    let timer = lock(&self.inner.locked).machine.timer_of(self.id);
                    *lock(&self.io.timer) = timer;
                    self.inner.carry_out(fx);
                }
                Err(e) => return Err(EndCause::Protocol(e.to_string())),
            }
        }
    }

    /// Sends the hello and waits for the worker's answer.
    fn handshake(&mut self) -> Result<(), EndCause> {
        let config = &self.inner.config;
        let hello = Hello {
            protocol: PROTOCOL_VERSION,
            build: build_id().clone(),
            max_frame: config.max_frame as u32,
            initializer: config.initializer.clone(),
        };
        let mut bytes = Vec::new();
        wire::push_message(&mut bytes, kind::HELLO, &hello, usize::MAX)
            .map_err(|e| EndCause::Startup(Some(format!("cannot encode the handshake: {e}"))))?;
        // A worker that died at once makes this fail; reading below then reports it.
        let _ = write_watched(self.io, &Outbox::from(bytes));
        let frame = loop {
            match self.reader.parse() {
                Ok(Some(frame)) => break frame,
                Ok(None) => {}
                Err(e) => return Err(EndCause::Startup(Some(format!("bad handshake reply: {e}")))),
            }
            match self.fill() {
                Ok(true) => {}
                Ok(false) | Err(EndCause::Protocol(_)) => return Err(EndCause::Startup(None)),
                Err(other) => return Err(other),
            }
        };
        let payload = self.reader.bytes(frame.payload);
        match frame.kind {
            kind::READY => match wire::decode::<Ready>(payload) {
                Ok(ready) if ready.protocol == PROTOCOL_VERSION && &ready.build == build_id() => {
                    Ok(())
                }
                Ok(ready) => Err(EndCause::Startup(Some(format!(
                    "the worker runs another build or protocol ({:?}, protocol {})",
                    ready.build, ready.protocol
                )))),
                Err(e) => Err(EndCause::Startup(Some(format!(
                    "unreadable handshake reply: {e}"
                )))),
            },
            kind::REJECTED => Err(EndCause::Startup(Some(format!(
                "the worker refused the handshake: {}",
                wire::decode::<String>(payload).unwrap_or_else(|e| e)
            )))),
            kind::INIT_FAILED => {
                let why = match wire::decode::<Failure>(payload) {
                    Ok(failure) => failure_error(failure).to_string(),
                    Err(e) => format!("(unreadable failure: {e})"),
                };
                Err(EndCause::Startup(Some(format!(
                    "a worker's initializer failed: {why}"
                ))))
            }
            other => Err(EndCause::Startup(Some(format!(
                "unexpected handshake reply of kind {other}"
            )))),
        }
    }

    /// Reads replies until the worker ends or breaks the protocol (R6).
    fn serve(&mut self) -> EndCause {
        let mut frames = Vec::new();
        let mut replies = Vec::new();
        loop {
            match self.fill() {
                Ok(true) => {}
                Ok(false) => return EndCause::Exited,
                Err(cause) => return cause,
            }
            let mut broken: Option<String> = None;
            frames.clear();
            replies.clear();
            loop {
                match self.reader.parse() {
                    Ok(Some(frame)) => {
                        let payload = self.reader.bytes(frame.payload.clone());
                        match (frame.kind, wire::split_words::<2>(payload)) {
                            (
                                kind::DONE | kind::FAILED | kind::DONE_BODY,
                                Some(([task, elapsed_ns], _)),
                            ) => {
                                replies.push(Reply { task, elapsed_ns });
                                frames.push(frame);
                            }
                            (kind::LAST_WORDS, _) => {
                                if let Some(([task], body)) = wire::split_words::<1>(payload)
                                    && let Ok(failure) = wire::decode::<Failure>(body)
                                {
                                    self.last_words = Some((task, failure_error(failure)));
                                }
                            }
                            _ => {
                                broken =
                                    Some(format!("unexpected reply frame of kind {}", frame.kind));
                                break;
                            }
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        broken = Some(e.to_string());
                        break;
                    }
                }
            }
            let replied = lock(&self.inner.locked).machine.replied(self.id, &replies);
            self.inner.carry_out(replied.effects);
            let mut callbacks = Vec::new();
            for (job, frame) in replied.jobs.into_iter().zip(frames.drain(..)) {
                if let Some(body) = frame.body {
                    callbacks.extend(job.settle_body(body));
                    continue;
                }
                let body = &self.reader.bytes(frame.payload.clone())[REPLY_HEADER..];
                let outcome = if frame.kind == kind::DONE {
                    Ok(body)
                } else {
                    Err(match wire::decode::<Failure>(body) {
                        Ok(failure) => failure_error(failure),
                        Err(e) => Error::Serialization(format!("unreadable task failure: {e}")),
                    })
                };
                callbacks.extend(job.settle(outcome));
            }
            self.inner.delivery.deliver(callbacks);
            if let Some(why) = broken.or(replied.protocol_error) {
                return EndCause::Protocol(why);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use cfutures_core::ExitReason;

    use super::*;

    /// Starts a real worker (this test binary re-executed), sends `hello` the way the shell
    /// does, returns the kind and payload of its answer and how it exited (after a STOP frame,
    /// if it is still serving).
    fn handshake_with(hello: &Hello) -> (u8, Vec<u8>, ExitReason) {
        let Spawned {
            pid,
            pidfd,
            to_worker,
            from_worker,
            ..
        } = spawn::spawn_worker(1 << 20).unwrap();
        let io = WorkerIo {
            pid,
            pidfd,
            to_worker,
            wake: eventfd().unwrap(),
            timer: Mutex::new(None),
        };
        let mut bytes = Vec::new();
        wire::push_message(&mut bytes, kind::HELLO, hello, usize::MAX).unwrap();
        assert!(write_watched(&io, &Outbox::from(bytes)));
        let seen = Cell::new(Seen::default());
        let watched = Watched {
            pipe: &from_worker,
            io: &io,
            seen: &seen,
        };
        let mut reader = FrameReader::new(watched, 1 << 20);
        let frame = reader.next_frame().unwrap().expect("an answer");
        let payload = reader.bytes(frame.payload).to_vec();
        let mut stop = Vec::new();
        wire::push_stop(&mut stop);
        // A worker that refused has exited already; then this write fails, which is fine.
        let _ = write_watched(&io, &Outbox::from(stop));
        (frame.kind, payload, spawn::reap(io.pidfd.as_fd()))
    }

    fn good_hello() -> Hello {
        Hello {
            protocol: PROTOCOL_VERSION,
            build: build_id().clone(),
            max_frame: 1 << 20,
            initializer: None,
        }
    }

    #[test]
    fn a_worker_answers_a_good_handshake_and_exits_on_stop() {
        let (kind, payload, exit) = handshake_with(&good_hello());
        assert_eq!(kind, kind::READY);
        let ready: Ready = wire::decode(&payload).unwrap();
        assert_eq!(&ready.build, build_id());
        assert_eq!(ready.protocol, PROTOCOL_VERSION);
        assert_eq!(exit, ExitReason::Code(0));
    }

    #[test]
    fn a_worker_refuses_another_build() {
        let mut hello = good_hello();
        hello.build.exe[1] ^= 1; // another inode
        let (kind, payload, exit) = handshake_with(&hello);
        assert_eq!(kind, kind::REJECTED);
        let why: String = wire::decode(&payload).unwrap();
        assert!(why.contains("not the parent's build"), "{why}");
        assert_eq!(exit, ExitReason::Code(70));

        let mut hello = good_hello();
        hello.build.layout += 16; // another code layout
        assert_eq!(handshake_with(&hello).0, kind::REJECTED);
    }

    #[test]
    fn a_worker_refuses_another_protocol_version() {
        let mut hello = good_hello();
        hello.protocol += 1;
        let (kind, payload, exit) = handshake_with(&hello);
        assert_eq!(kind, kind::REJECTED);
        let why: String = wire::decode(&payload).unwrap();
        assert!(why.contains("protocol"), "{why}");
        assert_eq!(exit, ExitReason::Code(70));
    }
}
