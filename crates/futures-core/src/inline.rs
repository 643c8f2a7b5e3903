//! Inline waiting: which waiting threads may run a not-yet-started task themselves, and how a
//! thread knows which tasks it is running (to turn a self-wait into an error instead of a hang).
//!
//! An executor marks its worker threads with [`ExecutorId::enter`] and gives each task an
//! [`Inline`] policy. When [`Future::result`](crate::Future::result) finds the task still
//! pending and the policy admits the waiting thread, the waiter claims the task with the same
//! pending -> running transition a worker uses and runs it on the spot; whoever loses that race
//! simply does not run it, so the task runs exactly once.

use std::cell::{Cell, RefCell};
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};

/// The identity of one executor, used to recognise its worker threads.
///
/// ```
/// use cfutures_core::ExecutorId;
///
/// let pool = ExecutorId::new();
/// assert_eq!(ExecutorId::current(), None);
/// {
///     let _worker = pool.enter();
///     assert_eq!(ExecutorId::current(), Some(pool));
/// }
/// assert_eq!(ExecutorId::current(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExecutorId(NonZeroU64);

static NEXT_EXECUTOR: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static CURRENT_EXECUTOR: Cell<Option<ExecutorId>> = const { Cell::new(None) };
    /// The futures whose done-callbacks this thread is running.
    static NOTIFYING: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

impl ExecutorId {
    /// A new identity, distinct from every other in this process.
    pub fn new() -> Self {
        let id = NEXT_EXECUTOR.fetch_add(1, Ordering::Relaxed);
        ExecutorId(NonZeroU64::new(id).expect("executor ids never wrap"))
    }

    /// Marks the current thread as a worker of this executor until the guard is dropped.
    pub fn enter(&self) -> WorkerGuard {
        let previous = CURRENT_EXECUTOR.with(|current| current.replace(Some(*self)));
        WorkerGuard { previous }
    }

    /// The executor whose worker the current thread is, if any.
    #[inline]
    pub fn current() -> Option<ExecutorId> {
        CURRENT_EXECUTOR.with(Cell::get)
    }

    /// A number for thread names and diagnostics (`ThreadPoolExecutor-{n}_{i}`).
    pub fn get(&self) -> u64 {
        self.0.get()
    }
}

impl Default for ExecutorId {
    fn default() -> Self {
        Self::new()
    }
}

/// Restores the thread's previous executor mark when dropped; see [`ExecutorId::enter`].
#[derive(Debug)]
#[must_use = "the thread is a worker only while the guard lives"]
pub struct WorkerGuard {
    previous: Option<ExecutorId>,
}

impl Drop for WorkerGuard {
    fn drop(&mut self) {
        CURRENT_EXECUTOR.with(|current| current.set(self.previous));
    }
}

/// Which threads may run a task inline when they wait on its future before it has started.
///
/// Only untimed waits ([`Future::result`](crate::Future::result),
/// [`Future::exception`](crate::Future::exception)) run tasks inline: a timed wait promises to
/// return by its deadline, and the task could take longer. Async waits never do, since running
/// a task would block the async runtime's thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Inline {
    /// Never: waiters always park until a worker runs the task. Right for remote work (a
    /// process pool) and for user-made promises.
    #[default]
    Never,
    /// Any waiting thread may run the task.
    Anywhere,
    /// Only a worker of this executor may (it is the case where waiting would otherwise
    /// deadlock, and there the task still runs on a thread of its own pool, with the pool's
    /// thread name and initializer state).
    FromWorkersOf(ExecutorId),
}

impl Inline {
    /// Whether the current thread may run the task inline.
    pub fn admits_current_thread(self) -> bool {
        match self {
            Inline::Never => false,
            Inline::Anywhere => true,
            Inline::FromWorkersOf(id) => ExecutorId::current() == Some(id),
        }
    }
}

/// An [`Inline`] in one word, as a future's state stores it (a future costs one allocation, and
/// eight bytes keep it in a smaller allocator size class): 0 is `Never`, `u64::MAX` is
/// `Anywhere`, anything else the id of `FromWorkersOf` (ids count up from 1 and never wrap).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CompactInline(u64);

impl CompactInline {
    const NEVER: u64 = 0;
    const ANYWHERE: u64 = u64::MAX;

    #[inline]
    pub(crate) fn new(inline: Inline) -> Self {
        CompactInline(match inline {
            Inline::Never => Self::NEVER,
            Inline::Anywhere => Self::ANYWHERE,
            Inline::FromWorkersOf(id) => id.get(),
        })
    }

