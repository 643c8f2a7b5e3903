//! `Future<T>`: the handle through which callers observe and wait on a result.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::inline::{is_notifying_here, is_running_here};
use crate::shared::{Claim, Outcome, Shared, Waiter, run_callback};
use crate::state::{self, State};
use crate::sync::{Arc, Ordering, current_thread, park, park_timeout};

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
/// registers its `Waker`, and reading a finished result takes no lock. `Future<T>` is `Send`
/// and `Sync` when `T` is both.
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
/// This type is not itself a `std::future::Future` (its name says what Python calls it), but it
/// implements [`IntoFuture`](std::future::IntoFuture), so `future.await` and `(&future).await`
/// work in any async runtime; see [`Future::wait_async`].
pub struct Future<T> {
    pub(crate) shared: Arc<Shared<T>>,
    /// `Future<T>` hands out `&T` on any thread that holds a clone, so it is `Send`/`Sync`
    /// exactly when `Arc<T>` would be.
    _marker: PhantomData<std::sync::Arc<T>>,
}

/// Identifies one registered waker; see [`Future::register_waker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WakerKey(u64);

impl<T> Future<T> {
    /// Makes a new handle on `shared`, counting it.
    pub(crate) fn from_shared(shared: &Arc<Shared<T>>) -> Self {
        shared.handles().fetch_add(1, Ordering::Relaxed);
        Future {
            shared: Arc::clone(shared),
            _marker: PhantomData,
        }
    }

    fn address(&self) -> *const () {
        self.shared.address()
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
        self.wait_until(None)?;
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
        self.wait_until(Some(deadline_after(timeout)))?;
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
        self.wait_until(None)?;
        self.exception_now()
    }

    /// As [`exception`](Self::exception), waiting at most `timeout`.
    pub fn exception_timeout(&self, timeout: Duration) -> Result<Option<Error>, Error> {
        self.wait_until(Some(deadline_after(timeout)))?;
        self.exception_now()
    }

