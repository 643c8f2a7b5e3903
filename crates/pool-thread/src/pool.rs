//! `ThreadPoolExecutor`: the handle users hold.

use std::fmt;
use std::sync::Arc;

use cfutures_core::executor::ExecutorId;
use cfutures_core::{Error, Future, Shutdown};

use crate::builder::ThreadPoolBuilder;
use crate::registry::Registry;
use crate::stats::Stats;

/// Python's `concurrent.futures.ThreadPoolExecutor` on a work-stealing scheduler.
///
/// [`submit`](Self::submit) returns a [`Future`] at once; threads start lazily (an idle one is
/// reused before a new one starts, up to `max_workers`). Tasks submitted from outside go to a
/// shared queue, tasks submitted by a running task go to its worker's own deque, and idle
/// workers steal from each other.
///
/// Beyond Python: waiting (untimed) on a future of this pool from one of its own workers runs
/// the task right there if it has not started, so a task may submit work and wait for it even
/// when every worker is busy (Python documents this as a deadlock); waiting on one's own
/// future returns [`Error::Deadlock`]. A panicking task fails its future with
/// [`Error::Panicked`] and its worker lives on. [`scope`](Self::scope) runs tasks that borrow
/// from the caller's stack.
///
/// Dropping the pool is `shutdown(wait = true)`: it waits for the queued tasks to run. Share a
/// pool between threads (or with its own tasks) through an `Arc`, or borrow it in a scope.
///
/// ```
/// use cfutures_thread::ThreadPoolExecutor;
///
/// let pool = ThreadPoolExecutor::new(4)?;
/// let futures: Vec<_> = (1..=5u64)
///     .map(|n| pool.submit(move || n * n))
///     .collect::<Result<_, _>>()?;
/// let squares: Vec<u64> = futures.iter().map(|f| *f.result().unwrap()).collect();
/// assert_eq!(squares, [1, 4, 9, 16, 25]);
/// # Ok::<(), cfutures_core::Error>(())
/// ```
///
/// The deadlock of Python's documentation completes:
///
/// ```
/// use cfutures_thread::ThreadPoolExecutor;
/// use std::sync::Arc;
///
/// let pool = Arc::new(ThreadPoolExecutor::new(1)?);
/// let inner = Arc::clone(&pool);
/// let outer = pool.submit(move || {
///     // The only worker is busy running this very task; waiting runs `pow` right here.
///     let square = inner.submit(|| 5u32.pow(2)).unwrap();
///     *square.result().unwrap()
/// })?;
/// assert_eq!(outer.result(), Ok(&25));
/// # Ok::<(), cfutures_core::Error>(())
/// ```
pub struct ThreadPoolExecutor {
    registry: Arc<Registry>,
}

impl ThreadPoolExecutor {
    /// A pool of at most `max_workers` threads with Python's other defaults; zero is an
    /// [`Error::InvalidArgument`]. See [`builder`](Self::builder) for the other settings.
    ///
    /// ```
    /// use cfutures_core::Error;
    /// use cfutures_thread::ThreadPoolExecutor;
    ///
    /// let err = ThreadPoolExecutor::new(0).unwrap_err();
    /// assert_eq!(err, Error::InvalidArgument("max_workers must be greater than 0".into()));
    /// ```
    pub fn new(max_workers: usize) -> Result<Self, Error> {
        ThreadPoolBuilder::new().max_workers(max_workers).build()
    }

    /// A builder for the other settings: thread names, initializer, stack size, inlining.
    pub fn builder() -> ThreadPoolBuilder {
        ThreadPoolBuilder::new()
    }

    pub(crate) fn from_registry(registry: Arc<Registry>) -> Self {
        ThreadPoolExecutor { registry }
    }

