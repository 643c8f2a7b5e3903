//! The ready queue: where a completed future's waker leaves its index for the one consumer.
//!
//! Each watched future gets one registration whose waker knows the future's index. Completing
//! the future pushes that index here and wakes the consumer if it is waiting, so the consumer
//! learns about each completion in O(1) and never scans or polls. The consumer swaps the whole
//! queue out under one lock (ping-ponging two buffers), so a burst of completions costs it one
//! lock, not one per future.

use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Wake, Waker};
use std::thread::{self, Thread};
use std::time::Instant;

use cfutures_core::Error;
use cfutures_core::executor::{MAX_AWAITED, WaitTarget, WaitsFor, while_blocked};

use crate::deadline::park_until;
use cfutures_core::executor::lock;

/// Who to tell about the next push.
enum Consumer {
    /// A thread parked in a blocking `next`.
    Thread(Thread),
    /// An async task waiting in `next_async`.
    Waker(Waker),
}

impl Consumer {
    fn notify(self) {
        match self {
            Consumer::Thread(thread) => thread.unpark(),
            Consumer::Waker(waker) => waker.wake(),
        }
    }
}

struct Inner {
    /// Indices in the order their futures completed.
    indices: Vec<usize>,
    /// Set only while the consumer found the queue empty; the next push takes it, so a burst
    /// of completions unparks the consumer once.
    consumer: Option<Consumer>,
}

pub(crate) struct Ready {
    inner: Mutex<Inner>,
}

impl Ready {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Ready {
            inner: Mutex::new(Inner {
                indices: Vec::new(),
                consumer: None,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    /// Records that the future at `index` is done and tells a waiting consumer.
    pub(crate) fn push(&self, index: usize) {
        let consumer = {
            let mut inner = self.lock();
            inner.indices.push(index);
            inner.consumer.take()
        };
        if let Some(consumer) = consumer {
            consumer.notify();
        }
    }

    /// Moves what is queued into `out` (which must be empty); false if nothing was.
    pub(crate) fn take(&self, out: &mut Vec<usize>) -> bool {
        debug_assert!(out.is_empty());
        let mut inner = self.lock();
        Self::swap_out(&mut inner, out)
    }

    /// As [`take`](Self::take), but when nothing is queued the current thread is recorded so
    /// that the next push unparks it.
    pub(crate) fn take_or_park_me(&self, out: &mut Vec<usize>) -> bool {
        debug_assert!(out.is_empty());
        let mut inner = self.lock();
        if Self::swap_out(&mut inner, out) {
            return true;
        }
        inner.consumer = Some(Consumer::Thread(thread::current()));
        false
    }

    /// Blocks the current thread until something is queued, and moves it into `out` (which
    /// must be empty): true; false if `deadline` passed first with nothing queued. The one
    /// park loop of the crate's blocking waits; spurious and stale wake-ups end here.
    ///
    /// `watched` are the unfinished futures whose completion pushes here: a wait inside a task
    /// publishes them (as a wait for any one of them) in the wait graph before it parks, and
    /// fails with `Deadlock` instead of parking if every one of them waits, through a chain of
    /// blocked tasks, on this thread (see `cfutures_core::executor::while_blocked`). Outside a
    /// task `watched` is not iterated.
    pub(crate) fn wait_until<'a>(
        &self,
        out: &mut Vec<usize>,
        deadline: Option<Instant>,
        watched: impl IntoIterator<Item = WaitTarget<'a>>,
    ) -> Result<bool, Error> {
        if self.take_or_park_me(out) {
            return Ok(true);
        }
        let waited = while_blocked(watched, WaitsFor::Any, || {
            loop {
                if !park_until(deadline) {
                    self.forget_consumer();
                    return self.take(out);
                }
                if self.take_or_park_me(out) {
                    return true;
                }
            }
        });
        if waited.is_err() {
            self.forget_consumer();
        }
        waited
    }

    /// As [`take`](Self::take), but when nothing is queued `waker` is recorded so that the
    /// next push wakes it.
    pub(crate) fn take_or_wake_me(&self, out: &mut Vec<usize>, waker: &Waker) -> bool {
        debug_assert!(out.is_empty());
        let mut inner = self.lock();
        if Self::swap_out(&mut inner, out) {
            return true;
        }
        match &mut inner.consumer {
            Some(Consumer::Waker(current)) if current.will_wake(waker) => {}
            slot => *slot = Some(Consumer::Waker(waker.clone())),
        }
        false
    }

    /// Wakes the consumer, if one is waiting, without queueing anything (its deadline passed).
    pub(crate) fn wake_consumer(&self) {
        let consumer = self.lock().consumer.take();
        if let Some(consumer) = consumer {
            consumer.notify();
        }
    }

    /// Forgets a recorded consumer (an abandoned `next_async` must not be woken later).
    pub(crate) fn forget_consumer(&self) {
        let consumer = self.lock().consumer.take();
        drop(consumer);
    }

    fn swap_out(inner: &mut Inner, out: &mut Vec<usize>) -> bool {
        if inner.indices.is_empty() {
            return false;
        }
        std::mem::swap(&mut inner.indices, out);
        inner.consumer = None;
        true
    }
}

/// How many of `watched` futures a blocking wait lists for the wait graph: all of them up to
/// four times [`MAX_AWAITED`], none beyond (a wait that large is not checked, so gathering its
/// unfinished futures before each park does not make a big `as_completed` quadratic).
pub(crate) fn watch_limit(watched: usize) -> usize {
    if watched <= 4 * MAX_AWAITED {
        watched
    } else {
        0
    }
}

/// The waker registered on one future: pushes its index.
struct SlotWaker {
    ready: Arc<Ready>,
    index: usize,
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.ready.push(self.index);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.ready.push(self.index);
    }
}

/// The waker to register on the future at `index`.
pub(crate) fn slot_waker(ready: &Arc<Ready>, index: usize) -> Waker {
    Waker::from(Arc::new(SlotWaker {
        ready: Arc::clone(ready),
        index,
    }))
}
