//! CPython's `test_thread_pool.py` and the `ExecutorTest` cases of `executor.py`, for
//! `ThreadPoolExecutor`. Python's `time.sleep` stand-ins are gates the test opens, so nothing
//! here depends on timing except the `map` timeout, which is generous. The cases that also
//! start process pools are the facade's (`tests/test_thread_pool.rs`).
//!
//! Not ported, with the reason:
//! - `test_submit_keyword`'s keyword forms (`submit(capture, 1, self=2, fn=3)`) and its
//!   `TypeError` cases: a task is a closure, so arguments are captured, and a missing or
//!   misnamed callable is a compile error. The positional part is ported.
//! - `test_map`'s `chunksize=3` run: the thread pool's `map` takes no chunk size (Python
//!   ignores it for threads too).
//! - `test_max_workers_negative` with `-1`: `max_workers` is a `usize`; 0 is ported.
#![cfg(not(loom))] // under loom only the sleep protocol is built

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::time::Duration;

use cfutures_core::{Error, Shutdown};
use cfutures_helpers::MapOptions;
#[cfg(target_os = "linux")]
use cfutures_test_support::threads::threads_gone;
use cfutures_test_support::{Event, PATIENCE, Semaphore, thread_name};
use cfutures_thread::{ThreadPoolBuilder, ThreadPoolExecutor, default_max_workers};

fn pool() -> ThreadPoolExecutor {
    ThreadPoolExecutor::new(5).unwrap()
}

#[test]
fn test_submit() {
    let future = pool().submit(|| 2u64.pow(8)).unwrap();
    assert_eq!(future.result(), Ok(&256));
}

#[test]
fn test_submit_keyword() {
    fn mul(x: i64, y: i64) -> i64 {
        x * y
    }
    let future = pool().submit(|| mul(2, 8)).unwrap();
    assert_eq!(future.result(), Ok(&16));
}

#[test]
fn test_map() {
    let pool = pool();
    let got: Vec<u64> = pool
        .map(|(b, e)| u64::pow(b, e), (0..10u64).zip(0..10u32))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let expected: Vec<u64> = (0..10u64).map(|n| n.pow(n as u32)).collect();
    assert_eq!(got, expected);
}

#[test]
fn test_map_exception() {
    let pool = pool();
    let divmod = |(a, b): (i32, i32)| (a / b, a % b);
    let mut results = pool.map(divmod, [(1, 2), (1, 3), (1, 0), (1, 5)]).unwrap();
    assert_eq!(results.next(), Some(Ok((0, 1))));
    assert_eq!(results.next(), Some(Ok((0, 1))));
    match results.next() {
        Some(Err(Error::Panicked { message, .. })) => {
            assert!(message.contains("divide by zero"), "{message}")
        }
        other => panic!("expected the division's panic, got {other:?}"),
    }
    // CPython 3.14 goes on past a failed item; so does this map.
    assert_eq!(results.next(), Some(Ok((0, 1))));
    assert_eq!(results.next(), None);
}

