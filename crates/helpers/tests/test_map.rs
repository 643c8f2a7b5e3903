//! The `map` cases of CPython's `test_concurrent_futures/executor.py`, ported, plus the
//! bounded-memory proof for `buffersize` and `map_chunked`.

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cfutures_core::{Error, Future, Promise};
use cfutures_helpers::{MapOptions, map, map_chunked};
use cfutures_test_support::{Event, finished, quiet_expected_panics};
use common::TestExecutor;

/// `divmod` as a task that panics on a zero divisor, like Python's `ZeroDivisionError`.
fn divmod(a: i32, b: i32) -> (i32, i32) {
    (a / b, a % b)
}

fn on(executor: &TestExecutor) -> impl FnMut((i32, i32)) -> Result<Future<(i32, i32)>, Error> {
    move |(a, b)| Ok(executor.submit(move || divmod(a, b)))
}

#[test]
fn test_map() {
    let executor = TestExecutor::new(2);
    let expected: Vec<u64> = (0..10u64).map(|n| n.pow(n as u32)).collect();
    let submit = |(base, exp): (u64, u64)| Ok(executor.submit(move || base.pow(exp as u32)));
    let results: Vec<u64> = map((0..10).zip(0..10), submit, MapOptions::new())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(results, expected);

    // chunksize=3
    let submit = |chunk: Vec<(u64, u64)>| {
        Ok(executor.submit(move || {
            chunk
                .into_iter()
                .map(|(base, exp)| Ok(base.pow(exp as u32)))
                .collect::<Vec<_>>()
        }))
    };
    let results: Vec<u64> = map_chunked((0..10).zip(0..10), submit, MapOptions::new().chunksize(3))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(results, expected);
}

#[test]
fn test_map_exception() {
    quiet_expected_panics();
    let executor = TestExecutor::new(2);
    let mut i = map(
        [5, 5, 5, 5].into_iter().zip([2, 3, 0, 5]),
        on(&executor),
        MapOptions::new(),
    )
    .unwrap();
    assert_eq!(i.next(), Some(Ok((2, 1))));
    assert_eq!(i.next(), Some(Ok((1, 2))));
    assert!(
        matches!(i.next(), Some(Err(Error::Panicked { message, .. })) if message.contains("divide by zero"))
    );
    assert_eq!(i.next(), Some(Ok((1, 0))));
    assert_eq!(i.next(), None);
    assert_eq!(i.next(), None);

    // chunksize=3: an error inside a chunk surfaces at its own item.
    let submit = |chunk: Vec<(i32, i32)>| {
        Ok(executor.submit(move || {
            chunk
                .into_iter()
                .map(|(a, b)| {
                    std::panic::catch_unwind(|| divmod(a, b)).map_err(|_| Error::Panicked {
                        message: "attempt to divide by zero".into(),
                        backtrace: None,
                    })
                })
                .collect::<Vec<_>>()
        }))
    };
    let mut i = map_chunked(
        [5, 5, 5, 5].into_iter().zip([2, 0, 3, 5]),
        submit,
        MapOptions::new().chunksize(3),
    )
    .unwrap();
    assert_eq!(i.next(), Some(Ok((2, 1))));
    assert!(matches!(i.next(), Some(Err(Error::Panicked { .. }))));
    assert_eq!(i.next(), Some(Ok((1, 2))));
    assert_eq!(i.next(), Some(Ok((1, 0))));
    assert_eq!(i.next(), None);
    assert_eq!(i.next(), None);
}

#[test]
fn test_map_timeout_from_callable() {
    // A Timeout error from the task itself is not the map's timeout: iteration goes on.
    for timeout in [None, Some(Duration::from_secs(60))] {
        let submit = |x: i32| {
            let (promise, future) = Promise::new();
            if x == 1 {
                promise.set_error(Error::Timeout {
                    unfinished: 1,
                    total: 1,
                })?;
            } else {
                promise.set_result(x)?;
            }
            Ok(future)
        };
        let mut i = map(0..4, submit, MapOptions::new().timeout_opt(timeout)).unwrap();
        assert_eq!(i.next(), Some(Ok(0)));
        assert!(matches!(i.next(), Some(Err(Error::Timeout { .. }))));
        assert_eq!(i.next(), Some(Ok(2)));
        assert_eq!(i.next(), Some(Ok(3)));
        assert_eq!(i.next(), None);
    }
}

