//! CPython's `test_wait.py`, ported. Where CPython uses `CANCELLED_FUTURE` (cancelled, not yet
//! notified, which counts as not done there) the port says what happens here instead: a
//! cancelled cfutures future has notified its waiters already, so it counts as done.

mod common;

use std::collections::HashSet;
use std::thread;
use std::time::Duration;

use cfutures_core::{Error, Future, Promise};
use cfutures_helpers::{ReturnWhen, wait};
use cfutures_test_support::{Canned, Event, quiet_expected_panics};
use common::TestExecutor;

fn set_of(futures: &[&Future<i32>]) -> HashSet<Future<i32>> {
    futures.iter().map(|f| (*f).clone()).collect()
}

/// A task that waits for `event`, as CPython's `executor.submit(event.wait)`.
fn waiting_on(executor: &TestExecutor, event: &Event) -> Future<i32> {
    let event = event.clone();
    executor.submit(move || {
        event.wait();
        0
    })
}

#[test]
fn test_20369() {
    let executor = TestExecutor::new(1);
    let future = executor.submit(|| 2);
    let split = wait(
        [future.clone(), future.clone()],
        None,
        ReturnWhen::AllCompleted,
    );
    assert_eq!(split.done, set_of(&[&future]));
    assert!(split.not_done.is_empty());
}

#[test]
fn test_first_completed() {
    let executor = TestExecutor::new(2);
    let event = Event::new();
    let future1 = executor.submit(|| 21 * 2);
    let future2 = waiting_on(&executor, &event);
    let split = wait(
        [future1.clone(), future2.clone()],
        None,
        ReturnWhen::FirstCompleted,
    );
    assert_eq!(split.done, set_of(&[&future1]));
    assert_eq!(split.not_done, set_of(&[&future2]));
    event.set();
    future2.result().unwrap();
}

/// CPython's `test_first_completed` also passes `CANCELLED_FUTURE` and expects it in
/// `not_done`. A cancelled future here is done, so it alone satisfies `FirstCompleted`.
#[test]
fn first_completed_with_a_cancelled_future_returns_at_once() {
    let canned = Canned::new();
    let executor = TestExecutor::new(1);
    let event = Event::new();
    let future2 = waiting_on(&executor, &event);
    let split = wait(
        [canned.cancelled.clone(), future2.clone()],
        None,
        ReturnWhen::FirstCompleted,
    );
    assert_eq!(split.done, set_of(&[&canned.cancelled]));
    assert_eq!(split.not_done, set_of(&[&future2]));
    event.set();
    future2.result().unwrap();
}

#[test]
fn test_first_completed_some_already_completed() {
    let canned = Canned::new();
    let executor = TestExecutor::new(1);
    let event = Event::new();
    let future1 = waiting_on(&executor, &event);
    let split = wait(
        [
            canned.cancelled.clone(),
            canned.successful.clone(),
            future1.clone(),
        ],
        None,
        ReturnWhen::FirstCompleted,
    );
    assert_eq!(split.done, set_of(&[&canned.cancelled, &canned.successful]));
    assert_eq!(split.not_done, set_of(&[&future1]));
    event.set();
    future1.result().unwrap();
}

#[test]
fn test_first_exception() {
    quiet_expected_panics();
    let executor = TestExecutor::new(3);
    let event1 = Event::new();
    let event2 = Event::new();
    let future1 = executor.submit(|| 2 * 21);
    let future2 = {
        let event1 = event1.clone();
        executor.submit(move || -> i32 {
            event1.wait();
            panic!("expected panic: this is an exception");
        })
    };
    let future3 = waiting_on(&executor, &event2);

    // Ensure that future1 is completed before future2 finishes.
    let waiter = {
        let future1 = future1.clone();
        let event1 = event1.clone();
        thread::spawn(move || {
            future1.result().unwrap();
            event1.set();
        })
    };
    let split = wait(
        [future1.clone(), future2.clone(), future3.clone()],
        None,
        ReturnWhen::FirstException,
    );
    assert_eq!(split.done, set_of(&[&future1, &future2]));
    assert_eq!(split.not_done, set_of(&[&future3]));
    assert!(matches!(
        future2.exception(),
        Ok(Some(Error::Panicked { .. }))
    ));
    waiter.join().unwrap();
    event2.set();
    future3.result().unwrap();
}

