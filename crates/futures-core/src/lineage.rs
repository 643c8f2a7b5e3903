//! Which tasks descend from which: what lets a waiter whose task was taken by another worker
//! run the tasks that task submitted meanwhile (*leapfrogging*), and nothing else.
//!
//! DESIGN promises that a waiter never runs unrelated tasks. The awaited task itself may run
//! inline (`Shared::wait`), and so may what it submitted while it runs elsewhere: a task
//! *descends from* a run of another if it was made (`Task::new`) on the thread running it,
//! inside that run and not inside a nested framed run (an inline claim of a third task, which
//! tags its own submissions). Tasks run without a frame (the alone take-back of
//! `Future::run_taken_back`) are descendants of the run they happen in, so what they submit
//! is too: that is the fork-join shape, where the awaited task's whole subtree carries its tag.
//!
//! # Protocol
//!
//! - Every framed run (`run_as`, from `Shared::run_claimed`) gets a *run id*, unique in the
//!   process for its life ([`new_run_id`]: blocks of ids handed to each thread from one global
//!   counter, so one atomic operation per block, none per run). 0 means "none".
//! - The runner stores the id in the future's `run_id` before running the closure (`Release`);
//!   each task made during the run records it as its `parent` (a plain field, written before
//!   the task is published through a deque).
//! - A waiter on a running future reads `run_id` (`Acquire`; 0: not started yet, or a
//!   promise's, and it does not leapfrog), steals a task from another worker's deque, and runs
//!   it only if its `parent` equals that id; otherwise the executor puts it back
//!   ([`LocalQueue::steal_where`](crate::executor::LocalQueue::steal_where)). Ids are never
//!   reused, so an equal tag proves descent (an address could be reused once the awaited
//!   future's allocation is freed; an id cannot).
//! - The stolen task is run through the ordinary claim, so it still runs exactly once, and the
//!   waiter re-checks its own future between tasks: it stops helping once that is done.
//!
//! What leapfrogging shares with any inline run (the awaited task claimed by its waiter): a
//! helped task runs on the waiter's stack, so the waiter returns only once that task has,
//! even if its own future finished earlier; and a helped task that waits on the future of a
//! task below it on that stack (the waiter's own) is told `Error::Deadlock` (a self-wait),
//! where on another worker it would have waited. Only descendants are helped, so this needs
//! a task that waits on an ancestor's waiter.

use std::cell::Cell;

use crate::sync::{AtomicU64, Ordering};

/// Ids each thread takes at once from the global counter.
const BLOCK: u64 = 1 << 16;

/// The next block's first id; 0 is never handed out.
static NEXT_BLOCK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(BLOCK);

thread_local! {
    /// This thread's next id and the end of its block.
    static IDS: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// A run id never handed out before in this process (and never 0).
pub(crate) fn new_run_id() -> u64 {
    IDS.with(|ids| {
        let (mut next, mut end) = ids.get();
        if next == end {
            // ORDERING: Relaxed, a unique number is all that is asked of it.
            next = NEXT_BLOCK.fetch_add(BLOCK, std::sync::atomic::Ordering::Relaxed);
            end = next + BLOCK;
        }
        ids.set((next + 1, end));
        next
    })
}

/// A future's run id as its waiters read it: 0 until a framed run starts.
pub(crate) struct RunId(AtomicU64);

impl RunId {
    pub(crate) fn new() -> Self {
        RunId(AtomicU64::new(0))
    }

    /// Called by the runner, after its claim and before the closure runs.
    pub(crate) fn set(&self, id: u64) {
        // ORDERING: Release, so that a waiter that reads the id also sees the claim; the
        // tasks tagged with it are published by the deque's own release.
        self.0.store(id, Ordering::Release);
    }

    /// The id of the run under way, 0 if none has started.
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}
