//! `Future<T>`: the handle through which callers observe and wait on a result.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::task::Waker;
use std::time::Duration;

use crate::error::Error;
use crate::shared::{Key, Outcome, Waiter, run_callback};
use crate::shared_ref::SharedRef;
use crate::state::{self, State};
use crate::sync::Ordering;

/// A handle to the eventual result of a computation, like Python's
/// `concurrent.futures.Future`.
///
/// Futures come from an executor's `submit`, from a [`Task`](crate::Task), or from a
/// [`Promise`](crate::Promise) you complete yourself. Cloning is cheap (a reference count) and
/// every clone observes the same future; `==` and `Hash` compare identity, like Python's
/// futures in a `set`.
///
/// Because identity, not state, is what `==` and `Hash` see, a `Future` is a sound key for
/// `HashSet`/`HashMap` even though clippy's `mutable_key_type` lint cannot tell; silence it with
/// `ignore-interior-mutability = ["cfutures_core::Future"]` in `clippy.toml`.
///
/// Waiting never polls: a blocking waiter parks until the producer wakes it, an async waiter
/// registers its `Waker`, and reading a finished result takes no lock.
///
/// # Threads and bounds
/// A task's result needs only `T: Send` (it is made on a worker and moved to you). Because every
/// clone can read `&T` ([`result`](Self::result)), a `Future<T>` is `Send` and `Sync` exactly
/// when `Arc<T>` is: when `T: Send + Sync`. A future of a `!Sync` value (an
/// `mpsc::Receiver`, a `Cell`, a `Box<dyn Error + Send>`) stays on the thread that holds it;
/// take the value out there with [`into_result`](Self::into_result) or `.await`.
///
/// A handle of a `!Sync` value cannot cross threads, and takes no done-callback (which would
/// read the value on the completing thread):
///
/// ```compile_fail
/// fn assert_send<T: Send>(_: T) {}
/// let (_promise, future) = cfutures_core::Promise::<std::cell::Cell<u8>>::new();
/// assert_send(future);
/// ```
///
/// ```compile_fail
/// let (_promise, future) = cfutures_core::Promise::<std::cell::Cell<u8>>::new();
/// future.add_done_callback(|f| f.result().unwrap().set(1));
/// ```
///
/// # Moving the value out, and shared handles
/// [`into_result`](Self::into_result), [`into_inner`](Self::into_inner) and `future.await` (this
/// type is a `std::future::Future` itself) move the value out of the **last** handle, so
/// `T` need not be `Clone`. While other handles are alive the value stays where they can read
/// it: `into_result` and `.await` then fail with [`Error::InvalidState`] (the value is not
/// lost: the other handles still see it), and `into_inner` returns `None`. Borrow instead
/// (`result()`, `(&future).await`, `.cloned()` on either) when you keep clones.
///
/// ```
/// use cfutures_core::{Promise, State};
/// use std::thread;
///
/// let (promise, future) = Promise::new();
/// let producer = thread::spawn(move || {
///     if promise.set_running_or_notify_cancel() {
///         promise.set_result(6 * 7).unwrap();
///     }
/// });
/// assert_eq!(future.result(), Ok(&42));
/// assert_eq!(future.state(), State::Finished);
/// producer.join().unwrap();
/// ```
///
/// # Relation to `std::future::Future`
/// This type is a `std::future::Future` with `Output = Result<T, Error>` (moving the value
/// out, as above), so `future.await`, `futures::executor::block_on(future)` and
/// `futures::future::join_all(futures)` work in any async runtime. `(&future).await` and
/// [`Future::wait_async`] borrow the value instead. Polling never runs the task inline.
#[must_use = "a future does nothing by itself; dropping it does not cancel the task"]
pub struct Future<T> {
    pub(crate) shared: SharedRef<T>,
    /// The waker this handle registered when polled as a `std::future::Future`.
    pub(crate) poll_key: Option<Key>,
    /// `Future<T>` hands out `&T` on any thread that holds a clone, so it is `Send`/`Sync`
    /// exactly when `Arc<T>` would be.
    _marker: PhantomData<std::sync::Arc<T>>,
}

// Two words, so that a handle moves in registers (`shared_ref.rs`): a third made it an
// aggregate copied through memory on every move, which cost the fork-join path an eighth.
#[cfg(not(loom))]
const _: () = assert!(std::mem::size_of::<Future<u64>>() == 2 * std::mem::size_of::<usize>());

/// Identifies one registered waker; see [`register_waker`](crate::executor::register_waker).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WakerKey(pub(crate) Key);

