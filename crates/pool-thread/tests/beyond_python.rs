//! What the pool promises beyond Python: inline waiting (the documented deadlock completes),
//! self-wait as an error, surviving panics, work stealing, counters, policies, stack size.
#![cfg(not(loom))] // under loom only the sleep protocol is built

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, mpsc};

use cfutures_core::executor::ExecutorId;
use cfutures_core::{Error, Future, Shutdown, State};
use cfutures_test_support::{Event, thread_name};
use cfutures_thread::{InlineWaits, ThreadPoolBuilder, ThreadPoolExecutor};

#[test]
fn the_seeds_deadlock_completes() {
    // Python's documentation: with max_workers=1, a task that submits pow(5, 2) and waits on it
    // deadlocks. Here the waiting worker runs `pow` itself.
    let pool = Arc::new(ThreadPoolExecutor::new(1).unwrap());
    let executor = Arc::clone(&pool);
    let wait_on_future = move || {
        let f = executor.submit(|| 5u64.pow(2)).unwrap();
        let on = thread_name();
        (*f.result().unwrap(), on)
    };
    let (value, thread) = pool.submit(wait_on_future).unwrap().into_result().unwrap();
    assert_eq!(value, 25);
    assert!(thread.unwrap().ends_with("_0"));
    assert_eq!(pool.stats().workers_alive, 1);
}

#[test]
fn two_tasks_waiting_on_each_others_work_with_one_worker() {
    // Both levels nest: a task waits on a task that waits on a task.
    let pool: &'static ThreadPoolExecutor =
        Box::leak(Box::new(ThreadPoolExecutor::new(1).unwrap()));
    fn fib(pool: &'static ThreadPoolExecutor, n: u64) -> u64 {
        if n < 2 {
            return n;
        }
        let a = pool.submit(move || fib(pool, n - 1)).unwrap();
        let b = pool.submit(move || fib(pool, n - 2)).unwrap();
        a.result().unwrap() + b.result().unwrap()
    }
    assert_eq!(
        pool.submit(move || fib(pool, 15)).unwrap().result(),
        Ok(&610)
    );
}

#[test]
fn fork_join_across_workers_is_correct() {
    static POOL: OnceLock<ThreadPoolExecutor> = OnceLock::new();
    let pool = POOL.get_or_init(|| ThreadPoolExecutor::new(3).unwrap());
    fn sum(range: std::ops::Range<u64>) -> u64 {
        if range.end - range.start <= 64 {
            return range.sum();
        }
        let mid = range.start + (range.end - range.start) / 2;
        let pool = POOL.get().unwrap();
        let left = pool.submit(move || sum(range.start..mid)).unwrap();
        let right = sum(mid..range.end);
        left.result().unwrap() + right
    }
    for _ in 0..5 {
        assert_eq!(
            pool.submit(|| sum(0..100_000)).unwrap().result(),
            Ok(&4_999_950_000)
        );
    }
}

#[test]
fn waiting_on_ones_own_future_is_a_deadlock_error() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let (tx, rx) = mpsc::channel::<Future<Option<Error>>>();
    let me = pool
        .submit(move || {
            let me = rx.recv().unwrap();
            me.result().err()
        })
        .unwrap();
    tx.send(me.clone()).unwrap();
    assert_eq!(me.result(), Ok(&Some(Error::Deadlock)));
}

#[test]
fn a_panicking_task_fails_its_future_and_the_worker_lives_on() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let failed = pool.submit(|| -> u8 { panic!("boom {}", 42) }).unwrap();
    match failed.result() {
        Err(Error::Panicked { message, .. }) => assert_eq!(message, "boom 42"),
        other => panic!("expected a panic, got {other:?}"),
    }
    let name = pool.submit(thread_name).unwrap().into_result().unwrap();
    assert_eq!(name.unwrap(), format!("{}_0", pool.thread_name_prefix()));
    assert_eq!(pool.stats().workers_alive, 1);
    pool.shutdown(Shutdown::WAIT);
    assert_eq!(pool.stats().completed, 2);
}

/// A one-worker pool whose worker is blocked until the returned event is set.
fn blocked_pool(policy: InlineWaits) -> (ThreadPoolExecutor, Event, Future<()>) {
    let pool = ThreadPoolBuilder::new()
        .max_workers(1)
        .inline_waits(policy)
        .build()
        .unwrap();
    let gate = Event::new();
    let (started_tx, started) = mpsc::channel();
    let blocker = {
        let gate = gate.clone();
        pool.submit(move || {
            started_tx.send(()).unwrap();
            gate.wait();
        })
        .unwrap()
    };
    started.recv().unwrap();
    (pool, gate, blocker)
}

