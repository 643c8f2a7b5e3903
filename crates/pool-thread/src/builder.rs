//! `ThreadPoolBuilder`: every knob of a pool, in the style of `std::thread::Builder`.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cfutures_core::Error;

use crate::pool::ThreadPoolExecutor;
use crate::registry::{Config, Initializer, InlinePolicy, Registry};
use crate::sleep::MAX_THREADS;

/// Numbers the default thread-name prefixes, `ThreadPoolExecutor-{n}`, from 0 like Python.
static POOL_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Python's default: `min(32, cpus + 4)`, where `cpus` is the parallelism this process may use.
///
/// ```
/// let n = cfutures_thread::default_max_workers();
/// assert!((5..=32).contains(&n));
/// ```
pub fn default_max_workers() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    32.min(cpus + 4)
}

/// Which threads may run a not-yet-started task of this pool when they wait on its future.
///
/// Only untimed waits run tasks inline (`result()`, `exception()`); see
/// [`cfutures_core::Inline`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum InlineWaits {
    /// Only this pool's own workers (the default). That is exactly the case where waiting
    /// could deadlock (a task waiting on a task queued behind it), and the inlined task still
    /// runs on a thread of its pool, with its thread name and initializer state.
    #[default]
    Workers,
    /// Any thread. Cheaper for a caller that submits and waits at once (no hand-off, no
    /// wake-up), but the task then runs on the caller's thread: `thread::current().name()`
    /// is the caller's and the worker initializer has not run there.
    Anywhere,
    /// No thread: waiters always block until a worker runs the task, as in Python. A task
    /// that waits on work queued behind it in a full pool deadlocks, as in Python.
    Never,
}

/// What a worker initializer may return: `()`, or a `Result` whose error breaks the pool.
///
/// A panicking initializer breaks the pool too.
pub trait InitializerResult {
    /// `Err(reason)` if initialisation failed.
    fn into_result(self) -> Result<(), String>;
}

impl InitializerResult for () {
    fn into_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: fmt::Display> InitializerResult for Result<(), E> {
    fn into_result(self) -> Result<(), String> {
        self.map_err(|error| error.to_string())
    }
}

/// Configures and builds a [`ThreadPoolExecutor`].
///
/// ```
/// use cfutures_thread::ThreadPoolBuilder;
/// use std::thread;
///
/// let pool = ThreadPoolBuilder::new()
///     .max_workers(4)
///     .thread_name_prefix("crawler")
///     .stack_size(256 * 1024)
///     .initializer(|| println!("worker {:?} ready", thread::current().name()))
///     .build()?;
/// let name = pool.submit(|| thread::current().name().map(str::to_owned))?.into_result()?;
/// assert_eq!(name.as_deref(), Some("crawler_0"));
/// # Ok::<(), cfutures_core::Error>(())
/// ```
#[derive(Clone, Default)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ThreadPoolBuilder {
    max_workers: Option<usize>,
    thread_name_prefix: Option<String>,
    initializer: Option<Initializer>,
    stack_size: Option<usize>,
    inline_waits: InlineWaits,
}

impl ThreadPoolBuilder {
    /// A builder with Python's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The most threads the pool starts (default [`default_max_workers`]). Zero, or more than
    /// 65535, makes [`build`](Self::build) fail with [`Error::InvalidArgument`].
    pub fn max_workers(mut self, max_workers: usize) -> Self {
        self.max_workers = Some(max_workers);
        self
    }

    /// Names the threads `{prefix}_{i}`, `i` counting from 0 (default prefix
    /// `ThreadPoolExecutor-{n}`, `n` numbering the pools of the process). An empty prefix means
    /// the default, as in CPython; one containing a NUL byte (which no thread name may hold)
    /// makes [`build`](Self::build) fail with [`Error::InvalidArgument`].
    pub fn thread_name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.thread_name_prefix = Some(prefix.into());
        self
    }

    /// Runs `init` once at the start of each worker thread, before it takes any task.
    ///
    /// `init` returns `()` or a `Result<(), E: Display>`. If it returns an error or panics,
    /// the pool is broken, as Python's `BrokenThreadPool`: the futures of queued tasks fail
    /// with [`Error::Broken`] carrying the reason, and later submissions are refused with it.
    /// Tasks already running on workers that did initialize finish normally, as in Python.
    /// (A closure whose body is only `panic!(..)` returns `!`, which is neither; give it a
    /// block that ends in `()` or pass a `fn` item.)
    ///
    /// ```
    /// use cfutures_core::Error;
    /// use cfutures_thread::ThreadPoolBuilder;
    ///
    /// let pool = ThreadPoolBuilder::new()
    ///     .initializer(|| Err::<(), _>("no database"))
    ///     .build()?;
    /// let refused_or_failed = match pool.submit(|| 1) {
    ///     Ok(future) => future.result().map(|_| ()).unwrap_err(),
    ///     Err(error) => error,
    /// };
    /// assert!(matches!(&refused_or_failed, Error::Broken(why) if why.contains("no database")));
    /// assert!(matches!(pool.submit(|| 2), Err(Error::Broken(_))));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn initializer<F, R>(mut self, init: F) -> Self
    where
        F: Fn() -> R + Send + Sync + 'static,
        R: InitializerResult,
    {
        self.initializer = Some(Arc::new(move || init().into_result()));
        self
    }

    /// The stack size of each worker thread, in bytes (default: the standard library's).
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Which waiting threads may run a pending task inline (default
    /// [`InlineWaits::Workers`]); see [`InlineWaits`] for the trade-off.
    pub fn inline_waits(mut self, policy: InlineWaits) -> Self {
        self.inline_waits = policy;
        self
    }

    /// Builds the pool. No thread starts until the first submission.
    pub fn build(self) -> Result<ThreadPoolExecutor, Error> {
        let max_workers = self.max_workers.unwrap_or_else(default_max_workers);
        if max_workers == 0 {
            return Err(Error::InvalidArgument(
                "max_workers must be greater than 0".into(),
            ));
        }
        if max_workers > MAX_THREADS {
            return Err(Error::InvalidArgument(format!(
                "max_workers must be at most {MAX_THREADS}"
            )));
        }
        if self
            .thread_name_prefix
            .as_deref()
            .is_some_and(|prefix| prefix.contains('\0'))
        {
            return Err(Error::InvalidArgument(
                "thread_name_prefix must not contain a NUL byte".into(),
            ));
        }
        // CPython: `thread_name_prefix or ("ThreadPoolExecutor-%d" % counter)`.
        let name_prefix = match self.thread_name_prefix {
            Some(prefix) if !prefix.is_empty() => prefix,
            _ => {
                let n = POOL_COUNTER.fetch_add(1, Ordering::Relaxed);
                format!("ThreadPoolExecutor-{n}")
            }
        };
        let inline = match self.inline_waits {
            InlineWaits::Workers => InlinePolicy::Workers,
            InlineWaits::Anywhere => InlinePolicy::Anywhere,
            InlineWaits::Never => InlinePolicy::Never,
        };
        let registry = Registry::new(Config {
            max_workers,
            name_prefix,
            stack_size: self.stack_size,
            initializer: self.initializer,
            inline,
        });
        Ok(ThreadPoolExecutor::from_registry(registry))
    }
}

impl fmt::Debug for ThreadPoolBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPoolBuilder")
            .field("max_workers", &self.max_workers)
            .field("thread_name_prefix", &self.thread_name_prefix)
            .field("initializer", &self.initializer.as_ref().map(|_| "Fn()"))
            .field("stack_size", &self.stack_size)
            .field("inline_waits", &self.inline_waits)
            .finish()
    }
}
