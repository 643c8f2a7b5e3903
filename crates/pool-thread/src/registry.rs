//! The state a pool's handle, its workers and its scopes share: the queues, the sleep state,
//! the lifecycle word and the worker threads.
//!
//! # Lifecycle without a lock on the submit path
//!
//! Python's `submit` takes the executor's lock so that a submission and a `shutdown` (or the
//! pool breaking) cannot interleave. Here `submit` checks the lifecycle word, pushes, fences
//! (the fence of the sleep protocol, `Sleep::new_job`) and checks the word again. `shutdown`
//! and `break_pool` set their bit with a `SeqCst` read-modify-write; a worker exits only after
//! seeing the bit and then, after a fence, finding every queue empty. So either the submitter's
//! second look sees the bit, and it takes its task back by cancelling it (returning the error
//! as if it had seen the bit first), or the worker's last search sees the task and runs it. A
//! task is never left in a queue that nobody will empty.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering, fence};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::{self, JoinHandle, ThreadId};

use cfutures_core::executor::{ExecutorId, Inline, Task, catch_message, lock};
use cfutures_core::{Error, Future, Shutdown};
use crossbeam_deque::{Steal, Stealer, Worker};
use crossbeam_utils::CachePadded;

use crate::outside_queue::{self, OutsideQueue};
use crate::sleep::Sleep;
use crate::stats::Stats;
use crate::worker::{self, WorkerThread};

/// `shutdown` was called: no new submissions; workers exit once the queues are empty.
const SHUTDOWN: usize = 1;
/// An initializer failed: no new submissions; queued tasks fail with the reason.
const BROKEN: usize = 2;
const CLOSED: usize = SHUTDOWN | BROKEN;

/// A worker initializer, type-erased: `Err` carries the reason the pool broke.
pub(crate) type Initializer = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// What the builder decided.
pub(crate) struct Config {
    pub(crate) max_workers: usize,
    pub(crate) name_prefix: String,
    pub(crate) stack_size: Option<usize>,
    pub(crate) initializer: Option<Initializer>,
    pub(crate) inline: InlinePolicy,
}

/// Which waiters may run a pending task inline (see `InlineWaits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InlinePolicy {
    Workers,
    Anywhere,
    Never,
}

/// Counters only their worker writes (one cache line each, so workers never share one).
#[derive(Default)]
pub(crate) struct WorkerCounters {
    pub(crate) completed: AtomicU64,
    pub(crate) stolen: AtomicU64,
}

pub(crate) struct Registry {
    pub(crate) id: ExecutorId,
    inline: Inline,
    /// Tasks submitted from outside the workers (FIFO; `outside_queue.rs`).
    pub(crate) outside: OutsideQueue<Task>,
    /// Slot `i` is set before worker `i` is counted in `started`.
    stealers: Box<[OnceLock<Stealer<Task>>]>,
    /// Worker `i`'s own deque until its thread takes it (kept if spawning the thread failed).
    deques: Box<[Mutex<Option<Worker<Task>>>]>,
    pub(crate) sleep: Sleep,
    pub(crate) counters: Box<[CachePadded<WorkerCounters>]>,
    state: AtomicUsize,
    broken_reason: OnceLock<String>,
    config: Config,
    /// Worker slots in use; only grows. Written under `threads`.
    started: AtomicUsize,
    /// Tasks submitted while the pool could still grow whose closure has not finished or been
    /// dropped: the spawn decision compares it with `started` (see `submit`).
    outstanding: CachePadded<AtomicUsize>,
    threads: Mutex<Vec<(ThreadId, JoinHandle<()>)>>,
    /// Worker threads that have not finished their main function.
    live: AtomicUsize,
    exits: Mutex<ExitWaiters>,
    exited: Condvar,
}

#[derive(Default)]
struct ExitWaiters {
    /// Workers of this pool blocked in `wait_for_workers` (each waits for all but these).
    waiting_workers: usize,
}

/// Takes back the live count of a worker whose thread did not start.
struct Uncount<'a>(&'a Registry);

impl Drop for Uncount<'_> {
    fn drop(&mut self) {
        self.0.worker_exited();
    }
}

/// Decrements `outstanding` when the task's closure finishes or is dropped unrun.
pub(crate) struct Outstanding(Arc<Registry>);

