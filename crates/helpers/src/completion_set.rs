//! `CompletionSet`: a growable `as_completed` (tokio's `JoinSet`, `FuturesUnordered`).

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use cfutures_core::{Error, Future};

use crate::watch_set::{Shared, WatchSet};
use cfutures_core::executor::deadline_after;

/// A set of futures, from any executors, that yields each one once as it completes, and that
/// can grow while it is drained: [`as_completed`](crate::as_completed) for a set that is not
/// known up front, as tokio's `JoinSet` (`spawn` + `join_next`) and the futures crate's
/// `FuturesUnordered` are for async tasks.
///
/// Named for what it yields: completions, like `as_completed`. (`JoinSet` would promise that
/// it owns and joins tasks, and `FutureSet` reads as a plain container of futures.)
///
/// - **Insert** at any time, O(1): [`insert`](Self::insert) from the thread that drains it,
///   or from any thread through an [`Inserter`] (a `Clone + Send` handle from
///   [`inserter`](Self::inserter)), also while another thread waits in
///   [`next`](Iterator::next). Draining takes `&mut self`: there is one consumer, so waiting
///   never contends with another waiter, and inserting takes `&self`.
/// - **Drain**: [`next`](Iterator::next) blocks until a future in the set is done (finished
///   or cancelled) and hands it out; [`next_timeout`](Self::next_timeout) gives up after a
///   while; [`next_async`](Self::next_async) awaits without a runtime. Futures come out in
///   the order they completed (those already done when inserted, in insertion order). Each
///   inserted future comes out once; the set keeps no handle to it after, so
///   [`Future::into_inner`] can move its value out. `None` means the set is empty right now:
///   a later insert makes `next` yield again (the iterator is not fused).
/// - **Deadlock**: inside a task, [`next_timeout`](Self::next_timeout) fails with
///   [`Error::Deadlock`] instead of waiting when every future in the set waits, through
///   blocked tasks, on this one and no [`Inserter`] is alive (an insert could wake it).
///   [`next`](Iterator::next) has no error to report it with and just waits.
/// - **Cost**: one waker registration per future not yet done when inserted, no polling; one
///   slot per future in the set, reused once it is handed out.
/// - **Dropping** the set cancels nothing: its futures run on and their registrations are
///   removed; inserters then get their futures back. [`cancel_all`](Self::cancel_all)
///   cancels what has not started.
/// - Inserting two clones of one future yields it twice (finding duplicates would cost a hash
///   per insert); [`as_completed`](crate::as_completed) collapses them.
///
/// ```
/// use cfutures_core::Promise;
/// use cfutures_helpers::CompletionSet;
/// use std::thread;
///
/// let mut set = CompletionSet::new();
/// let (first, future) = Promise::new();
/// set.insert(future);
/// let inserter = set.inserter();
/// let producer = thread::spawn(move || {
///     // Add to the set while the main thread waits on it.
///     let (second, future) = Promise::new();
///     inserter.insert(future).unwrap();
///     second.set_result("second").unwrap();
///     first.set_result("first").unwrap();
/// });
/// let mut seen = Vec::new();
/// while seen.len() < 2 {
///     let future = set.next().expect("two futures were inserted");
///     seen.push(future.into_inner().unwrap().unwrap());
/// }
/// seen.sort();
/// assert_eq!(seen, ["first", "second"]);
/// assert!(set.is_empty());
/// producer.join().unwrap();
/// ```
///
/// The seed program's URL loader, following the links it finds: each page's task returns the
/// URLs on it, and those not seen yet go into the set while it is drained.
///
/// ```
/// use cfutures_core::{Error, Future, Inline, Task};
/// use cfutures_helpers::CompletionSet;
/// use std::collections::{HashMap, HashSet};
/// use std::thread;
///
/// /// Stands in for the network: a page's text, with links written as `-> url`.
/// fn load_url(url: &str) -> Result<String, Error> {
///     match url {
///         "http://a.example/" => Ok("home -> http://b.example/ -> http://c.example/".into()),
///         "http://b.example/" => Ok("about -> http://a.example/ -> http://d.invalid/".into()),
///         "http://c.example/" => Ok("contact".into()),
///         other => Err(Error::InvalidArgument(format!("no such host: {other}"))),
///     }
/// }
///
/// fn links(page: &str) -> Vec<String> {
///     page.split("-> ").skip(1).map(|link| link.trim().to_owned()).collect()
/// }
///
/// // A minimal executor: one thread per task.
/// fn submit(url: String) -> Future<Result<String, Error>> {
///     let (task, future) = Task::new(Inline::Never, move || load_url(&url));
///     thread::spawn(move || task.run());
///     future
/// }
///
/// let mut pages = CompletionSet::new();
/// let mut future_to_url = HashMap::new();
/// let mut seen = HashSet::new();
/// for url in ["http://a.example/"] {
///     seen.insert(url.to_owned());
///     let future = submit(url.to_owned());
///     future_to_url.insert(future.clone(), url.to_owned());
///     pages.insert(future);
/// }
///
/// let mut lines = Vec::new();
/// while let Some(future) = pages.next() {
///     let url = future_to_url.remove(&future).unwrap();
///     match future.into_inner().unwrap() {
///         Ok(Ok(page)) => {
///             lines.push(format!("{url:?} page is {} bytes", page.len()));
///             for link in links(&page) {
///                 if seen.insert(link.clone()) {
///                     let future = submit(link.clone());
///                     future_to_url.insert(future.clone(), link);
///                     pages.insert(future);
///                 }
///             }
///         }
///         Ok(Err(exc)) | Err(exc) => lines.push(format!("{url:?} generated an exception: {exc}")),
///     }
/// }
/// lines.sort();
/// assert_eq!(lines.len(), 4);
/// assert_eq!(lines[0], r#""http://a.example/" page is 46 bytes"#);
/// assert_eq!(lines[3], r#""http://d.invalid/" generated an exception: invalid argument: no such host: http://d.invalid/"#);
/// ```
///
/// (`future_to_url` holds a second handle to each future only until its entry is removed, so
/// `into_inner` moves each page out.)
#[must_use = "a CompletionSet yields nothing unless drained"]
pub struct CompletionSet<T> {
    set: WatchSet<T, ()>,
}

