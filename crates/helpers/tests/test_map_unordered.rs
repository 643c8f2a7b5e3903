//! `map_unordered` and `map_unordered_chunked`: completion order with input indices, a bound on
//! what is in flight over an endless input, timeout, drop, errors; and the `Send` of the maps.

mod common;

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use cfutures_core::{Error, Future, Promise};
use cfutures_helpers::{MapOptions, map, map_chunked, map_unordered, map_unordered_chunked};
use cfutures_test_support::{Event, finished, quiet_expected_panics};
use common::TestExecutor;

/// A `submit` that hands out pending futures and keeps their promises, to complete by hand.
fn by_hand<T>(
    promises: &RefCell<Vec<Promise<T>>>,
) -> impl FnMut(usize) -> Result<Future<T>, Error> {
    move |_| {
        let (promise, future) = Promise::new();
        promises.borrow_mut().push(promise);
        Ok(future)
    }
}

#[test]
fn yields_in_completion_order_with_input_indices() {
    let promises = RefCell::new(Vec::new());
    let mut i = map_unordered(0..4, by_hand(&promises), MapOptions::new()).unwrap();
    assert_eq!(promises.borrow().len(), 4, "all submitted during the call");
    for n in [2, 0, 3, 1] {
        promises.borrow_mut()[n].set_result(n * 10).unwrap();
        assert_eq!(i.next(), Some((n, Ok(n * 10))));
    }
    assert_eq!(i.next(), None);
    assert_eq!(i.next(), None);
}

#[test]
fn a_slow_first_item_does_not_hold_back_the_others() {
    let executor = TestExecutor::new(2);
    let release = Event::new();
    let mut i = map_unordered(
        0..20u32,
        |n| {
            let release = release.clone();
            Ok(executor.submit(move || {
                if n == 0 {
                    release.wait();
                }
                n * 2
            }))
        },
        MapOptions::new(),
    )
    .unwrap();
    // Item 0 holds one worker until every other item has been yielded.
    let mut others: Vec<usize> = i.by_ref().take(19).map(|(index, _)| index).collect();
    others.sort_unstable();
    assert_eq!(others, (1..20).collect::<Vec<_>>());
    release.set();
    assert_eq!(i.next(), Some((0, Ok(0))));
    assert_eq!(i.next(), None);
}

#[test]
fn errors_surface_at_their_index_and_iteration_goes_on() {
    quiet_expected_panics();
    let executor = TestExecutor::new(2);
    let results: Vec<(usize, Result<i32, Error>)> = map_unordered(
        [2, 0, 5],
        |d| Ok(executor.submit(move || 10 / d)),
        MapOptions::new(),
    )
    .unwrap()
    .collect();
    assert_eq!(results.len(), 3);
    for (index, result) in results {
        match index {
            0 => assert_eq!(result, Ok(5)),
            1 => assert!(matches!(result, Err(Error::Panicked { .. }))),
            2 => assert_eq!(result, Ok(2)),
            _ => unreachable!(),
        }
    }
}

/// The bounded-memory proof: an endless input, counted submissions and live values.
#[test]
fn buffersize_bounds_what_is_in_flight_over_an_endless_input() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }

    const BUFFERSIZE: usize = 8;
    const TAKE: usize = 5_000;
    let executor = TestExecutor::new(2);
    let live = Arc::new(AtomicUsize::new(0));
    let submitted = Cell::new(0usize);
    let mut max_unyielded = 0;
    let mut max_live = 0;
    let mut seen = vec![false; TAKE + BUFFERSIZE];
    let mut results = map_unordered(
        0u64..,
        |x| {
            submitted.set(submitted.get() + 1);
            let live = Arc::clone(&live);
            Ok(executor.submit(move || {
                live.fetch_add(1, Ordering::SeqCst);
                (x, Counted(live))
            }))
        },
        MapOptions::new().buffersize(BUFFERSIZE),
    )
    .unwrap();
    for taken in 0..TAKE {
        let (index, result) = results.next().unwrap();
        let (x, counted) = result.unwrap();
        assert_eq!(index as u64, x);
        assert!(!seen[index], "{index} yielded twice");
        seen[index] = true;
        max_unyielded = max_unyielded.max(submitted.get() - taken);
        max_live = max_live.max(live.load(Ordering::SeqCst));
        assert!(results.in_flight() < BUFFERSIZE);
        drop(counted);
    }
    assert_eq!(submitted.get(), TAKE - 1 + BUFFERSIZE);
    assert!(
        max_unyielded <= BUFFERSIZE,
        "{max_unyielded} submitted, not yielded"
    );
    assert!(max_live <= BUFFERSIZE, "{max_live} live results");
}

