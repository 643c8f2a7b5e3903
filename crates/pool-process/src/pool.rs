//! The parent's shared bookkeeping: the queue, the worker slots, dispatch and shutdown.
//!
//! # Threads and locks
//! One mutex guards [`State`]. No I/O and no user code (done-callbacks run when a future
//! completes) ever happens under it: work moves between the queue and a worker's in-flight
//! list under the lock, and the bytes are written and the futures completed after it is
//! released.
//!
//! Each worker has a *monitor* thread (`monitor.rs`) that starts the process, reads its
//! replies, reaps it and starts its replacement. Writing to a worker is done by whichever
//! thread appended to its outbox when nobody else was writing (a submitter or the monitor):
//! that thread drains the outbox, so bursts of tasks leave in one `write`.
//!
//! # The byte bound
//! A worker runs one task at a time and reads the next only after replying. If the parent
//! could block writing to a busy worker, and that writer were its monitor, the worker could in
//! turn block writing a reply nobody reads: a deadlock. So a worker is given a task only while
//! the bytes sent to it and not yet answered fit in its pipe buffer (or it has nothing in
//! flight, when it is about to read anyway). A write to a worker therefore never waits for the
//! worker to finish a task.
//!
//! # How many tasks a worker holds
//! Enough to hide a round trip: a worker reports each task's run time, and the pool keeps
//! `1 + 200 µs / (average run time)` tasks in flight per worker (at most 64). Long tasks are
//! sent one at a time, so no task waits behind another on a busy worker while an idle one
//! could take it; tiny tasks are pipelined deeply.