#[test]
fn test_map_timeout() {
    // Items 0 and 1 finish at once; item 2 never starts. The timeout surfaces at item 2,
    // item 2 is cancelled, and the iterator is exhausted.
    let mut pending = Vec::new();
    let submit = |x: i32| {
        let (promise, future) = Promise::new();
        if x < 2 {
            promise.set_result(x)?;
        } else {
            pending.push(promise);
        }
        Ok(future)
    };
    let mut results = Vec::new();
    let mut timeout = None;
    let mut i = map(
        0..3,
        submit,
        MapOptions::new().timeout(Duration::from_millis(50)),
    )
    .unwrap();
    for item in i.by_ref() {
        match item {
            Ok(v) => results.push(v),
            Err(e) => timeout = Some(e),
        }
    }
    assert_eq!(results, [0, 1]);
    assert_eq!(
        timeout,
        Some(Error::Timeout {
            unfinished: 1,
            total: 3
        })
    );
    assert_eq!(i.next(), None);
    assert_eq!(i.next(), None);
    drop(i);
    assert!(
        !pending[0].set_running_or_notify_cancel(),
        "the unfinished item was cancelled"
    );
}

#[test]
fn timeout_counts_from_the_call() {
    // A zero timeout: whatever is done is yielded, the first wait times out at once.
    let (held, pending) = Promise::new();
    let mut futures = vec![finished(1), pending, finished(3)].into_iter();
    let mut i = map(
        0..3,
        |_| Ok(futures.next().unwrap()),
        MapOptions::new().timeout(Duration::ZERO),
    )
    .unwrap();
    assert_eq!(i.next(), Some(Ok(1)));
    assert_eq!(
        i.next(),
        Some(Err(Error::Timeout {
            unfinished: 2,
            total: 3
        }))
    );
    assert_eq!(i.next(), None);
    assert!(
        !held.set_running_or_notify_cancel(),
        "cancelled by the timeout"
    );
}

#[test]
fn test_map_close() {
    // Dropping the iterator (Python's `close()`) cancels what has not started.
    let mut promises = Vec::new();
    let submit = |x: i32| {
        let (promise, future) = Promise::new();
        if x == 0 {
            promise.set_result(x)?;
        }
        promises.push(promise);
        Ok(future)
    };
    let mut i = map(0..4, submit, MapOptions::new()).unwrap();
    assert_eq!(i.next(), Some(Ok(0)));
    drop(i);
    for promise in &promises[1..] {
        assert!(
            !promise.set_running_or_notify_cancel(),
            "cancelled by the drop"
        );
    }

    // A running task is not cancelled: it finishes, and its value is dropped. One worker:
    // item 0 is yielded, item 1 is running when the iterator goes, item 2 is pending.
    let executor = TestExecutor::new(1);
    let started = Event::new();
    let release = Event::new();
    let finished = Arc::new(AtomicUsize::new(0));
    let mut i = map(
        0..3,
        |x| {
            let (started, release, finished) = (started.clone(), release.clone(), finished.clone());
            Ok(executor.submit(move || {
                if x == 1 {
                    started.set();
                    release.wait();
                }
                finished.fetch_add(1, Ordering::SeqCst);
            }))
        },
        MapOptions::new(),
    )
    .unwrap();
    assert_eq!(i.next(), Some(Ok(())));
    started.wait();
    drop(i); // item 1 runs on, item 2 is cancelled
    release.set();
    drop(executor);
    assert_eq!(finished.load(Ordering::SeqCst), 2);
}

