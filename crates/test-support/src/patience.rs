//! How long a test waits for what should happen at once, and a guard that turns a hang into
//! a failure.

use std::sync::mpsc;
use std::time::Duration;

/// How long anything that should happen "at once" may take before a test fails instead of
/// hanging (CPython's `support.SHORT_TIMEOUT` is 30 s; two noisy shared cores get more).
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Runs `f` on a thread of its own and fails the test if it has not returned within
/// [`PATIENCE`]: a hang becomes a failure (the stuck thread is left behind).
///
/// ```
/// let answer = cfutures_test_support::within("the sum", || 40 + 2);
/// assert_eq!(answer, 42);
/// ```
pub fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(PATIENCE)
        .unwrap_or_else(|_| panic!("{what} did not return within {PATIENCE:?}"))
}