use std::collections::VecDeque;
use std::io::{PipeWriter, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use cfutures_core::{Error, Future, Promise};

use crate::job::Job;
use crate::spawn;
use crate::wire::{self, Call, kind};

/// Most tasks kept in flight per worker.
const MAX_DEPTH: usize = 64;
/// The round-trip time the pipelining aims to hide, in nanoseconds.
const HIDE_NS: f64 = 200_000.0;

/// The pool's fixed settings.
pub(crate) struct Config {
    pub(crate) max_workers: usize,
    pub(crate) max_tasks_per_child: Option<usize>,
    pub(crate) initializer: Option<(Call, Vec<u8>)>,
    pub(crate) max_frame: usize,
}

/// Everything a pool's handle and its monitor threads share.
pub(crate) struct Inner {
    state: Mutex<State>,
    /// Signalled when a worker slot goes away (shutdown waits for none to remain).
    slot_gone: Condvar,
    pub(crate) config: Config,
    next_id: AtomicU64,
}

/// A task waiting for a worker: its whole frame, ready to send.
pub(crate) struct Work {
    pub(crate) id: u64,
    pub(crate) frame: Vec<u8>,
    pub(crate) job: Box<dyn Job>,
    /// Its future is already marked running: it was sent to a worker that died before
    /// starting it, and is queued again.
    pub(crate) claimed: bool,
}

/// A task sent to a worker and not answered yet. Keeps its frame so it can be sent to
/// another worker if this one dies before starting it.
pub(crate) struct InFlight {
    pub(crate) id: u64,
    pub(crate) frame: Vec<u8>,
    pub(crate) job: Box<dyn Job>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// The process is being started or is doing its handshake.
    Starting,
    /// Serving tasks.
    Ready,
    /// Its pipe was closed: it finishes what it holds and exits.
    Closing,
}

/// One worker process (over its lifetime, a sequence of them: replacements reuse the slot).
pub(crate) struct Slot {
    pub(crate) key: u64,
    /// Counts the processes this slot has had; a writer of an earlier one stops touching the
    /// slot (its outbox and `flushing` belong to the new process).
    epoch: u64,
    /// Set while the process exists and is not reaped, so signalling it is safe.
    pub(crate) pid: Option<u32>,
    pub(crate) phase: Phase,
    pub(crate) writer: Option<Arc<PipeWriter>>,
    /// Frames appended but not yet written.
    outbox: Vec<u8>,
    /// Some thread is writing this slot's outbox.
    flushing: bool,
    pub(crate) in_flight: VecDeque<InFlight>,
    pub(crate) in_flight_bytes: usize,
    /// Tasks sent to the current process (for `max_tasks_per_child`).
    sent: usize,
    /// Replies received from the current process.
    pub(crate) replied: u64,
    /// Bytes the pipe to the worker holds.
    pub(crate) capacity: usize,
}

impl Slot {
    fn new(key: u64, epoch: u64) -> Self {
        Slot {
            key,
            epoch,
            pid: None,
            phase: Phase::Starting,
            writer: None,
            outbox: Vec::new(),
            flushing: false,
            in_flight: VecDeque::new(),
            in_flight_bytes: 0,
            sent: 0,
            replied: 0,
            capacity: 0,
        }
    }

    fn accepts(&self, bytes: usize, depth: usize, max_tasks: Option<usize>) -> bool {
        self.phase == Phase::Ready
            && self.writer.is_some()
            && self.in_flight.len() < depth
            && (self.in_flight.is_empty() || self.in_flight_bytes + bytes <= self.capacity)
            && max_tasks.is_none_or(|max| self.sent < max)
    }

    /// Resets for a replacement process.
    pub(crate) fn restart(&mut self) {
        *self = Slot::new(self.key, self.epoch + 1);
    }
}

/// The mutable part of the pool.
pub(crate) struct State {
    pub(crate) queue: VecDeque<Work>,
    pub(crate) slots: Vec<Slot>,
    next_key: u64,
    /// Python's idle-worker semaphore: released by each finished task, taken by each
    /// submission; a submission that finds none starts a worker (up to `max_workers`).
    idle_tokens: usize,
    pub(crate) shutdown: bool,
    pub(crate) broken: Option<String>,
    /// The signal `terminate_workers`/`kill_workers` sent; workers are not replaced after it.
    pub(crate) kill_signal: Option<i32>,
    /// Workers in a row that died silently while starting (reset when one becomes ready).
    pub(crate) silent_startup_deaths: u32,
    /// Average task run time reported by the workers, in nanoseconds.
    avg_ns: Option<f64>,
    monitors: Vec<JoinHandle<()>>,
}

impl State {
    pub(crate) fn slot_mut(&mut self, key: u64) -> Option<&mut Slot> {
        self.slots.iter_mut().find(|s| s.key == key)
    }

    fn depth(&self) -> usize {
        match self.avg_ns {
            None => 1,
            Some(ns) => (1.0 + HIDE_NS / ns.max(1.0)).min(MAX_DEPTH as f64) as usize,
        }
    }

    /// Records a task's run time as reported by its worker.
    pub(crate) fn record_run_time(&mut self, ns: u64) {
        let ns = ns as f64;
        self.avg_ns = Some(match self.avg_ns {
            None => ns,
            Some(avg) => avg * 0.8 + ns * 0.2,
        });
    }

    /// Releases idle tokens for `finished` tasks.
    pub(crate) fn release_idle(&mut self, finished: usize) {
        self.idle_tokens = (self.idle_tokens + finished).min(self.slots.len());
    }

    /// Whether the worker in `slot` has nothing more to do and should be told to exit.
    fn should_close(&self, slot: &Slot, max_tasks: Option<usize>) -> bool {
        slot.phase == Phase::Ready
            && slot.in_flight.is_empty()
            && (max_tasks.is_some_and(|max| slot.sent >= max)
                || ((self.shutdown || self.broken.is_some()) && self.queue.is_empty()))
    }
}

/// Work taken out under the lock, to be finished after it is released.
#[derive(Default)]
pub(crate) struct Deferred {
    /// Slots (and their epochs) whose outbox this thread must write.
    pub(crate) flush: Vec<(u64, u64)>,
    /// Jobs to drop outside the lock (cancelled before they were sent).
    pub(crate) garbage: Vec<Box<dyn Job>>,
    /// Jobs to fail, with the error.
    pub(crate) failed: Vec<(Box<dyn Job>, Error)>,
}

impl Inner {
    pub(crate) fn new(config: Config) -> Self {
        Inner {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                slots: Vec::new(),
                next_key: 0,
                idle_tokens: 0,
                shutdown: false,
                broken: None,
                kill_signal: None,
                silent_startup_deaths: 0,
                avg_ns: None,
                monitors: Vec::new(),
            }),
            slot_gone: Condvar::new(),
            config,
            next_id: AtomicU64::new(0),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-updated in a way that
        // matters more than refusing all further work would, so keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Encodes a task frame and queues it; the future completes with the worker's answer.
    /// `job` wraps the future's promise in the record that decodes the worker's answer.
    pub(crate) fn submit_encoded<T, E>(
        self: &Arc<Self>,
        call: Call,
        encode: E,
        job: fn(Promise<T>) -> Box<dyn Job>,
    ) -> Result<Future<T>, Error>
    where
        E: FnOnce(&mut Vec<u8>) -> postcard::Result<()>,
    {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut frame = Vec::with_capacity(64);
        let start = wire::begin_frame(&mut frame, kind::TASK);
        frame.extend_from_slice(&id.to_le_bytes());
        frame.extend_from_slice(&call.entry.to_le_bytes());
        frame.extend_from_slice(&call.fn_word.to_le_bytes());
        encode(&mut frame)
            .map_err(|e| Error::Serialization(format!("cannot encode the argument: {e}")))?;
        wire::end_frame(&mut frame, start, self.config.max_frame).map_err(|len| {
            Error::Serialization(format!(
                "the argument takes {len} bytes, more than the frame limit of {} bytes",
                self.config.max_frame
            ))
        })?;
        let (promise, future) = Promise::new();
        self.enqueue(Work {
            id,
            frame,
            job: job(promise),
            claimed: false,
        })
        .map_err(|(error, work)| {
            // Dropped outside the lock: the future was never handed out.
            drop(work);
            error
        })?;
        Ok(future)
    }

    /// Queues `work`, starting a worker if none is idle, and sends what can be sent.
    fn enqueue(self: &Arc<Self>, work: Work) -> Result<(), (Error, Work)> {
        let mut deferred = Deferred::default();
        {
            let mut st = self.lock();
            if let Some(reason) = &st.broken {
                return Err((Error::Broken(reason.clone()), work));
            }
            if st.shutdown {
                return Err((Error::ShutDown, work));
            }
            st.queue.push_back(work);
            if st.idle_tokens > 0 {
                st.idle_tokens -= 1;
            } else if st.slots.len() < self.config.max_workers {
                self.start_slot(&mut st, &mut deferred);
            }
            self.dispatch(&mut st, &mut deferred);
        }
        self.finish_deferred(deferred);
        Ok(())
    }

    /// Adds a worker slot and its monitor thread.
    fn start_slot(self: &Arc<Self>, st: &mut State, deferred: &mut Deferred) {
        let key = st.next_key;
        st.next_key += 1;
        st.slots.push(Slot::new(key, 0));
        st.monitors.retain(|h| !h.is_finished());
        let inner = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name(format!("cfutures-process-monitor-{key}"))
            .spawn(move || crate::monitor::run(inner, key));
        match spawned {
            Ok(handle) => st.monitors.push(handle),
            Err(e) => {
                st.slots.retain(|s| s.key != key);
                if st.slots.is_empty() {
                    let reason = format!("cannot start a worker's monitor thread: {e}");
                    self.break_pool(st, reason, deferred);
                }
            }
        }
    }

    /// Moves queued work to workers with room. Skips (and drops) cancelled futures.
    pub(crate) fn dispatch(&self, st: &mut State, deferred: &mut Deferred) {
        let depth = st.depth();
        let max_tasks = self.config.max_tasks_per_child;
        while let Some(front) = st.queue.front() {
            let bytes = front.frame.len();
            let mut best: Option<usize> = None;
            for (i, slot) in st.slots.iter().enumerate() {
                if slot.accepts(bytes, depth, max_tasks)
                    && best.is_none_or(|b| slot.in_flight.len() < st.slots[b].in_flight.len())
                {
                    best = Some(i);
                }
            }
            let Some(index) = best else { break };
            // Pipelining behind a busy worker hides pipe latency, but a task sent there waits
            // for whatever runs before it; while another worker is still starting, keep the
            // task queued for it instead (it dispatches when it becomes ready).
            if !st.slots[index].in_flight.is_empty()
                && st.slots.iter().any(|slot| slot.phase == Phase::Starting)
            {
                break;
            }
            let Some(work) = st.queue.pop_front() else {
                break;
            };
            if !work.claimed && !work.job.start() {
                deferred.garbage.push(work.job);
                continue;
            }
            let slot = &mut st.slots[index];
            slot.outbox.extend_from_slice(&work.frame);
            slot.in_flight.push_back(InFlight {
                id: work.id,
                frame: work.frame,
                job: work.job,
            });
            slot.in_flight_bytes += bytes;
            slot.sent += 1;
            if !slot.flushing {
                slot.flushing = true;
                deferred.flush.push((slot.key, slot.epoch));
            }
        }
        // Cancelled futures may have emptied the queue: idle workers may now be done.
        self.close_finished(st);
    }

    /// Closes the pipe of every worker that has nothing more to do.
    pub(crate) fn close_finished(&self, st: &mut State) {
        let max_tasks = self.config.max_tasks_per_child;
        let closing: Vec<u64> = st
            .slots
            .iter()
            .filter(|s| st.should_close(s, max_tasks))
            .map(|s| s.key)
            .collect();
        for key in closing {
            if let Some(slot) = st.slot_mut(key) {
                slot.phase = Phase::Closing;
                // The worker sees end of file once any writer still holding a clone is done.
                slot.writer = None;
            }
        }
    }

    /// Marks the pool broken and fails everything queued.
    pub(crate) fn break_pool(&self, st: &mut State, reason: String, deferred: &mut Deferred) {
        let reason = st.broken.get_or_insert(reason).clone();
        for work in st.queue.drain(..) {
            deferred
                .failed
                .push((work.job, Error::Broken(reason.clone())));
        }
        self.close_finished(st);
    }

    /// Writes outboxes, drops and fails jobs: the part of a state change done unlocked.
    pub(crate) fn finish_deferred(&self, deferred: Deferred) {
        for (key, epoch) in deferred.flush {
            self.flush(key, epoch);
        }
        drop(deferred.garbage);
        for (job, error) in deferred.failed {
            job.finish(Err(error));
        }
    }

    /// Writes `key`'s outbox until it stays empty. Only the thread that set `flushing` calls
    /// this, so frames leave in the order they were appended, and it stops if the slot moved
    /// on to another process.
    fn flush(&self, key: u64, epoch: u64) {
        let mut buffer = Vec::new();
        loop {
            let (writer, pid) = {
                let mut st = self.lock();
                let Some(slot) = st.slot_mut(key) else { return };
                if slot.epoch != epoch {
                    return;
                }
                if slot.outbox.is_empty() {
                    slot.flushing = false;
                    if slot.outbox.capacity() < buffer.capacity() {
                        buffer.clear();
                        slot.outbox = buffer;
                    }
                    return;
                }
                buffer.clear();
                std::mem::swap(&mut buffer, &mut slot.outbox);
                (slot.writer.clone(), slot.pid)
            };
            let Some(writer) = writer else { continue };
            if (&*writer).write_all(&buffer).is_err() {
                // The worker is gone or its pipe broke: make sure it is gone, so its monitor
                // fails what it held instead of waiting for replies that cannot come. Only
                // while the slot still names that process: its monitor clears the pid under
                // the lock before reaping, so the pid cannot have been reused.
                let st = self.lock();
                let still_ours = st
                    .slots
                    .iter()
                    .any(|s| s.key == key && s.epoch == epoch && s.pid == pid);
                if let (true, Some(pid)) = (still_ours, pid) {
                    spawn::signal(pid, libc::SIGKILL);
                }
            }
        }
    }

    /// Python's `shutdown(wait, cancel_futures)`.
    pub(crate) fn shutdown(&self, wait: bool, cancel_futures: bool) {
        let mut cancelled = Vec::new();
        {
            let mut st = self.lock();
            st.shutdown = true;
            if cancel_futures {
                // Work queued again after its worker died is already running in Python's
                // terms (its future says so) and is kept.
                let (kept, pending): (VecDeque<Work>, VecDeque<Work>) =
                    st.queue.drain(..).partition(|w| w.claimed);
                st.queue = kept;
                cancelled.extend(pending.into_iter().map(|w| w.job));
            }
            self.close_finished(&mut st);
        }
        for job in cancelled {
            job.cancel();
        }
        if wait && !crate::monitor::is_monitor_of(self) {
            let handles = {
                let mut st = self.lock();
                while !st.slots.is_empty() {
                    st = self.slot_gone.wait(st).unwrap_or_else(|e| e.into_inner());
                }
                std::mem::take(&mut st.monitors)
            };
            for handle in handles {
                let _ = handle.join();
            }
        }
    }

    /// Python 3.14's `terminate_workers` / `kill_workers`.
    pub(crate) fn force_shutdown(&self, signal: i32) {
        self.lock().kill_signal = Some(signal);
        self.shutdown(false, true);
        let mut stranded = Vec::new();
        {
            let mut st = self.lock();
            // What is left in the queue was sent to a worker that died before starting it
            // (so its future is running and cannot be cancelled); no worker will take it now.
            stranded.extend(st.queue.drain(..).map(|w| w.job));
            self.close_finished(&mut st);
            for slot in &st.slots {
                if let Some(pid) = slot.pid {
                    spawn::signal(pid, signal);
                }
            }
        }
        for job in stranded {
            job.finish(Err(Error::Broken(
                "the pool's workers were terminated before this task started".into(),
            )));
        }
    }

    /// Removes a slot whose monitor is ending.
    pub(crate) fn remove_slot(&self, st: &mut State, key: u64) {
        st.slots.retain(|s| s.key != key);
        st.idle_tokens = st.idle_tokens.min(st.slots.len());
        self.slot_gone.notify_all();
    }

    /// Number of worker slots (starting, serving or closing).
    pub(crate) fn worker_count(&self) -> usize {
        self.lock().slots.len()
    }

    /// Pids of the current worker processes.
    pub(crate) fn worker_pids(&self) -> Vec<u32> {
        self.lock().slots.iter().filter_map(|s| s.pid).collect()
    }
}