/// A handle that inserts into a [`CompletionSet`] from any thread, also while the set is
/// being drained. Cheap to clone; it does not keep the set alive.
pub struct Inserter<T> {
    shared: Arc<Shared<T, ()>>,
}

impl<T> CompletionSet<T> {
    /// An empty set.
    pub fn new() -> Self {
        CompletionSet {
            set: WatchSet::new(),
        }
    }

    /// Adds `future`, O(1): it will be yielded once it is done (at once if it already is).
    pub fn insert(&self, future: Future<T>) {
        // The set is closed only when dropped, and `&self` proves it is not.
        let inserted = self.set.insert(future, ());
        debug_assert!(inserted.is_ok());
    }

    /// A handle for inserting from other threads.
    pub fn inserter(&self) -> Inserter<T> {
        Inserter {
            shared: Arc::clone(self.set.shared()),
        }
    }

    /// How many futures are in the set: inserted and not yet yielded, done or not.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Whether the set holds no future.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// As [`next`](Iterator::next), but waits at most `timeout`: `Ok(Some(future))` for a
    /// done future, `Ok(None)` if the set is empty, and `Err(Error::Timeout { unfinished,
    /// total })` (all `len` futures unfinished) if none completed in time. Futures that are
    /// already done are handed out even with a zero timeout.
    ///
    /// ```
    /// use cfutures_core::{Error, Promise};
    /// use cfutures_helpers::CompletionSet;
    /// use std::time::Duration;
    ///
    /// let mut set = CompletionSet::new();
    /// assert_eq!(set.next_timeout(Duration::ZERO), Ok(None));
    /// let (promise, future) = Promise::<u8>::new();
    /// set.insert(future.clone());
    /// let err = set.next_timeout(Duration::from_millis(1)).unwrap_err();
    /// assert_eq!(err, Error::Timeout { unfinished: 1, total: 1 });
    /// promise.set_result(7).unwrap();
    /// assert_eq!(set.next_timeout(Duration::ZERO), Ok(Some(future)));
    /// ```
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Option<Future<T>>, Error> {
        let deadline = deadline_after(timeout);
        loop {
            if let Some((future, ())) = self.set.try_next() {
                return Ok(Some(future));
            }
            // Only the consumer takes futures out, so an empty set stays empty until an insert.
            if self.set.len() == 0 {
                return Ok(None);
            }
            if !self.set.wait_until(deadline, true)? {
                let unfinished = self.set.len();
                if unfinished == 0 {
                    return Ok(None);
                }
                return Err(Error::Timeout {
                    unfinished,
                    total: unfinished,
                });
            }
        }
    }