#[test]
fn by_default_an_outside_waiter_does_not_run_the_task() {
    let (pool, gate, _blocker) = blocked_pool(InlineWaits::default());
    let name = pool.submit(thread_name).unwrap();
    let opener = std::thread::spawn(move || gate.set());
    // The task runs on the worker (with its name) whatever the interleaving.
    assert_eq!(
        name.result().unwrap().as_deref(),
        Some(format!("{}_0", pool.thread_name_prefix()).as_str())
    );
    opener.join().unwrap();
}

#[test]
fn inline_waits_anywhere_runs_a_pending_task_in_the_caller() {
    let (pool, gate, blocker) = blocked_pool(InlineWaits::Anywhere);
    let name = pool.submit(thread_name).unwrap();
    // The only worker is blocked, so the task is pending: the caller runs it.
    assert_eq!(name.result().unwrap(), &thread_name());
    gate.set();
    blocker.result().unwrap();
}

#[test]
fn inline_waits_never_still_serves_nested_work_with_free_workers() {
    let pool = Arc::new(
        ThreadPoolBuilder::new()
            .max_workers(2)
            .inline_waits(InlineWaits::Never)
            .build()
            .unwrap(),
    );
    let inner = Arc::clone(&pool);
    let outer = pool
        .submit(move || {
            let child = inner.submit(thread_name).unwrap();
            (child.into_result().unwrap(), thread_name())
        })
        .unwrap();
    let (child, parent) = outer.into_result().unwrap();
    assert_ne!(child, parent, "the child ran on the other worker");
}

#[test]
fn a_nested_submission_is_stolen_by_an_idle_worker() {
    // The parent pushes the child on its own deque and then blocks until the child ran (not
    // through the future, so nothing inlines): only another worker stealing it can run it.
    let pool = Arc::new(ThreadPoolExecutor::new(2).unwrap());
    let inner = Arc::clone(&pool);
    let parent = pool
        .submit(move || {
            let ran = Event::new();
            let signal = ran.clone();
            let child = inner.submit(move || {
                signal.set();
                thread_name()
            });
            ran.wait();
            (child.unwrap().into_result().unwrap(), thread_name())
        })
        .unwrap();
    let (child, parent) = parent.into_result().unwrap();
    assert_ne!(child, parent);
    pool.shutdown(Shutdown::WAIT);
    assert!(pool.stats().stolen >= 1, "{:?}", pool.stats());
}

#[test]
fn workers_carry_the_pool_id() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let id = pool.id();
    assert_eq!(
        pool.submit(ExecutorId::current).unwrap().result(),
        Ok(&Some(id))
    );
    assert_eq!(ExecutorId::current(), None);
}

#[test]
fn a_cancelled_task_never_runs() {
    let (pool, gate, _blocker) = blocked_pool(InlineWaits::default());
    let ran = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&ran);
    let queued = pool
        .submit(move || {
            counted.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    assert!(queued.cancel());
    assert_eq!(queued.state(), State::Cancelled);
    gate.set();
    pool.shutdown(Shutdown::WAIT);
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert_eq!(queued.result(), Err(Error::Cancelled));
    assert_eq!(pool.stats().completed, 1, "only the blocker ran");
}

#[test]
fn stats_count_queued_tasks_and_idle_workers() {
    let (pool, gate, blocker) = blocked_pool(InlineWaits::default());
    let queued: Vec<_> = (0..3).map(|_| pool.submit(|| ()).unwrap()).collect();
    let stats = pool.stats();
    assert_eq!(stats.queued, 3, "{stats:?}");
    assert_eq!(stats.workers_alive, 1);
    assert_eq!(stats.workers_idle, 0);
    gate.set();
    blocker.result().unwrap();
    for f in &queued {
        f.result().unwrap();
    }
    pool.shutdown(Shutdown::WAIT);
    let stats = pool.stats();
    assert_eq!((stats.queued, stats.completed), (0, 4), "{stats:?}");
}

#[test]
fn done_callbacks_run_once_each() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let futures: Vec<_> = (0..100)
        .map(|i| {
            let f = pool.submit(move || i).unwrap();
            let calls = Arc::clone(&calls);
            f.add_done_callback(move |_| {
                calls.fetch_add(1, Ordering::SeqCst);
            });
            f
        })
        .collect();
    drop(pool);
    assert!(futures.iter().all(Future::done));
    assert_eq!(calls.load(Ordering::SeqCst), 100);
}

