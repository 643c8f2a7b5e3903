//! A snapshot of a pool's counters.

/// What a pool is doing, from [`ThreadPoolExecutor::stats`](crate::ThreadPoolExecutor::stats).
///
/// Each field is read separately without stopping the pool, so a snapshot taken while tasks
/// run is approximate; the counts are exact once the pool is quiet (after
/// `shutdown(wait = true)`, for example). Reading it costs a few
/// loads per worker; keeping it costs the workers nothing shared: each counts in its own cache
/// line.
///
/// ```
/// use cfutures_thread::ThreadPoolExecutor;
///
/// let pool = ThreadPoolExecutor::new(2)?;
/// assert_eq!(pool.stats().workers_alive, 0, "threads start lazily");
/// pool.submit(|| 1 + 1)?.result()?;
/// assert_eq!(pool.stats().workers_alive, 1);
/// pool.shutdown(cfutures_core::Shutdown::WAIT);
/// let stats = pool.stats();
/// assert_eq!((stats.completed, stats.workers_alive), (1, 0));
/// # Ok::<(), cfutures_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Stats {
    /// Worker threads started and not yet exited.
    pub workers_alive: usize,
    /// Workers with nothing to do (looking for work or asleep).
    pub workers_idle: usize,
    /// Tasks waiting in the pool's queues. Includes tasks that were cancelled or run inline by
    /// a waiter but not yet discarded by a worker.
    pub queued: usize,
    /// Tasks the workers took from a queue and ran (a task that a waiter ran inline is counted
    /// by neither this nor `queued` once discarded). A worker counts a task just after
    /// completing its future, so a waiter that has just seen the result may read the count
    /// before it moves.
    pub completed: u64,
    /// Of `completed`, the tasks a worker took from another worker's deque.
    pub stolen: u64,
}