#[test]
fn test_map_buffersize_value_validation() {
    let pulled = Cell::new(0);
    let items = (0..4).inspect(|_| pulled.set(pulled.get() + 1));
    let result = map(
        items,
        |x: i32| Ok(finished(x)),
        MapOptions::new().buffersize(0),
    );
    assert_eq!(
        result.err(),
        Some(Error::InvalidArgument(
            "buffersize must be None or > 0".into()
        ))
    );
    assert_eq!(pulled.get(), 0, "rejected before pulling any input");

    let result = map_chunked(
        0..4,
        |chunk: Vec<i32>| Ok(finished(chunk.into_iter().map(Ok).collect())),
        MapOptions::new().chunksize(2).buffersize(0),
    );
    assert!(matches!(result, Err(Error::InvalidArgument(_))));
    let result = map_chunked(
        0..4,
        |chunk: Vec<i32>| Ok(finished(chunk.into_iter().map(Ok).collect())),
        MapOptions::new().chunksize(0),
    );
    assert_eq!(
        result.err(),
        Some(Error::InvalidArgument("chunksize must be >= 1.".into()))
    );
}

#[test]
fn test_map_buffersize() {
    let executor = TestExecutor::new(2);
    for buffersize in [1, 2, 4, 8] {
        let results: Vec<String> = map(
            0..4,
            |x: i32| Ok(executor.submit(move || x.to_string())),
            MapOptions::new().buffersize(buffersize),
        )
        .unwrap()
        .map(Result::unwrap)
        .collect();
        assert_eq!(results, ["0", "1", "2", "3"]);
    }
}

#[test]
fn test_map_buffersize_on_multiple_iterables() {
    let executor = TestExecutor::new(2);
    for buffersize in [1, 2, 4, 8] {
        let results: Vec<i32> = map(
            (0..4).zip(0..4),
            |(a, b)| Ok(executor.submit(move || a + b)),
            MapOptions::new().buffersize(buffersize),
        )
        .unwrap()
        .map(Result::unwrap)
        .collect();
        assert_eq!(results, [0, 2, 4, 6]);
    }
}

#[test]
fn test_map_buffersize_on_infinite_iterable() {
    let executor = TestExecutor::new(2);
    let mut res = map(
        0u64..,
        |x| Ok(executor.submit(move || x.to_string())),
        MapOptions::new().buffersize(2),
    )
    .unwrap();
    assert_eq!(res.next(), Some(Ok("0".into())));
    assert_eq!(res.next(), Some(Ok("1".into())));
    assert_eq!(res.next(), Some(Ok("2".into())));
}

#[test]
fn test_map_buffersize_on_multiple_infinite_iterables() {
    let executor = TestExecutor::new(2);
    let mut res = map(
        (0u64..).zip(0u64..),
        |(a, b)| Ok(executor.submit(move || a + b)),
        MapOptions::new().buffersize(2),
    )
    .unwrap();
    assert_eq!(res.next(), Some(Ok(0)));
    assert_eq!(res.next(), Some(Ok(2)));
    assert_eq!(res.next(), Some(Ok(4)));
}

#[test]
fn test_map_buffersize_on_empty_iterable() {
    // Also CPython's `test_map_buffersize_without_iterable`: zipping no inputs is empty.
    let mut res = map(
        std::iter::empty::<i32>(),
        |x| Ok(finished(x)),
        MapOptions::new().buffersize(2),
    )
    .unwrap();
    assert_eq!(res.next(), None);
}

#[test]
fn test_map_buffersize_when_buffer_is_full() {
    let mut ints = 0..4;
    let res = map(
        ints.by_ref(),
        |x| Ok(finished(x.to_string())),
        MapOptions::new().buffersize(2),
    )
    .unwrap();
    drop(res);
    assert_eq!(ints.next(), Some(2), "only `buffersize` items were pulled");
}

#[test]
fn without_buffersize_everything_is_submitted_during_the_call() {
    let mut ints = 0..4;
    let res = map(ints.by_ref(), |x| Ok(finished(x)), MapOptions::new()).unwrap();
    assert_eq!(res.in_flight(), 4);
    drop(res);
    assert_eq!(ints.next(), None);
}

