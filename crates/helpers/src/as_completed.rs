//! `as_completed`: the futures, each once, in the order they complete.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use cfutures_core::executor::WaitTarget;
use cfutures_core::{Error, Future, WakerKey};

use crate::deadline::time_left;
use crate::distinct::distinct;
use crate::ready::{Ready, slot_waker, watch_limit};
use crate::timer::Timer;
use cfutures_core::executor::deadline_after;

/// Yields each distinct future of `futures` once, as it completes: first those already done
/// when this is called (in the order given), then the others in the order they finish or are
/// cancelled. Like Python's `concurrent.futures.as_completed(fs, timeout)`.
///
/// The futures may come from any executors, mixed: thread pool, process pool, a
/// [`Promise`](cfutures_core::Promise) of your own.
///
/// - **Duplicates** (clones of one future) are yielded once.
/// - **Cancelled** futures are done: they are yielded like finished ones (Python yields a
///   future once it is `CANCELLED_AND_NOTIFIED`; cancelling here notifies at once).
/// - **Timeout**: counted from this call. When the iterator would have to wait past it, it
///   yields one `Err(Error::Timeout { unfinished, total })` (`unfinished` of `total` distinct
///   futures were not yielded; it reads "timed out: 2 (of 4) futures unfinished", Python's
///   message) and then ends. Futures that are already done when `next` is called are yielded
///   even after the deadline: the error comes only in place of waiting.
/// - **Deadlock**: inside a task, a wait for the next one that could never end (every
///   unfinished future waits, through blocked tasks, on this one) yields one
///   `Err(Error::Deadlock)` and then ends, like a timeout (see `cfutures_core`'s "Deadlocks").
///   Checked for up to 1024 futures.
/// - **Cost**: one waker registration per future that is not done yet, no polling; a completion
///   costs O(1), so `n` futures cost O(n) in all. The iterator keeps no handle to a future it
///   has yielded (so [`Future::into_inner`] on a yielded future can move its value out), and
///   dropping the iterator removes its remaining registrations.
/// - **Async**: [`AsCompleted::next_async`] awaits the next one without a runtime dependency.
///
/// ```
/// use cfutures_core::Promise;
/// use cfutures_helpers::as_completed;
/// use std::thread;
///
/// let (done_promise, done) = Promise::new();
/// done_promise.set_result("already done").unwrap();
/// let (promise, later) = Promise::new();
///
/// let completed = as_completed([later, done.clone(), done], None);
/// let producer = thread::spawn(move || promise.set_result("finished later").unwrap());
/// let order: Vec<&str> = completed
///     .map(|future| future.unwrap().into_inner().unwrap().unwrap())
///     .collect();
/// assert_eq!(order, ["already done", "finished later"]);
/// producer.join().unwrap();
/// ```
///
/// A timeout:
///
/// ```
/// use cfutures_core::{Error, Promise};
/// use cfutures_helpers::as_completed;
/// use std::time::Duration;
///
/// let (finished, a) = Promise::new();
/// finished.set_result(1).unwrap();
/// let (_never, b) = Promise::<i32>::new();
/// let mut it = as_completed([a.clone(), b], Some(Duration::from_millis(10)));
/// assert_eq!(it.next().unwrap().unwrap(), a);
/// let err = it.next().unwrap().unwrap_err();
/// assert_eq!(err, Error::Timeout { unfinished: 1, total: 2 });
/// assert_eq!(err.to_string(), "timed out: 1 (of 2) futures unfinished");
/// assert!(it.next().is_none());
/// ```
pub fn as_completed<T, I>(futures: I, timeout: Option<Duration>) -> AsCompleted<T>
where
    I: IntoIterator<Item = Future<T>>,
{
    let deadline = timeout.and_then(deadline_after);
    AsCompleted::new(distinct(futures), deadline)
}

/// The iterator returned by [`as_completed`]: `Ok(future)` for each distinct future as it
/// completes, at most one `Err(Error::Timeout { .. })`, then `None`.
///
/// It blocks in [`next`](Iterator::next); [`next_async`](AsCompleted::next_async) is the
/// async face, and with the `stream` feature it is a `futures_core::Stream` (and
/// `FusedStream`), so the async ecosystem's combinators apply;
/// [`poll_next`](AsCompleted::poll_next) is the building block for other `Stream` traits.
#[must_use = "iterators are lazy; the futures are only waited for when iterated"]
pub struct AsCompleted<T> {
    slots: Vec<Slot<T>>,
    /// Indices taken from the ready queue, yielded from `cursor` on.
    batch: Vec<usize>,
    cursor: usize,
    ready: Arc<Ready>,
    /// Futures not yet yielded.
    remaining: usize,
    total: usize,
    deadline: Option<Instant>,
    ended: bool,
    /// Wakes an async consumer at the deadline; started only if one has to wait.
    timer: Option<Timer>,
}

