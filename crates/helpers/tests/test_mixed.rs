//! Futures of different origins in one call: tasks on a small executor, tasks on bare
//! threads, promises completed by hand and a "remote" producer answering over a channel (the
//! shape of a process pool's futures). The thread pool and process pool join this test in the
//! facade's tests, once they exist.

mod common;

use std::collections::HashSet;
use std::sync::mpsc;
use std::thread;

use cfutures_core::{Error, Future, Inline, Promise, Task};
use cfutures_helpers::{MapOptions, ReturnWhen, as_completed, map, wait};
use cfutures_test_support::Event;
use common::TestExecutor;

/// A producer on another thread that completes promises with the square of their request,
/// like a process pool's result thread.
fn remote() -> (mpsc::Sender<(u64, Promise<u64>)>, thread::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel::<(u64, Promise<u64>)>();
    let handle = thread::spawn(move || {
        for (request, promise) in rx {
            if promise.set_running_or_notify_cancel() {
                promise.set_result(request * request).unwrap();
            }
        }
    });
    (tx, handle)
}

#[test]
fn mixed_origins_in_one_as_completed_and_one_wait() {
    let executor = TestExecutor::new(2);
    let (remote_tx, remote_thread) = remote();
    let gate = Event::new();

    let mut futures: Vec<Future<u64>> = Vec::new();
    for n in 0..4 {
        futures.push(executor.submit(move || n));
    }
    for n in 4..8 {
        futures.push(common::spawn_task(move || n));
    }
    let mut by_hand = Vec::new();
    for _ in 8..12 {
        let (promise, future) = Promise::new();
        futures.push(future);
        by_hand.push(promise);
    }
    for n in 12..16u64 {
        let (promise, future) = Promise::new();
        remote_tx.send((n, promise)).unwrap();
        futures.push(future);
    }
    // One that waits for the gate, so `wait(FirstCompleted)` sees a not-done future.
    let gated = {
        let gate = gate.clone();
        executor.submit(move || {
            gate.wait();
            99
        })
    };
    futures.push(gated.clone());

    let split = wait(futures.clone(), None, ReturnWhen::FirstCompleted);
    assert!(!split.done.is_empty());
    assert!(split.not_done.contains(&gated));
    assert_eq!(split.done.len() + split.not_done.len(), futures.len());

    let completer = thread::spawn(move || {
        for (n, promise) in by_hand.into_iter().enumerate() {
            promise.set_result(8 + n as u64).unwrap();
        }
        gate.set();
    });

    let mut values = HashSet::new();
    for future in as_completed(futures.clone(), None) {
        assert!(values.insert(*future.unwrap().result().unwrap()));
    }
    let expected: HashSet<u64> = (0..12).chain((12..16).map(|n| n * n)).chain([99]).collect();
    assert_eq!(values, expected);

    let split = wait(futures.clone(), None, ReturnWhen::AllCompleted);
    assert_eq!(split.done, futures.iter().cloned().collect());
    assert!(split.not_done.is_empty());

    completer.join().unwrap();
    drop(remote_tx);
    remote_thread.join().unwrap();
}

#[test]
fn map_over_alternating_executors() {
    let executor = TestExecutor::new(2);
    let (remote_tx, remote_thread) = remote();
    let submit = |n: u64| -> Result<Future<u64>, Error> {
        Ok(match n % 3 {
            0 => executor.submit(move || n * n),
            1 => common::spawn_task(move || n * n),
            _ => {
                let (promise, future) = Promise::new();
                remote_tx.send((n, promise)).unwrap();
                future
            }
        })
    };
    let squares: Vec<u64> = map(0..30, submit, MapOptions::new().buffersize(5))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(squares, (0..30u64).map(|n| n * n).collect::<Vec<_>>());
    drop(remote_tx);
    remote_thread.join().unwrap();
}

#[test]
fn map_runs_inline_tasks_in_the_waiting_thread() {
    // A task nobody will ever run, whose executor lets waiters run it: `map`'s untimed wait
    // runs it here instead of hanging.
    let mut unrun = Vec::new();
    let results: Vec<thread::ThreadId> = map(
        0..3,
        |_| {
            let (task, future) = Task::new(Inline::Anywhere, || thread::current().id());
            unrun.push(task);
            Ok(future)
        },
        MapOptions::new(),
    )
    .unwrap()
    .map(Result::unwrap)
    .collect();
    assert_eq!(results, vec![thread::current().id(); 3]);
    assert!(unrun.iter().all(Task::is_done));
}
