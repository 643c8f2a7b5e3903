//! CPython's `util.py` fixtures: one future in each state, and finished futures.

use cfutures_core::{Error, Future, Promise};

/// `PENDING_FUTURE`, `RUNNING_FUTURE`, `CANCELLED_FUTURE`, `EXCEPTION_FUTURE`,
/// `SUCCESSFUL_FUTURE`. `cancelled` also stands for `CANCELLED_AND_NOTIFIED_FUTURE`:
/// cancelling notifies the waiters at once here. The promises of the unfinished ones are kept
/// so they stay unfinished (dropping a promise would fail its future with `Abandoned`).
///
/// ```
/// use cfutures_core::State;
/// use cfutures_test_support::Canned;
///
/// let c = Canned::new();
/// assert_eq!(c.running.state(), State::Running);
/// assert_eq!(c.successful.result(), Ok(&42));
/// ```
pub struct Canned {
    /// Never started.
    pub pending: Future<i32>,
    /// Started, never finished.
    pub running: Future<i32>,
    /// Cancelled while pending.
    pub cancelled: Future<i32>,
    /// Failed with an `OSError` (an `Error::Other` whose text is `OSError`).
    pub exception: Future<i32>,
    /// Finished with 42.
    pub successful: Future<i32>,
    _keep: Vec<Promise<i32>>,
}

impl Default for Canned {
    fn default() -> Self {
        Self::new()
    }
}

impl Canned {
    /// A fresh set of the five futures.
    pub fn new() -> Self {
        let (pending_promise, pending) = Promise::new();
        let (running_promise, running) = Promise::new();
        assert!(running_promise.set_running_or_notify_cancel());
        let (cancel_promise, cancelled) = Promise::new();
        assert!(cancelled.cancel());
        let (exception_promise, exception) = Promise::new();
        exception_promise
            .set_error(Error::other(std::io::Error::other("OSError")))
            .unwrap();
        let (successful_promise, successful) = Promise::new();
        successful_promise.set_result(42).unwrap();
        Canned {
            pending,
            running,
            cancelled,
            exception,
            successful,
            _keep: vec![pending_promise, running_promise, cancel_promise],
        }
    }
}

/// A future that finished with `value`.
///
/// ```
/// let f = cfutures_test_support::finished("done");
/// assert_eq!(f.result(), Ok(&"done"));
/// ```
pub fn finished<T>(value: T) -> Future<T> {
    let (promise, future) = Promise::new();
    promise.set_result(value).map_err(|_| ()).unwrap();
    future
}
