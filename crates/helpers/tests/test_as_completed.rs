//! CPython's `test_as_completed.py`, ported, plus the ordering, duplicate, cancellation and
//! concurrency cases it implies.

mod common;

use std::collections::HashSet;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use cfutures_core::{Error, Future, Promise};
use cfutures_helpers::as_completed;
use cfutures_test_support::{Canned, Event, finished};
use common::TestExecutor;

fn set_of(futures: &[Future<i32>]) -> HashSet<Future<i32>> {
    futures.iter().cloned().collect()
}

#[test]
fn test_no_timeout() {
    let canned = Canned::new();
    let executor = TestExecutor::new(2);
    let future1 = executor.submit(|| 2 * 21);
    let future2 = executor.submit(|| 7 * 6);
    let all = [
        canned.cancelled.clone(),
        canned.exception.clone(),
        canned.successful.clone(),
        future1,
        future2,
    ];
    let completed: HashSet<_> = as_completed(all.clone(), None)
        .map(Result::unwrap)
        .collect();
    assert_eq!(completed, set_of(&all));
}

#[test]
fn test_future_times_out() {
    let canned = Canned::new();
    let executor = TestExecutor::new(1);
    let already_completed = [
        canned.cancelled.clone(),
        canned.exception.clone(),
        canned.successful.clone(),
    ];
    for timeout in [Duration::ZERO, Duration::from_millis(100)] {
        let gate = Event::new();
        let released = gate.clone();
        let future = executor.submit(move || {
            released.wait();
            0
        });
        let mut input = already_completed.to_vec();
        input.push(future.clone());

        let mut completed = HashSet::new();
        let mut errors = Vec::new();
        for item in as_completed(input, Some(timeout)) {
            match item {
                Ok(f) => assert!(completed.insert(f)),
                Err(e) => errors.push(e),
            }
        }
        // `future` was not completed; the iterator said so once and ended.
        assert_eq!(completed, set_of(&already_completed));
        assert_eq!(
            errors,
            [Error::Timeout {
                unfinished: 1,
                total: 4
            }]
        );
        gate.set();
        assert_eq!(future.result(), Ok(&0));
    }
}

#[test]
fn test_duplicate_futures() {
    // Issue 20367: duplicates are yielded once. Issue #31641: any iterable is accepted.
    let executor = TestExecutor::new(1);
    let future1 = executor.submit(|| 1);
    let completed: Vec<_> = as_completed(std::iter::repeat_n(future1.clone(), 3), None)
        .map(Result::unwrap)
        .collect();
    assert_eq!(completed, [future1]);

    let done = finished(2);
    let (promise, pending) = Promise::new();
    let input = [
        pending.clone(),
        done.clone(),
        pending.clone(),
        done.clone(),
        pending.clone(),
    ];
    let items = as_completed(input, None);
    // Completed only after the call, so `done` (already done at the call) comes first.
    let producer = thread::spawn(move || promise.set_result(3).unwrap());
    let completed: Vec<_> = items.map(Result::unwrap).collect();
    assert_eq!(completed, [done, pending]);
    producer.join().unwrap();
}

