//! Fork-join on the pool: a task that submits a child and waits for it (issue 15).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, mpsc};
use std::task::{Wake, Waker};
use std::thread::{self, ThreadId};

use cfutures_core::executor::register_waker;
use cfutures_core::{Error, Future};
use cfutures_test_support::PATIENCE;
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

/// The child a worker takes back with no other handle about runs without the future's state
/// machine; its panic still reaches `into_result` as `Error::Panicked` with the message, and
/// `into_inner` hands the value over too. One worker, so the child is always taken back.
#[test]
fn a_child_taken_back_alone_reports_its_value_and_its_panic() {
    let pool = Arc::new(ThreadPoolExecutor::new(1).unwrap());
    let inner = Arc::clone(&pool);
    let (panicked, inner_value) = pool
        .submit(move || {
            let panicked = inner
                .submit(|| -> u8 { panic!("child failed") })
                .unwrap()
                .into_result();
            let inner_value = inner.submit(|| String::from("v")).unwrap().into_inner();
            (panicked, inner_value)
        })
        .unwrap()
        .into_result()
        .unwrap();
    assert!(
        matches!(&panicked, Err(Error::Panicked { message, .. }) if message == "child failed"),
        "{panicked:?}"
    );
    assert_eq!(inner_value, Some(Ok(String::from("v"))));
    assert_eq!(
        pool.submit(|| 1).unwrap().into_result(),
        Ok(1),
        "the worker lives on"
    );
}

/// A child taken back while someone else can see its future (a clone, a registered waker)
/// completes through the state machine: the clone reads the value and the waker is woken.
#[test]
fn a_child_taken_back_with_other_observers_completes_for_them() {
    struct Flag(AtomicBool);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let pool = Arc::new(ThreadPoolExecutor::new(1).unwrap());
    let inner = Arc::clone(&pool);
    let (moved, cloned, woken) = pool
        .submit(move || {
            let child = inner.submit(|| 5u32).unwrap();
            let clone = child.clone();
            let moved = child.into_result();
            let cloned = *clone.result().unwrap();

            let flag = Arc::new(Flag(AtomicBool::new(false)));
            let child = inner.submit(|| 6u32).unwrap();
            register_waker(&child, &Waker::from(Arc::clone(&flag))).unwrap();
            assert_eq!(child.into_result(), Ok(6));
            (moved, cloned, flag.0.load(Ordering::SeqCst))
        })
        .unwrap()
        .into_result()
        .unwrap();
    assert!(matches!(moved, Err(Error::InvalidState(_))), "{moved:?}");
    assert_eq!(cloned, 5);
    assert!(woken, "the registered waker was woken");
}

/// Leapfrogging on the pool: a task waiting on a task that another worker runs runs what that
/// task submitted meanwhile. The awaited task blocks in user code (so its worker cannot take
/// its child back) until the child has run: only the waiter can run it before the timeout.
#[test]
fn a_waiter_runs_the_children_of_the_task_it_awaits_on_its_own_worker() {
    let pool = Arc::new(ThreadPoolExecutor::new(2).unwrap());
    let awaited: Arc<OnceLock<Future<(ThreadId, ThreadId)>>> = Arc::default();
    let (queued_tx, queued_rx) = mpsc::channel::<()>();
    let inner = Arc::clone(&pool);
    let parent = pool
        .submit(move || {
            let (ran_tx, ran_rx) = mpsc::channel();
            let child = inner
                .submit(move || {
                    ran_tx.send(()).unwrap();
                    thread::current().id()
                })
                .unwrap();
            queued_tx.send(()).unwrap();
            let _ = ran_rx.recv_timeout(PATIENCE);
            (thread::current().id(), child.into_result().unwrap())
        })
        .unwrap();
    awaited.set(parent).unwrap();
    let slot = Arc::clone(&awaited);
    let waiter = pool
        .submit(move || {
            queued_rx.recv().unwrap();
            let (parent_thread, child_thread) = *slot.wait().result().unwrap();
            (thread::current().id(), parent_thread, child_thread)
        })
        .unwrap();
    let (waiter_thread, parent_thread, child_thread) = waiter.into_result().unwrap();
    assert_ne!(
        waiter_thread, parent_thread,
        "the two tasks ran on two workers"
    );
    assert_eq!(child_thread, waiter_thread, "the waiter ran the child");
}
