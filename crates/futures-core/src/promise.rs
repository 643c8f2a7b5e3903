//! `Promise<T>`: the completing side of a future, for executors and for users who build their
//! own producers.

use std::fmt;

use crate::error::Error;
use crate::future::Future;
use crate::inline::Inline;
#[cfg(loom)]
use crate::shared::Closure;
use crate::shared::{Claim, Outcome, Shared};

/// A promise's task cell: empty. Under loom, the cell's one concrete type.
#[cfg(not(loom))]
fn no_task() -> crate::shared::NoClosure {
    crate::shared::NoClosure
}
#[cfg(loom)]
fn no_task<T>() -> Closure<crate::shared::TaskFn<T>> {
    Closure::new(None)
}
use crate::shared_ref::SharedRef;

/// The producer's side of a [`Future`]: marks it running, then sets its value or error.
///
/// These are the methods Python reserves for executors (`set_running_or_notify_cancel`,
/// `set_result`, `set_exception`). Each completes the future at most once; a second attempt, or
/// completing a cancelled future, is an [`Error::InvalidState`]. Dropping the promise without
/// completing the future fails it with [`Error::Abandoned`], so no waiter can wait forever on a
/// producer that went away.
///
/// ```
/// use cfutures_core::{Error, Promise};
/// use std::thread;
///
/// let (promise, future) = Promise::new();
/// thread::spawn(move || {
///     if promise.set_running_or_notify_cancel() {
///         promise.set_result("done").unwrap();
///         // A second set is refused:
///         assert!(matches!(promise.set_result("again"), Err(Error::InvalidState(_))));
///     }
/// });
/// assert_eq!(future.result(), Ok(&"done"));
///
/// let (promise, future) = Promise::<u8>::new();
/// drop(promise);
/// assert_eq!(future.result(), Err(Error::Abandoned));
/// ```
pub struct Promise<T> {
    pub(crate) shared: SharedRef<T>,
}

impl<T> Promise<T> {
    /// A new pending future and the promise that completes it.
    pub fn new() -> (Promise<T>, Future<T>) {
        let raw: *mut Shared<T> =
            crate::block_cache::place_with(|| Shared::new(Inline::Never, no_task())).as_ptr();
        // SAFETY: a new allocation, not referenced yet.
        unsafe { Shared::link(raw) };
        // SAFETY: a new allocation, born with two references: the promise's and the future's.
        let (shared, future) = unsafe { (SharedRef::from_raw(raw), SharedRef::from_raw(raw)) };
        (Promise { shared }, Future::adopt(future))
    }

    /// Another handle to the future this promise completes.
    ///
    /// The promise may live on another thread than the handles it made, and each handle reads
    /// `&T`, hence `T: Sync` (clone an existing handle instead for a `!Sync` value).
    pub fn future(&self) -> Future<T>
    where
        T: Sync,
    {
        Future::from_shared(&self.shared)
    }

    /// Call before starting the work: moves a pending future to running and returns `true`, or
    /// returns `false` if it was cancelled (its waiters and callbacks were told when it was),
    /// in which case the work must not be done. Also `false` if the future already left the
    /// pending state some other way (running, or completed): only one caller may start it.
    pub fn set_running_or_notify_cancel(&self) -> bool {
        match self.shared.claim() {
            Claim::Won => true,
            Claim::Cancelled | Claim::Lost => false,
        }
    }

    /// Completes the future with a value (from pending or running). Wakes the waiters and runs
    /// the done-callbacks in this thread before returning.
    ///
    /// [`Error::InvalidState`] if the future is already finished or cancelled.
    pub fn set_result(&self, value: T) -> Result<(), Error> {
        self.shared
            .complete(Outcome::Value(value))
            .map_err(|(error, _)| error)
    }

    /// Completes the future with an error, like Python's `set_exception`.
    ///
    /// [`Error::InvalidState`] if the future is already finished or cancelled.
    pub fn set_error(&self, error: Error) -> Result<(), Error> {
        self.shared
            .complete(Outcome::Failed(Box::new(error)))
            .map_err(|(e, _)| e)
    }

    /// Cancels the future if it is still pending, as [`Future::cancel`] does, from the
    /// producer's side: an executor cancelling queued work (`shutdown` with `cancel_futures`)
    /// holds only promises. Returns `true` if the future is cancelled after the call.
    ///
    /// ```
    /// use cfutures_core::{Error, Promise};
    ///
    /// let (promise, future) = Promise::<u8>::new();
    /// assert!(promise.cancel());
    /// assert!(!promise.set_running_or_notify_cancel());
    /// assert_eq!(future.result(), Err(Error::Cancelled));
    /// ```
    pub fn cancel(&self) -> bool {
        self.shared.cancel()
    }

    /// True once the future is finished or cancelled.
    pub fn is_done(&self) -> bool {
        crate::state::is_terminal(self.shared.word())
    }
}

impl<T> Drop for Promise<T> {
    fn drop(&mut self) {
        self.shared.abandon();
    }
}

impl<T> fmt::Debug for Promise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Promise")
            .field("future", &Future::from_shared(&self.shared))
            .finish()
    }
}
