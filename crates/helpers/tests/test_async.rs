//! `AsCompleted::next_async` driven by a waker that unparks the blocked thread and counts
//! its wake-ups (`cfutures_test_support::block_on_counting`): no async runtime involved.

use std::future::Future as StdFuture;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use cfutures_core::{Error, Promise};
use cfutures_helpers::as_completed;
use cfutures_test_support::{CountingWaker, block_on_counting, finished};

#[test]
fn next_async_yields_each_future_as_it_completes() {
    const N: usize = 1_000;
    let (promises, futures): (Vec<_>, Vec<_>) = (0..N).map(|_| Promise::new()).unzip();
    let mut completed = as_completed(futures, None);
    let producer = thread::spawn(move || {
        for (n, promise) in promises.into_iter().enumerate().rev() {
            promise.set_result(n).unwrap();
        }
    });
    let (values, _) = block_on_counting(async {
        let mut values = Vec::new();
        while let Some(future) = completed.next_async().await {
            values.push(*future.unwrap().result().unwrap());
        }
        values
    });
    producer.join().unwrap();
    assert_eq!(values, (0..N).rev().collect::<Vec<_>>(), "completion order");
}

#[test]
fn next_async_is_woken_by_the_completion() {
    let (promise, future) = Promise::new();
    let mut completed = as_completed([future.clone()], None);
    let setter = thread::spawn(move || promise.set_result(7).unwrap());
    let (next, wakes) = block_on_counting(completed.next_async());
    setter.join().unwrap();
    assert_eq!(next, Some(Ok(future)));
    assert!(wakes <= 1, "woken at most once, got {wakes}");
    assert_eq!(block_on_counting(completed.next_async()).0, None);
}

#[test]
fn next_async_times_out_without_a_runtime_timer() {
    let done = finished(1);
    let (_never, pending) = Promise::<i32>::new();
    let mut completed = as_completed([pending, done.clone()], Some(Duration::from_millis(30)));
    let (results, wakes) = block_on_counting(async {
        let mut results = Vec::new();
        while let Some(item) = completed.next_async().await {
            results.push(item);
        }
        results
    });
    assert_eq!(
        results,
        [
            Ok(done),
            Err(Error::Timeout {
                unfinished: 1,
                total: 2
            })
        ]
    );
    assert!(wakes >= 1, "the deadline woke the task");
}

#[test]
fn a_dropped_next_async_is_not_woken_later() {
    let (promise, future) = Promise::new();
    let mut completed = as_completed([future.clone()], None);
    let (unparker, waker) = CountingWaker::new();
    {
        let mut next = pin!(completed.next_async());
        assert!(
            next.as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
    }
    promise.set_result(1).unwrap();
    assert_eq!(unparker.wakes(), 0);
    // The completion was still recorded: the blocking face finds it.
    assert_eq!(completed.next(), Some(Ok(future)));
}

#[test]
fn poll_next_adapts_to_a_stream_shape() {
    // What a `Stream` implementation on a wrapper would do: call `poll_next` repeatedly.
    let (p1, f1) = Promise::new();
    let (p2, f2) = Promise::new();
    let mut completed = as_completed([f1.clone(), f2.clone()], None);
    let mut cx = Context::from_waker(Waker::noop());
    assert!(completed.poll_next(&mut cx).is_pending());
    p2.set_result(2).unwrap();
    assert_eq!(completed.poll_next(&mut cx), Poll::Ready(Some(Ok(f2))));
    assert!(completed.poll_next(&mut cx).is_pending());
    p1.set_result(1).unwrap();
    assert_eq!(completed.poll_next(&mut cx), Poll::Ready(Some(Ok(f1))));
    assert_eq!(completed.poll_next(&mut cx), Poll::Ready(None));
}

#[test]
fn completion_set_next_async_is_woken_by_a_completion_on_another_thread() {
    const N: usize = 500;
    let mut set = cfutures_helpers::CompletionSet::new();
    let (promises, futures): (Vec<_>, Vec<_>) = (0..N).map(|_| Promise::new()).unzip();
    set.extend(futures);
    let producer = thread::spawn(move || {
        for (n, promise) in promises.into_iter().enumerate() {
            promise.set_result(n).unwrap();
        }
    });
    let (seen, _wakes) = block_on_counting(async {
        let mut seen = vec![false; N];
        while let Some(future) = set.next_async().await {
            seen[*future.result().unwrap()] = true;
        }
        seen
    });
    assert!(seen.iter().all(|&s| s));
    producer.join().unwrap();
}

#[cfg(feature = "stream")]
#[test]
fn as_completed_is_a_fused_stream() {
    use futures_core::{FusedStream, Stream};
    use std::pin::Pin;

    let (promise, future) = Promise::new();
    let mut completed = as_completed([future.clone()], None);
    let producer = thread::spawn(move || promise.set_result(1).unwrap());
    let ((first, end), _wakes) = block_on_counting(std::future::poll_fn(|cx| {
        let first = match Pin::new(&mut completed).poll_next(cx) {
            Poll::Ready(item) => item,
            Poll::Pending => return Poll::Pending,
        };
        Poll::Ready((first, Pin::new(&mut completed).poll_next(cx)))
    }));
    assert_eq!(first, Some(Ok(future)));
    assert_eq!(end, Poll::Ready(None));
    assert!(completed.is_terminated());
    producer.join().unwrap();
}
