//! `CompletionSet`: completion order, growth while drained (also from another thread),
//! timeouts, drop and cancel, and futures from several executors in one set.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use cfutures_core::{Error, Future, Promise};
use cfutures_helpers::CompletionSet;
use cfutures_test_support::{Event, finished};
use common::{TestExecutor, spawn_task};

#[test]
fn yields_already_done_in_insertion_order_then_completion_order() {
    let mut set = CompletionSet::new();
    let (pa, a) = Promise::new();
    let (pb, b) = Promise::new();
    let (pc, c) = Promise::new();
    set.insert(a);
    set.insert(finished(10));
    set.insert(b);
    set.insert(finished(20));
    set.insert(c);
    assert_eq!(set.len(), 5);
    pc.set_result(3).unwrap();
    pa.set_result(1).unwrap();
    pb.set_result(2).unwrap();
    let order: Vec<i32> = set
        .by_ref()
        .map(|future| future.into_inner().unwrap().unwrap())
        .collect();
    assert_eq!(order, [10, 20, 3, 1, 2]);
    assert!(set.is_empty());
}

#[test]
fn an_empty_set_ends_and_an_insert_revives_it() {
    let mut set = CompletionSet::new();
    assert_eq!(set.next(), None);
    let done = finished("again");
    set.insert(done.clone());
    assert_eq!(set.next(), Some(done));
    assert_eq!(set.next(), None);
}

#[test]
fn each_insert_is_yielded_once_and_no_handle_is_kept() {
    let mut set: CompletionSet<String> = (0..100)
        .map(|n| spawn_task(move || n.to_string()))
        .collect();
    let mut seen = HashSet::new();
    for future in set.by_ref() {
        // The set kept no handle: the value moves out.
        let value = future.into_inner().expect("the only handle").unwrap();
        assert!(seen.insert(value), "yielded twice");
    }
    assert_eq!(seen.len(), 100);

    // Two clones of one future are two inserts.
    let done = finished(String::from("twice"));
    set.extend([done.clone(), done.clone()]);
    assert_eq!(set.by_ref().count(), 2);
}

#[test]
fn insert_during_iteration_from_another_thread() {
    const N: usize = 2_000;
    let mut set = CompletionSet::new();
    // One pending future keeps the consumer waiting in `next` while the other thread inserts.
    let (first_promise, first) = Promise::new();
    set.insert(first);
    let inserter = set.inserter();
    let producer = thread::spawn(move || {
        for n in 1..N {
            let (promise, future) = Promise::new();
            inserter.insert(future).unwrap();
            promise.set_result(n).unwrap();
        }
        // Only now can the consumer have seen everything but the first.
        first_promise.set_result(0).unwrap();
    });
    let mut seen = vec![false; N];
    for _ in 0..N {
        let n = set.next().unwrap().into_inner().unwrap().unwrap();
        assert!(!seen[n], "{n} yielded twice");
        seen[n] = true;
    }
    producer.join().unwrap();
    assert!(seen.iter().all(|&s| s));
    assert_eq!(set.next(), None);
}

#[test]
fn mixed_executors_in_one_set() {
    // A pool of threads, a thread per task, and promises completed from several threads.
    let executor = TestExecutor::new(2);
    let mut set = CompletionSet::new();
    for n in 0..10u32 {
        set.insert(executor.submit(move || n));
        set.insert(spawn_task(move || 100 + n));
    }
    let producers: Vec<_> = (0..4u32)
        .map(|t| {
            let (promise, future) = Promise::new();
            set.insert(future);
            thread::spawn(move || promise.set_result(200 + t).unwrap())
        })
        .collect();
    let (failing, future) = Promise::new();
    set.insert(future);
    thread::spawn(move || {
        failing
            .set_error(Error::Broken("worker died".into()))
            .unwrap()
    });

    let mut values = Vec::new();
    let mut errors = Vec::new();
    for future in set.by_ref() {
        match future.into_inner().unwrap() {
            Ok(value) => values.push(value),
            Err(error) => errors.push(error),
        }
    }
    values.sort_unstable();
    let expected: Vec<u32> = (0..10).chain(100..110).chain(200..204).collect();
    assert_eq!(values, expected);
    assert_eq!(errors, [Error::Broken("worker died".into())]);
    for producer in producers {
        producer.join().unwrap();
    }
}

