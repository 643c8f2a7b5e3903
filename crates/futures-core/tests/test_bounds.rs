//! The bounds of the future: a task needs only `T: Send`; `Sync` is asked only where `&T` is
//! read from several threads. Compiling this file is half the test; the compile-fail half is in
//! the doctests of `Future` (a `Future<Cell<_>>` is not `Send`, and takes no done-callback).
#![cfg(not(loom))] // these use real threads and clocks; the loom models are in `loom.rs`

use std::cell::Cell;
use std::error::Error as StdError;
use std::sync::mpsc;
use std::thread;

use cfutures_core::executor::{Inline, Task};
use cfutures_core::{Error, Future, Promise};

fn assert_send<T: Send>() {}
fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn handles_are_send_and_sync_exactly_when_arc_would_be() {
    assert_send_sync::<Future<u32>>();
    assert_send_sync::<Future<String>>();
    // The producer's side and the queued unit need only `T: Send`.
    assert_send_sync::<Promise<Cell<u8>>>();
    assert_send_sync::<Promise<mpsc::Receiver<u8>>>();
    assert_send::<Task>();
}

#[test]
fn a_task_may_return_a_receiver() {
    let (tx, rx) = mpsc::channel::<u8>();
    let (task, future) = Task::new(Inline::Never, move || rx);
    let worker = thread::spawn(move || task.run());
    assert!(worker.join().unwrap());
    tx.send(3).unwrap();
    assert_eq!(future.into_result().unwrap().recv(), Ok(3));
}

#[test]
fn a_task_may_return_a_cell_and_be_read_in_place() {
    let (task, future) = Task::new(Inline::Never, || Cell::new(5));
    thread::spawn(move || task.run()).join().unwrap();
    let cell = future.result().unwrap();
    cell.set(cell.get() + 1);
    assert_eq!(future.into_result().unwrap().get(), 6);
}

#[test]
fn a_task_may_return_a_boxed_send_error() {
    let (task, future) = Task::new(Inline::Never, || -> Result<u8, Box<dyn StdError + Send>> {
        Err(Box::new(std::io::Error::other("not a number")))
    });
    thread::spawn(move || task.run()).join().unwrap();
    let inner = future.into_result().unwrap();
    assert_eq!(inner.unwrap_err().to_string(), "not a number");
}

#[test]
fn a_promise_completes_a_non_sync_value_from_another_thread() {
    let (promise, future) = Promise::<Cell<u8>>::new();
    thread::spawn(move || promise.set_result(Cell::new(1)).unwrap())
        .join()
        .unwrap();
    assert_eq!(future.into_result().map(Cell::into_inner), Ok(1));
}

#[test]
fn a_failed_non_sync_future_still_reports_its_error() {
    let (task, future) = Task::new(Inline::Never, || -> Cell<u8> { panic!("no cell") });
    thread::spawn(move || task.run()).join().unwrap();
    assert!(
        matches!(future.into_result(), Err(Error::Panicked { message, .. }) if message == "no cell")
    );
}
