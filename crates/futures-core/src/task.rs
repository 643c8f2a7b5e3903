//! `Task`: a closure bound to its future, the unit an executor queues and runs.
//!
//! The closure lives inside the future's shared state rather than in the executor's queue.
//! That is what lets a waiter run a not-yet-started task inline (see `inline.rs`): the worker
//! that dequeues the `Task` and the waiter holding the `Future` reach the same closure, and the
//! pending -> running claim decides which of them runs it.

use std::fmt;

use crate::error::Error;
use crate::future::Future;
use crate::inline::Inline;
use crate::shared::{Claim, Closure, Outcome, Shared, TaskCell};
use crate::shared_ref::{JobRef, SharedRef};
use crate::state;
use crate::sync::AtomicUsize;

/// The type-erased face of `Shared<T>` that executors queue.
pub(crate) trait Job: Send + Sync {
    fn run(&self) -> bool;
    fn cancel(&self) -> bool;
    fn abandon(&self);
    fn fail(&self, error: Error) -> bool;
    fn is_done(&self) -> bool;
    fn wait(&self);
    /// The allocation's reference count (`shared_ref.rs`), for `JobRef`'s drop.
    fn refs(&self) -> &AtomicUsize;
    /// The run this task was made in (`lineage.rs`).
    fn parent(&self) -> u64;
}

impl<T: Send + 'static, S: ?Sized + TaskCell<T>> Job for Shared<T, S> {
    fn run(&self) -> bool {
        match self.claim() {
            Claim::Won => {
                self.run_claimed();
                true
            }
            Claim::Cancelled | Claim::Lost => false,
        }
    }

    fn cancel(&self) -> bool {
        Shared::cancel(self)
    }

    fn abandon(&self) {
        if state::phase(self.word()) != state::PENDING {
            // The common case: the task ran (or was cancelled) and is being dropped.
            return;
        }
        // Unlike a dropped `Promise`, a dropped `Task` is not the future's completer once the
        // task was claimed: the claimant (a worker, or a waiter running it inline) completes
        // it. So only a still-pending task is failed, through the same claim.
        self.fail(Error::Abandoned);
    }

    fn fail(&self, error: Error) -> bool {
        // Only a pending task may be failed: a running one belongs to whoever claimed it.
        match self.claim() {
            Claim::Won => self.complete(Outcome::Failed(Box::new(error))).is_ok(),
            Claim::Cancelled | Claim::Lost => false,
        }
    }

    fn is_done(&self) -> bool {
        state::is_terminal(self.word())
    }

    fn wait(&self) {
        // A self-wait (Deadlock) returns at once, like any other failure: the caller only
        // needs the future to be done or to know it never will be by waiting here.
        let _ = Shared::wait(self, None);
    }

    fn refs(&self) -> &AtomicUsize {
        Shared::refs(self)
    }

    fn parent(&self) -> u64 {
        Shared::parent(self)
    }
}

/// A wait-only view: a counted reference whose drop releases it (`WaitHandle`).
impl<T: Send + 'static> Job for SharedRef<T> {
    fn run(&self) -> bool {
        (**self).run()
    }
    fn cancel(&self) -> bool {
        Job::cancel(&**self)
    }
    fn abandon(&self) {
        (**self).abandon()
    }
    fn fail(&self, error: Error) -> bool {
        (**self).fail(error)
    }
    fn is_done(&self) -> bool {
        Job::is_done(&**self)
    }
    /// A scope's end waits through this view: it cannot return before its tasks do, so a
    /// cycle its wait closes is told to another of the cycle's waiters.
    fn wait(&self) {
        let _ = self.wait_telling_another();
    }
    fn refs(&self) -> &AtomicUsize {
        Shared::refs(self)
    }
    fn parent(&self) -> u64 {
        Shared::parent(self)
    }
}

/// A wait-only handle made from a future's reference, whose task cell is already erased, so
/// it is boxed (`Shared<T>` cannot be erased a second time).
type WaitRef = Box<dyn Job>;

/// One allocation holding the future's state and the closure, born with two references: the
/// task's view of it and the future's.
#[inline]
fn allocate<F, T>(inline: Inline, f: F) -> (JobRef, SharedRef<T>)
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // Loom's model has one concrete task cell type (see `DynTask`), so the closure is boxed.
    #[cfg(loom)]
    let f: crate::shared::TaskFn<T> = Box::new(f);
    let raw =
        crate::block_cache::place_with(|| Shared::new(inline, Closure::new(Some(f)))).as_ptr();
    // SAFETY: a new allocation, not referenced yet.
    unsafe { Shared::<T>::link(raw) };
    // SAFETY: a new allocation, born with two references (`BORN_WITH`): these two adopt them.
    unsafe { (JobRef::from_raw(raw), SharedRef::from_raw(raw)) }
}

/// Identifies a task by its future, so that an executor can recognise the task a wait on
/// its own thread is waiting for ([`LocalQueue`](crate::executor::LocalQueue)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskKey(pub(crate) usize);

/// A unit of work for an executor: a closure and the future it completes.
///
/// [`Task::run`] claims the future (pending -> running), runs the closure, catches a panic as
/// [`Error::Panicked`](crate::Error::Panicked) and completes the future. It does nothing if the
/// future was cancelled or already claimed by an inline waiter, so an executor simply runs
/// every task it dequeues. Dropping a task that never ran fails its future with
/// [`Error::Abandoned`](crate::Error::Abandoned).
///
/// ```
/// use cfutures_core::executor::{Inline, Task};
/// use std::thread;
///
/// let (task, future) = Task::new(Inline::Never, || 2 + 2);
/// thread::spawn(move || task.run());
/// assert_eq!(future.result(), Ok(&4));
/// ```
#[must_use = "a task does nothing unless run; dropping it abandons its future"]
pub struct Task {
    job: JobRef,
}

