//! A worker's own queue as its waits see it: a blocking wait on a task that is still on top of
//! the waiting worker's own deque takes that entry back and runs it (rayon's `take_local_job`),
//! instead of claiming the task inline and leaving a stale entry for the worker to discard.
//!
//! The executor installs its worker's queue for the worker's life with
//! [`with_local_queue`]; the wait path asks it through [`take_from_local_queue`] (and, for
//! leapfrogging, `steal_descendant`).

use std::cell::Cell;
use std::ptr::NonNull;

use crate::task::{Task, TaskKey};

/// A worker's own deque, as the waits on its thread see it.
///
/// ```
/// use cfutures_core::executor::{Inline, LocalQueue, Task, TaskKey, with_local_queue};
/// use std::cell::RefCell;
///
/// /// A LIFO queue: the task on top is the one pushed last.
/// struct Stack(RefCell<Vec<Task>>);
/// impl LocalQueue for Stack {
///     fn take_if_next(&self, key: TaskKey) -> Option<Task> {
///         let mut stack = self.0.borrow_mut();
///         if stack.last()?.key() == key { stack.pop() } else { None }
///     }
/// }
///
/// let (task, future) = Task::new(Inline::Anywhere, || 7);
/// let stack = Stack(RefCell::new(vec![task]));
/// with_local_queue(&stack, || assert_eq!(future.result(), Ok(&7)));
/// assert!(stack.0.borrow().is_empty(), "the wait took its entry back");
/// ```
pub trait LocalQueue {
    /// Removes and returns the task with `key` if it is the one this worker would run next
    /// (the top of its own deque); `None` otherwise, leaving the queue as it was.
    fn take_if_next(&self, key: TaskKey) -> Option<Task>;

    /// For a waiter whose awaited task runs on another worker (*leapfrogging*): steals one
    /// task from another worker's queue and returns it if `accept` takes it (it descends from
    /// the awaited task's run); a task `accept` refuses must be put back where the executor
    /// will still run it, and then `None` is returned. The default steals nothing, and the
    /// waiter simply parks.
    fn steal_where(&self, accept: &dyn Fn(&Task) -> bool) -> Option<Task> {
        let _ = accept;
        None
    }
}

#[cfg(not(loom))]
thread_local! {
    /// The queue of the worker running on this thread, while `with_local_queue` runs.
    static LOCAL_QUEUE: Cell<Option<NonNull<dyn LocalQueue + 'static>>> = const { Cell::new(None) };
}
// Loom runs its model threads on one OS thread: the models need loom's per-model-thread
// locals (as `inline.rs` does for its running frames).
#[cfg(loom)]
loom::thread_local! {
    static LOCAL_QUEUE: Cell<Option<NonNull<dyn LocalQueue + 'static>>> = Cell::new(None);
}

/// Runs `f` with `queue` installed as the current thread's own queue: blocking waits inside
/// `f` on a task at the top of it take the task back and run it (see [`LocalQueue`]).
pub fn with_local_queue<R>(queue: &dyn LocalQueue, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<NonNull<dyn LocalQueue + 'static>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            LOCAL_QUEUE.with(|current| current.set(self.0));
        }
    }
    // SAFETY: only the lifetime is erased. The pointer is read only by `take_from_local_queue`
    // on this thread, and `Restore` removes it before this call returns or unwinds, while
    // `queue` is still borrowed.
    let erased: NonNull<dyn LocalQueue + 'static> =
        unsafe { std::mem::transmute(NonNull::from(queue)) };
    let _restore = Restore(LOCAL_QUEUE.with(|current| current.replace(Some(erased))));
    f()
}

/// Takes the task with `key` off the current worker's own queue if it is next there.
#[inline]
pub(crate) fn take_from_local_queue(key: TaskKey) -> Option<Task> {
    let queue = LOCAL_QUEUE.with(Cell::get)?;
    // SAFETY: set by `with_local_queue` on this thread, which is still running (see there).
    unsafe { queue.as_ref() }.take_if_next(key)
}

/// Steals, from another worker of the current thread's executor, a task made inside the run
/// `run` (`lineage.rs`), for a waiter on that run's future to run.
pub(crate) fn steal_descendant(run: u64) -> Option<Task> {
    let queue = LOCAL_QUEUE.with(Cell::get)?;
    // SAFETY: set by `with_local_queue` on this thread, which is still running (see there).
    unsafe { queue.as_ref() }.steal_where(&|task| task.descends_from(run))
}