#[test]
fn test_map_timeout() {
    let pool = pool();
    let gate = Event::new();
    let opened = gate.clone();
    let mut results = Vec::new();
    let mut timed_out = false;
    for item in pool
        .map_with(
            move |block: bool| {
                if block {
                    opened.wait();
                }
            },
            [false, false, true],
            MapOptions::new().timeout(Duration::from_secs(1)),
        )
        .unwrap()
    {
        match item {
            Ok(value) => results.push(value),
            Err(Error::Timeout { .. }) => timed_out = true,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    gate.set();
    assert!(timed_out, "expected a timeout");
    assert_eq!(results, [(), ()]);
}

#[test]
fn test_shutdown_race_issue12456() {
    let pool = pool();
    let workers = pool.max_workers();
    let _results = pool
        .map(|n: u32| n.to_string(), vec![2; workers + 1])
        .unwrap();
    pool.shutdown(Shutdown::WAIT);
    // As Python writes it: the iterator is discarded at once, before the shutdown.
    let pool = self::pool();
    drop(
        pool.map(|n: u32| n.to_string(), vec![2; workers + 1])
            .unwrap(),
    );
    pool.shutdown(Shutdown::WAIT);
}

#[test]
fn test_no_stale_references() {
    // The pool drops a task's closure (and what it captured) once the task has run, even
    // while its future is still held.
    let pool = pool();
    let object = Arc::new(String::from("my_object"));
    let weak = Arc::downgrade(&object);
    let future = pool.submit(move || object.len()).unwrap();
    assert_eq!(future.result(), Ok(&9));
    assert!(
        weak.upgrade().is_none(),
        "the closure's capture outlived the task"
    );

    // Issue #16284 as Python writes it: the future is discarded at once, and the capture is
    // dropped (asynchronously, when the task has run) all the same.
    struct MyObject(mpsc::Sender<()>);
    impl Drop for MyObject {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }
    impl MyObject {
        fn my_method(&self) {}
    }
    let (collected_tx, my_object_collected) = mpsc::channel();
    let my_object = MyObject(collected_tx);
    drop(pool.submit(move || my_object.my_method()).unwrap());
    assert!(
        my_object_collected.recv_timeout(PATIENCE).is_ok(),
        "Stale reference not collected within timeout."
    );
}

#[test]
fn test_max_workers_negative() {
    for err in [
        ThreadPoolExecutor::new(0).unwrap_err(),
        ThreadPoolBuilder::new().max_workers(0).build().unwrap_err(),
    ] {
        assert_eq!(
            err,
            Error::InvalidArgument("max_workers must be greater than 0".into())
        );
    }
}

#[test]
fn test_free_reference() {
    // The result iterator keeps no reference to the results it yielded.
    let pool = pool();
    for object in pool.map(|_| Arc::new(()), 0..10).unwrap() {
        assert_eq!(Arc::strong_count(&object.unwrap()), 1);
    }
}

#[test]
fn test_map_submits_without_iteration() {
    let pool = pool();
    let finished = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&finished);
    let _not_iterated = pool
        .map(move |n| record.lock().unwrap().push(n), 0..10)
        .unwrap();
    pool.shutdown(Shutdown::WAIT);
    let mut finished = finished.lock().unwrap().clone();
    finished.sort();
    assert_eq!(finished, (0..10).collect::<Vec<_>>());
}

#[test]
fn test_default_workers() {
    let pool = ThreadPoolExecutor::default();
    let cpus = std::thread::available_parallelism().unwrap().get();
    assert_eq!(pool.max_workers(), 32.min(cpus + 4));
    assert_eq!(pool.max_workers(), default_max_workers());
}

#[test]
fn test_saturation() {
    let pool = ThreadPoolExecutor::new(4).unwrap();
    let sem = Semaphore::new(0);
    let futures: Vec<_> = (0..15 * pool.max_workers())
        .map(|_| {
            let sem = sem.clone();
            pool.submit(move || sem.acquire()).unwrap()
        })
        .collect();
    assert_eq!(pool.stats().workers_alive, pool.max_workers());
    sem.release(15 * pool.max_workers());
    pool.shutdown(Shutdown::WAIT);
    assert!(futures.iter().all(|f| f.result().is_ok()));
}

#[test]
fn test_idle_thread_reuse() {
    let pool = ThreadPoolExecutor::default();
    assert_eq!(pool.submit(|| 21 * 2).unwrap().result(), Ok(&42));
    assert_eq!(pool.submit(|| 6 * 7).unwrap().result(), Ok(&42));
    assert_eq!(pool.submit(|| 3 * 14).unwrap().result(), Ok(&42));
    assert_eq!(pool.stats().workers_alive, 1);
    pool.shutdown(Shutdown::WAIT);
}

#[test]
fn test_executor_map_current_future_cancel() {
    let stop = Event::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let log_n_wait = {
        let (stop, log) = (stop.clone(), Arc::clone(&log));
        move |ident: &'static str| {
            log.lock().unwrap().push(format!("ident={ident:?} started"));
            stop.wait();
            log.lock().unwrap().push(format!("ident={ident:?} stopped"));
        }
    };
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let first = {
        let f = log_n_wait.clone();
        pool.submit(move || f("first")).unwrap()
    };
    {
        let mut results = pool
            .map_with(
                log_n_wait,
                ["second", "third"],
                MapOptions::new().timeout(Duration::ZERO),
            )
            .unwrap();
        assert!(matches!(results.next(), Some(Err(Error::Timeout { .. }))));
    }
    stop.set();
    first.result().unwrap();
    drop(pool);
    assert_eq!(
        *log.lock().unwrap(),
        [r#"ident="first" started"#, r#"ident="first" stopped"#]
    );
}

#[test]
fn test_thread_names_assigned() {
    let pool = ThreadPoolBuilder::new()
        .max_workers(5)
        .thread_name_prefix("SpecialPool")
        .build()
        .unwrap();
    let mut names = names_of_all_workers(&pool);
    names.sort();
    assert_eq!(
        names,
        [
            "SpecialPool_0",
            "SpecialPool_1",
            "SpecialPool_2",
            "SpecialPool_3",
            "SpecialPool_4"
        ]
    );
    drop(pool);
    #[cfg(target_os = "linux")]
    assert!(threads_gone("SpecialPool_"));
}

#[test]
fn test_thread_names_default() {
    let pool = ThreadPoolExecutor::new(5).unwrap();
    let prefix = pool.thread_name_prefix().to_owned();
    let n = prefix.strip_prefix("ThreadPoolExecutor-").expect(&prefix);
    assert!(n.parse::<u64>().is_ok(), "{prefix}");
    let mut names = names_of_all_workers(&pool);
    names.sort();
    let expected: Vec<String> = (0..5).map(|i| format!("{prefix}_{i}")).collect();
    assert_eq!(names, expected);
    // Distinct pools get distinct default names.
    assert_ne!(
        ThreadPoolExecutor::new(1).unwrap().thread_name_prefix(),
        prefix
    );
}

/// Runs one task per worker, all at once (a barrier holds each until all have started), and
/// returns their thread names.
fn names_of_all_workers(pool: &ThreadPoolExecutor) -> Vec<String> {
    let n = pool.max_workers();
    let barrier = Arc::new(Barrier::new(n));
    let futures: Vec<_> = (0..n)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            pool.submit(move || {
                barrier.wait();
                thread_name().unwrap()
            })
            .unwrap()
        })
        .collect();
    futures
        .into_iter()
        .map(|f| f.into_result().unwrap())
        .collect()
}

