//! Conformance: the cases of CPython's `Lib/test/test_concurrent_futures/test_thread_pool.py`
//! that cross layers: a thread pool and process pools at once, through the facade. The rest
//! of the module and the `ExecutorTest` cases of `executor.py`, single-layer, live in
//! `crates/pool-thread/tests/test_thread_pool.rs`.
//!
//! `test_hang_global_shutdown_lock` and `test_process_fork_from_a_threadpool` are about
//! `fork()` copying the parent's locks; process workers here are always `exec`ed, so what is
//! ported is their spirit: process pools and child processes started from a busy thread pool.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use cfutures::process::ProcessPoolExecutor;
use cfutures::thread::ThreadPoolExecutor;

fn identity(x: u32) -> u32 {
    x
}

/// `test_hang_global_shutdown_lock` (bpo-45021), without `fork`: process pools start, serve
/// and shut down while a thread pool's task keeps resubmitting itself; then the thread pool
/// shuts down under that stream of submissions.
#[test]
fn test_hang_global_shutdown_lock() {
    fn submit(pool: Weak<ThreadPoolExecutor>, count: Arc<AtomicUsize>) {
        count.fetch_add(1, Ordering::Relaxed);
        if let Some(strong) = pool.upgrade() {
            let again = pool.clone();
            // Refused once the pool is shutting down: that ends the chain.
            let _ = strong.submit(move || submit(again, count));
        }
    }
    let pool = Arc::new(ThreadPoolExecutor::new(1).unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let (weak, chain) = (Arc::downgrade(&pool), Arc::clone(&count));
    drop(pool.submit(move || submit(weak, chain)).unwrap());
    for i in 0..3 {
        let workers = ProcessPoolExecutor::builder()
            .max_workers(1)
            .build()
            .unwrap();
        assert_eq!(workers.submit(identity, i).unwrap().result(), Ok(&i));
    }
    drop(pool);
    assert!(count.load(Ordering::Relaxed) > 0);
}

/// `test_process_fork_from_a_threadpool` (bpo-43944), without `fork`: a task of the pool
/// starts a child process and a process pool, and both work.
#[test]
fn test_process_fork_from_a_threadpool() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let exitcode = pool
        .submit(|| std::process::Command::new("true").status().unwrap().code())
        .unwrap();
    assert_eq!(exitcode.result(), Ok(&Some(0)));
    let remote = pool
        .submit(|| {
            let workers = ProcessPoolExecutor::builder()
                .max_workers(1)
                .build()
                .unwrap();
            workers.submit(identity, 7).unwrap().into_result()
        })
        .unwrap();
    assert_eq!(remote.result(), Ok(&Ok(7)));
}
