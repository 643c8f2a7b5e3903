//! CPython's `test_init.py` (`InitializerMixin`, `FailingInitializerMixin`) for
//! `ThreadPoolExecutor`, plus the broken-pool guarantees of the issue: queued futures fail with
//! the reason (not cancelled, not abandoned) and later submissions are refused with it.
#![cfg(not(loom))] // under loom only the sleep protocol is built

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cfutures_core::{Error, Shutdown};
use cfutures_test_support::Event;
use cfutures_thread::ThreadPoolBuilder;

thread_local! {
    static INITIALIZER_STATUS: RefCell<&'static str> = const { RefCell::new("uninitialized") };
}

fn get_init_status() -> &'static str {
    INITIALIZER_STATUS.with(|s| *s.borrow())
}

#[test]
fn test_initializer() {
    let worker_count = 2;
    let pool = ThreadPoolBuilder::new()
        .max_workers(worker_count)
        .initializer(|| INITIALIZER_STATUS.with(|s| *s.borrow_mut() = "initialized"))
        .build()
        .unwrap();
    let futures: Vec<_> = (0..worker_count)
        .map(|_| pool.submit(get_init_status).unwrap())
        .collect();
    for f in futures {
        assert_eq!(f.result(), Ok(&"initialized"));
    }
}

#[test]
fn initializer_runs_once_per_worker() {
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&runs);
    let pool = ThreadPoolBuilder::new()
        .max_workers(3)
        .initializer(move || {
            counted.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    let barrier = Arc::new(std::sync::Barrier::new(3));
    let futures: Vec<_> = (0..3)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            pool.submit(move || barrier.wait()).unwrap()
        })
        .collect();
    for f in &futures {
        f.result().unwrap();
    }
    for _ in 0..20 {
        pool.submit(|| ()).unwrap().result().unwrap();
    }
    drop(pool);
    assert_eq!(runs.load(Ordering::SeqCst), 3);
}

fn assert_broken(error: &Error, why: &str) {
    match error {
        Error::Broken(reason) => {
            assert!(reason.contains("thread initializer failed"), "{reason}");
            assert!(reason.contains(why), "{reason}");
        }
        other => panic!("expected Broken, got {other:?}"),
    }
}

#[test]
fn test_failing_initializer() {
    let pool = ThreadPoolBuilder::new()
        .max_workers(2)
        .initializer(|| Err::<(), _>("error in initializer"))
        .build()
        .unwrap();
    match pool.submit(get_init_status) {
        // Perhaps the pool broke before the task was queued...
        Err(error) => assert_broken(&error, "error in initializer"),
        // ... or it was queued and failed with the reason.
        Ok(future) => assert_broken(&future.result().unwrap_err(), "error in initializer"),
    }
    // The future failed only after the pool was marked broken: from now on submit refuses.
    assert_broken(
        &pool.submit(get_init_status).unwrap_err(),
        "error in initializer",
    );
    assert!(pool.broken().unwrap().contains("error in initializer"));
}

fn panicking_initializer() {
    panic!("no config file")
}

#[test]
fn panicking_initializer_breaks_the_pool_with_its_message() {
    let pool = ThreadPoolBuilder::new()
        .max_workers(1)
        .initializer(panicking_initializer)
        .build()
        .unwrap();
    let error = match pool.submit(|| 1) {
        Err(error) => error,
        Ok(future) => future.result().unwrap_err(),
    };
    assert_broken(&error, "no config file");
    assert_broken(&pool.submit(|| 2).unwrap_err(), "no config file");
}

#[test]
fn queued_futures_fail_with_the_reason() {
    let gate = Event::new();
    let opened = gate.clone();
    let pool = ThreadPoolBuilder::new()
        .max_workers(1)
        .initializer(move || {
            opened.wait();
            Err::<(), _>("database unreachable")
        })
        .build()
        .unwrap();
    // The only worker is stuck in its initializer, so all of these are queued.
    let futures: Vec<_> = (0..5).map(|i| pool.submit(move || i).unwrap()).collect();
    gate.set();
    for f in &futures {
        assert_broken(&f.result().unwrap_err(), "database unreachable");
        assert!(!f.cancelled());
    }
    assert_broken(&pool.submit(|| 0).unwrap_err(), "database unreachable");
    pool.shutdown(Shutdown::WAIT);
    assert_eq!(pool.stats().workers_alive, 0);
}

#[test]
fn a_worker_that_initialized_keeps_its_running_task() {
    // Worker 0 initializes; worker 1's initializer fails while worker 0 runs a task: that task
    // finishes normally (Python fails only queued work), the pool is broken afterwards.
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let pool = ThreadPoolBuilder::new()
        .max_workers(2)
        .initializer(move || {
            if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                Ok(())
            } else {
                Err("second worker failed")
            }
        })
        .build()
        .unwrap();
    let gate = Event::new();
    let opened = gate.clone();
    let (started_tx, started) = std::sync::mpsc::channel();
    let running = pool
        .submit(move || {
            started_tx.send(()).unwrap();
            opened.wait();
            "finished"
        })
        .unwrap();
    started.recv().unwrap();
    // This one starts worker 1, whose initializer fails.
    let queued = pool.submit(|| "never");
    let queued_error = match queued {
        Err(error) => error,
        Ok(future) => future.result().unwrap_err(),
    };
    assert_broken(&queued_error, "second worker failed");
    gate.set();
    assert_eq!(running.result(), Ok(&"finished"));
}

#[test]
fn submissions_racing_a_failing_initializer_all_end() {
    use std::time::Duration;

    for _ in 0..20 {
        let pool = Arc::new(
            ThreadPoolBuilder::new()
                .max_workers(2)
                .initializer(|| Err::<(), _>("flaky"))
                .build()
                .unwrap(),
        );
        let submitters: Vec<_> = (0..2)
            .map(|_| {
                let pool = Arc::clone(&pool);
                std::thread::spawn(move || {
                    let mut accepted = Vec::new();
                    for i in 0..1_000u32 {
                        match pool.submit(move || i) {
                            Ok(future) => accepted.push(future),
                            Err(error) => {
                                assert_broken(&error, "flaky");
                                break;
                            }
                        }
                    }
                    accepted
                })
            })
            .collect();
        for submitter in submitters {
            for future in submitter.join().unwrap() {
                let error = future
                    .result_timeout(Duration::from_secs(30))
                    .expect_err("no worker ever initialized");
                assert_broken(&error, "flaky");
            }
        }
    }
}