/// One distinct future: the handle until it is yielded, and its registration while it has one.
struct Slot<T> {
    future: Option<Future<T>>,
    key: Option<WakerKey>,
}

impl<T> AsCompleted<T> {
    /// Watches `futures` (already distinct) until `deadline`.
    pub(crate) fn new(futures: Vec<Future<T>>, deadline: Option<Instant>) -> Self {
        let ready = Ready::new();
        let mut batch = Vec::new();
        let slots = futures
            .into_iter()
            .enumerate()
            .map(|(index, future)| {
                // One atomic load spares a done future the registration lock.
                let key = if future.done() {
                    batch.push(index);
                    None
                } else {
                    let key = future.register_waker(&slot_waker(&ready, index));
                    if key.is_none() {
                        // It completed between the two looks: it takes its place in the
                        // completion order with the others.
                        ready.push(index);
                    }
                    key
                };
                Slot {
                    future: Some(future),
                    key,
                }
            })
            .collect::<Vec<_>>();
        let total = slots.len();
        AsCompleted {
            slots,
            batch,
            cursor: 0,
            ready,
            remaining: total,
            total,
            deadline,
            ended: false,
            timer: None,
        }
    }

    /// How many distinct futures were given.
    pub fn total(&self) -> usize {
        self.total
    }

    /// How many distinct futures have not been yielded yet (0 after a timeout).
    pub fn remaining(&self) -> usize {
        if self.ended { 0 } else { self.remaining }
    }

    /// Waits for the next completed future without blocking the thread: resolves to what
    /// [`next`](Iterator::next) would return. Needs no particular async runtime: it is woken
    /// through the task's `Waker` by the completing future, and, if a timeout was given, by a
    /// small timer thread started the first time it has to wait (it exits at the deadline or
    /// when the iterator is dropped).
    ///
    /// ```
    /// use cfutures_core::Promise;
    /// use cfutures_helpers::as_completed;
    /// use std::future::Future as _;
    /// use std::pin::pin;
    /// use std::task::{Context, Poll, Waker};
    ///
    /// let (promise, future) = Promise::new();
    /// let mut completed = as_completed([future.clone()], None);
    /// let mut cx = Context::from_waker(Waker::noop());
    /// {
    ///     let mut next = pin!(completed.next_async());
    ///     assert!(next.as_mut().poll(&mut cx).is_pending());
    ///     promise.set_result(3).unwrap();
    ///     assert_eq!(next.poll(&mut cx), Poll::Ready(Some(Ok(future))));
    /// }
    /// let mut last = pin!(completed.next_async());
    /// assert_eq!(last.as_mut().poll(&mut cx), Poll::Ready(None));
    /// ```
    pub fn next_async(&mut self) -> NextCompleted<'_, T> {
        NextCompleted { inner: self }
    }

    /// The poll behind [`next_async`](Self::next_async): `Ready` with what
    /// [`next`](Iterator::next) would return, or `Pending` after arranging for `cx`'s waker to
    /// be woken. Use it to implement a `Stream` trait on a wrapper.
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Future<T>, Error>>> {
        loop {
            if let Some(step) = self.step() {
                return Poll::Ready(step);
            }
            if self.ready.take_or_wake_me(&mut self.batch, cx.waker()) {
                continue;
            }
            if let Some(deadline) = self.deadline {
                // The timer may have fired between `step`'s look at the clock and the
                // registration above, finding no waker to wake: look again now that the waker
                // is in place (the timer fires only once the deadline has passed).
                if time_left(deadline).is_none() {
                    self.ready.forget_consumer();
                    continue;
                }
                if self.timer.is_none() {
                    self.timer = Timer::start(deadline, Arc::clone(&self.ready));
                }
            }
            return Poll::Pending;
        }
    }

    /// Everything `next` does short of waiting: a yielded future, the end, the timeout, or
    /// `None` when it would have to wait.
    #[allow(clippy::option_option)]
    fn step(&mut self) -> Option<Option<Result<Future<T>, Error>>> {
        if let Some(future) = self.pop_batch() {
            return Some(Some(Ok(future)));
        }
        if self.ended {
            return Some(None);
        }
        if self.remaining == 0 {
            self.finish();
            return Some(None);
        }
        if self.ready.take(&mut self.batch) {
            return self.pop_batch().map(|future| Some(Ok(future)));
        }
        if let Some(deadline) = self.deadline
            && time_left(deadline).is_none()
        {
            return Some(Some(Err(self.time_out())));
        }
        None
    }

    /// The next future from the batch taken off the ready queue.
    fn pop_batch(&mut self) -> Option<Future<T>> {
        while let Some(&index) = self.batch.get(self.cursor) {
            self.cursor += 1;
            let slot = &mut self.slots[index];
            // The registration fired (that is how the index got here), so there is nothing to
            // unregister.
            slot.key = None;
            if let Some(future) = slot.future.take() {
                self.remaining -= 1;
                return Some(future);
            }
        }
        self.batch.clear();
        self.cursor = 0;
        None
    }

    /// Ends the iteration with the timeout error.
    fn time_out(&mut self) -> Error {
        let error = Error::Timeout {
            unfinished: self.remaining,
            total: self.total,
        };
        self.finish();
        error
    }

    /// Ends the iteration: no more registrations, no timer, no handles.
    fn finish(&mut self) {
        self.ended = true;
        self.timer = None;
        self.unregister_all();
        self.slots = Vec::new();
        self.batch = Vec::new();
        self.cursor = 0;
    }

    fn unregister_all(&mut self) {
        for slot in &mut self.slots {
            if let (Some(future), Some(key)) = (&slot.future, slot.key.take()) {
                future.unregister_waker(key);
            }
        }
    }
}