#[test]
fn test_free_reference_yielded_future() {
    // Issue #14406: the iterator keeps no handle to a future it has yielded. Here that is
    // observable as `into_inner` moving the value out of the yielded (last) handle.
    let mut promises = Vec::new();
    let mut futures = Vec::new();
    for _ in 0..8 {
        let (promise, future) = Promise::<String>::new();
        promises.push(promise);
        futures.push(future);
    }
    let (_cancelled_promise, cancelled) = Promise::new();
    cancelled.cancel();
    futures.push(cancelled);
    futures.push(finished("42".to_owned()));

    let mut items = as_completed(futures.clone(), Some(Duration::ZERO));
    let mut yielded = Vec::new();
    loop {
        match items.next() {
            Some(Ok(future)) => {
                futures.retain(|f| *f != future);
                yielded.push(future.into_inner());
            }
            Some(Err(Error::Timeout { unfinished, total })) => {
                assert_eq!((unfinished, total), (8, 10));
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(items.next().is_none());
    assert_eq!(
        yielded,
        [Some(Err(Error::Cancelled)), Some(Ok("42".to_owned()))]
    );

    // Complete them one at a time, each only after the previous one was yielded and its value
    // moved out of its last handle.
    promises[0].set_result("test".into()).unwrap();
    let mut next_promise = 1;
    for future in as_completed(futures.drain(..), None) {
        assert_eq!(future.unwrap().into_inner(), Some(Ok("test".to_owned())));
        if let Some(promise) = promises.get(next_promise) {
            promise.set_result("test".into()).unwrap();
            next_promise += 1;
        }
    }
    assert_eq!(next_promise, 8);
}

#[test]
fn test_correct_timeout_exception_msg() {
    let canned = Canned::new();
    let futures = [
        canned.cancelled.clone(),
        canned.pending.clone(),
        canned.running.clone(),
        canned.successful.clone(),
    ];
    let error = as_completed(futures, Some(Duration::ZERO))
        .find_map(Result::err)
        .expect("a timeout");
    assert_eq!(error.to_string(), "timed out: 2 (of 4) futures unfinished");
}

#[test]
fn already_done_first_in_input_order_then_completion_order() {
    let (p1, pending1) = Promise::new();
    let (p2, pending2) = Promise::new();
    let done1 = finished(10);
    let done2 = finished(20);
    let mut items = as_completed(
        [
            pending1.clone(),
            done1.clone(),
            pending2.clone(),
            done2.clone(),
        ],
        None,
    );
    p2.set_result(2).unwrap();
    p1.set_result(1).unwrap();
    let order: Vec<_> = items.by_ref().map(Result::unwrap).collect();
    assert_eq!(order, [done1, done2, pending2, pending1]);
}

#[test]
fn cancelled_and_abandoned_futures_are_yielded() {
    let (p1, cancelled_later) = Promise::<i32>::new();
    let (p2, abandoned_later) = Promise::<i32>::new();
    let (tx, rx) = mpsc::channel();
    let watcher = {
        let futures = [cancelled_later.clone(), abandoned_later.clone()];
        thread::spawn(move || {
            let items = as_completed(futures, None);
            tx.send(()).unwrap();
            items.map(Result::unwrap).collect::<Vec<_>>()
        })
    };
    rx.recv().unwrap();
    assert!(cancelled_later.cancel());
    drop(p2);
    let yielded = watcher.join().unwrap();
    assert_eq!(yielded, [cancelled_later.clone(), abandoned_later.clone()]);
    assert_eq!(yielded[1].result(), Err(Error::Abandoned));
    drop(p1);
}

#[test]
fn empty_input_ends_at_once_even_with_a_zero_timeout() {
    assert!(
        as_completed(Vec::<Future<u8>>::new(), None)
            .next()
            .is_none()
    );
    assert!(
        as_completed(Vec::<Future<u8>>::new(), Some(Duration::ZERO))
            .next()
            .is_none()
    );
}

#[test]
fn all_done_never_times_out() {
    let futures: Vec<_> = (0..5).map(finished).collect();
    let yielded: Vec<_> = as_completed(futures.clone(), Some(Duration::ZERO)).collect();
    assert_eq!(yielded, futures.into_iter().map(Ok).collect::<Vec<_>>());
}

#[test]
fn single_future_timeout_message() {
    let (_promise, future) = Promise::<u8>::new();
    let error = as_completed([future], Some(Duration::ZERO))
        .next()
        .unwrap()
        .unwrap_err();
    assert_eq!(
        error,
        Error::Timeout {
            unfinished: 1,
            total: 1
        }
    );
}

#[test]
fn timeout_is_fused_and_size_hint_is_honest() {
    let (_promise, pending) = Promise::<u8>::new();
    let done = finished(1);
    let mut items = as_completed([pending, done.clone()], Some(Duration::from_millis(20)));
    assert_eq!(items.size_hint(), (1, Some(3)));
    assert_eq!(items.total(), 2);
    assert_eq!(items.next(), Some(Ok(done)));
    assert_eq!(items.remaining(), 1);
    assert!(matches!(items.next(), Some(Err(Error::Timeout { .. }))));
    assert_eq!(items.remaining(), 0);
    assert_eq!(items.size_hint(), (0, Some(0)));
    for _ in 0..3 {
        assert!(items.next().is_none());
    }

    let untimed = as_completed([finished(1), finished(2)], None);
    assert_eq!(untimed.size_hint(), (2, Some(2)));
}

#[test]
fn dropping_mid_iteration_leaves_the_futures_usable() {
    let pairs: Vec<_> = (0..4).map(|_| Promise::<u32>::new()).collect();
    let futures: Vec<_> = pairs.iter().map(|(_, f)| f.clone()).collect();
    let mut items = as_completed(futures.clone(), None);
    pairs[2].0.set_result(2).unwrap();
    assert_eq!(items.next(), Some(Ok(futures[2].clone())));
    drop(items);
    for (n, (promise, future)) in pairs.iter().enumerate() {
        if n != 2 {
            promise.set_result(n as u32).unwrap();
        }
        assert_eq!(future.result(), Ok(&(n as u32)));
    }
}

#[test]
fn many_producers_each_future_once() {
    const N: usize = 20_000;
    const PRODUCERS: usize = 4;
    let mut promises: Vec<Vec<Promise<usize>>> = (0..PRODUCERS).map(|_| Vec::new()).collect();
    let mut futures = Vec::with_capacity(N);
    for n in 0..N {
        let (promise, future) = Promise::new();
        promises[n % PRODUCERS].push(promise);
        futures.push(future);
    }
    let items = as_completed(futures, None);
    let start = Event::new();
    let producers: Vec<_> = promises
        .into_iter()
        .enumerate()
        .map(|(p, promises)| {
            let start = start.clone();
            thread::spawn(move || {
                start.wait();
                for (i, promise) in promises.into_iter().enumerate() {
                    promise.set_result(i * PRODUCERS + p).unwrap();
                }
            })
        })
        .collect();
    start.set();
    let mut seen = vec![false; N];
    for future in items {
        let value = *future.unwrap().result().unwrap();
        assert!(!seen[value], "{value} yielded twice");
        seen[value] = true;
    }
    assert!(seen.iter().all(|&s| s));
    for producer in producers {
        producer.join().unwrap();
    }
}