impl<T> Future<T> {
    /// Makes a new handle on `shared`, counting it.
    pub(crate) fn from_shared(shared: &SharedRef<T>) -> Self {
        shared.handles().fetch_add(1, Ordering::Relaxed);
        Future {
            shared: shared.clone(),
            poll_key: None,
            _marker: PhantomData,
        }
    }

    /// Makes the first handle from a new `shared`, which already counts it (`Shared::new`), so
    /// neither count is touched.
    #[inline]
    pub(crate) fn adopt(shared: SharedRef<T>) -> Self {
        Future {
            shared,
            poll_key: None,
            _marker: PhantomData,
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        state::public_state(self.shared.word())
    }

    /// Attempts to cancel the future. Succeeds, and returns `true`, if it is pending (or was
    /// already cancelled); a running or finished future cannot be cancelled and this returns
    /// `false`.
    ///
    /// A successful cancel wakes every waiter, runs the done-callbacks in this thread, and drops
    /// the task's closure at once.
    ///
    /// ```
    /// use cfutures_core::{Error, Promise};
    ///
    /// let (promise, future) = Promise::<u8>::new();
    /// assert!(future.cancel());
    /// assert!(future.cancelled() && future.done());
    /// assert!(!promise.set_running_or_notify_cancel());
    /// assert!(matches!(future.result(), Err(Error::Cancelled)));
    /// ```
    pub fn cancel(&self) -> bool {
        self.shared.cancel()
    }

    /// True if the future was cancelled.
    pub fn cancelled(&self) -> bool {
        self.state() == State::Cancelled
    }

    /// True if the task is running (claimed, not yet finished).
    pub fn running(&self) -> bool {
        self.state() == State::Running
    }

    /// True if the future finished or was cancelled. One atomic load; never blocks.
    pub fn done(&self) -> bool {
        state::is_terminal(self.shared.word())
    }

    /// The value, waiting as long as it takes.
    ///
    /// Returns [`Error::Cancelled`] for a cancelled future, the task's error for a failed one,
    /// and [`Error::Deadlock`] when called from inside the very task this future belongs to.
    /// If the executor allows it (see [`Inline`](crate::Inline)) and the task has not started,
    /// the task runs right here in the waiting thread.
    ///
    /// ```
    /// use cfutures_core::{Inline, Task};
    ///
    /// // No executor at all: the waiter runs the task itself.
    /// let (_task, future) = Task::new(Inline::Anywhere, || "hello".len());
    /// assert_eq!(future.result(), Ok(&5));
    /// ```
    pub fn result(&self) -> Result<&T, Error> {
        self.shared.wait(None)?;
        self.outcome_now()
    }

    /// The value, waiting at most `timeout`; [`Error::Timeout`] if it passes first. A zero
    /// timeout only looks.
    ///
    /// ```
    /// use cfutures_core::{Error, Promise};
    /// use std::time::Duration;
    ///
    /// let (_promise, future) = Promise::<u8>::new();
    /// let err = future.result_timeout(Duration::from_millis(10)).unwrap_err();
    /// assert!(matches!(err, Error::Timeout { .. }));
    /// ```
    pub fn result_timeout(&self, timeout: Duration) -> Result<&T, Error> {
        self.shared.wait(Some(timeout))?;
        self.outcome_now()
    }

    /// The task's error, or `None` if it produced a value; waits as long as it takes.
    /// [`Error::Cancelled`] (as the outer error) if the future was cancelled, like Python's
    /// `exception()` raising `CancelledError`.
    ///
    /// ```
    /// use cfutures_core::{Error, Promise};
    ///
    /// let (promise, future) = Promise::<u8>::new();
    /// promise.set_error(Error::Broken("no workers".into())).unwrap();
    /// assert!(matches!(future.exception(), Ok(Some(Error::Broken(_)))));
    /// ```
    pub fn exception(&self) -> Result<Option<Error>, Error> {
        self.shared.wait(None)?;
        self.exception_now()
    }

    /// As [`exception`](Self::exception), waiting at most `timeout`.
    pub fn exception_timeout(&self, timeout: Duration) -> Result<Option<Error>, Error> {
        self.shared.wait(Some(timeout))?;
        self.exception_now()
    }

    /// Blocks until the future is done; true if it is, false if `timeout` passed first. Unlike
    /// [`result`](Self::result) it never runs the task inline and never fails: a wait that
    /// would close a cycle of waits between tasks (see [`Error::Deadlock`]) is not reported
    /// here but simply lasts until its deadline (use
    /// [`result_timeout`](Self::result_timeout) to be told).
    ///
    /// ```
    /// use cfutures_core::Promise;
    /// use std::time::Duration;
    ///
    /// let (promise, future) = Promise::new();
    /// assert!(!future.wait_timeout(Duration::ZERO));
    /// promise.set_result(1).unwrap();
    /// assert!(future.wait_timeout(Duration::ZERO));
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let deadline = crate::shared::deadline_after(timeout);
        self.shared
            .park_until(Some(timeout))
            .unwrap_or_else(|_| self.shared.park_registered(deadline, None).unwrap_or(false))
    }

