//! Driving `std` futures from a test: [`block_on`] is `pollster`'s (the field's smallest
//! executor); [`block_on_counting`] and [`CountingWaker`] are for the tests that assert how
//! often a future woke its task.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

pub use pollster::block_on;

/// A waker that unparks the thread that made it and counts its wake-ups.
///
/// ```
/// use cfutures_test_support::CountingWaker;
///
/// let (counter, waker) = CountingWaker::new();
/// waker.wake_by_ref();
/// assert_eq!(counter.wakes(), 1);
/// ```
pub struct CountingWaker {
    thread: Thread,
    wakes: AtomicUsize,
}

impl CountingWaker {
    /// The counter and a waker that unparks the current thread.
    pub fn new() -> (Arc<CountingWaker>, Waker) {
        let counter = Arc::new(CountingWaker {
            thread: thread::current(),
            wakes: AtomicUsize::new(0),
        });
        let waker = Waker::from(Arc::clone(&counter));
        (counter, waker)
    }

    /// How many times the waker fired so far.
    pub fn wakes(&self) -> usize {
        self.wakes.load(Ordering::SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.thread.unpark();
    }
}

/// Polls `future` to completion on this thread, parking between polls. Returns the output and
/// how many times the waker fired.
///
/// ```
/// let (out, wakes) = cfutures_test_support::block_on_counting(async { 7 });
/// assert_eq!((out, wakes), (7, 0));
/// ```
pub fn block_on_counting<F: Future>(future: F) -> (F::Output, usize) {
    let (counter, waker) = CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return (out, counter.wakes());
        }
        thread::park();
    }
}