    pub(crate) fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Schedules `f` and returns its future.
    ///
    /// [`Error::ShutDown`] after [`shutdown`](Self::shutdown), [`Error::Broken`] if a worker
    /// initializer failed; the closure is then dropped unrun. A panic in `f` is caught and
    /// fails the future with [`Error::Panicked`].
    ///
    /// ```
    /// use cfutures_core::{Error, Shutdown};
    /// use cfutures_thread::ThreadPoolExecutor;
    ///
    /// let pool = ThreadPoolExecutor::new(2)?;
    /// assert_eq!(pool.submit(|| 2u32.pow(8))?.result(), Ok(&256));
    ///
    /// let failed = pool.submit(|| -> u32 { panic!("boom") })?;
    /// assert!(matches!(failed.result(), Err(Error::Panicked { message, .. }) if message == "boom"));
    ///
    /// pool.shutdown(Shutdown::WAIT);
    /// assert_eq!(pool.submit(|| 1).unwrap_err(), Error::ShutDown);
    /// # Ok::<(), Error>(())
    /// ```
    #[inline]
    pub fn submit<F, T>(&self, f: F) -> Result<Future<T>, Error>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.registry.submit_fn(f)
    }

    /// Python's `shutdown(wait, cancel_futures)`, named by a [`Shutdown`]: refuse new
    /// submissions; with `cancel_futures`, cancel every task that has not started; with `wait`,
    /// return once all other tasks have run and every worker thread has exited.
    /// `shutdown(Shutdown::WAIT)` is Python's `shutdown()`;
    /// `shutdown(Shutdown::NO_WAIT.cancel_futures())` is `shutdown(wait=False,
    /// cancel_futures=True)`.
    ///
    /// Calling it again is harmless. Called from a task of this pool, `wait` waits for the
    /// other workers but not for the calling thread itself (which would deadlock; Python's
    /// `join` of the current thread raises instead).
    ///
    /// ```
    /// use cfutures_core::Shutdown;
    /// use cfutures_thread::ThreadPoolExecutor;
    /// use std::sync::mpsc;
    ///
    /// let pool = ThreadPoolExecutor::new(1)?;
    /// let (started_tx, started) = mpsc::channel();
    /// let (release, gate) = mpsc::channel::<()>();
    /// let running = pool.submit(move || {
    ///     started_tx.send(()).unwrap();
    ///     gate.recv().unwrap()
    /// })?;
    /// let queued = pool.submit(|| ())?;
    /// started.recv().unwrap();
    /// pool.shutdown(Shutdown::NO_WAIT.cancel_futures());
    /// assert!(queued.cancelled());
    /// release.send(()).unwrap();
    /// assert!(running.result().is_ok());
    /// # Ok::<(), cfutures_core::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) {
        self.registry.shutdown(how);
    }

    /// A snapshot of the pool's counters; see [`Stats`].
    pub fn stats(&self) -> Stats {
        self.registry.stats()
    }

    /// The most threads this pool starts.
    pub fn max_workers(&self) -> usize {
        self.registry.config().max_workers
    }

    /// The prefix of the worker threads' names (`{prefix}_{i}`).
    pub fn thread_name_prefix(&self) -> &str {
        &self.registry.config().name_prefix
    }

    /// The identity its worker threads carry ([`ExecutorId::current`] on a worker).
    pub fn id(&self) -> ExecutorId {
        self.registry.id
    }

    /// True once [`shutdown`](Self::shutdown) was called.
    pub fn is_shutdown(&self) -> bool {
        self.registry.is_shutdown()
    }

    /// Why the pool is broken (a worker initializer failed), if it is.
    pub fn broken(&self) -> Option<String> {
        self.registry.broken_reason()
    }
}

impl Default for ThreadPoolExecutor {
    /// A pool with every default (`max_workers` = [`default_max_workers`](crate::default_max_workers)).
    fn default() -> Self {
        ThreadPoolBuilder::new()
            .build()
            .expect("the default configuration is valid")
    }
}

impl Drop for ThreadPoolExecutor {
    /// `shutdown(Shutdown::WAIT)`, like leaving Python's `with` block.
    fn drop(&mut self) {
        self.registry.shutdown(Shutdown::WAIT);
    }
}

impl fmt::Debug for ThreadPoolExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPoolExecutor")
            .field("max_workers", &self.max_workers())
            .field("thread_name_prefix", &self.thread_name_prefix())
            .field("stats", &self.stats())
            .field("shutdown", &self.is_shutdown())
            .field("broken", &self.broken())
            .finish()
    }
}
