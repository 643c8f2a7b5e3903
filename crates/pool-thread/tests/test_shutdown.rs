//! CPython's `test_shutdown.py` (`ExecutorShutdownTest`, `ThreadPoolShutdownTest`) for
//! `ThreadPoolExecutor`. The cases that run a child interpreter to test interpreter exit have
//! no Rust counterpart (a Rust process does not join its threads at exit); those that run a
//! whole program on both pools are the facade's (`tests/test_shutdown.rs`). Python joins
//! `executor._threads`; here (on Linux) worker threads are found by name in
//! `/proc/self/task` to check that they are gone.
#![cfg(not(loom))] // under loom only the sleep protocol is built

use std::sync::{Arc, mpsc};
use std::time::Duration;

use cfutures_core::{Error, Shutdown};
#[cfg(target_os = "linux")]
use cfutures_test_support::threads::threads_gone;
use cfutures_test_support::{Event, Semaphore};
use cfutures_thread::ThreadPoolExecutor;

#[test]
fn test_run_after_shutdown() {
    let pool = ThreadPoolExecutor::new(5).unwrap();
    pool.shutdown(Shutdown::WAIT);
    assert_eq!(pool.submit(|| 2u32.pow(5)).unwrap_err(), Error::ShutDown);
    assert!(pool.is_shutdown());
}

#[test]
fn test_hang_issue12364() {
    let pool = ThreadPoolExecutor::new(5).unwrap();
    let futures: Vec<_> = (0..50).map(|i| pool.submit(move || i).unwrap()).collect();
    pool.shutdown(Shutdown::WAIT);
    for (i, f) in futures.iter().enumerate() {
        assert_eq!(f.result(), Ok(&i));
    }
}

#[test]
fn test_cancel_futures() {
    // Deterministic version: one worker, blocked in the first task, so all 49 others are
    // still queued when shutdown cancels them.
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let (started_tx, started) = mpsc::channel();
    let gate = Event::new();
    let first = {
        let gate = gate.clone();
        pool.submit(move || {
            started_tx.send(()).unwrap();
            gate.wait();
        })
        .unwrap()
    };
    let rest: Vec<_> = (0..49).map(|_| pool.submit(|| ()).unwrap()).collect();
    started.recv().unwrap();
    pool.shutdown(Shutdown::NO_WAIT.cancel_futures());
    assert!(rest.iter().all(|f| f.cancelled()));
    gate.set();
    pool.shutdown(Shutdown::WAIT);
    assert!(first.done() && !first.cancelled());
    assert_eq!(first.exception(), Ok(None));
}

#[test]
fn test_cancel_futures_with_several_workers() {
    // CPython's version: some are cancelled, the others finish without error.
    let pool = ThreadPoolExecutor::new(3).unwrap();
    let gate = Event::new();
    let futures: Vec<_> = (0..50)
        .map(|_| {
            let gate = gate.clone();
            pool.submit(move || gate.wait()).unwrap()
        })
        .collect();
    // At most one task per worker can have started; the others are queued (in the injector
    // or batched into a worker's deque) and get cancelled.
    pool.shutdown(Shutdown::NO_WAIT.cancel_futures());
    gate.set();
    pool.shutdown(Shutdown::WAIT);
    let cancelled = futures.iter().filter(|f| f.cancelled()).count();
    assert!(cancelled >= 50 - 3, "only {cancelled} cancelled");
    for f in futures.iter().filter(|f| !f.cancelled()) {
        assert!(f.done());
        assert_eq!(f.exception(), Ok(None));
    }
}

#[test]
fn test_hang_gh94440() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    pool.submit(|| 0).unwrap().result().unwrap();
    pool.submit(|| 0).unwrap().cancel();
    pool.shutdown(Shutdown::WAIT);
}

/// A pool whose threads are named `prefix_N`, to find them in `/proc/self/task`.
fn named_pool(workers: usize, prefix: &str) -> ThreadPoolExecutor {
    ThreadPoolExecutor::builder()
        .max_workers(workers)
        .thread_name_prefix(prefix)
        .build()
        .unwrap()
}

#[test]
fn test_threads_terminate() {
    let pool = named_pool(5, "terminate");
    let sem = Semaphore::new(0);
    for _ in 0..3 {
        let sem = sem.clone();
        drop(pool.submit(move || sem.acquire()).unwrap());
    }
    assert_eq!(pool.stats().workers_alive, 3);
    sem.release(3);
    pool.shutdown(Shutdown::WAIT);
    assert_eq!(pool.stats().workers_alive, 0);
    #[cfg(target_os = "linux")]
    assert!(threads_gone("terminate_"));
}

#[test]
fn test_context_manager_shutdown() {
    let futures: Vec<_>;
    {
        let pool = named_pool(5, "ctxmanager");
        let abs: Vec<i32> = pool
            .map(i32::abs, -5..5)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(abs, [5, 4, 3, 2, 1, 0, 1, 2, 3, 4]);
        futures = (-5..5)
            .map(|v| pool.submit(move || v * 2).unwrap())
            .collect();
    } // Drop = shutdown(wait = true)
    assert!(futures.iter().all(|f| f.done()));
    #[cfg(target_os = "linux")]
    assert!(threads_gone("ctxmanager_"));
}

#[test]
fn test_del_shutdown() {
    let pool = named_pool(5, "delshutdown");
    let futures: Vec<_> = (-5..5)
        .map(|v: i32| pool.submit(move || v.abs()).unwrap())
        .collect();
    drop(pool);
    #[cfg(target_os = "linux")]
    assert!(threads_gone("delshutdown_"));
    // The results were all computed before the pool shut down.
    for (f, v) in futures.iter().zip(-5..5) {
        assert!(f.done());
        assert_eq!(f.result_timeout(Duration::ZERO), Ok(&i32::abs(v)));
    }
}

