//! A deadline for async waiting without an async runtime.
//!
//! A blocking `next` parks with a timeout, but an async `next_async` returns `Pending` and
//! must be woken when its deadline passes even if no future completes. Without depending on a
//! runtime's timer, the only clock that can wake a task is a thread: the first time an async
//! wait with a deadline has to return `Pending`, one small thread is started that sleeps until
//! the deadline and then wakes the consumer. It exits at the deadline, or as soon as the
//! iterator is dropped or finishes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, Thread};
use std::time::Instant;

use crate::deadline::park_until;
use crate::ready::Ready;

/// Stops the timer thread when dropped.
pub(crate) struct Timer {
    thread: Thread,
    stop: Arc<AtomicBool>,
}

impl Timer {
    /// Starts a thread that wakes `ready`'s consumer at `deadline`. `None` if the thread could
    /// not be started (the wait then notices its deadline only when it is polled again).
    pub(crate) fn start(deadline: Instant, ready: Arc<Ready>) -> Option<Timer> {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let handle = thread::Builder::new()
            .name("cfutures-deadline".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                // May wake early (spuriously, or because the timer was stopped): the loop
                // re-checks both conditions.
                while !stop_flag.load(Ordering::Acquire) {
                    if !park_until(Some(deadline)) {
                        ready.wake_consumer();
                        return;
                    }
                }
            })
            .ok()?;
        Some(Timer {
            thread: handle.thread().clone(),
            stop,
        })
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        // ORDERING: the flag publishes nothing but itself (the thread reads no other data the
        // dropping side wrote); Release/Acquire only keeps the intent readable. The unpark
        // that follows is what makes the thread look again.
        self.stop.store(true, Ordering::Release);
        self.thread.unpark();
    }
}
