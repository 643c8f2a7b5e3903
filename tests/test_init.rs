//! Conformance: CPython's `Lib/test/test_concurrent_futures/test_init.py` (`InitializerMixin`,
//! `FailingInitializerMixin`), on a thread pool and on a process pool.
//!
//! Python checks that the failure is *logged* ("ValueError: error in initializer"); here the
//! reason travels in the `Error::Broken` every refused submission and failed future carries,
//! which is what is checked. `FailingInitializerResourcesTest` checks that multiprocessing's
//! resource tracker leaks nothing; its counterpart here is that no worker is left behind
//! (none counted, every pid reaped) once the broken pool is shut down.

use std::sync::Mutex;

use cfutures::process::ProcessPoolExecutor;
use cfutures::thread::ThreadPoolExecutor;
use cfutures::{Error, Future, Shutdown};
use cfutures_test_support::{PATIENCE, quiet_expected_panics};

/// CPython's `INITIALIZER_STATUS`: in the test process for the thread pool, in each worker
/// process for the process pool.
static INITIALIZER_STATUS: Mutex<&str> = Mutex::new("uninitialized");

fn init(x: String) {
    let x: &'static str = x.leak();
    *INITIALIZER_STATUS.lock().unwrap() = x;
}

fn get_init_status(_: ()) -> String {
    INITIALIZER_STATUS.lock().unwrap().to_string()
}

fn init_fail(_: ()) {
    panic!("expected: error in initializer");
}

const WORKER_COUNT: usize = 2;

mod initializer {
    use super::*;

    #[test]
    fn thread() {
        let executor = ThreadPoolExecutor::builder()
            .max_workers(WORKER_COUNT)
            .initializer(|| init("initialized".into()))
            .build()
            .unwrap();
        let futures: Vec<_> = (0..WORKER_COUNT)
            .map(|_| executor.submit(|| get_init_status(())).unwrap())
            .collect();
        for f in futures {
            assert_eq!(f.result_timeout(PATIENCE).unwrap(), "initialized");
        }
    }

    #[test]
    fn process() {
        let executor = ProcessPoolExecutor::builder()
            .max_workers(WORKER_COUNT)
            .initializer(init, "initialized".to_string())
            .build()
            .unwrap();
        let futures: Vec<_> = (0..WORKER_COUNT)
            .map(|_| executor.submit(get_init_status, ()).unwrap())
            .collect();
        for f in futures {
            assert_eq!(f.result_timeout(PATIENCE).unwrap(), "initialized");
        }
    }
}

/// `FailingInitializerMixin.test_initializer`: the first submission is refused or its future
/// fails with the broken-pool error; from then on every submission is refused with it.
fn assert_breaks<S>(submit: S)
where
    S: Fn() -> Result<Future<String>, Error>,
{
    let assert_reason = |error: &Error| match error {
        Error::Broken(reason) => assert!(reason.contains("error in initializer"), "{reason}"),
        other => panic!("expected a broken pool, got {other:?}"),
    };
    match submit() {
        // Perhaps the executor is already broken.
        Err(error) => assert_reason(&error),
        Ok(future) => assert_reason(&future.result_timeout(PATIENCE).unwrap_err()),
    }
    // The pool broke before failing the future: from here on submit() must fail.
    assert_reason(&submit().unwrap_err());
}

mod failing_initializer {
    use super::*;

    #[test]
    fn thread() {
        let executor = ThreadPoolExecutor::builder()
            .max_workers(WORKER_COUNT)
            .initializer(|| Err::<(), _>("ValueError: error in initializer"))
            .build()
            .unwrap();
        assert_breaks(|| executor.submit(|| get_init_status(())));
        assert!(executor.broken().is_some());
        executor.shutdown(Shutdown::WAIT);
        assert_eq!(executor.stats().workers_alive, 0);
    }

    #[test]
    fn process() {
        quiet_expected_panics();
        let executor = ProcessPoolExecutor::builder()
            .max_workers(WORKER_COUNT)
            .initializer(init_fail, ())
            .build()
            .unwrap();
        assert_breaks(|| executor.submit(get_init_status, ()));
        executor.shutdown(Shutdown::WAIT);
        // Nothing left behind: every worker exited and was reaped.
        assert_eq!(executor.worker_count(), 0);
        assert!(executor.worker_pids().is_empty());
    }
}