    /// The value, moved out: waits like [`result`](Self::result), then moves the value out of
    /// this, the last handle. `T` need not be `Clone`.
    ///
    /// While other handles are alive the value stays with them and this fails with
    /// [`Error::InvalidState`] (borrow with `result()` when you keep clones; see
    /// [`into_inner`](Self::into_inner) to get the handle's refusal as `None`).
    ///
    /// ```
    /// use cfutures_core::{Error, Promise};
    /// use std::sync::mpsc;
    ///
    /// // Neither `Clone` nor `Sync`:
    /// let (promise, future) = Promise::<mpsc::Receiver<u8>>::new();
    /// let (tx, rx) = mpsc::channel();
    /// promise.set_result(rx).unwrap();
    /// tx.send(7).unwrap();
    /// assert_eq!(future.into_result().unwrap().recv(), Ok(7));
    ///
    /// let (promise, future) = Promise::new();
    /// let other = future.clone();
    /// promise.set_result(String::from("kept")).unwrap();
    /// assert!(matches!(future.into_result(), Err(Error::InvalidState(_))));
    /// assert_eq!(other.into_result().unwrap(), "kept");
    /// ```
    #[inline]
    pub fn into_result(self) -> Result<T, Error> {
        match self.run_taken_back() {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(*error),
            Err(this) => this.wait_into_result(),
        }
    }

    /// `into_result` once the fork-join fast path did not apply: kept out of line, so that the
    /// fast path inlines into its caller.
    #[inline(never)]
    fn wait_into_result(self) -> Result<T, Error> {
        self.shared.wait(None)?;
        self.take().unwrap_or_else(|| Err(Error::shared_handles()))
    }

    /// Waits like [`result`](Self::result), then moves the outcome out if this is the only
    /// handle; `None` if other handles exist, as [`std::sync::Arc::into_inner`]. Needs no
    /// `T: Clone`.
    ///
    /// Done-callbacks hold handles of their own while they run; this waits for them (parked,
    /// woken when the last one has run) rather than mistake them for a user's clone.
    ///
    /// ```
    /// use cfutures_core::Promise;
    ///
    /// let (promise, future) = Promise::new();
    /// let other = future.clone();
    /// promise.set_result(vec![1, 2, 3]).unwrap();
    /// drop(other);
    /// assert_eq!(future.into_inner(), Some(Ok(vec![1, 2, 3])));
    /// ```
    pub fn into_inner(self) -> Option<Result<T, Error>> {
        let this = match self.run_taken_back() {
            Ok(result) => return Some(result.map_err(|error| *error)),
            Err(this) => this,
        };
        if let Err(error) = this.shared.wait(None) {
            return Some(Err(error));
        }
        this.take()
    }

