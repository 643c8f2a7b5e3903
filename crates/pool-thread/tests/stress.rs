//! A stress test: many tasks with random panics, cancels, done-callbacks and nested submits
//! (waited on or not). Every future must end terminal and the counts must add up.
//!
//! `CFUTURES_STRESS_TASKS` sets the number of tasks (default 50 000, quick enough for CI); the
//! ignored test runs a million: `cargo test -p cfutures-thread --release --test stress --
//! --ignored`.
#![cfg(not(loom))] // under loom only the sleep protocol is built

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use cfutures_core::{Error, Future, Shutdown, State};
use cfutures_test_support::{Rng, count_from_env};
use cfutures_thread::ThreadPoolExecutor;

#[derive(Default)]
struct Counts {
    /// Closures that started running (top-level and nested).
    executed: AtomicUsize,
    callbacks_registered: AtomicUsize,
    callbacks_run: AtomicUsize,
    nested_submitted: AtomicUsize,
}

fn stress(tasks: usize, workers: usize, seed: u64) {
    // Thousands of expected panics would flood stderr.
    std::panic::set_hook(Box::new(|_| {}));
    let pool = Arc::new(ThreadPoolExecutor::new(workers).unwrap());
    let counts = Arc::new(Counts::default());
    let nested: Arc<Mutex<Vec<Future<u64>>>> = Arc::default();
    let mut rng = Rng::new(seed);
    let mut futures = Vec::with_capacity(tasks);
    let mut cancel_successes = 0;

    for i in 0..tasks as u64 {
        let dice = rng.next_u64() % 100;
        let counts_in_task = Arc::clone(&counts);
        let future = match dice {
            0..=4 => pool.submit(move || -> u64 {
                counts_in_task.executed.fetch_add(1, Ordering::Relaxed);
                panic!("task {i} panicked on purpose")
            }),
            5..=14 => {
                let (inner, nested) = (Arc::clone(&pool), Arc::clone(&nested));
                let wait = dice < 10;
                pool.submit(move || {
                    counts_in_task.executed.fetch_add(1, Ordering::Relaxed);
                    let counts_in_child = Arc::clone(&counts_in_task);
                    let child = inner.submit(move || {
                        counts_in_child.executed.fetch_add(1, Ordering::Relaxed);
                        i * 2
                    });
                    let Ok(child) = child else {
                        unreachable!("the pool is open while tasks are submitted");
                    };
                    counts_in_task
                        .nested_submitted
                        .fetch_add(1, Ordering::Relaxed);
                    if wait {
                        *child.result().unwrap() / 2
                    } else {
                        nested.lock().unwrap().push(child);
                        i
                    }
                })
            }
            _ => pool.submit(move || {
                counts_in_task.executed.fetch_add(1, Ordering::Relaxed);
                i
            }),
        }
        .unwrap();
        if (15..25).contains(&dice) && future.cancel() {
            cancel_successes += 1;
        }
        if dice.is_multiple_of(3) {
            counts.callbacks_registered.fetch_add(1, Ordering::Relaxed);
            let counts = Arc::clone(&counts);
            future.add_done_callback(move |f| {
                assert!(f.done());
                counts.callbacks_run.fetch_add(1, Ordering::Relaxed);
            });
        }
        futures.push((i, dice, future));
    }

    let (mut values, mut panicked, mut cancelled) = (0, 0, 0);
    for (i, dice, future) in &futures {
        match future.result() {
            Ok(value) => {
                assert_eq!(value, i);
                values += 1;
            }
            Err(Error::Panicked { message, .. }) => {
                assert!(*dice <= 4, "task {i} panicked unexpectedly: {message}");
                assert_eq!(message, format!("task {i} panicked on purpose"));
                panicked += 1;
            }
            Err(Error::Cancelled) => cancelled += 1,
            Err(other) => panic!("task {i}: unexpected {other:?}"),
        }
        assert!(future.done());
    }
    let children = std::mem::take(&mut *nested.lock().unwrap());
    for child in &children {
        assert!(child.result().is_ok());
    }
    pool.shutdown(Shutdown::WAIT);
    let _ = std::panic::take_hook();

    assert_eq!(values + panicked + cancelled, tasks);
    assert_eq!(cancelled, cancel_successes);
    assert!(futures.iter().all(|(_, _, f)| f.state() != State::Pending));
    let nested_submitted = counts.nested_submitted.load(Ordering::Relaxed);
    // Every finished future's closure ran exactly once; cancelled ones never ran.
    assert_eq!(
        counts.executed.load(Ordering::Relaxed),
        values + panicked + nested_submitted
    );
    assert_eq!(
        counts.callbacks_run.load(Ordering::Relaxed),
        counts.callbacks_registered.load(Ordering::Relaxed)
    );
    let stats = pool.stats();
    assert_eq!(stats.queued, 0, "{stats:?}");
    assert_eq!(stats.workers_alive, 0, "{stats:?}");
    // Tasks run inline by a waiting worker are not counted as completed by a worker.
    assert!(stats.completed as usize <= counts.executed.load(Ordering::Relaxed));
    assert!(stats.completed > 0);
}

#[test]
fn stress_random_panics_cancels_callbacks_nested() {
    stress(count_from_env("CFUTURES_STRESS_TASKS", 50_000), 4, 0x5EED);
}

#[test]
#[ignore = "a million tasks: run with --release --ignored"]
fn stress_a_million_tasks() {
    stress(
        count_from_env("CFUTURES_STRESS_TASKS", 1_000_000),
        4,
        0xC0FFEE,
    );
}
