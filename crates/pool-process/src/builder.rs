//! `ProcessPoolBuilder`: the pool's settings, checked when the pool is built.

use std::sync::Arc;
use std::time::Duration;

use cfutures_core::Error;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::entry;
use crate::executor::ProcessPoolExecutor;
use crate::shell::{Config, Inner};
use crate::wire::Call;
use crate::worker::WORKER_ENV;

/// The default largest frame: 256 MiB.
const DEFAULT_MAX_FRAME: usize = 256 << 20;
/// The smallest frame limit accepted: room for any handshake or failure message header.
const MIN_MAX_FRAME: usize = 1024;

/// Settings for a [`ProcessPoolExecutor`], like the keyword arguments of Python's
/// `ProcessPoolExecutor(max_workers, initializer, initargs, max_tasks_per_child)`.
///
/// Mistakes are reported by [`build`](Self::build) as [`Error::InvalidArgument`] (Python's
/// `ValueError`).
///
/// ```
/// use cfutures_process::ProcessPoolExecutor;
///
/// fn greet(name: String) {
///     // Runs once in every worker, before its first task.
///     let _ = name;
/// }
///
/// let pool = ProcessPoolExecutor::builder()
///     .max_workers(2)
///     .initializer(greet, "worker".to_string())
///     .max_tasks_per_child(100)
///     .build()
///     .unwrap();
/// assert_eq!(pool.max_workers(), 2);
/// # cfutures_process::init();
/// ```
#[derive(Clone, Default)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ProcessPoolBuilder {
    max_workers: Option<usize>,
    max_tasks_per_child: Option<usize>,
    initializer: Option<Result<(Call, Vec<u8>), Error>>,
    max_frame_size: Option<usize>,
    task_timeout: Option<Duration>,
}

impl ProcessPoolBuilder {
    /// A builder with Python's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many worker processes at most. Default: the number of CPUs this process may use
    /// (`std::thread::available_parallelism`, Python's `os.process_cpu_count()`). Zero is
    /// an error at [`build`](Self::build).
    pub fn max_workers(mut self, max_workers: usize) -> Self {
        self.max_workers = Some(max_workers);
        self
    }

    /// A function each worker runs once, with `arg`, before its first task (Python's
    /// `initializer` and `initargs`).
    ///
    /// If it panics in any worker, the pool is broken: every queued future fails with
    /// [`Error::Broken`] and later submissions are refused with it, as Python raises
    /// `BrokenProcessPool`. Like tasks, it must be a function or a non-capturing closure.
    pub fn initializer<F, A>(mut self, initializer: F, arg: A) -> Self
    where
        F: Fn(A) + Copy + Send + 'static,
        A: Serialize + DeserializeOwned + 'static,
    {
        self.initializer = Some(entry::init_call::<F, A>(&initializer).and_then(|call| {
            let mut bytes = Vec::new();
            crate::serde_text::encode(&arg, &mut bytes)
                .map(|()| (call, bytes))
                .map_err(|e| {
                    Error::Serialization(format!("cannot encode the initializer's argument: {e}"))
                })
        }));
        self
    }

    /// Replace a worker with a fresh process after it has run this many tasks (Python's
    /// `max_tasks_per_child`); the pool keeps its size. A `map` chunk counts as one task.
    /// Zero is an error at [`build`](Self::build). Default: never.
    pub fn max_tasks_per_child(mut self, max_tasks: usize) -> Self {
        self.max_tasks_per_child = Some(max_tasks);
        self
    }

    /// The time limit of every task submitted without one of its own (see
    /// [`ProcessPoolExecutor::submit_with_timeout`]), counted from submission. When it passes
    /// before the task starts, the task never starts; when it passes while the task runs,
    /// the worker running it is killed (and replaced). Either way the future fails with
    /// [`Error::TaskTimedOut`]. A `map` chunk is one task. Default: none (Python has no limit).
    ///
    /// ```
    /// use std::time::Duration;
    /// use cfutures_core::Error;
    /// use cfutures_process::ProcessPoolExecutor;
    ///
    /// fn spin(_: ()) -> u64 {
    ///     loop { std::hint::spin_loop() }
    /// }
    ///
    /// let pool = ProcessPoolExecutor::builder()
    ///     .max_workers(1)
    ///     .task_timeout(Duration::from_millis(200))
    ///     .build()
    ///     .unwrap();
    /// let runaway = pool.submit(spin, ()).unwrap();
    /// assert_eq!(runaway.result(), Err(Error::TaskTimedOut { after: Duration::from_millis(200) }));
    /// // The pool keeps serving, with a fresh worker.
    /// assert_eq!(pool.submit(|x: u32| x + 1, 1).unwrap().result(), Ok(&2));
    /// # cfutures_process::init();
    /// ```
    pub fn task_timeout(mut self, limit: Duration) -> Self {
        self.task_timeout = Some(limit);
        self
    }

    /// The largest message (an encoded argument or result plus a few bytes of header) that
    /// may cross between the parent and a worker; default 256 MiB, at least 1 KiB, at most
    /// 4 GiB - 1. A larger argument makes `submit` fail, a larger result fails its future,
    /// both with [`Error::Serialization`].
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = Some(bytes);
        self
    }

    /// Checks the settings and makes the pool. No process starts until the first task.
    ///
    /// Also refuses (with [`Error::Broken`]) to build a pool inside a process that was started
    /// as a worker but never entered worker mode, which would otherwise start workers of its
    /// own, recursively; see [`init`](crate::init).
    pub fn build(self) -> Result<ProcessPoolExecutor, Error> {
        let max_workers = match self.max_workers {
            Some(0) => {
                return Err(Error::InvalidArgument(
                    "max_workers must be greater than 0".into(),
                ));
            }
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        if self.max_tasks_per_child == Some(0) {
            return Err(Error::InvalidArgument(
                "max_tasks_per_child must be >= 1".into(),
            ));
        }
        let max_frame = self.max_frame_size.unwrap_or(DEFAULT_MAX_FRAME);
        if !(MIN_MAX_FRAME..=u32::MAX as usize).contains(&max_frame) {
            return Err(Error::InvalidArgument(format!(
                "max_frame_size must be between {MIN_MAX_FRAME} and {} bytes",
                u32::MAX
            )));
        }
        let initializer = self.initializer.transpose()?;
        if let Some((_, arg)) = &initializer
            && arg.len() + 64 > max_frame
        {
            return Err(Error::Serialization(
                "the initializer's argument exceeds the frame limit".into(),
            ));
        }
        if std::env::var_os(WORKER_ENV).is_some() {
            return Err(Error::Broken(format!(
                "this process was started as a cfutures worker but did not enter worker mode \
                 ({WORKER_ENV} is set); call cfutures_process::init() first in main"
            )));
        }
        Ok(ProcessPoolExecutor::from_inner(Arc::new(Inner::new(
            Config {
                max_workers,
                max_tasks_per_child: self.max_tasks_per_child,
                initializer,
                max_frame,
                task_timeout: self.task_timeout,
            },
        ))))
    }
}

impl std::fmt::Debug for ProcessPoolBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The initializer's encoded argument may be large: show only whether there is one.
        f.debug_struct("ProcessPoolBuilder")
            .field("max_workers", &self.max_workers)
            .field("max_tasks_per_child", &self.max_tasks_per_child)
            .field("initializer", &self.initializer.as_ref().map(|i| i.is_ok()))
            .field("max_frame_size", &self.max_frame_size)
            .field("task_timeout", &self.task_timeout)
            .finish()
    }
}