#[test]
fn timeout_yields_every_unfinished_index_once_then_ends() {
    let promises = RefCell::new(Vec::new());
    let mut i = map_unordered(
        0..4,
        by_hand(&promises),
        MapOptions::new().timeout(Duration::ZERO),
    )
    .unwrap();
    promises.borrow_mut()[1].set_result(1).unwrap();
    assert!(promises.borrow_mut()[3].set_running_or_notify_cancel());
    // Done already: yielded though the deadline has passed (the timeout replaces waiting only).
    assert_eq!(i.next(), Some((1, Ok(1))));
    let timeout = Error::Timeout {
        unfinished: 3,
        total: 4,
    };
    assert_eq!(i.next(), Some((0, Err(timeout.clone()))));
    assert_eq!(i.next(), Some((2, Err(timeout.clone()))));
    assert_eq!(i.next(), Some((3, Err(timeout))));
    assert_eq!(i.next(), None);
    drop(i);
    let promises = promises.into_inner();
    assert!(!promises[0].set_running_or_notify_cancel(), "cancelled");
    assert!(!promises[2].set_running_or_notify_cancel(), "cancelled");
    promises[3].set_result(3).unwrap(); // it was running: it finishes, its value is dropped
}

#[test]
fn dropping_a_started_iteration_cancels_what_has_not_started() {
    let promises = RefCell::new(Vec::new());
    let mut i = map_unordered(0..3, by_hand(&promises), MapOptions::new()).unwrap();
    promises.borrow_mut()[1].set_result(1).unwrap();
    assert_eq!(i.next(), Some((1, Ok(1))));
    drop(i);
    let promises = promises.into_inner();
    assert!(
        !promises[0].set_running_or_notify_cancel(),
        "cancelled by the drop"
    );
    assert!(
        !promises[2].set_running_or_notify_cancel(),
        "cancelled by the drop"
    );
}

#[test]
fn a_never_iterated_map_unordered_runs_every_task() {
    let executor = TestExecutor::new(1);
    let release = Event::new();
    let finished = Arc::new(AtomicUsize::new(0));
    let i = map_unordered(
        0..10,
        |x| {
            let (release, finished) = (release.clone(), finished.clone());
            Ok(executor.submit(move || {
                if x == 0 {
                    release.wait();
                }
                finished.fetch_add(1, Ordering::SeqCst);
            }))
        },
        MapOptions::new(),
    )
    .unwrap();
    drop(i);
    release.set();
    drop(executor);
    assert_eq!(finished.load(Ordering::SeqCst), 10);
}

#[test]
fn submit_errors() {
    // During the call: returned from it.
    let result = map_unordered(
        0..4,
        |x| {
            if x == 2 {
                Err(Error::ShutDown)
            } else {
                Ok(finished(x))
            }
        },
        MapOptions::new(),
    );
    assert_eq!(result.err(), Some(Error::ShutDown));

    // Later: yielded at its index, then the input is no longer pulled.
    let pulled = Cell::new(0);
    let mut results: Vec<_> = map_unordered(
        (0..).inspect(|_| pulled.set(pulled.get() + 1)),
        |x| {
            if x == 2 {
                Err(Error::ShutDown)
            } else {
                Ok(finished(x))
            }
        },
        MapOptions::new().buffersize(2),
    )
    .unwrap()
    .collect();
    results.sort_unstable_by_key(|(index, _)| *index);
    assert_eq!(results, [(0, Ok(0)), (1, Ok(1)), (2, Err(Error::ShutDown))]);
    assert_eq!(pulled.get(), 3);
}

#[test]
fn options_are_validated_before_any_input_is_pulled() {
    let pulled = Cell::new(0);
    let items = (0..4).inspect(|_| pulled.set(pulled.get() + 1));
    let result = map_unordered(items, |x| Ok(finished(x)), MapOptions::new().buffersize(0));
    assert_eq!(
        result.err(),
        Some(Error::InvalidArgument(
            "buffersize must be None or > 0".into()
        ))
    );
    let result = map_unordered_chunked(
        0..4,
        |chunk: Vec<i32>| Ok(finished(chunk.into_iter().map(Ok).collect())),
        MapOptions::new().chunksize(0),
    );
    assert_eq!(
        result.err(),
        Some(Error::InvalidArgument("chunksize must be >= 1.".into()))
    );
    assert_eq!(pulled.get(), 0);
}

