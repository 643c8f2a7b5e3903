//! `.await` on futures with the smallest executor (`pollster`, through the test support) and,
//! where wake-ups are counted, a waker that unparks the blocked thread.
#![cfg(not(loom))] // these use real threads and clocks; the loom models are in `loom.rs`

use std::future::{Future as StdFuture, IntoFuture};
use std::pin::pin;
use std::task::{Context, Poll};
use std::thread;

use cfutures_core::executor::{register_waker, unregister_waker};
use cfutures_core::{Error, Promise};
use cfutures_test_support::{CountingWaker, block_on};

#[test]
fn await_by_reference_from_another_thread() {
    let (promise, future) = Promise::new();
    let setter = thread::spawn(move || promise.set_result(11).unwrap());
    let out = block_on(async { (&future).await.copied() });
    assert_eq!(out, Ok(11));
    setter.join().unwrap();
}

#[test]
fn await_owned_moves_the_value() {
    let (promise, future) = Promise::new();
    let setter = thread::spawn(move || promise.set_result(String::from("v")).unwrap());
    let out = block_on(future.into_future());
    assert_eq!(out, Ok(String::from("v")));
    setter.join().unwrap();
}

#[test]
fn await_cancelled_and_failed() {
    let (_p, future) = Promise::<u8>::new();
    future.cancel();
    assert_eq!(block_on(future.wait_async()), Err(Error::Cancelled));

    let (p, future) = Promise::<u8>::new();
    drop(p);
    assert_eq!(block_on(future.wait_async()), Err(Error::Abandoned));
}

#[test]
fn waker_fires_exactly_once_on_completion() {
    let (promise, future) = Promise::new();
    let (unparker, waker) = CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    let mut wait = pin!(future.wait_async());
    assert!(wait.as_mut().poll(&mut cx).is_pending());
    // Re-polling with the same waker keeps one registration.
    assert!(wait.as_mut().poll(&mut cx).is_pending());
    promise.set_result(1).unwrap();
    assert_eq!(unparker.wakes(), 1);
    assert_eq!(wait.poll(&mut cx), Poll::Ready(Ok(&1)));
}

#[test]
fn dropping_the_wait_unregisters_its_waker() {
    let (promise, future) = Promise::new();
    let (unparker, waker) = CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    {
        let mut wait = pin!(future.wait_async());
        assert!(wait.as_mut().poll(&mut cx).is_pending());
    }
    promise.set_result(1).unwrap();
    assert_eq!(unparker.wakes(), 0);
}

#[test]
fn register_and_unregister_waker() {
    let (promise, future) = Promise::new();
    let (unparker, waker) = CountingWaker::new();
    let key = register_waker(&future, &waker).unwrap();
    assert!(unregister_waker(&future, key));
    assert!(!unregister_waker(&future, key));
    let _kept = register_waker(&future, &waker).unwrap();
    promise.set_result(1).unwrap();
    assert_eq!(unparker.wakes(), 1);
    assert!(register_waker(&future, &waker).is_none(), "already done");
}

/// A value that is neither `Clone` nor `Sync`.
#[derive(Debug, PartialEq)]
struct Unique(std::cell::Cell<u32>);

#[test]
fn await_owned_needs_no_clone() {
    let (promise, future) = Promise::new();
    let setter = thread::spawn(move || promise.set_result(Unique(4.into())).unwrap());
    let out = block_on(async move { future.await.map(|unique| unique.0.get()) });
    assert_eq!(out, Ok(4));
    setter.join().unwrap();
}

#[test]
fn await_of_a_shared_handle_leaves_the_value_to_the_others() {
    let (promise, future) = Promise::new();
    let other = future.clone();
    promise.set_result(String::from("kept")).unwrap();
    let out = block_on(future);
    assert!(matches!(out, Err(Error::InvalidState(_))));
    assert_eq!(other.result().map(String::as_str), Ok("kept"));
    assert_eq!(block_on(other), Ok(String::from("kept")));
}

#[test]
fn futures_block_on_and_join_all_take_the_future_directly() {
    let (promises, futures): (Vec<_>, Vec<_>) = (0..4u64).map(|_| Promise::new()).unzip();
    let setter = thread::spawn(move || {
        for (i, promise) in promises.into_iter().enumerate() {
            promise.set_result(i as u64 * 10).unwrap();
        }
    });
    let all = futures::executor::block_on(futures::future::join_all(futures));
    assert_eq!(all, [Ok(0), Ok(10), Ok(20), Ok(30)]);
    setter.join().unwrap();

    let (promise, future) = Promise::new();
    promise.set_result(Unique(1.into())).unwrap();
    assert_eq!(futures::executor::block_on(future), Ok(Unique(1.into())));
}

/// A done-callback holds a handle while it runs; an owned await waits for it (woken, not
/// polling) instead of mistaking it for a user's clone.
#[test]
fn await_owned_waits_for_running_callbacks() {
    let (promise, future) = Promise::new();
    let (entered_tx, entered) = std::sync::mpsc::channel();
    let (release, gate) = std::sync::mpsc::channel::<()>();
    future.add_done_callback(move |f| {
        assert_eq!(f.result(), Ok(&7));
        entered_tx.send(()).unwrap();
        gate.recv().unwrap();
    });
    let setter = thread::spawn(move || promise.set_result(7).unwrap());
    entered.recv().unwrap();
    let (unparker, waker) = CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    let mut wait = pin!(future);
    assert!(
        wait.as_mut().poll(&mut cx).is_pending(),
        "the callback still runs"
    );
    release.send(()).unwrap();
    let out = loop {
        if let Poll::Ready(out) = wait.as_mut().poll(&mut cx) {
            break out;
        }
        thread::park();
    };
    assert_eq!(out, Ok(7));
    assert!(unparker.wakes() >= 1, "woken by the completer");
    setter.join().unwrap();
}