#[test]
fn next_timeout_gives_up_and_the_future_stays() {
    let mut set = CompletionSet::new();
    let (promise, future) = Promise::<u8>::new();
    set.insert(future.clone());
    set.insert(finished(1));
    assert_eq!(
        set.next_timeout(Duration::ZERO).unwrap().unwrap().result(),
        Ok(&1)
    );
    assert_eq!(
        set.next_timeout(Duration::from_millis(5)),
        Err(Error::Timeout {
            unfinished: 1,
            total: 1
        })
    );
    assert_eq!(set.len(), 1, "a timeout removes nothing");
    let completer = thread::spawn(move || promise.set_result(2).unwrap());
    assert_eq!(set.next_timeout(Duration::from_secs(60)), Ok(Some(future)));
    completer.join().unwrap();
    assert_eq!(set.next_timeout(Duration::MAX), Ok(None));
}

#[test]
fn dropping_the_set_cancels_nothing() {
    let executor = TestExecutor::new(1);
    let release = Event::new();
    let finished = Arc::new(AtomicUsize::new(0));
    let set = CompletionSet::new();
    let mut kept = Vec::new();
    for n in 0..5 {
        let (release, finished) = (release.clone(), finished.clone());
        let future = executor.submit(move || {
            if n == 0 {
                release.wait();
            }
            finished.fetch_add(1, Ordering::SeqCst) + 1
        });
        kept.push(future.clone());
        set.insert(future);
    }
    let inserter = set.inserter();
    drop(set);
    release.set();
    drop(executor); // runs what is queued: nothing was cancelled
    assert_eq!(finished.load(Ordering::SeqCst), 5);
    assert!(kept.iter().all(|f| f.result().is_ok()));
    // An inserter outliving the set gets its future back.
    let orphan = cfutures_test_support::finished(0);
    assert_eq!(inserter.insert(orphan.clone()), Err(orphan));
}

#[test]
fn cancel_all_cancels_what_has_not_started_and_yields_it() {
    let (running, running_future) = Promise::<i32>::new();
    assert!(running.set_running_or_notify_cancel());
    let (_pending, pending_future) = Promise::<i32>::new();
    let mut set = CompletionSet::new();
    set.extend([running_future.clone(), pending_future.clone()]);
    assert_eq!(set.cancel_all(), 1);
    assert_eq!(set.next(), Some(pending_future.clone()));
    assert!(pending_future.cancelled());
    assert!(!running_future.done());
    running.set_result(5).unwrap();
    assert_eq!(set.next(), Some(running_future));
}

/// A done-callback that inserts into the set runs under no lock of the set (cancelling from
/// `cancel_all` runs callbacks in this thread).
#[test]
fn callbacks_run_by_cancel_all_may_insert() {
    let set = CompletionSet::new();
    let inserter = set.inserter();
    let (_promise, future) = Promise::<i32>::new();
    future.add_done_callback(move |_| inserter.insert(finished(9)).unwrap());
    set.insert(future);
    assert_eq!(set.cancel_all(), 1);
    assert_eq!(set.len(), 2);
}

#[test]
fn is_send_and_sync() {
    fn assert_send_sync<X: Send + Sync>() {}
    fn assert_clone<X: Clone>() {}
    assert_send_sync::<CompletionSet<String>>();
    assert_send_sync::<cfutures_helpers::Inserter<String>>();
    assert_send_sync::<cfutures_helpers::NextDone<'_, String>>();
    assert_clone::<cfutures_helpers::Inserter<String>>();
    let _: fn() -> Option<Future<u8>> = || CompletionSet::<u8>::new().next();
}

#[cfg(feature = "stream")]
#[test]
fn is_a_stream() {
    use futures_core::Stream;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    let mut set = CompletionSet::new();
    let (promise, future) = Promise::new();
    set.insert(future.clone());
    let mut cx = Context::from_waker(Waker::noop());
    assert!(Pin::new(&mut set).poll_next(&mut cx).is_pending());
    promise.set_result(1).unwrap();
    assert_eq!(
        Pin::new(&mut set).poll_next(&mut cx),
        Poll::Ready(Some(future))
    );
    assert_eq!(Pin::new(&mut set).poll_next(&mut cx), Poll::Ready(None));
}
