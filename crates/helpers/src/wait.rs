//! `wait`: block until some or all of a set of futures are done.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use cfutures_core::{Future, State};

use crate::as_completed::AsCompleted;
use crate::distinct::distinct;
use cfutures_core::executor::deadline_after;

/// When [`wait`] returns, like Python's `return_when` constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ReturnWhen {
    /// As soon as any future is done (finished or cancelled). Python's `FIRST_COMPLETED`.
    FirstCompleted,
    /// As soon as any future finishes with an error; if none does, when all are done. A
    /// cancelled future is done but is not an error here, as in Python. `FIRST_EXCEPTION`.
    FirstException,
    /// When every future is done. Python's default, `ALL_COMPLETED`.
    #[default]
    AllCompleted,
}

/// What [`wait`] returns: the distinct futures split into those done and those not done when
/// it returned (Python's `DoneAndNotDoneFutures` named tuple).
pub struct DoneAndNotDone<T> {
    /// The futures that were done (finished or cancelled).
    pub done: HashSet<Future<T>>,
    /// The futures that were still pending or running.
    pub not_done: HashSet<Future<T>>,
}

impl<T> fmt::Debug for DoneAndNotDone<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DoneAndNotDone")
            .field("done", &self.done)
            .field("not_done", &self.not_done)
            .finish()
    }
}

impl<T> Clone for DoneAndNotDone<T> {
    fn clone(&self) -> Self {
        DoneAndNotDone {
            done: self.done.clone(),
            not_done: self.not_done.clone(),
        }
    }
}

/// Waits until `return_when` is met or `timeout` (counted from this call) passes, and returns
/// the distinct `futures` split into done and not done. Like Python's
/// `concurrent.futures.wait(fs, timeout, return_when)`; a timeout is not an error, it just
/// returns the split as it is then.
///
/// - Duplicates are collapsed; the sets hold the very futures given (identity, not value).
/// - A **cancelled** future counts as done (Python counts a future as done once it is
///   `CANCELLED_AND_NOTIFIED`; here cancelling notifies at once, so there is no cancelled but
///   not-yet-done state). It satisfies [`ReturnWhen::FirstCompleted`], and it is never the
///   error that satisfies [`ReturnWhen::FirstException`].
/// - Every future in `done` is done; every future in `not_done` was not done when the split
///   was taken (it may finish the moment after).
/// - **Deadlock**: `wait` has no error to return (Python's never raises). Inside a task, a
///   wait that could never end (the futures it still needs wait, through blocked tasks, on
///   this one; see `cfutures_core`'s "Deadlocks") returns at once, as a timeout would: with no
///   timeout given, a future left in `not_done` under `AllCompleted` means exactly that.
/// - It returns at once, registering nothing, when the condition already holds; otherwise it
///   registers one waker per unfinished future (removed again before it returns) and never
///   polls.
///
/// ```
/// use cfutures_core::{Error, Promise};
/// use cfutures_helpers::{ReturnWhen, wait};
/// use std::thread;
///
/// let (ok, a) = Promise::new();
/// let (failing, b) = Promise::new();
/// let (_never, c) = Promise::<u32>::new();
/// ok.set_result(1).unwrap();
/// let producer = thread::spawn(move || failing.set_error(Error::Broken("boom".into())).unwrap());
///
/// let split = wait([a.clone(), b.clone(), c.clone()], None, ReturnWhen::FirstException);
/// assert!(split.done.contains(&a) && split.done.contains(&b));
/// assert_eq!(split.not_done.into_iter().collect::<Vec<_>>(), [c]);
/// producer.join().unwrap();
/// ```
pub fn wait<T, I>(
    futures: I,
    timeout: Option<Duration>,
    return_when: ReturnWhen,
) -> DoneAndNotDone<T>
where
    I: IntoIterator<Item = Future<T>>,
{
    let deadline = timeout.and_then(deadline_after);
    let futures = distinct(futures);

    let pending: Vec<Future<T>> = futures.iter().filter(|f| !f.done()).cloned().collect();
    let any_done = pending.len() < futures.len();
    let satisfied = pending.is_empty()
        || match return_when {
            ReturnWhen::FirstCompleted => any_done,
            ReturnWhen::FirstException => futures.iter().any(failed),
            ReturnWhen::AllCompleted => false,
        };

    if !satisfied {
        // `as_completed` over the unfinished ones is exactly the wait we need: it yields in
        // completion order, honours the deadline, and unregisters everything when dropped.
        for completed in AsCompleted::new(pending, deadline) {
            let Ok(future) = completed else { break }; // the deadline passed
            match return_when {
                ReturnWhen::FirstCompleted => break,
                ReturnWhen::FirstException if failed(&future) => break,
                ReturnWhen::FirstException | ReturnWhen::AllCompleted => {}
            }
        }
    }

    let (done, not_done) = futures.into_iter().partition(Future::done);
    DoneAndNotDone { done, not_done }
}

/// Finished with an error (not cancelled): what satisfies `FirstException`.
fn failed<T>(future: &Future<T>) -> bool {
    // `exception` does not block on a finished future.
    future.state() == State::Finished && matches!(future.exception(), Ok(Some(_)))
}
