//! How an executor shuts down: Python's `shutdown(wait=True, cancel_futures=False)`, readable at
//! the call site.

/// The two choices of Python's `Executor.shutdown(wait, cancel_futures)`, named.
///
/// `Shutdown::default()` is Python's default (`wait=True, cancel_futures=False`), which is also
/// what dropping an executor does.
///
/// ```
/// use cfutures_core::Shutdown;
///
/// // Python: executor.shutdown()
/// assert_eq!(Shutdown::WAIT, Shutdown { wait: true, cancel_futures: false });
/// assert_eq!(Shutdown::default(), Shutdown::WAIT);
/// // Python: executor.shutdown(wait=False, cancel_futures=True)
/// let now = Shutdown::NO_WAIT.cancel_futures();
/// assert_eq!(now, Shutdown { wait: false, cancel_futures: true });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shutdown {
    /// Block until every submitted task has finished (or been cancelled) and the executor's
    /// resources are released.
    pub wait: bool,
    /// Cancel every task that has not started; running tasks still finish.
    pub cancel_futures: bool,
}

impl Shutdown {
    /// `shutdown(wait=True)`: return once every task is done. The default, and what `Drop` does.
    pub const WAIT: Shutdown = Shutdown {
        wait: true,
        cancel_futures: false,
    };
    /// `shutdown(wait=False)`: stop accepting tasks and return at once; queued tasks still run.
    pub const NO_WAIT: Shutdown = Shutdown {
        wait: false,
        cancel_futures: false,
    };

    /// The same, but also cancel every task that has not started (`cancel_futures=True`).
    #[must_use]
    pub const fn cancel_futures(self) -> Shutdown {
        Shutdown {
            cancel_futures: true,
            ..self
        }
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown::WAIT
    }
}