#[test]
fn chunked_yields_a_chunks_items_together_as_it_completes() {
    type ChunkPromise = Promise<Vec<Result<i32, Error>>>;
    let promises: RefCell<Vec<ChunkPromise>> = RefCell::new(Vec::new());
    let chunks = RefCell::new(Vec::new());
    let mut i = map_unordered_chunked(
        0..7,
        |chunk: Vec<i32>| {
            chunks.borrow_mut().push(chunk);
            let (promise, future) = Promise::new();
            promises.borrow_mut().push(promise);
            Ok(future)
        },
        MapOptions::new().chunksize(3),
    )
    .unwrap();
    assert_eq!(*chunks.borrow(), [vec![0, 1, 2], vec![3, 4, 5], vec![6]]);
    promises.borrow_mut()[1]
        .set_result(vec![
            Ok(30),
            Err(Error::InvalidArgument("4".into())),
            Ok(50),
        ])
        .unwrap();
    assert_eq!(i.next(), Some((3, Ok(30))));
    assert_eq!(i.next(), Some((4, Err(Error::InvalidArgument("4".into())))));
    assert_eq!(i.next(), Some((5, Ok(50))));
    promises.borrow_mut()[2]
        .set_error(Error::Broken("worker died".into()))
        .unwrap();
    assert_eq!(
        i.next(),
        Some((6, Err(Error::Broken("worker died".into()))))
    );
    promises.borrow_mut()[0]
        .set_result(vec![Ok(0), Ok(10)]) // one result short
        .unwrap();
    let short: Vec<_> = i.by_ref().collect();
    assert_eq!(short.len(), 3);
    assert!(short.iter().enumerate().all(|(k, (index, result))| *index == k
        && matches!(result, Err(Error::InvalidState(m)) if m == "a chunk of 3 items returned 2 results")));
}

#[test]
fn chunked_buffersize_counts_chunks() {
    let chunks = Cell::new(0);
    let mut i = map_unordered_chunked(
        0u32..,
        |chunk: Vec<u32>| {
            chunks.set(chunks.get() + 1);
            Ok(finished(chunk.into_iter().map(Ok).collect()))
        },
        MapOptions::new().chunksize(4).buffersize(2),
    )
    .unwrap();
    assert_eq!(chunks.get(), 2);
    let mut first: Vec<(usize, u32)> = i
        .by_ref()
        .take(8)
        .map(|(index, r)| (index, r.unwrap()))
        .collect();
    first.sort_unstable();
    assert_eq!(first, (0..8).map(|n| (n as usize, n)).collect::<Vec<_>>());
    assert!(i.in_flight() <= 2);
    assert!(chunks.get() <= 4);
}

#[test]
fn mixed_executors_complete_the_items_of_one_map() {
    // Even items on a pool, odd ones completed by hand from other threads.
    let executor = TestExecutor::new(2);
    let completers = RefCell::new(Vec::new());
    let results = map_unordered(
        0..40u64,
        |n| {
            if n % 2 == 0 {
                Ok(executor.submit(move || n))
            } else {
                let (promise, future) = Promise::new();
                completers
                    .borrow_mut()
                    .push(thread::spawn(move || promise.set_result(n).unwrap()));
                Ok(future)
            }
        },
        MapOptions::new(),
    )
    .unwrap();
    let mut got: Vec<(usize, u64)> = results.map(|(i, r)| (i, r.unwrap())).collect();
    got.sort_unstable();
    assert_eq!(got, (0..40).map(|n| (n as usize, n)).collect::<Vec<_>>());
    for completer in completers.into_inner() {
        completer.join().unwrap();
    }
}

/// Issue 11: every map is `Send` when its input iterator, `submit` and `T` are (the input
/// and closure used to be boxed as non-`Send` trait objects).
#[test]
fn maps_are_send_when_their_parts_are() {
    fn assert_send<X: Send>(_: &X) {}
    let items = vec![1u32, 2, 3];
    let submit = |n: u32| Ok(finished(n));
    let chunk = |c: Vec<u32>| Ok(finished(c.into_iter().map(Ok).collect()));
    let ordered = map(items.clone(), submit, MapOptions::new()).unwrap();
    let unordered = map_unordered(items.clone(), submit, MapOptions::new()).unwrap();
    let chunked = map_chunked(items.clone(), chunk, MapOptions::new()).unwrap();
    let unordered_chunked = map_unordered_chunked(items, chunk, MapOptions::new()).unwrap();
    assert_send(&ordered);
    assert_send(&unordered);
    assert_send(&chunked);
    assert_send(&unordered_chunked);
    // And consumed on another thread.
    let sum = thread::spawn(move || ordered.map(Result::unwrap).sum::<u32>());
    assert_eq!(sum.join().unwrap(), 6);
    let count = thread::spawn(move || unordered.count());
    assert_eq!(count.join().unwrap(), 3);
}