#[test]
fn test_shutdown_no_wait() {
    let pool = ThreadPoolExecutor::new(5).unwrap();
    let futures: Vec<_> = (-5..5)
        .map(|v: i32| pool.submit(move || v.abs()).unwrap())
        .collect();
    pool.shutdown(Shutdown::NO_WAIT);
    assert!(pool.submit(|| 0).is_err());
    // The queued tasks still run after a non-waiting shutdown.
    for (f, v) in futures.iter().zip(-5..5) {
        assert_eq!(f.result(), Ok(&i32::abs(v)));
    }

    // Python's version: a `map` iterator survives a non-waiting shutdown of its pool.
    let pool = named_pool(5, "nowait");
    let res: Vec<i32> = {
        let results = pool.map(i32::abs, -5..5).unwrap();
        pool.shutdown(Shutdown::NO_WAIT);
        results.collect::<Result<_, _>>().unwrap()
    };
    assert_eq!(res, [5, 4, 3, 2, 1, 0, 1, 2, 3, 4]);
    // The threads are cleaned up: a waiting shutdown now returns once they have exited.
    pool.shutdown(Shutdown::WAIT);
    #[cfg(target_os = "linux")]
    assert!(threads_gone("nowait_"));
}

#[test]
fn shutdown_twice_and_from_two_threads() {
    let pool = Arc::new(ThreadPoolExecutor::new(2).unwrap());
    let gate = Event::new();
    let task = {
        let gate = gate.clone();
        pool.submit(move || gate.wait()).unwrap()
    };
    let other = {
        let pool = Arc::clone(&pool);
        std::thread::spawn(move || pool.shutdown(Shutdown::WAIT))
    };
    gate.set();
    pool.shutdown(Shutdown::WAIT);
    other.join().unwrap();
    assert!(task.done());
    pool.shutdown(Shutdown::WAIT.cancel_futures());
    assert_eq!(pool.stats().workers_alive, 0);
}

#[test]
fn shutdown_wait_from_a_task_of_the_pool_does_not_deadlock() {
    let pool = Arc::new(ThreadPoolExecutor::new(2).unwrap());
    let inner = Arc::clone(&pool);
    let f = pool
        .submit(move || {
            inner.shutdown(Shutdown::WAIT);
            inner.is_shutdown()
        })
        .unwrap();
    assert_eq!(f.result(), Ok(&true));
    assert_eq!(pool.submit(|| ()).unwrap_err(), Error::ShutDown);
    pool.shutdown(Shutdown::WAIT);
    assert_eq!(pool.stats().workers_alive, 0);
}

#[test]
fn dropping_the_last_handle_inside_a_task_does_not_deadlock() {
    let pool = Arc::new(ThreadPoolExecutor::new(1).unwrap());
    let inner = Arc::clone(&pool);
    let (tx, rx) = mpsc::channel();
    let gate = Event::new();
    let opened = gate.clone();
    let f = pool
        .submit(move || {
            opened.wait();
            // This task holds the last handle: dropping it shuts the pool down from its own
            // worker.
            drop(inner);
            tx.send("dropped").unwrap();
        })
        .unwrap();
    drop(pool);
    // `drop(pool)` returned at once: the task still owns a handle.
    gate.set();
    assert_eq!(rx.recv().unwrap(), "dropped");
    assert!(f.result().is_ok());
}

#[test]
fn shutdown_from_two_tasks_at_once_does_not_deadlock() {
    let pool = Arc::new(ThreadPoolExecutor::new(2).unwrap());
    let barrier = Arc::new(std::sync::Barrier::new(2));
    let futures: Vec<_> = (0..2)
        .map(|_| {
            let (inner, barrier) = (Arc::clone(&pool), Arc::clone(&barrier));
            pool.submit(move || {
                barrier.wait();
                inner.shutdown(Shutdown::WAIT);
            })
            .unwrap()
        })
        .collect();
    for f in &futures {
        assert!(f.result().is_ok());
    }
    pool.shutdown(Shutdown::WAIT);
    assert_eq!(pool.stats().workers_alive, 0);
}

#[test]
fn submissions_racing_shutdown_never_leave_a_future_pending() {
    use std::sync::Barrier;

    for round in 0..40 {
        let pool = Arc::new(ThreadPoolExecutor::new(2).unwrap());
        let barrier = Arc::new(Barrier::new(3));
        let submitters: Vec<_> = (0..2)
            .map(|_| {
                let (pool, barrier) = (Arc::clone(&pool), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    let mut accepted = Vec::new();
                    for i in 0..2_000u32 {
                        match pool.submit(move || i) {
                            Ok(future) => accepted.push((i, future)),
                            Err(error) => {
                                assert_eq!(error, Error::ShutDown);
                                break;
                            }
                        }
                    }
                    accepted
                })
            })
            .collect();
        let cancel_futures = round % 2 == 1;
        barrier.wait();
        // Vary where in the submissions the shutdown lands.
        for _ in 0..round * 2_000 {
            std::hint::spin_loop();
        }
        pool.shutdown(Shutdown {
            wait: round % 3 == 0,
            cancel_futures,
        });
        for submitter in submitters {
            for (i, future) in submitter.join().unwrap() {
                // A future handed out is served: it runs, or shutdown cancelled it.
                match future.result_timeout(Duration::from_secs(30)) {
                    Ok(value) => assert_eq!(*value, i),
                    Err(Error::Cancelled) => assert!(cancel_futures),
                    Err(other) => panic!("round {round}: task {i} ended with {other:?}"),
                }
            }
        }
        pool.shutdown(Shutdown::WAIT);
        assert_eq!(pool.stats().workers_alive, 0);
    }
}