/// CPython's version also passes `CANCELLED_FUTURE` and expects it in `not_done`; here it is
/// done, and (as there) a cancellation is not the exception `FirstException` waits for: the
/// wait goes on until `future1` fails.
#[test]
fn test_first_exception_some_already_complete() {
    quiet_expected_panics();
    let canned = Canned::new();
    let (_cancelled_promise, cancelled_too) = Promise::<i32>::new();
    cancelled_too.cancel();
    let executor = TestExecutor::new(2);
    let event = Event::new();
    let (zero_tx, zero_rx) = std::sync::mpsc::channel::<i32>();
    // divmod(21, 0), with the divisor arriving after the wait has started.
    let future1 = executor.submit(move || 21 / zero_rx.recv().unwrap());
    let future2 = waiting_on(&executor, &event);
    let sender = thread::spawn(move || zero_tx.send(0).unwrap());
    let split = wait(
        [
            canned.successful.clone(),
            cancelled_too.clone(),
            canned.cancelled.clone(),
            future1.clone(),
            future2.clone(),
        ],
        None,
        ReturnWhen::FirstException,
    );
    assert_eq!(
        split.done,
        set_of(&[
            &canned.successful,
            &cancelled_too,
            &canned.cancelled,
            &future1
        ])
    );
    assert_eq!(split.not_done, set_of(&[&future2]));
    assert!(matches!(
        future1.exception(),
        Ok(Some(Error::Panicked { .. }))
    ));
    sender.join().unwrap();
    event.set();
    future2.result().unwrap();
}

#[test]
fn test_first_exception_one_already_failed() {
    let canned = Canned::new();
    let executor = TestExecutor::new(1);
    let event = Event::new();
    let future1 = waiting_on(&executor, &event);
    let split = wait(
        [canned.exception.clone(), future1.clone()],
        None,
        ReturnWhen::FirstException,
    );
    assert_eq!(split.done, set_of(&[&canned.exception]));
    assert_eq!(split.not_done, set_of(&[&future1]));
    event.set();
    future1.result().unwrap();
}

#[test]
fn first_exception_without_an_exception_waits_for_all() {
    let executor = TestExecutor::new(2);
    let futures: Vec<_> = (0..6).map(|n| executor.submit(move || n)).collect();
    let split = wait(futures.clone(), None, ReturnWhen::FirstException);
    assert_eq!(split.done, futures.iter().cloned().collect());
    assert!(split.not_done.is_empty());
}

#[test]
fn test_all_completed() {
    quiet_expected_panics();
    let canned = Canned::new();
    let executor = TestExecutor::new(2);
    let divisor = std::hint::black_box(0);
    let future1 = executor.submit(move || 2 / divisor);
    let future2 = executor.submit(|| 2 * 21);
    let all = [
        &canned.successful,
        &canned.cancelled,
        &canned.exception,
        &future1,
        &future2,
    ];
    let split = wait(
        all.iter().map(|f| (*f).clone()),
        None,
        ReturnWhen::AllCompleted,
    );
    assert_eq!(split.done, set_of(&all));
    assert!(split.not_done.is_empty());
}

#[test]
fn test_timeout() {
    let canned = Canned::new();
    let executor = TestExecutor::new(1);
    let event = Event::new();
    let future = waiting_on(&executor, &event);
    let split = wait(
        [
            canned.cancelled.clone(),
            canned.exception.clone(),
            canned.successful.clone(),
            future.clone(),
        ],
        Some(Duration::from_millis(50)),
        ReturnWhen::AllCompleted,
    );
    assert_eq!(
        split.done,
        set_of(&[&canned.cancelled, &canned.exception, &canned.successful])
    );
    assert_eq!(split.not_done, set_of(&[&future]));
    event.set();
    future.result().unwrap();
}

#[test]
fn test_pending_calls_race() {
    // Issue #14406: many futures completing at once while the waiter registers.
    let executor = TestExecutor::new(4);
    let event = Event::new();
    let futures: Vec<_> = (0..100).map(|_| waiting_on(&executor, &event)).collect();
    event.set();
    let split = wait(futures.clone(), None, ReturnWhen::AllCompleted);
    assert_eq!(split.done, futures.into_iter().collect());
    assert!(split.not_done.is_empty());
}

#[test]
fn a_future_cancelled_during_the_wait_counts_as_done() {
    let (_promise, future) = Promise::<i32>::new();
    let canceller = {
        let future = future.clone();
        thread::spawn(move || assert!(future.cancel()))
    };
    let split = wait([future.clone()], None, ReturnWhen::AllCompleted);
    assert_eq!(split.done, set_of(&[&future]));
    canceller.join().unwrap();
}

#[test]
fn empty_input_and_zero_timeout() {
    let split = wait(Vec::<Future<i32>>::new(), None, ReturnWhen::FirstCompleted);
    assert!(split.done.is_empty() && split.not_done.is_empty());

    let (_promise, pending) = Promise::<i32>::new();
    for return_when in [
        ReturnWhen::FirstCompleted,
        ReturnWhen::FirstException,
        ReturnWhen::AllCompleted,
    ] {
        let split = wait([pending.clone()], Some(Duration::ZERO), return_when);
        assert!(split.done.is_empty());
        assert_eq!(split.not_done, set_of(&[&pending]));
    }
    assert_eq!(ReturnWhen::default(), ReturnWhen::AllCompleted);
}