    /// The fork-join fast path of `into_result`: a worker waiting on a task it submitted
    /// itself, still on top of its own deque, with no other handle, clone or waiter anywhere,
    /// runs the closure and hands its value over directly (`Shared::run_alone`: no claim, no
    /// outcome cell, no wake-up). Anything else, also a task taken back that others can see
    /// (then it runs through the claim, as any waiter's take-back), hands the handle back for
    /// the ordinary wait.
    #[inline(always)]
    fn run_taken_back(self) -> Result<Result<T, Box<Error>>, Self> {
        let Some(task) = self.shared.take_back() else {
            return Err(self);
        };
        // The two references are this handle's and `task`'s; no other may exist, and no one
        // may be about to look at the word (a waiter, a registered waker).
        let alone = self.shared.is_unshared() && self.shared.word() == state::PENDING;
        if !alone {
            return Err(self.run_taken_back_seen(task));
        }
        // SAFETY: this thread holds the only handle and the task, and no other reference
        // exists (checked above); the word is PENDING with no waiter flag.
        let result = unsafe { self.shared.run_alone() };
        task.forget();
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: read once out of a handle that is never dropped; `poll_key` is `None` (a
        // registered waker would have set HAS_WAITERS) and `handles` dies with the allocation.
        let shared = unsafe { std::ptr::read(&this.shared) };
        // SAFETY: `is_unshared` held with this reference and the task's, which was forgotten,
        // and `run_alone` ran.
        unsafe { shared.free_after_run_alone() };
        Ok(result)
    }

    /// A task taken back that others can see runs through the claim, as any waiter's
    /// take-back; out of line, as `wait_into_result`.
    #[inline(never)]
    fn run_taken_back_seen(self, task: crate::task::Task) -> Self {
        task.run();
        self
    }

    /// Moves the outcome out of a done future if `self` is the last handle, after its
    /// done-callbacks have run.
    fn take(self) -> Option<Result<T, Error>> {
        self.shared.wait_callbacks();
        self.shared.take_if_last()
    }

    /// Calls `callback` with this future once it is done (finished or cancelled).
    ///
    /// If the future is already done, the callback runs at once in this thread; otherwise in
    /// the thread that completes or cancels it. Callbacks run in the order they were added. A
    /// panicking callback is caught and reported on stderr (with the future's `Debug`) and the
    /// other callbacks still run, like Python's logged "exception calling callback".
    ///
    /// ```
    /// use cfutures_core::Promise;
    /// use std::sync::mpsc;
    ///
    /// let (promise, future) = Promise::new();
    /// let (tx, rx) = mpsc::channel();
    /// future.add_done_callback(move |f| tx.send(*f.result().unwrap()).unwrap());
    /// promise.set_result(7).unwrap();
    /// assert_eq!(rx.recv().unwrap(), 7);
    /// ```
    ///
    /// The callback may run on another thread and reads the value there, hence
    /// `T: Send + Sync`.
    pub fn add_done_callback<F>(&self, callback: F)
    where
        F: FnOnce(&Future<T>) + Send + 'static,
        T: Send + Sync,
    {
        let waiter = Waiter::Callback(self.clone(), Box::new(callback));
        if let Err(Waiter::Callback(handle, callback)) = self.shared.register(waiter) {
            run_callback(&handle, callback);
        }
    }

    /// Kept for callers of the old path; use [`crate::executor::register_waker`].
    #[doc(hidden)]
    pub fn register_waker(&self, waker: &Waker) -> Option<WakerKey> {
        crate::executor::register_waker(self, waker)
    }

    /// Kept for callers of the old path; use [`crate::executor::unregister_waker`].
    #[doc(hidden)]
    pub fn unregister_waker(&self, key: WakerKey) -> bool {
        crate::executor::unregister_waker(self, key)
    }

    pub(crate) fn register_waker_entry(&self, waker: &Waker) -> Option<WakerKey> {
        self.shared
            .register(Waiter::Waker(waker.clone()))
            .ok()
            .map(WakerKey)
    }

    /// The outcome of a done future as `result()` reports it.
    pub(crate) fn outcome_now(&self) -> Result<&T, Error> {
        match self.shared.outcome() {
            Some(Outcome::Value(value)) => Ok(value),
            Some(Outcome::Failed(error)) => Err((**error).clone()),
            None if self.cancelled() => Err(Error::Cancelled),
            None => Err(Error::InvalidState(
                "the future is not done (or its value was moved out)".into(),
            )),
        }
    }

    fn exception_now(&self) -> Result<Option<Error>, Error> {
        match self.outcome_now() {
            Ok(_) => Ok(None),
            Err(Error::Cancelled) if self.cancelled() => Err(Error::Cancelled),
            Err(error) => Ok(Some(error)),
        }
    }
}

impl<T> Clone for Future<T> {
    fn clone(&self) -> Self {
        Future::from_shared(&self.shared)
    }
}

impl<T> Drop for Future<T> {
    fn drop(&mut self) {
        if let Some(key) = self.poll_key.take() {
            self.shared.unregister(key);
        }
        // ORDERING: Release pairs with the Acquire compare-and-swap in `Shared::take_if_last`.
        self.shared.handles().fetch_sub(1, Ordering::Release);
    }
}

impl<T> PartialEq for Future<T> {
    fn eq(&self, other: &Self) -> bool {
        self.shared.ptr_eq(&other.shared)
    }
}

impl<T> Eq for Future<T> {}

impl<T> Hash for Future<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.shared.address().hash(state)
    }
}

/// Reads like Python's repr: `<Future at 0x55d0c0a0 state=finished returned u32>`,
/// `<Future at 0x55d0c0a0 state=finished raised Panicked>`, `<Future at 0x.. state=pending>`.
impl<T> fmt::Debug for Future<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shared.repr())
    }
}