    /// Waits for the next done future without blocking the thread: resolves to what
    /// [`next`](Iterator::next) would return. Needs no particular async runtime: the
    /// completing future wakes the task.
    ///
    /// ```
    /// use cfutures_core::Promise;
    /// use cfutures_helpers::CompletionSet;
    /// use std::future::Future as _;
    /// use std::pin::pin;
    /// use std::task::{Context, Poll, Waker};
    ///
    /// let mut set = CompletionSet::new();
    /// let (promise, future) = Promise::new();
    /// set.insert(future.clone());
    /// let mut cx = Context::from_waker(Waker::noop());
    /// {
    ///     let mut next = pin!(set.next_async());
    ///     assert!(next.as_mut().poll(&mut cx).is_pending());
    ///     promise.set_result(3).unwrap();
    ///     assert_eq!(next.poll(&mut cx), Poll::Ready(Some(future)));
    /// }
    /// assert_eq!(pin!(set.next_async()).poll(&mut cx), Poll::Ready(None));
    /// ```
    pub fn next_async(&mut self) -> NextDone<'_, T> {
        NextDone { set: self }
    }

    /// The poll behind [`next_async`](Self::next_async) (and the `Stream` impl of the
    /// `stream` feature): `Ready(Some(future))`, `Ready(None)` when the set is empty, or
    /// `Pending` with `cx`'s waker recorded.
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Future<T>>> {
        loop {
            if let Some((future, ())) = self.set.try_next() {
                return Poll::Ready(Some(future));
            }
            if self.set.len() == 0 {
                return Poll::Ready(None);
            }
            if self.set.poll_wait(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }

    /// Cancels every future in the set that has not started (Python's `cancel()` on each);
    /// returns how many it cancelled. They stay in the set and are yielded, cancelled, like
    /// the others (a cancelled future is done).
    pub fn cancel_all(&self) -> usize {
        // Cancelling runs done-callbacks, which may insert: not under the table's lock.
        self.set
            .futures()
            .iter()
            .filter(|future| future.cancel())
            .count()
    }
}

impl<T> Inserter<T> {
    /// Adds `future` to the set, O(1); gives it back if the set was dropped.
    pub fn insert(&self, future: Future<T>) -> Result<(), Future<T>> {
        self.shared.insert(future, ())
    }
}

impl<T> Clone for Inserter<T> {
    fn clone(&self) -> Self {
        Inserter {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> Iterator for CompletionSet<T> {
    type Item = Future<T>;

    /// Blocks until a future in the set is done and hands it out; `None` if the set is empty.
    fn next(&mut self) -> Option<Future<T>> {
        loop {
            if let Some((future, ())) = self.set.try_next() {
                return Some(future);
            }
            if self.set.len() == 0 {
                return None;
            }
            // Unchecked: this iterator has no error to report a deadlock with (see
            // `next_timeout`), and its `None` means "empty".
            let _ = self.set.wait_until(None, false);
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // Inserts may add more later.
        (self.len(), None)
    }
}

impl<T> Default for CompletionSet<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> FromIterator<Future<T>> for CompletionSet<T> {
    fn from_iter<I: IntoIterator<Item = Future<T>>>(futures: I) -> Self {
        let set = CompletionSet::new();
        for future in futures {
            set.insert(future);
        }
        set
    }
}

impl<T> Extend<Future<T>> for CompletionSet<T> {
    fn extend<I: IntoIterator<Item = Future<T>>>(&mut self, futures: I) {
        for future in futures {
            self.insert(future);
        }
    }
}

impl<T> fmt::Debug for CompletionSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompletionSet")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Inserter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inserter").finish_non_exhaustive()
    }
}

/// The `std::future::Future` returned by [`CompletionSet::next_async`].
#[must_use = "futures do nothing unless awaited"]
pub struct NextDone<'a, T> {
    set: &'a mut CompletionSet<T>,
}

impl<T> std::future::Future for NextDone<'_, T> {
    type Output = Option<Future<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().set.poll_next(cx)
    }
}

impl<T> Drop for NextDone<'_, T> {
    fn drop(&mut self) {
        // A wait abandoned while pending must not leave its task's waker to be woken later.
        self.set.set.forget_waiter();
    }
}

impl<T> fmt::Debug for NextDone<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NextDone").field("set", &self.set).finish()
    }
}

#[cfg(feature = "stream")]
impl<T> futures_core::Stream for CompletionSet<T> {
    type Item = Future<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Future<T>>> {
        CompletionSet::poll_next(self.get_mut(), cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), None)
    }
}