impl<T> Iterator for AsCompleted<T> {
    type Item = Result<Future<T>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(step) = self.step() {
                return step;
            }
            // Wakes for a completion or the deadline; `step` then yields or times out.
            let watched = self
                .slots
                .iter()
                .take(watch_limit(self.slots.len()))
                .filter_map(|slot| slot.future.as_ref().filter(|future| !future.done()))
                .map(WaitTarget::of);
            if let Err(error) = self
                .ready
                .wait_until(&mut self.batch, self.deadline, watched)
            {
                self.finish();
                return Some(Err(error));
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let remaining = self.remaining();
        if self.ended {
            (0, Some(0))
        } else if self.deadline.is_some() {
            // It may time out at once (one error item) instead of yielding them all.
            (remaining.min(1), Some(remaining + 1))
        } else {
            (remaining, Some(remaining))
        }
    }
}

impl<T> std::iter::FusedIterator for AsCompleted<T> {}

#[cfg(feature = "stream")]
impl<T> futures_core::Stream for AsCompleted<T> {
    type Item = Result<Future<T>, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        AsCompleted::poll_next(self.get_mut(), cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        Iterator::size_hint(self)
    }
}

#[cfg(feature = "stream")]
impl<T> futures_core::FusedStream for AsCompleted<T> {
    fn is_terminated(&self) -> bool {
        self.ended
    }
}

impl<T> Drop for AsCompleted<T> {
    fn drop(&mut self) {
        self.unregister_all();
    }
}

impl<T> fmt::Debug for AsCompleted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("total", &self.total)
            .field("remaining", &self.remaining())
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// The `std::future::Future` returned by [`AsCompleted::next_async`].
#[must_use = "futures do nothing unless awaited"]
pub struct NextCompleted<'a, T> {
    inner: &'a mut AsCompleted<T>,
}

impl<T> std::future::Future for NextCompleted<'_, T> {
    type Output = Option<Result<Future<T>, Error>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().inner.poll_next(cx)
    }
}

impl<T> Drop for NextCompleted<'_, T> {
    fn drop(&mut self) {
        // A wait abandoned while pending must not leave its task's waker to be woken later.
        self.inner.ready.forget_consumer();
    }
}

impl<T> fmt::Debug for NextCompleted<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NextCompleted")
            .field("as_completed", &self.inner)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cfutures_core::Promise;

    /// Dropping the iterator removes its registrations: their wakers, which are the only
    /// other owners of the ready queue, are gone with them.
    #[test]
    fn drop_unregisters_every_waker() {
        let pairs: Vec<_> = (0..3).map(|_| Promise::<u8>::new()).collect();
        let completed = as_completed(pairs.iter().map(|(_, f)| f.clone()), None);
        let ready = Arc::downgrade(&completed.ready);
        assert_eq!(
            ready.strong_count(),
            4,
            "the iterator and three registered wakers"
        );
        drop(completed);
        assert_eq!(ready.strong_count(), 0);
        // The futures are still usable and nobody is woken.
        for (promise, _) in &pairs {
            promise.set_result(1).unwrap();
        }
    }

    #[test]
    fn is_send_and_sync_for_shareable_values() {
        fn assert_send_sync<X: Send + Sync>() {}
        assert_send_sync::<AsCompleted<String>>();
        assert_send_sync::<NextCompleted<'_, String>>();
        assert_send_sync::<crate::DoneAndNotDone<String>>();
    }

    #[test]
    fn timeout_unregisters_and_releases_handles() {
        let (promise, future) = Promise::<String>::new();
        let mut completed = as_completed([future.clone()], Some(Duration::ZERO));
        let ready = Arc::downgrade(&completed.ready);
        assert!(matches!(completed.next(), Some(Err(Error::Timeout { .. }))));
        assert_eq!(ready.strong_count(), 1, "only the iterator itself");
        assert!(completed.slots.is_empty());
        promise.set_result("v".into()).unwrap();
        assert_eq!(future.into_inner(), Some(Ok("v".to_owned())));
    }
}