impl Task {
    /// Binds `f` to a new future. `inline` says which waiting threads may run it themselves
    /// if they wait on the future before any worker has started it.
    #[inline]
    pub fn new<F, T>(inline: Inline, f: F) -> (Task, Future<T>)
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (job, shared) = allocate(inline, f);
        (Task { job }, Future::adopt(shared))
    }

    /// As [`Task::new`] for a closure that borrows data living for `'a`.
    ///
    /// # Safety
    /// The task must run, be cancelled or be dropped before `'a` ends, and the closure must not
    /// be run after that (an executor's scope guarantees this by waiting for all of its tasks
    /// before it returns, as `std::thread::scope` does).
    pub unsafe fn new_unchecked<'a, F, T>(inline: Inline, f: F) -> (Task, Future<T>)
    where
        F: FnOnce() -> T + Send + 'a,
        T: Send + 'static,
    {
        let boxed: Box<dyn FnOnce() -> T + Send + 'a> = Box::new(f);
        // SAFETY: only the lifetime is erased; the caller guarantees the closure does not
        // outlive 'a (it is run, or dropped with its task or future, before 'a ends). Borrowing
        // closures (scopes) keep the box: erasing a lifetime inside the shared allocation's
        // type would need a transmute of its fat pointers, for a path that is not hot.
        let boxed: Box<dyn FnOnce() -> T + Send + 'static> = unsafe { std::mem::transmute(boxed) };
        Self::new(inline, boxed)
    }

    /// The identity of this task's future (see [`LocalQueue`](crate::executor::LocalQueue)).
    #[inline]
    pub fn key(&self) -> TaskKey {
        TaskKey(self.job.address() as usize)
    }

    /// Whether this task was made inside the run `run` (`lineage.rs`).
    pub(crate) fn descends_from(&self, run: u64) -> bool {
        self.job.parent() == run
    }

    /// Drops this task without abandoning its future or releasing its reference: for
    /// `Future::run_taken_back`, which ran the closure itself and frees the allocation with
    /// both references at once (`SharedRef::free_after_run_alone`).
    #[inline]
    pub(crate) fn forget(self) {
        std::mem::forget(self);
    }

    /// Runs the task in the current thread unless it was cancelled or already claimed.
    /// Returns true if this call ran it.
    pub fn run(self) -> bool {
        self.job.run()
    }

    /// Cancels the task's future if it has not started; see
    /// [`Future::cancel`](crate::Future::cancel).
    pub fn cancel(&self) -> bool {
        self.job.cancel()
    }

    /// Fails the task's future with `error` instead of running it, if it has not started (for
    /// example when the executor breaks and must tell the queued futures why). Returns true if
    /// this call completed the future; false if it was cancelled, running or done already.
    ///
    /// ```
    /// use cfutures_core::Error;
    /// use cfutures_core::executor::{Inline, Task};
    ///
    /// let (task, future) = Task::new(Inline::Never, || 1);
    /// assert!(task.fail(Error::Broken("initializer failed".into())));
    /// assert_eq!(future.result(), Err(Error::Broken("initializer failed".into())));
    /// ```
    pub fn fail(self, error: Error) -> bool {
        self.job.fail(error)
    }

    /// True once the future is finished or cancelled (for example run inline by a waiter), so
    /// the executor may discard the task.
    pub fn is_done(&self) -> bool {
        self.job.is_done()
    }
}

/// A type-erased handle that can only wait for a future, for executors that must wait on
/// futures of many types (a scope waiting for its tasks). Unlike a [`Future`] clone it is not
/// counted as a handle, so it never keeps [`Future::into_result`] from moving the value out,
/// and it is `Send + Sync` whatever `T` is (it never reads the value).
///
/// ```
/// use cfutures_core::executor::{Inline, Task, WaitHandle};
/// use std::thread;
///
/// let (task, future) = Task::new(Inline::Never, || String::from("done"));
/// let waiter = WaitHandle::new(&future);
/// let worker = thread::spawn(move || task.run());
/// waiter.wait();
/// assert!(waiter.is_done());
/// assert_eq!(future.into_result().unwrap(), "done");
/// # worker.join().unwrap();
/// ```
pub struct WaitHandle {
    job: WaitRef,
}

impl WaitHandle {
    /// A wait-only handle on `future`.
    pub fn new<T: Send + 'static>(future: &Future<T>) -> Self {
        WaitHandle {
            job: Box::new(future.shared.clone()),
        }
    }

    /// Blocks until the future is done, as [`Future::result`] waits: the task runs right here
    /// if its [`Inline`] policy admits this thread and it has not started. Returns at once if
    /// this thread is running the task itself (a wait that could never end).
    ///
    /// Made for a wait that must outlast the task (a scope's end): if this wait would close a
    /// cycle of waits between running tasks, another waiter of the cycle, blocked in
    /// [`Future::result`] or a sibling, is told [`Error::Deadlock`](crate::Error::Deadlock)
    /// instead, so that the cycle breaks and this wait ends.
    pub fn wait(&self) {
        self.job.wait()
    }

    /// True once the future is finished or cancelled.
    pub fn is_done(&self) -> bool {
        self.job.is_done()
    }
}

impl fmt::Debug for WaitHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitHandle")
            .field("done", &self.is_done())
            .finish_non_exhaustive()
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.job.abandon();
    }
}

impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("done", &self.is_done())
            .finish_non_exhaustive()
    }
}