#[test]
fn stack_size_is_applied() {
    let pool = ThreadPoolBuilder::new()
        .max_workers(1)
        .stack_size(32 << 20)
        .build()
        .unwrap();
    // 8 MiB on the stack overflows a default 2 MiB thread stack.
    let f = pool.submit(|| {
        let big = [1u8; 8 << 20];
        std::hint::black_box(&big)
            .iter()
            .map(|&b| b as u64)
            .sum::<u64>()
    });
    assert_eq!(f.unwrap().result(), Ok(&(8 << 20)));
}

#[test]
fn submitting_from_many_threads_at_once() {
    let pool = Arc::new(ThreadPoolExecutor::new(3).unwrap());
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || {
                let futures: Vec<_> = (0..2_000u64)
                    .map(|i| pool.submit(move || t * 10_000 + i).unwrap())
                    .collect();
                futures
                    .iter()
                    .enumerate()
                    .all(|(i, f)| f.result() == Ok(&(t * 10_000 + i as u64)))
            })
        })
        .collect();
    for handle in handles {
        assert!(handle.join().unwrap());
    }
}

#[test]
fn the_pool_and_its_scopes_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<ThreadPoolExecutor>();
    send_sync::<cfutures_thread::Scope<'static, 'static>>();
    send_sync::<ThreadPoolBuilder>();
}

#[test]
fn a_long_task_that_submits_and_waits_in_a_loop_keeps_its_deque_small() {
    // Each waited-on task runs inline and leaves a done entry in the worker's deque; with a
    // single worker nobody steals them, so the worker must sweep them out itself.
    let pool = Arc::new(ThreadPoolExecutor::new(1).unwrap());
    let inner = Arc::clone(&pool);
    let most_queued = pool
        .submit(move || {
            let mut most = 0;
            for i in 0..5_000u32 {
                assert_eq!(inner.submit(move || i).unwrap().result(), Ok(&i));
                most = most.max(inner.stats().queued);
            }
            most
        })
        .unwrap();
    let most = *most_queued.result().unwrap();
    assert!(most <= 128, "the deque grew to {most}");
}

/// Issue 12, point 10: a NUL in the prefix is bad input, refused when the pool is built (it
/// used to panic inside `std::thread::Builder::spawn` at the first submit).
#[test]
fn a_thread_name_prefix_with_nul_is_refused_at_build() {
    let err = ThreadPoolExecutor::builder()
        .thread_name_prefix("a\0b")
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument(why) if why.contains("NUL")),
        "{err}"
    );
}

/// CPython: `thread_name_prefix or ("ThreadPoolExecutor-%d" % counter)`.
#[test]
fn an_empty_thread_name_prefix_falls_back_to_the_default() {
    let pool = ThreadPoolExecutor::builder()
        .thread_name_prefix("")
        .build()
        .unwrap();
    assert!(pool.thread_name_prefix().starts_with("ThreadPoolExecutor-"));
    let name = pool
        .submit(|| std::thread::current().name().map(str::to_owned))
        .unwrap()
        .into_result()
        .unwrap()
        .unwrap();
    assert!(
        name.starts_with("ThreadPoolExecutor-") && name.ends_with("_0"),
        "{name}"
    );
}

/// A thread that cannot be started (here: a stack no machine can map) fails the submit with a
/// typed error, and leaves no worker counted: shutdown and drop return instead of waiting for
/// a thread that never existed.
#[test]
fn a_failed_spawn_is_a_submit_error_and_leaves_no_count_wrong() {
    let pool = ThreadPoolExecutor::builder()
        .stack_size(usize::MAX / 4)
        .build()
        .unwrap();
    let err = pool.submit(|| 1).unwrap_err();
    assert!(matches!(err, Error::Other(_)), "{err}");
    assert_eq!(pool.stats().workers_alive, 0);
    // And again: the failure is not sticky, nor does it panic.
    assert!(pool.submit(|| 2).is_err());
    pool.shutdown(Shutdown::WAIT);
    drop(pool);
}