impl Drop for Outstanding {
    fn drop(&mut self) {
        self.0.outstanding.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Registry {
    pub(crate) fn new(config: Config) -> Arc<Self> {
        let id = ExecutorId::new();
        let slots = config.max_workers;
        let inline = match config.inline {
            InlinePolicy::Workers => Inline::FromWorkersOf(id),
            InlinePolicy::Anywhere => Inline::Anywhere,
            InlinePolicy::Never => Inline::Never,
        };
        Arc::new(Registry {
            id,
            inline,
            outside: OutsideQueue::new(),
            stealers: (0..slots).map(|_| OnceLock::new()).collect(),
            deques: (0..slots).map(|_| Mutex::new(None)).collect(),
            sleep: Sleep::new(slots),
            counters: (0..slots).map(|_| CachePadded::default()).collect(),
            state: AtomicUsize::new(0),
            broken_reason: OnceLock::new(),
            config,
            started: AtomicUsize::new(0),
            outstanding: CachePadded::new(AtomicUsize::new(0)),
            threads: Mutex::new(Vec::new()),
            live: AtomicUsize::new(0),
            exits: Mutex::new(ExitWaiters::default()),
            exited: Condvar::new(),
        })
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    pub(crate) fn started(&self) -> usize {
        self.started.load(Ordering::Acquire)
    }

    pub(crate) fn stealer(&self, index: usize) -> Option<&Stealer<Task>> {
        self.stealers[index].get()
    }

    /// Worker `index`'s deque, taken by its thread at start.
    pub(crate) fn take_deque(&self, index: usize) -> Worker<Task> {
        lock(&self.deques[index])
            .take()
            .expect("each worker slot's deque is taken once, by its own thread")
    }

    /// Submits the closure `f` (what `ThreadPoolExecutor::submit` does).
    #[inline]
    pub(crate) fn submit_fn<F, T>(self: &Arc<Self>, f: F) -> Result<Future<T>, Error>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.submit(|inline, outstanding| match outstanding {
            None => Task::new(inline, f),
            Some(guard) => Task::new(inline, move || {
                let _counted_until_done = guard;
                f()
            }),
        })
    }

    /// Submits a task made by `make`, which receives the inline policy and, while the pool may
    /// still grow, a guard the task's closure must own (and drop when it ends).
    #[inline]
    pub(crate) fn submit<T>(
        self: &Arc<Self>,
        make: impl FnOnce(Inline, Option<Outstanding>) -> (Task, Future<T>),
    ) -> Result<Future<T>, Error> {
        self.check_open()?;
        if self.started.load(Ordering::Acquire) < self.config.max_workers {
            return self.submit_growing(make);
        }
        let (task, future) = make(self.inline, None);
        self.publish(task, future)
    }

    /// Python's `_adjust_thread_count`, made deterministic: a new thread starts when more
    /// tasks are outstanding (queued or running) than threads exist. A task counts until its
    /// closure has returned, which is before its future completes, so a caller that saw a
    /// result and submits again finds the finished worker counted as available (CPython's
    /// idle semaphore is released only after the future is set, so its `test_idle_thread_reuse`
    /// can race).
    #[cold]
    fn submit_growing<T>(
        self: &Arc<Self>,
        make: impl FnOnce(Inline, Option<Outstanding>) -> (Task, Future<T>),
    ) -> Result<Future<T>, Error> {
        self.outstanding.fetch_add(1, Ordering::SeqCst);
        let guard = Outstanding(Arc::clone(self));
        let (task, future) = make(self.inline, Some(guard));
        // Spawn before publishing: if no thread can be started at all, the task is dropped
        // (its future was never handed out) and the caller gets the error.
        self.maybe_spawn()?;
        self.publish(task, future)
    }

    /// Pushes a task where it belongs and wakes a worker if one is needed, then hands out its
    /// future unless the pool closed meanwhile.
    #[inline]
    fn publish<T>(&self, task: Task, future: Future<T>) -> Result<Future<T>, Error> {
        // Only the push and the second look go into the non-generic call; the future stays
        // with the caller, which keeps this part small enough to inline into every submit.
        match self.push_and_recheck(task) {
            Ok(()) => Ok(future),
            Err(state) => self.refuse(future, state),
        }
    }

    /// The part of `publish` that does not depend on the task's type: the push, then the
    /// second look at the lifecycle word (the module docs). `Err` with the word if closed.
    #[inline]
    fn push_and_recheck(&self, task: Task) -> Result<(), usize> {
        match WorkerThread::current_of(self) {
            Some(worker) => worker.push(task),
            None => {
                self.outside.push(task);
                self.sleep.new_job(|| self.outside.len() > 1);
            }
        }
        // `new_job` fenced after the push; see the module docs for this second look.
        let state = self.state.load(Ordering::SeqCst);
        if state & CLOSED != 0 {
            return Err(state);
        }
        Ok(())
    }

    /// The pool closed while `future`'s task was being published: take the task back if no
    /// worker has started it, and say why (see the module docs).
    #[cold]
    fn refuse<T>(&self, future: Future<T>, state: usize) -> Result<Future<T>, Error> {
        if future.cancel() {
            return Err(self.closed_error(state));
        }
        Ok(future)
    }

    #[inline]
    pub(crate) fn check_open(&self) -> Result<(), Error> {
        let state = self.state.load(Ordering::Acquire);
        if state & CLOSED == 0 {
            Ok(())
        } else {
            Err(self.closed_error(state))
        }
    }

    fn closed_error(&self, state: usize) -> Error {
        if state & BROKEN != 0 {
            Error::Broken(self.broken_reason().unwrap_or_default())
        } else {
            Error::ShutDown
        }
    }

    pub(crate) fn broken_reason(&self) -> Option<String> {
        self.broken_reason.get().cloned()
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.state.load(Ordering::Acquire) & SHUTDOWN != 0
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.load(Ordering::SeqCst) & CLOSED != 0
    }

    fn maybe_spawn(self: &Arc<Self>) -> Result<(), Error> {
        let wanted = |started: usize| {
            started < self.config.max_workers && self.outstanding.load(Ordering::SeqCst) > started
        };
        if !wanted(self.started.load(Ordering::Acquire)) {
            return Ok(());
        }
        let mut threads = lock(&self.threads);
        let index = self.started.load(Ordering::Acquire);
        if !wanted(index) || self.is_closed() {
            return Ok(());
        }
        match self.spawn_worker(index) {
            Ok(handle) => {
                threads.push((handle.thread().id(), handle));
                self.started.store(index + 1, Ordering::Release);
                Ok(())
            }
            // Python raises from `submit` when it cannot start a thread; with at least one
            // worker running the task can still be served, so only a pool without any fails.
            Err(error) if index == 0 => Err(Error::other(error)),
            Err(_) => Ok(()),
        }
    }

    fn spawn_worker(self: &Arc<Self>, index: usize) -> std::io::Result<JoinHandle<()>> {
        if self.stealers[index].get().is_none() {
            // LIFO: a fork-join parent finds the child it forked last on top (and takes it
            // back, see `LocalQueue`); thieves take the oldest, largest subtrees.
            let deque = Worker::new_lifo();
            let _ = self.stealers[index].set(deque.stealer());
            *lock(&self.deques[index]) = Some(deque);
        }
        let mut builder =
            thread::Builder::new().name(format!("{}_{index}", self.config.name_prefix));
        if let Some(size) = self.config.stack_size {
            builder = builder.stack_size(size);
        }
        // Counted before the spawn (the thread may exit before `spawn` returns) and uncounted
        // by the guard unless the thread started, also if `spawn` panics: a count left raised
        // would make every later shutdown wait for a thread that does not exist.
        self.live.fetch_add(1, Ordering::SeqCst);
        let uncount = Uncount(self);
        let registry = Arc::clone(self);
        let spawned = catch_message(|| builder.spawn(move || worker::main(registry, index)))
            .unwrap_or_else(|message| Err(std::io::Error::other(message)));
        if spawned.is_ok() {
            std::mem::forget(uncount);
        }
        spawned
    }

    /// Called by a worker thread as the last thing it does.
    pub(crate) fn worker_exited(&self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
        let _waiters = lock(&self.exits);
        self.exited.notify_all();
    }

    /// True if any queue holds a task (possibly a stale one, cancelled or run inline).
    pub(crate) fn has_queued_work(&self) -> bool {
        !self.outside.is_empty()
            || (0..self.started()).any(|i| self.stealer(i).is_some_and(|s| !s.is_empty()))
    }

    /// Takes every queued task out of every queue.
    fn drain(&self, mut each: impl FnMut(Task)) {
        loop {
            match self.outside.steal() {
                outside_queue::Steal::Success(task) => each(task),
                outside_queue::Steal::Empty => break,
                outside_queue::Steal::Retry => {}
            }
        }
        for index in 0..self.started() {
            let Some(stealer) = self.stealer(index) else {
                continue;
            };
            loop {
                match stealer.steal() {
                    Steal::Success(task) => each(task),
                    Steal::Empty => break,
                    Steal::Retry => {}
                }
            }
        }
    }

    /// Python's `shutdown(wait, cancel_futures)`.
    pub(crate) fn shutdown(&self, how: Shutdown) {
        self.state.fetch_or(SHUTDOWN, Ordering::SeqCst);
        if how.cancel_futures {
            self.drain(|task| {
                task.cancel();
            });
        }
        self.sleep.wake_all();
        if how.wait {
            self.wait_for_workers();
        }
    }

    /// An initializer failed: refuse new work and fail what is queued with `reason`.
    pub(crate) fn break_pool(&self, reason: String) {
        // The reason is published before the bit, so whoever sees the bit finds a reason.
        let _ = self.broken_reason.set(reason);
        self.state.fetch_or(BROKEN, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let reason = self.broken_reason().unwrap_or_default();
        self.drain(|task| {
            task.fail(Error::Broken(reason.clone()));
        });
        self.sleep.wake_all();
    }

    /// Waits until every worker thread has exited and joins them; a worker of this pool calling
    /// it (a task shutting its own pool down) does not wait for itself.
    fn wait_for_workers(&self) {
        let on_worker = WorkerThread::current_of(self).is_some();
        {
            let mut waiters = lock(&self.exits);
            if on_worker {
                waiters.waiting_workers += 1;
                // Another worker waiting here now waits for one thread less.
                self.exited.notify_all();
            }
            while self.live.load(Ordering::SeqCst) > waiters.waiting_workers {
                waiters = self
                    .exited
                    .wait(waiters)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            if on_worker {
                waiters.waiting_workers -= 1;
            }
        }
        let me = thread::current().id();
        let handles = std::mem::take(&mut *lock(&self.threads));
        let mut own = Vec::new();
        for (id, handle) in handles {
            if id == me {
                own.push((id, handle));
            } else if handle.is_finished() || !on_worker {
                // A worker's main function has returned (live is 0), so this is brief.
                let _ = handle.join();
            } else {
                // Another worker also shutting down from a task: it is still running its task.
                own.push((id, handle));
            }
        }
        lock(&self.threads).extend(own);
    }

    pub(crate) fn stats(&self) -> Stats {
        let started = self.started();
        let (mut completed, mut stolen) = (0, 0);
        for counters in &self.counters[..started] {
            completed += counters.completed.load(Ordering::Relaxed);
            stolen += counters.stolen.load(Ordering::Relaxed);
        }
        let local: usize = (0..started)
            .filter_map(|i| self.stealer(i))
            .map(Stealer::len)
            .sum();
        Stats {
            workers_alive: self.live.load(Ordering::Relaxed),
            workers_idle: self.sleep.idle_threads(),
            queued: self.outside.len() + local,
            completed,
            stolen,
        }
    }

    /// Runs the initializer on the calling worker thread; false if the pool broke.
    pub(crate) fn initialize_worker(&self) -> bool {
        let Some(init) = &self.config.initializer else {
            return true;
        };
        let failure = match catch_message(|| init()) {
            Ok(Ok(())) => return true,
            Ok(Err(message)) | Err(message) => message,
        };
        self.break_pool(format!(
            "a thread initializer failed, the thread pool is not usable anymore: {failure}"
        ));
        false
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("id", &self.id)
            .field("max_workers", &self.config.max_workers)
            .field("state", &self.state.load(Ordering::Relaxed))
            .field("sleep", &self.sleep)
            .finish_non_exhaustive()
    }
}
