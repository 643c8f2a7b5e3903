//! Conformance: CPython's `Lib/test/test_concurrent_futures/test_wait.py`, through the
//! facade, on a thread pool and on a process pool. `event.wait` tasks are gated tasks.
//!
//! One documented difference: Python's `CANCELLED_FUTURE` (cancelled, waiters not yet
//! notified) is *not done* for `wait`, while `CANCELLED_AND_NOTIFIED_FUTURE` is. Cancelling
//! here notifies at once, so every cancelled future is done: in `test_first_completed` and
//! `test_first_exception_some_already_complete` it lands in `done`, and `test_first_completed`
//! additionally checks Python's assertion on the executor's futures alone.

#[macro_use]
mod common;

use std::collections::HashSet;
use std::time::Duration;

use cfutures::Future;
use cfutures::helpers::{ReturnWhen, wait};
use cfutures::thread::ThreadPoolExecutor;
use cfutures_test_support::{Canned, Event, Gate, PATIENCE};
use common::Exec;

fn set<const N: usize>(futures: [&Future<i32>; N]) -> HashSet<Future<i32>> {
    futures.into_iter().cloned().collect()
}

on_both_pools!(
    test_20369,
    test_first_completed,
    test_first_completed_some_already_completed,
    test_first_exception,
    test_first_exception_some_already_complete,
    test_first_exception_one_already_failed,
    test_all_completed,
    test_timeout,
);

/// Python waits without a timeout; a generous one turns a hang into a failed assertion.
const NO_HANG: Option<Duration> = Some(PATIENCE);

fn test_20369(ex: &impl Exec) {
    let future = ex.mul(1, 2);
    let split = wait(
        [future.clone(), future.clone()],
        NO_HANG,
        ReturnWhen::AllCompleted,
    );
    assert_eq!(split.done, set([&future]));
    assert!(split.not_done.is_empty());
}

fn test_first_completed(ex: &impl Exec) {
    let c = Canned::new();
    let gate = Gate::new();
    let future1 = ex.mul(21, 2);
    let future2 = ex.gated(&gate);

    // Python's assertion, on the executor's futures.
    let split = wait(
        [future1.clone(), future2.clone()],
        NO_HANG,
        ReturnWhen::FirstCompleted,
    );
    assert_eq!(split.done, set([&future1]));
    assert_eq!(split.not_done, set([&future2]));

    // With the cancelled future: it is done here (see the module docs).
    let given = [c.cancelled.clone(), future1.clone(), future2.clone()];
    let split = wait(given, NO_HANG, ReturnWhen::FirstCompleted);
    assert_eq!(split.done, set([&c.cancelled, &future1]));
    assert_eq!(split.not_done, set([&future2]));

    gate.release(1);
    assert_eq!(future2.result_timeout(PATIENCE), Ok(&0));
}

fn test_first_completed_some_already_completed(ex: &impl Exec) {
    let c = Canned::new();
    let gate = Gate::new();
    let future1 = ex.gated(&gate);
    let given = [c.cancelled.clone(), c.successful.clone(), future1.clone()];
    let split = wait(given, NO_HANG, ReturnWhen::FirstCompleted);
    assert_eq!(split.done, set([&c.cancelled, &c.successful]));
    assert_eq!(split.not_done, set([&future1]));
    gate.release(1);
    assert_eq!(future1.result_timeout(PATIENCE), Ok(&0));
}

fn test_first_exception(ex: &impl Exec) {
    let event1 = Gate::new();
    let event2 = Gate::new();
    let future1 = ex.mul(2, 21);
    let future2 = ex.gated_raise(&event1);
    let future3 = ex.gated(&event2);
    std::thread::scope(|s| {
        // Ensures that future1 is completed before future2 finishes.
        s.spawn(|| {
            future1.result_timeout(PATIENCE).unwrap();
            event1.release(1);
        });
        let split = wait(
            [future1.clone(), future2.clone(), future3.clone()],
            NO_HANG,
            ReturnWhen::FirstException,
        );
        assert_eq!(split.done, set([&future1, &future2]));
        assert_eq!(split.not_done, set([&future3]));
    });
    event2.release(1);
    assert_eq!(future3.result_timeout(PATIENCE), Ok(&0));
}

fn test_first_exception_some_already_complete(ex: &impl Exec) {
    let c = Canned::new();
    let gate = Gate::new();
    let future1 = ex.div(21, 0);
    let future2 = ex.gated(&gate);
    let given = [
        c.successful.clone(),
        c.cancelled.clone(),
        future1.clone(),
        future2.clone(),
    ];
    let split = wait(given, NO_HANG, ReturnWhen::FirstException);
    assert_eq!(split.done, set([&c.successful, &c.cancelled, &future1]));
    assert_eq!(split.not_done, set([&future2]));
    gate.release(1);
    assert_eq!(future2.result_timeout(PATIENCE), Ok(&0));
}

fn test_first_exception_one_already_failed(ex: &impl Exec) {
    let c = Canned::new();
    let gate = Gate::new();
    let future1 = ex.gated(&gate);
    let split = wait(
        [c.exception.clone(), future1.clone()],
        NO_HANG,
        ReturnWhen::FirstException,
    );
    assert_eq!(split.done, set([&c.exception]));
    assert_eq!(split.not_done, set([&future1]));
    gate.release(1);
    assert_eq!(future1.result_timeout(PATIENCE), Ok(&0));
}

fn test_all_completed(ex: &impl Exec) {
    let c = Canned::new();
    let future1 = ex.div(2, 0);
    let future2 = ex.mul(2, 21);
    let given = [
        c.successful.clone(),
        c.cancelled.clone(),
        c.exception.clone(),
        future1.clone(),
        future2.clone(),
    ];
    let split = wait(given.clone(), NO_HANG, ReturnWhen::AllCompleted);
    assert_eq!(split.done, given.iter().cloned().collect());
    assert!(split.not_done.is_empty());
}

fn test_timeout(ex: &impl Exec) {
    let c = Canned::new();
    let gate = Gate::new();
    let future = ex.gated(&gate);
    let given = [
        c.cancelled.clone(),
        c.exception.clone(),
        c.successful.clone(),
        future.clone(),
    ];
    let split = wait(
        given,
        Some(Duration::from_millis(50)),
        ReturnWhen::AllCompleted,
    );
    assert_eq!(split.done, set([&c.cancelled, &c.exception, &c.successful]));
    assert_eq!(split.not_done, set([&future]));
    gate.release(1);
    assert_eq!(future.result_timeout(PATIENCE), Ok(&0));
}

/// `ThreadPoolWaitTests.test_pending_calls_race`: Issue #14406, a race when waiting on all.
#[test]
fn test_pending_calls_race() {
    let executor = ThreadPoolExecutor::new(5).unwrap();
    let event = Event::new();
    let fs: HashSet<Future<()>> = (0..100)
        .map(|_| {
            let event = event.clone();
            executor.submit(move || event.wait()).unwrap()
        })
        .collect();
    event.set();
    let split = wait(fs, NO_HANG, ReturnWhen::AllCompleted);
    assert_eq!((split.done.len(), split.not_done.len()), (100, 0));
}
