//! Scoped submission: borrowing, waiting for every task (also when the body panics or tasks
//! are cancelled), nesting, and a scope inside the pool's only worker.
#![cfg(not(loom))] // under loom only the sleep protocol is built

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use cfutures_core::{Error, Shutdown};
use cfutures_test_support::Event;
use cfutures_thread::ThreadPoolExecutor;

#[test]
fn tasks_borrow_and_mutate_the_callers_data() {
    let pool = ThreadPoolExecutor::new(3).unwrap();
    let data: Vec<u64> = (1..=1000).collect();
    let mut chunks_done = 0;
    let counter = AtomicUsize::new(0);
    let sums = pool.scope(|s| {
        let futures: Vec<_> = data
            .chunks(100)
            .map(|chunk| {
                let counter = &counter;
                s.submit(move || {
                    counter.fetch_add(1, Ordering::Relaxed);
                    chunk.iter().sum::<u64>()
                })
                .unwrap()
            })
            .collect();
        drop(s.submit(|| chunks_done = 10).unwrap());
        futures
            .iter()
            .map(|f| *f.result().unwrap())
            .collect::<Vec<_>>()
    });
    assert_eq!(sums.iter().sum::<u64>(), 500_500);
    assert_eq!(chunks_done, 10);
    assert_eq!(counter.load(Ordering::Relaxed), 10);
}

#[test]
fn the_scope_waits_for_tasks_it_did_not_wait_on() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let results = Mutex::new(Vec::new());
    pool.scope(|s| {
        for i in 0..50 {
            let results = &results;
            drop(s.submit(move || results.lock().unwrap().push(i)).unwrap());
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort();
    assert_eq!(results, (0..50).collect::<Vec<_>>());
}

#[test]
fn the_scope_waits_even_when_its_body_panics() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let finished = AtomicUsize::new(0);
    let gate = Event::new();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        pool.scope(|s| {
            for _ in 0..4 {
                let (finished, gate) = (&finished, gate.clone());
                drop(
                    s.submit(move || {
                        gate.wait();
                        finished.fetch_add(1, Ordering::SeqCst);
                    })
                    .unwrap(),
                );
            }
            let opener = gate.clone();
            std::thread::spawn(move || opener.set());
            panic!("scope body failed");
        })
    }));
    assert!(outcome.is_err());
    // The panic was resumed only after every task had finished.
    assert_eq!(finished.load(Ordering::SeqCst), 4);
}

#[test]
fn a_task_panic_fails_its_future_and_then_the_scope() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let good_value = Mutex::new(0);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        pool.scope(|s| {
            let bad = s.submit(|| -> u8 { panic!("bad chunk") }).unwrap();
            let good = s.submit(|| 7u8).unwrap();
            assert!(matches!(bad.result(), Err(Error::Panicked { .. })));
            *good_value.lock().unwrap() = *good.result().unwrap();
        })
    }));
    assert_eq!(
        outcome.unwrap_err().downcast_ref::<&str>(),
        Some(&"bad chunk")
    );
    assert_eq!(*good_value.lock().unwrap(), 7);
}

#[test]
fn cancelled_scoped_tasks_release_their_borrows() {
    // One worker, blocked, so the scoped tasks stay queued and can be cancelled.
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let gate = Event::new();
    let (started_tx, started) = std::sync::mpsc::channel();
    let blocker = {
        let gate = gate.clone();
        pool.submit(move || {
            started_tx.send(()).unwrap();
            gate.wait();
        })
        .unwrap()
    };
    started.recv().unwrap();
    let ran = AtomicUsize::new(0);
    pool.scope(|s| {
        let futures: Vec<_> = (0..5)
            .map(|_| {
                let ran = &ran;
                s.submit(move || ran.fetch_add(1, Ordering::SeqCst))
                    .unwrap()
            })
            .collect();
        assert!(futures.iter().all(|f| f.cancel()));
        gate.set();
    });
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    blocker.result().unwrap();
}

#[test]
fn nested_submissions_from_scoped_tasks() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let total = AtomicUsize::new(0);
    pool.scope(|s| {
        for _ in 0..4 {
            let total = &total;
            drop(
                s.submit(move || {
                    for _ in 0..4 {
                        drop(
                            s.submit(move || total.fetch_add(1, Ordering::SeqCst))
                                .unwrap(),
                        );
                    }
                })
                .unwrap(),
            );
        }
    });
    assert_eq!(total.load(Ordering::SeqCst), 16);
}

#[test]
fn a_scope_inside_the_only_worker_completes() {
    // The scope's owner is the pool's only worker: its tasks can only run because waiting at
    // the end of the scope runs them inline.
    let pool = Arc::new(ThreadPoolExecutor::new(1).unwrap());
    let inner = Arc::clone(&pool);
    let sum = pool
        .submit(move || {
            let data = [1u32, 2, 3, 4];
            let acc = AtomicUsize::new(0);
            inner.scope(|s| {
                for x in &data {
                    let acc = &acc;
                    drop(
                        s.submit(move || acc.fetch_add(*x as usize, Ordering::SeqCst))
                            .unwrap(),
                    );
                }
            });
            acc.load(Ordering::SeqCst)
        })
        .unwrap();
    assert_eq!(sum.result(), Ok(&10));
}

#[test]
fn submitting_to_a_shut_down_pool_in_a_scope_is_an_error() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    pool.shutdown(Shutdown::WAIT);
    let data = [1];
    let err = pool.scope(|s| s.submit(|| data.len()).unwrap_err());
    assert_eq!(err, Error::ShutDown);
}

/// As `std::thread::scope` and `rayon::scope`: a panic in a scoped task re-panics from `scope`
/// once every task is done (rayon's rule: the first panic's payload), and the task's future
/// still fails with `Error::Panicked`.
#[test]
fn a_panicking_task_re_panics_from_scope_after_every_task_is_done() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let finished = AtomicUsize::new(0);
    let seen = Mutex::new(None);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        pool.scope(|s| {
            let failed = s.submit(|| -> u8 { std::panic::panic_any(String::from("task boom")) });
            for _ in 0..4 {
                drop(
                    s.submit(|| finished.fetch_add(1, Ordering::SeqCst))
                        .unwrap(),
                );
            }
            let failed = failed.unwrap();
            *seen.lock().unwrap() = Some(failed.exception().unwrap());
        })
    }));
    let payload = outcome.expect_err("the scope re-panics");
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("task boom")
    );
    assert_eq!(
        finished.load(Ordering::SeqCst),
        4,
        "every other task ran first"
    );
    assert!(matches!(
        seen.lock().unwrap().take(),
        Some(Some(Error::Panicked { message, .. })) if message == "task boom"
    ));
    // The pool is fine afterwards.
    assert_eq!(pool.submit(|| 1).unwrap().into_result(), Ok(1));
}

/// The body's own panic wins over a task's, as in rayon.
#[test]
fn the_bodys_panic_is_the_one_resumed() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        pool.scope(|s| {
            let task = s.submit(|| panic!("task")).unwrap();
            let _ = task.exception();
            panic!("body");
        })
    }));
    let payload = outcome.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"body"));
}
