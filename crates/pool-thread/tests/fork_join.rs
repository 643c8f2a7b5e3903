//! Fork-join on the pool: a task that submits a child and waits for it (issue 15).

use std::sync::Arc;

use cfutures_thread::ThreadPoolExecutor;

/// A worker's wait on the child it just submitted takes the child back off its own deque and
/// runs it there: no stale (already run) entry is left behind in the queue. One worker, so no
/// thief can take the child first.
#[test]
fn waiting_on_the_child_just_submitted_takes_it_back_off_the_deque() {
    let pool = Arc::new(ThreadPoolExecutor::new(1).unwrap());
    let inner = Arc::clone(&pool);
    let queued_after = pool
        .submit(move || {
            let mut sum = 0;
            for i in 0..100u64 {
                sum += inner.submit(move || i).unwrap().into_result().unwrap();
            }
            (sum, inner.stats().queued)
        })
        .unwrap()
        .into_result()
        .unwrap();
    assert_eq!(queued_after, (4950, 0), "(sum, entries left in the queues)");
}

/// A binary fork-join tree (the left half as a task, the right half inline, then wait) gives
/// the right sum on every pool size, with children both taken back and stolen.
#[test]
fn fork_join_tree_sums_its_leaves_on_every_pool_size() {
    fn tree(pool: &Arc<ThreadPoolExecutor>, depth: u32) -> u64 {
        if depth == 0 {
            return 1;
        }
        let inner = Arc::clone(pool);
        let left = pool.submit(move || tree(&inner, depth - 1)).unwrap();
        let right = tree(pool, depth - 1);
        left.into_result().unwrap() + right
    }
    for workers in 1..=4 {
        let pool = Arc::new(ThreadPoolExecutor::new(workers).unwrap());
        let root = Arc::clone(&pool);
        let leaves = pool.submit(move || tree(&root, 10)).unwrap();
        assert_eq!(leaves.into_result(), Ok(1 << 10), "{workers} workers");
    }
}
