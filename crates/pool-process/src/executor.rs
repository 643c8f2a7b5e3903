//! `ProcessPoolExecutor`: the public handle.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use cfutures_core::{Error, Future, Shutdown};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::body::BODY_MIN;
use crate::builder::ProcessPoolBuilder;
use crate::dispatch::Signal;
use crate::entry;
use crate::job::Pending;
use crate::shell::Inner;

/// Python's `ProcessPoolExecutor`: runs functions in a pool of worker processes and returns
/// [`cfutures_core::Future`]s for their values.
///
/// Workers are this program's own executable, started in worker mode (see [`init`](crate::init)
/// for what that means for your `main`). They start lazily: a submission starts a new worker
/// only if no started worker is idle, up to [`max_workers`](ProcessPoolBuilder::max_workers), so three
/// tasks submitted one after another share one process.
///
/// A task is a function `fn(A) -> R` or a closure that captures nothing; `A` and `R` travel
/// with `serde` (encoded with `postcard`). A task's panic fails its future with
/// [`Error::Panicked`], carrying the worker's backtrace text. A worker that *dies* (abort,
/// segfault, `std::process::exit`, `kill -9`) fails, with [`Error::WorkerDied`], only the
/// task it was running; tasks already sent to it but not started go to another worker, a
/// replacement starts, and the pool keeps serving. No task ever runs twice. (Python marks
/// the whole pool broken instead.)
///
/// Dropping the pool is `shutdown(Shutdown::WAIT)`: it waits for queued and running tasks, like
/// leaving Python's `with` block.
///
/// ```
/// use cfutures_process::ProcessPoolExecutor;
///
/// fn square(x: u64) -> u64 {
///     x * x
/// }
///
/// let pool = ProcessPoolExecutor::new(2).unwrap();
/// let future = pool.submit(square, 12).unwrap();
/// assert_eq!(future.result(), Ok(&144));
///
/// let squares: Vec<u64> = pool.map(square, 1..=4, 2).unwrap().map(Result::unwrap).collect();
/// assert_eq!(squares, [1, 4, 9, 16]);
/// # cfutures_process::init();
/// ```
pub struct ProcessPoolExecutor {
    inner: Arc<Inner>,
}

impl ProcessPoolExecutor {
    /// A pool of at most `max_workers` processes, with Python's other defaults; see
    /// [`ProcessPoolBuilder`] (and [`builder`](Self::builder) for the default size). Fails
    /// only where [`ProcessPoolBuilder::build`] does (`max_workers` 0 is
    /// [`Error::InvalidArgument`]).
    ///
    /// ```
    /// let pool = cfutures_process::ProcessPoolExecutor::new(2).unwrap();
    /// assert_eq!(pool.max_workers(), 2);
    /// # cfutures_process::init();
    /// ```
    pub fn new(max_workers: usize) -> Result<Self, Error> {
        ProcessPoolBuilder::new().max_workers(max_workers).build()
    }

    /// A [`ProcessPoolBuilder`] to configure the pool.
    pub fn builder() -> ProcessPoolBuilder {
        ProcessPoolBuilder::new()
    }

    pub(crate) fn from_inner(inner: Arc<Inner>) -> Self {
        ProcessPoolExecutor { inner }
    }

    pub(crate) fn inner(&self) -> &Arc<Inner> {
        &self.inner
    }

