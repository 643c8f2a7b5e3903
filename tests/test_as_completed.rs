//! Conformance: CPython's `Lib/test/test_concurrent_futures/test_as_completed.py`, through
//! the facade, on a thread pool and on a process pool (CPython's `create_executor_tests`).
//! Python's `time.sleep` tasks are gated tasks the test releases, so nothing here waits on a
//! clock except the timeouts under test.
//!
//! Differences, each asserted as ours:
//! - The timeout error reads `timed out: 2 (of 4) futures unfinished` (Python's text after a
//!   `timed out: ` prefix) and is yielded as the iterator's last item instead of raised.
//! - Python checks that no stale reference keeps a yielded future alive (`weakref`); here a
//!   yielded future is the only handle left, which `into_inner` (it moves the value out only
//!   from the last handle) proves.

#[macro_use]
mod common;

use std::collections::HashSet;
use std::time::Duration;

use cfutures::helpers::as_completed;
use cfutures::{Error, Future, Promise};
use cfutures_test_support::{Canned, Gate, PATIENCE};
use common::Exec;

on_both_pools!(
    test_no_timeout,
    test_future_times_out,
    test_duplicate_futures
);

fn test_no_timeout(ex: &impl Exec) {
    let c = Canned::new();
    let future1 = ex.mul(2, 21);
    let future2 = ex.mul(7, 6);
    let all = [c.cancelled, c.exception, c.successful, future1, future2];
    let completed: HashSet<Future<i32>> = as_completed(all.clone(), Some(PATIENCE))
        .map(|f| f.expect("no timeout was given"))
        .collect();
    assert_eq!(completed, HashSet::from(all.clone()));
    assert_eq!(all[3].result(), Ok(&42));
    assert_eq!(all[4].result(), Ok(&42));
}

fn test_future_times_out(ex: &impl Exec) {
    let c = Canned::new();
    let already_completed = HashSet::from([
        c.cancelled.clone(),
        c.exception.clone(),
        c.successful.clone(),
    ]);
    for timeout in [Duration::ZERO, Duration::from_millis(100)] {
        let gate = Gate::new();
        let future = ex.gated(&gate);
        let mut completed = HashSet::new();
        let mut timed_out = false;
        let mut given = already_completed.clone();
        given.insert(future.clone());
        for f in as_completed(given, Some(timeout)) {
            match f {
                Ok(f) => assert!(completed.insert(f)),
                Err(Error::Timeout { unfinished, total }) => {
                    assert_eq!((unfinished, total), (1, 4));
                    timed_out = true;
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert!(timed_out, "{timeout:?}");
        // `future` was not completed.
        assert_eq!(completed, already_completed, "{timeout:?}");
        gate.release(1);
        assert_eq!(future.result_timeout(PATIENCE), Ok(&0));
    }
}

fn test_duplicate_futures(ex: &impl Exec) {
    // Issue 20367: duplicates give one answer; any iterable is accepted (#31641).
    let gate = Gate::new();
    let future1 = ex.gated(&gate);
    gate.release(1);
    let completed: Vec<_> = as_completed(std::iter::repeat_n(future1, 3), Some(PATIENCE)).collect();
    assert_eq!(completed.len(), 1);
    assert_eq!(completed[0].as_ref().unwrap().result(), Ok(&0));
}

#[test]
fn test_free_reference_yielded_future() {
    // Issue #14406: the iterator keeps no reference to the futures it has yielded.
    let promises: Vec<Promise<String>> = (0..8).map(|_| Promise::new().0).collect();
    let mut futures_list: Vec<Future<String>> = promises.iter().map(Promise::future).collect();
    let (done, finished) = Promise::new();
    done.set_result("42".to_string()).unwrap();
    let (cancel_promise, cancelled) = Promise::<String>::new();
    assert!(cancelled.cancel());
    futures_list.push(cancelled);
    futures_list.push(finished);

    let mut yielded = 0;
    let mut timed_out = false;
    for item in as_completed(std::mem::take(&mut futures_list), Some(Duration::ZERO)) {
        match item {
            Ok(future) => {
                yielded += 1;
                let outcome = future.into_inner().expect("a stale handle kept the future");
                assert!(matches!(
                    outcome.as_deref(),
                    Ok("42") | Err(Error::Cancelled)
                ));
            }
            Err(e) => {
                assert_eq!(
                    e,
                    Error::Timeout {
                        unfinished: 8,
                        total: 10
                    }
                );
                timed_out = true;
            }
        }
    }
    assert_eq!((yielded, timed_out), (2, true));
    drop(cancel_promise);

    let mut pending = promises.iter();
    pending.next().unwrap().set_result("test".into()).unwrap();
    let mut count = 0;
    for future in as_completed(promises.iter().map(Promise::future), None) {
        let value = future
            .unwrap()
            .into_inner()
            .expect("a stale handle kept the future");
        assert_eq!(value.as_deref(), Ok("test"));
        count += 1;
        if let Some(next) = pending.next() {
            next.set_result("test".into()).unwrap();
        }
    }
    assert_eq!(count, 8);
}

#[test]
fn test_correct_timeout_exception_msg() {
    let c = Canned::new();
    let futures_list = [c.cancelled, c.pending, c.running, c.successful];
    let items: Vec<_> = as_completed(futures_list, Some(Duration::ZERO)).collect();
    let error = items.last().unwrap().as_ref().unwrap_err();
    assert_eq!(
        *error,
        Error::Timeout {
            unfinished: 2,
            total: 4
        }
    );
    assert!(
        error.to_string().ends_with("2 (of 4) futures unfinished"),
        "{error}"
    );
}