/// The bounded-memory proof: an endless input, counted submissions and live values.
#[test]
fn buffersize_runs_an_endless_input_in_bounded_memory() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }

    const BUFFERSIZE: usize = 8;
    const TAKE: usize = 5_000;
    let executor = TestExecutor::new(2);
    let live = Arc::new(AtomicUsize::new(0)); // results created and not yet dropped
    let submitted = Rc::new(Cell::new(0usize));
    let mut max_live = 0;
    let mut max_unyielded = 0;

    let mut results = map(
        0u64..,
        {
            let live = Arc::clone(&live);
            let submitted = Rc::clone(&submitted);
            move |x| {
                submitted.set(submitted.get() + 1);
                let live = Arc::clone(&live);
                Ok(executor.submit(move || {
                    live.fetch_add(1, Ordering::SeqCst);
                    (x, Counted(live))
                }))
            }
        },
        MapOptions::new().buffersize(BUFFERSIZE),
    )
    .unwrap();
    for expected in 0..TAKE as u64 {
        let (x, counted) = results.next().unwrap().unwrap();
        assert_eq!(x, expected);
        max_unyielded = max_unyielded.max(submitted.get() - expected as usize);
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
    drop(results); // cancels or waits out the in-flight ones
}

#[test]
fn submit_errors() {
    // Without buffersize: returned from the call, and what was submitted runs (Python's list
    // comprehension raises before any generator exists to cancel it).
    let mut promises = Vec::new();
    let result = map(
        0..4,
        |x| {
            if x == 2 {
                return Err(Error::ShutDown);
            }
            let (promise, future) = Promise::<i32>::new();
            promises.push(promise);
            Ok(future)
        },
        MapOptions::new(),
    );
    assert_eq!(result.err(), Some(Error::ShutDown));
    assert_eq!(promises.len(), 2);
    for promise in &promises {
        assert!(promise.set_running_or_notify_cancel(), "not cancelled");
    }

    // With buffersize, during the call: returned from the call too.
    let mut promises = Vec::new();
    let result = map(
        0..,
        |x| {
            if x == 1 {
                return Err(Error::ShutDown);
            }
            let (promise, future) = Promise::<i32>::new();
            promises.push(promise);
            Ok(future)
        },
        MapOptions::new().buffersize(3),
    );
    assert_eq!(result.err(), Some(Error::ShutDown));
    assert!(promises[0].set_running_or_notify_cancel(), "not cancelled");

    // With buffersize, later: surfaces at its item, then no more input is pulled.
    let pulled = Cell::new(0);
    let mut i = map(
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
    .unwrap();
    assert_eq!(i.next(), Some(Ok(0)));
    assert_eq!(i.next(), Some(Ok(1)));
    assert_eq!(i.next(), Some(Err(Error::ShutDown)));
    assert_eq!(i.next(), None);
    assert_eq!(pulled.get(), 3);
}

#[test]
fn test_free_reference() {
    // Issue #14406: the iterator keeps no reference to the results it yields.
    let executor = TestExecutor::new(2);
    for value in map(
        0..10,
        |_| Ok(executor.submit(|| Arc::new(()))),
        MapOptions::new(),
    )
    .unwrap()
    {
        assert_eq!(Arc::strong_count(&value.unwrap()), 1);
    }
}

#[test]
fn a_kept_clone_is_reported_not_lost() {
    let (promise, future) = Promise::new();
    promise.set_result(String::from("shared")).unwrap();
    let kept = future.clone();
    let mut futures = vec![future].into_iter();
    let mut i = map(0..1, |_| Ok(futures.next().unwrap()), MapOptions::new()).unwrap();
    assert!(matches!(i.next(), Some(Err(Error::InvalidState(_)))));
    assert_eq!(kept.result().map(String::as_str), Ok("shared"));
}

#[test]
fn map_chunked_failures_cover_each_item_of_the_chunk() {
    let mut n = 0;
    let results: Vec<Result<i32, Error>> = map_chunked(
        0..7,
        |chunk: Vec<i32>| {
            n += 1;
            let (promise, future) = Promise::new();
            match n {
                1 => promise.set_result(chunk.into_iter().map(Ok).collect())?,
                2 => promise.set_error(Error::Broken("worker died".into()))?,
                _ => promise.set_result(vec![Ok(0); 5])?, // wrong length
            }
            Ok(future)
        },
        MapOptions::new().chunksize(3),
    )
    .unwrap()
    .collect();
    assert_eq!(results.len(), 7);
    assert_eq!(results[..3], [Ok(0), Ok(1), Ok(2)]);
    assert!(
        results[3..6]
            .iter()
            .all(|r| *r == Err(Error::Broken("worker died".into())))
    );
    assert!(
        matches!(&results[6], Err(Error::InvalidState(m)) if m == "a chunk of 1 items returned 5 results")
    );
}

#[test]
fn map_chunked_buffersize_counts_chunks() {
    let chunks = Cell::new(0);
    let mut i = map_chunked(
        0u32..,
        |chunk: Vec<u32>| {
            chunks.set(chunks.get() + 1);
            Ok(finished(chunk.into_iter().map(Ok).collect()))
        },
        MapOptions::new().chunksize(4).buffersize(2),
    )
    .unwrap();
    assert_eq!(chunks.get(), 2);
    let first: Vec<u32> = i.by_ref().take(9).map(Result::unwrap).collect();
    assert_eq!(first, (0..9).collect::<Vec<_>>());
    assert!(i.in_flight() <= 2);
    assert!(chunks.get() <= 5);
}

#[test]
fn map_chunked_timeout_yields_once_and_ends() {
    let mut held = Vec::new();
    let mut i = map_chunked(
        0..6,
        |chunk: Vec<i32>| {
            let (promise, future) = Promise::new();
            if chunk[0] == 0 {
                promise.set_result(chunk.into_iter().map(Ok).collect())?;
            }
            held.push(promise);
            Ok(future)
        },
        MapOptions::new().chunksize(2).timeout(Duration::ZERO),
    )
    .unwrap();
    assert_eq!(i.next(), Some(Ok(0)));
    assert_eq!(i.next(), Some(Ok(1)));
    assert_eq!(
        i.next(),
        Some(Err(Error::Timeout {
            unfinished: 4,
            total: 6
        }))
    );
    assert_eq!(i.next(), None);
    drop(i);
    assert!(held[1..].iter().all(|p| !p.set_running_or_notify_cancel()));
}

#[test]
fn test_map_submits_without_iteration() {
    // bpo-11777: a map that is never iterated still runs every task (CPython's generator never
    // started, so its `finally` that cancels never runs). One worker, held by the first task
    // until the map is dropped, so the others are still pending when it goes.
    let executor = TestExecutor::new(1);
    let release = Event::new();
    let finished = Arc::new(AtomicUsize::new(0));
    let i = map(
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
    drop(executor); // Python's shutdown(wait=True): runs what is queued
    assert_eq!(finished.load(Ordering::SeqCst), 10);
}

#[test]
fn a_never_iterated_map_with_buffersize_runs_its_first_window_only() {
    // CPython's `test_map_buffersize_when_buffer_is_full`: the call submits `buffersize` items,
    // which run although the map is never iterated; the rest of the input is never pulled.
    let executor = TestExecutor::new(1);
    let release = Event::new();
    let finished = Arc::new(AtomicUsize::new(0));
    let mut ints = 0..4;
    let i = map(
        ints.by_ref(),
        |x| {
            let (release, finished) = (release.clone(), finished.clone());
            Ok(executor.submit(move || {
                if x == 0 {
                    release.wait();
                }
                finished.fetch_add(1, Ordering::SeqCst);
            }))
        },
        MapOptions::new().buffersize(2),
    )
    .unwrap();
    drop(i);
    release.set();
    drop(executor);
    assert_eq!(finished.load(Ordering::SeqCst), 2);
    assert_eq!(ints.next(), Some(2));
}
