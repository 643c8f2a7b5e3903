//! How many executor workers are awake and looking for work: the hint that tells a blocking
//! waiter whether a still-pending task is about to be picked up.
//!
//! A waiter that finds its task pending either parks at once (then the worker that runs the
//! task pays a lock and an unpark, and the waiter a context switch) or spins until a worker
//! claims it. Spinning wins only if some worker is awake to claim it; when every worker is
//! busy or asleep, the spin would take a core from the workers (on a small machine, from the
//! very worker the waiter waits for). Executors count their searching workers here, and the
//! wait path reads the count.
//!
//! The count is process-wide, not per executor: a waiter on one pool may see another pool's
//! searching worker and spin its bounded spin for nothing, which costs a few microseconds and
//! never correctness (the park that follows is the same either way).

use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_utils::CachePadded;

/// Workers (of every executor in the process) inside a `Searching` guard.
static SEARCHING: CachePadded<AtomicUsize> = CachePadded::new(AtomicUsize::new(0));

/// Counts the current thread as a worker that is awake and looking for work until dropped.
/// An executor holds one while its idle worker spins through its queues, and drops it before
/// the worker blocks: blocking waiters on a pending task spin (instead of parking at once)
/// only while some worker holds one.
///
/// ```
/// use cfutures_core::executor::{Searching, searching_workers};
///
/// let guard = Searching::enter();
/// assert!(searching_workers() >= 1);
/// drop(guard);
/// ```
#[derive(Debug)]
#[must_use = "the worker counts as searching only while the guard lives"]
pub struct Searching(());

impl Searching {
    /// Counts the current thread as searching.
    pub fn enter() -> Searching {
        // ORDERING: Relaxed. The count is a hint with no protocol behind it: a waiter that
        // reads a stale value spins a bounded time for nothing or parks a little early, and
        // parking is always correct (see `Shared::park_until`).
        SEARCHING.fetch_add(1, Ordering::Relaxed);
        Searching(())
    }
}

impl Drop for Searching {
    fn drop(&mut self) {
        // ORDERING: Relaxed, a hint (see `enter`).
        SEARCHING.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How many workers are searching for work right now (a hint; see [`Searching`]).
pub fn searching_workers() -> usize {
    // ORDERING: Relaxed, a hint (see `Searching::enter`).
    SEARCHING.load(Ordering::Relaxed)
}