#[test]
fn test_process_like_reentrant_submit_from_a_task() {
    // CPython's test_hang_global_shutdown_lock submits from inside a task; here the task
    // submits to its own pool while the pool is running, which must neither fail nor hang.
    let pool = Arc::new(ThreadPoolExecutor::new(1).unwrap());
    let (tx, rx) = mpsc::channel();
    let inner = Arc::clone(&pool);
    pool.submit(move || {
        let tx = tx.clone();
        drop(inner.submit(move || tx.send(7).unwrap()).unwrap());
    })
    .unwrap()
    .result()
    .unwrap();
    assert_eq!(rx.recv().unwrap(), 7);
}

#[test]
fn counters_add_up_after_a_quiet_pool() {
    let pool = ThreadPoolExecutor::new(3).unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let futures: Vec<_> = (0..200)
        .map(|_| {
            let ran = Arc::clone(&ran);
            pool.submit(move || ran.fetch_add(1, Ordering::Relaxed))
                .unwrap()
        })
        .collect();
    for f in &futures {
        f.result().unwrap();
    }
    pool.shutdown(Shutdown::WAIT);
    let stats = pool.stats();
    assert_eq!(ran.load(Ordering::Relaxed), 200);
    assert_eq!(stats.completed, 200, "{stats:?}");
    assert_eq!(stats.queued, 0);
    assert_eq!(stats.workers_alive, 0);
    assert_eq!(stats.workers_idle, 0);
}