    /// Runs `f(arg)` in a worker process and returns the future of its value.
    ///
    /// `f` is a function item (`is_prime`), a function pointer (`fn(A) -> R`), or a closure
    /// that captures nothing; a closure that captures data is refused with
    /// [`Error::InvalidArgument`]. Fails with [`Error::ShutDown`] after
    /// [`shutdown`](Self::shutdown), and [`Error::Broken`] once an initializer failed.
    ///
    /// The future fails with [`Error::Serialization`] if `arg` cannot be encoded or is larger
    /// than the frame limit (as CPython fails the future of an argument that does not
    /// pickle; nothing is sent, and the text is the type's own where its `Serialize` gave
    /// one), [`Error::Panicked`] if the task panics, [`Error::WorkerDied`] if its worker dies
    /// while holding it, and [`Error::Serialization`] if its value cannot be encoded or
    /// decoded.
    ///
    /// A large `Vec<u8>`, `String`, `Vec<f32>` or `Vec<f64>` argument (64 KiB or more) is not
    /// encoded: its buffer moves to the worker as it is, so `submit` returns without copying
    /// it. Any other argument is encoded here, on the caller's thread.
    ///
    /// ```
    /// use cfutures_core::Error;
    /// use cfutures_process::ProcessPoolExecutor;
    ///
    /// let pool = ProcessPoolExecutor::new(1).unwrap();
    /// let ok = pool.submit(|s: String| s.len(), "four".to_string()).unwrap();
    /// let boom = pool.submit(|n: u32| -> u32 { panic!("no {n}") }, 7).unwrap();
    /// assert_eq!(ok.result(), Ok(&4));
    /// match boom.result() {
    ///     Err(Error::Panicked { message, backtrace }) => {
    ///         assert_eq!(message, "no 7");
    ///         assert!(backtrace.unwrap().contains("panicked at"));
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// # cfutures_process::init();
    /// ```
    pub fn submit<F, A, R>(&self, f: F, arg: A) -> Result<Future<R>, Error>
    where
        F: Fn(A) -> R + Copy + Send + 'static,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        self.submit_limited(f, arg, self.inner.config.task_timeout)
    }

    /// [`submit`](Self::submit) with a time limit of its own, counted from now (pebble's
    /// `schedule(timeout=...)`; Python's `ProcessPoolExecutor` has none), in place of the
    /// pool's [`task_timeout`](ProcessPoolBuilder::task_timeout).
    ///
    /// If the limit passes before the task starts, it never starts; if it passes while the
    /// task runs, the worker running it is killed and replaced. Either way the future fails
    /// with [`Error::TaskTimedOut`]. Other tasks are not affected: those sent to the killed
    /// worker that had not started run elsewhere. A result that arrives first wins: a future
    /// has exactly one outcome.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cfutures_core::Error;
    /// use cfutures_process::ProcessPoolExecutor;
    ///
    /// fn nap(ms: u64) -> u64 {
    ///     std::thread::sleep(Duration::from_millis(ms));
    ///     ms
    /// }
    ///
    /// let pool = ProcessPoolExecutor::new(1).unwrap();
    /// let limit = Duration::from_millis(100);
    /// let stuck = pool.submit_with_timeout(nap, 60_000, limit).unwrap();
    /// let quick = pool.submit_with_timeout(nap, 1, Duration::from_secs(60)).unwrap();
    /// assert_eq!(stuck.result(), Err(Error::TaskTimedOut { after: limit }));
    /// assert_eq!(quick.result(), Ok(&1));
    /// # cfutures_process::init();
    /// ```
    pub fn submit_with_timeout<F, A, R>(
        &self,
        f: F,
        arg: A,
        limit: Duration,
    ) -> Result<Future<R>, Error>
    where
        F: Fn(A) -> R + Copy + Send + 'static,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        self.submit_limited(f, arg, Some(limit))
    }

    fn submit_limited<F, A, R>(
        &self,
        f: F,
        arg: A,
        limit: Option<Duration>,
    ) -> Result<Future<R>, Error>
    where
        F: Fn(A) -> R + Copy + Send + 'static,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        let call = entry::task_call::<F, A, R>(&f)?;
        self.inner.submit_encoded(
            call,
            limit,
            // `move`: a byte-like argument's buffer moves into the frame's body; any other is
            // dropped once encoded (one copy less alive).
            move |out| crate::codec::encode(arg, out, BODY_MIN),
            |promise| Box::new(Pending { promise }),
        )
    }

    /// Python's `shutdown(wait, cancel_futures)`.
    ///
    /// Refuses new work from now on ([`Error::ShutDown`]). With `cancel_futures`, every task
    /// not yet handed to a worker is cancelled; the others run to completion. With `wait`, returns once
    /// every worker process has exited and been reaped; without, returns at once and the
    /// workers exit in the background when their work is done. Calling it again is harmless.
    ///
    /// ```
    /// use cfutures_core::{Error, Shutdown};
    /// use cfutures_process::ProcessPoolExecutor;
    ///
    /// let pool = ProcessPoolExecutor::new(1).unwrap();
    /// let future = pool.submit(|x: i32| x - 1, 1).unwrap();
    /// pool.shutdown(Shutdown::WAIT);
    /// assert_eq!(future.result(), Ok(&0));
    /// assert!(matches!(pool.submit(|x: i32| x, 1), Err(Error::ShutDown)));
    /// # cfutures_process::init();
    /// ```
    pub fn shutdown(&self, how: Shutdown) {
        self.inner.shutdown(how.wait, how.cancel_futures);
    }

    /// Python 3.14's `terminate_workers()`: shuts down with `cancel_futures` and sends
    /// `SIGTERM` (and `SIGCONT`, so a stopped worker receives it) to every worker process;
    /// one still alive two seconds later is killed. Queued futures are cancelled; running
    /// ones fail with [`Error::WorkerDied`]; tasks sent to a worker but not started fail with
    /// [`Error::Broken`] saying they never started. Does not wait; dropping the pool (or
    /// `shutdown(Shutdown::WAIT)`) then waits for the workers to be reaped.
    pub fn terminate_workers(&self) {
        self.inner.terminate(Signal::Terminate);
    }

    /// Python 3.14's `kill_workers()`: as [`terminate_workers`](Self::terminate_workers) with
    /// `SIGKILL`.
    pub fn kill_workers(&self) {
        self.inner.terminate(Signal::Kill);
    }

    /// The most worker processes this pool runs at once.
    pub fn max_workers(&self) -> usize {
        self.inner.config.max_workers
    }

    /// How many worker processes exist right now (starting, serving or exiting).
    pub fn worker_count(&self) -> usize {
        self.inner.worker_count()
    }

    /// The process ids of the current workers, for diagnostics (and for tests that kill
    /// one from outside).
    pub fn worker_pids(&self) -> Vec<u32> {
        self.inner.worker_pids()
    }
}

impl Drop for ProcessPoolExecutor {
    fn drop(&mut self) {
        self.inner.shutdown(true, false);
    }
}

impl fmt::Debug for ProcessPoolExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessPoolExecutor")
            .field("max_workers", &self.max_workers())
            .field("workers", &self.worker_count())
            .finish_non_exhaustive()
    }
}
