//! Python's `threading.Event` and `threading.Semaphore`, the thread-side gates of the suites.
//! Their untimed waits give up after [`PATIENCE`] with a panic, so a broken test fails
//! instead of hanging the run.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::PATIENCE;

/// Python's `threading.Event`: a flag that threads wait on until another sets it.
///
/// ```
/// use cfutures_test_support::Event;
///
/// let event = Event::new();
/// assert!(!event.is_set());
/// event.set();
/// event.wait();
/// assert!(event.is_set());
/// ```
#[derive(Clone, Default)]
pub struct Event(Arc<(Mutex<bool>, Condvar)>);

impl Event {
    /// An event not yet set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the flag and wakes every waiter.
    pub fn set(&self) {
        *self.0.0.lock().unwrap() = true;
        self.0.1.notify_all();
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        *self.0.0.lock().unwrap()
    }

    /// Waits until set; false if `timeout` passed first.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut set = self.0.0.lock().unwrap();
        while !*set {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            set = self.0.1.wait_timeout(set, deadline - now).unwrap().0;
        }
        true
    }

    /// Waits until set, failing the test after [`PATIENCE`] rather than hanging it.
    pub fn wait(&self) {
        assert!(self.wait_timeout(PATIENCE), "the event was never set");
    }
}

/// Python's `threading.Semaphore`: a count of permits.
///
/// ```
/// use cfutures_test_support::Semaphore;
///
/// let semaphore = Semaphore::new(0);
/// semaphore.release(1);
/// semaphore.acquire();
/// ```
#[derive(Clone)]
pub struct Semaphore(Arc<(Mutex<usize>, Condvar)>);

impl Semaphore {
    /// A semaphore holding `permits`.
    pub fn new(permits: usize) -> Self {
        Semaphore(Arc::new((Mutex::new(permits), Condvar::new())))
    }

    /// Takes a permit, waiting for one; fails the test after [`PATIENCE`] without one.
    pub fn acquire(&self) {
        let deadline = Instant::now() + PATIENCE;
        let mut permits = self.0.0.lock().unwrap();
        while *permits == 0 {
            let now = Instant::now();
            assert!(now < deadline, "the semaphore was never released");
            permits = self.0.1.wait_timeout(permits, deadline - now).unwrap().0;
        }
        *permits -= 1;
    }

    /// Adds `n` permits and wakes the waiters.
    pub fn release(&self, n: usize) {
        *self.0.0.lock().unwrap() += n;
        self.0.1.notify_all();
    }
}