    /// As [`Inline::admits_current_thread`].
    #[inline]
    pub(crate) fn admits_current_thread(self) -> bool {
        match self.0 {
            Self::NEVER => false,
            Self::ANYWHERE => true,
            id => ExecutorId::current().is_some_and(|current| current.get() == id),
        }
    }
}

#[cfg(not(loom))]
thread_local! {
    /// The innermost task this thread is running; each frame links to the one it interrupted
    /// (inline runs nest), so the list lives on the stack and costs no allocation.
    static RUNNING: Cell<*const RunningFrame> = const { Cell::new(std::ptr::null()) };
}
// Loom runs its model threads as coroutines on one OS thread, so the models (which check the
// wait graph through real task runs) need loom's per-model-thread locals.
#[cfg(loom)]
loom::thread_local! {
    static RUNNING: Cell<*const RunningFrame> = Cell::new(std::ptr::null());
}

/// Records, while a future's waiters are being woken and its callbacks run, that this thread
/// is doing it (so a callback calling `into_inner` does not wait for itself).
pub(crate) struct NotifyingGuard(usize);

impl NotifyingGuard {
    pub(crate) fn enter(future: *const ()) -> Self {
        #[cfg(not(loom))]
        NOTIFYING.with(|list| list.borrow_mut().push(future as usize));
        NotifyingGuard(future as usize)
    }
}

impl Drop for NotifyingGuard {
    fn drop(&mut self) {
        #[cfg(not(loom))]
        NOTIFYING.with(|list| {
            list.borrow_mut().pop();
        });
        let _ = self.0;
    }
}

/// Whether the current thread is running this future's done-callbacks.
pub(crate) fn is_notifying_here(future: *const ()) -> bool {
    #[cfg(not(loom))]
    return NOTIFYING.with(|list| list.borrow().contains(&(future as usize)));
    #[cfg(loom)]
    {
        let _ = future;
        false
    }
}

/// One task being run by this thread: a node of the `RUNNING` list, on the running thread's
/// stack.
pub(crate) struct RunningFrame {
    task: usize,
    /// The run's id (`lineage.rs`): the parent tag of every task made inside it.
    run: u64,
    previous: *const RunningFrame,
}

/// Runs `f` as the run of `task` with id `run`, so that a wait on `task`'s future from inside `f` (directly,
/// or through tasks `f` runs inline) is recognised as a self-wait, and so that the wait graph
/// (`wait_graph.rs`) knows which futures a blocked thread is running.
pub(crate) fn run_as<R>(task: *const (), run: u64, f: impl FnOnce() -> R) -> R {
    struct Restore(*const RunningFrame);
    impl Drop for Restore {
        fn drop(&mut self) {
            RUNNING.with(|top| top.set(self.0));
        }
    }
    let frame = RunningFrame {
        task: task as usize,
        run,
        previous: RUNNING.with(Cell::get),
    };
    // The frame stays where it is until `_restore` unlinks it, on return or unwind.
    let _restore = Restore(frame.previous);
    RUNNING.with(|top| top.set(&frame));
    f()
}

/// Calls `visit` with each task this thread is running, innermost first, until it returns true;
/// true if one did.
fn any_running_here(mut visit: impl FnMut(usize) -> bool) -> bool {
    let mut frame = RUNNING.with(Cell::get);
    while !frame.is_null() {
        // SAFETY: every linked frame is a local of a `run_as` call that is still on this
        // thread's stack: `run_as` unlinks its frame before returning or unwinding, and
        // frames are linked innermost first, so the list never points at a dead frame.
        let current = unsafe { &*frame };
        if visit(current.task) {
            return true;
        }
        frame = current.previous;
    }
    false
}

/// The id of the innermost framed run on this thread (`lineage.rs`); 0 outside any task.
#[inline]
pub(crate) fn current_run() -> u64 {
    let frame = RUNNING.with(Cell::get);
    if frame.is_null() {
        return 0;
    }
    // SAFETY: as in `any_running_here`: a linked frame is alive on this thread's stack.
    unsafe { (*frame).run }
}

/// Whether the current thread is (somewhere up its stack) running this task.
pub(crate) fn is_running_here(task: *const ()) -> bool {
    any_running_here(|running| running == task as usize)
}

/// Whether this thread is running a task.
pub(crate) fn in_task() -> bool {
    !RUNNING.with(Cell::get).is_null()
}

/// The tasks this thread is running (the whole stack of inline runs); empty outside any task.
/// Allocates only inside a task.
pub(crate) fn running_here() -> Vec<usize> {
    let mut tasks = Vec::new();
    any_running_here(|running| {
        tasks.push(running);
        false
    });
    tasks
}