    /// Blocks until the future is done; true if it is, false if `timeout` passed first. Unlike
    /// [`result`](Self::result) it never runs the task inline and never fails.
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
        self.park_until(Some(deadline_after(timeout)))
    }

    /// The value, moved out: waits like [`result`](Self::result), then moves the value out if
    /// this is the last handle, or clones it if other handles can see it, like [`std::sync::Arc::unwrap_or_clone`].
    ///
    /// ```
    /// use cfutures_core::Promise;
    ///
    /// let (promise, future) = Promise::new();
    /// promise.set_result(String::from("moved, not cloned")).unwrap();
    /// assert_eq!(future.into_result().unwrap(), "moved, not cloned");
    /// ```
    pub fn into_result(self) -> Result<T, Error>
    where
        T: Clone,
    {
        self.wait_until(None)?;
        match self.try_take() {
            Ok(outcome) => outcome,
            Err(this) => this.outcome_now().cloned(),
        }
    }

    /// Waits like [`result`](Self::result), then moves the outcome out if this is the only
    /// handle; `None` if other handles exist, as
    /// [`std::sync::Arc::into_inner`]. Needs no `T: Clone`.
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
        if let Err(error) = self.wait_until(None) {
            return Some(Err(error));
        }
        self.try_take().ok()
    }

    /// Moves the outcome out of a done future if `self` is the last handle.
    fn try_take(self) -> Result<Result<T, Error>, Self> {
        if self.cancelled() {
            return Ok(Err(Error::Cancelled));
        }
        // Done-callbacks hold handles of their own until they have run in the completing
        // thread; wait for those (callbacks are meant to be quick, as in Python) rather than
        // mistake them for a user's clone.
        let mut spins = 0u32;
        while self.shared.is_notifying() && !is_notifying_here(self.address()) {
            spins += 1;
            if spins < 64 {
                crate::sync::yield_now();
            } else {
                crate::sync::park_timeout(Duration::from_micros(50));
            }
        }
        // Acquire pairs with the Release decrement of every dropped handle (as in
        // `Arc::get_mut`): their reads of the value happened before we move it.
        if self.shared.handles().load(Ordering::Acquire) != 1 {
            return Err(self);
        }
        // SAFETY: the future is finished (done and not cancelled) and this is the only handle:
        // callbacks hold handles of their own until they have run, and new handles are made only
        // from existing ones, so no one else can read the outcome cell.
        match unsafe { self.shared.take_outcome() } {
            Some(Outcome::Value(value)) => Ok(Ok(value)),
            Some(Outcome::Failed(error)) => Ok(Err(*error)),
            None => Ok(Err(Error::InvalidState(
                "the value was already moved out".into(),
            ))),
        }
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
    pub fn add_done_callback<F>(&self, callback: F)
    where
        F: FnOnce(&Future<T>) + Send + 'static,
    {
        let waiter = Waiter::Callback(self.clone(), Box::new(callback));
        if let Err(Waiter::Callback(handle, callback)) = self.shared.register(waiter) {
            run_callback(&handle, callback);
        }
    }

    /// Registers `waker` to be woken once when the future is done, for executor and helper
    /// authors (`as_completed` is built on it). `None` if it is already done (nothing was
    /// registered). Unregister with [`unregister_waker`](Self::unregister_waker) if you stop
    /// waiting first; each registration costs one list entry until then.
    ///
    /// ```
    /// use cfutures_core::Promise;
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::task::{Wake, Waker};
    ///
    /// struct Flag(AtomicBool);
    /// impl Wake for Flag {
    ///     fn wake(self: Arc<Self>) { self.0.store(true, Ordering::SeqCst) }
    /// }
    ///
    /// let flag = Arc::new(Flag(AtomicBool::new(false)));
    /// let (promise, future) = Promise::new();
    /// let key = future.register_waker(&Waker::from(flag.clone()));
    /// assert!(key.is_some());
    /// promise.set_result(()).unwrap();
    /// assert!(flag.0.load(Ordering::SeqCst));
    /// ```
    pub fn register_waker(&self, waker: &Waker) -> Option<WakerKey> {
        self.shared
            .register(Waiter::Waker(waker.clone()))
            .ok()
            .map(WakerKey)
    }

    /// Removes a registration made by [`register_waker`](Self::register_waker); true if it
    /// was still registered (false once the future has completed and woken it).
    pub fn unregister_waker(&self, key: WakerKey) -> bool {
        self.shared.unregister(key.0)
    }

    /// Polls for completion, registering or refreshing `cx`'s waker in `key`; the building
    /// block of the async adapters.
    pub(crate) fn poll_done(&self, key: &mut Option<u64>, cx: &mut Context<'_>) -> Poll<()> {
        if self.done() {
            return Poll::Ready(());
        }
        let registered = match *key {
            Some(k) => self.shared.replace_waker(k, cx.waker()),
            None => match self.shared.register(Waiter::Waker(cx.waker().clone())) {
                Ok(k) => {
                    *key = Some(k);
                    true
                }
                Err(_) => false,
            },
        };
        if registered && !self.done() {
            Poll::Pending
        } else {
            *key = None;
            Poll::Ready(())
        }
    }

    /// Blocks until done or `deadline`; false on timeout. Runs the task inline when allowed
    /// and untimed; fails with `Deadlock` when the current thread is running this very task.
    fn wait_until(&self, deadline: Option<Instant>) -> Result<(), Error> {
        let word = self.shared.word();
        if state::is_terminal(word) {
            return Ok(());
        }
        // Only a running future can be one this thread is running (a pending one has not been
        // claimed by anyone), so the common inline case skips the walk up the running frames.
        if state::public_state(word) == State::Running && is_running_here(self.address()) {
            return Err(Error::Deadlock);
        }
        if deadline.is_none()
            && self.shared.inline().admits_current_thread()
            && self.shared.claim() == Claim::Won
        {
            self.shared.run_claimed();
            return Ok(());
        }
        if self.park_until(deadline) {
            Ok(())
        } else {
            Err(Error::single_timeout())
        }
    }

    /// Parks the current thread until the future is done or `deadline` passes.
    fn park_until(&self, deadline: Option<Instant>) -> bool {
        if self.done() {
            return true;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return false;
        }
        if self.spin_while_running() {
            return true;
        }
        let Ok(key) = self.shared.register(Waiter::Thread(current_thread())) else {
            return true;
        };
        loop {
            // Park may wake spuriously; the state word is the truth.
            if self.done() {
                return true;
            }
            match deadline {
                None => park(),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        // If the entry is already gone the future completed meanwhile.
                        return !self.shared.unregister(key);
                    }
                    park_timeout(deadline - now);
                }
            }
        }
    }

    /// Spins briefly while the task is running (not while it is still queued): a running
    /// task, such as a fork-join child stolen by another worker, often finishes within a few
    /// microseconds, and parking would cost a lock, two futex calls and a context switch. The
    /// spin is bounded (about a microsecond of `spin_loop` hints, then a few yields) so a long
    /// task still finds its waiter parked. True if the future finished meanwhile.
    fn spin_while_running(&self) -> bool {
        const SPIN_ROUNDS: u32 = 7;
        const YIELD_ROUNDS: u32 = 3;
        for round in 0..SPIN_ROUNDS + YIELD_ROUNDS {
            let word = self.shared.word();
            if state::is_terminal(word) {
                return true;
            }
            if state::public_state(word) != State::Running {
                return false;
            }
            if round < SPIN_ROUNDS {
                for _ in 0..(1u32 << round) {
                    std::hint::spin_loop();
                }
            } else {
                crate::sync::yield_now();
            }
        }
        self.done()
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

fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    // A timeout too large to represent means "no practical deadline".
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}

impl<T> Clone for Future<T> {
    fn clone(&self) -> Self {
        Future::from_shared(&self.shared)
    }
}

impl<T> Drop for Future<T> {
    fn drop(&mut self) {
        // Release pairs with the Acquire load in `try_take`.
        self.shared.handles().fetch_sub(1, Ordering::Release);
    }
}

impl<T> PartialEq for Future<T> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Eq for Future<T> {}

impl<T> Hash for Future<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.address().hash(state)
    }
}

/// Reads like Python's repr: `<Future at 0x55d0c0a0 state=finished returned u32>`,
/// `<Future at 0x55d0c0a0 state=finished raised Panicked>`, `<Future at 0x.. state=pending>`.
impl<T> fmt::Debug for Future<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shared.repr())
    }
}
