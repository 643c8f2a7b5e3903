//! The wait graph without any pool: tasks run by plain threads (`Task::run`), waiting on each
//! other. The pools' end-to-end cases are in the facade's `tests/wait_cycles.rs`.
#![cfg(not(loom))] // these use real threads and clocks; the loom models are in `loom_wait_graph.rs`

use std::sync::{Arc, Barrier, OnceLock};
use std::thread;
use std::time::Duration;

use cfutures_core::executor::{Inline, MAX_AWAITED, Task, WaitTarget, WaitsFor, while_blocked};
use cfutures_core::{Error, Future, Promise};

/// Long enough that a test relying on it to end a wait has already failed.
const PATIENCE: Duration = Duration::from_secs(60);

type Slot = Arc<OnceLock<Future<bool>>>;

fn told<T>(outcome: Result<T, Error>) -> bool {
    match outcome {
        Ok(_) => false,
        Err(Error::Deadlock) => true,
        Err(other) => panic!("unexpected {other:?}"),
    }
}

/// Runs `tasks` (each given the slots of all tasks and its index) on a thread each, after a
/// barrier, and returns their futures once all have finished.
fn run_all(
    n: usize,
    body: impl Fn(usize, &[Slot]) -> bool + Send + Sync + 'static,
) -> Vec<Future<bool>> {
    let slots: Arc<Vec<Slot>> = Arc::new((0..n).map(|_| Slot::default()).collect());
    let body = Arc::new(body);
    let all_running = Arc::new(Barrier::new(n));
    let mut threads = Vec::new();
    let mut futures = Vec::new();
    for i in 0..n {
        let (slots_for_task, body, all_running) = (
            Arc::clone(&slots),
            Arc::clone(&body),
            Arc::clone(&all_running),
        );
        let (task, future) = Task::new(Inline::Never, move || {
            all_running.wait();
            body(i, &slots_for_task)
        });
        slots[i].set(future.clone()).unwrap();
        futures.push(future);
        threads.push(task);
    }
    let handles: Vec<_> = threads
        .into_iter()
        .map(|task| thread::spawn(move || task.run()))
        .collect();
    for handle in handles {
        assert!(handle.join().unwrap());
    }
    futures
}

/// The park of a `while_blocked` wait: must not wait through cfutures itself (that wait would
/// be published as well).
fn until_done<T>(future: &Future<T>) {
    while !future.done() {
        thread::yield_now();
    }
}

fn count_told(futures: &[Future<bool>]) -> usize {
    futures.iter().filter(|f| *f.result().unwrap()).count()
}

#[test]
fn a_ring_of_tasks_on_plain_threads_tells_exactly_one() {
    for n in [2, 3, 5] {
        let futures = run_all(n, move |i, slots| {
            told(slots[(i + 1) % n].get().unwrap().result())
        });
        assert_eq!(count_told(&futures), 1, "ring of {n}");
    }
}

/// Two tasks wait on the same third one, which waits on a promise: no cycle, nobody told.
#[test]
fn a_shared_dependency_on_a_promise_is_no_cycle() {
    let (promise, pending) = Promise::<()>::new();
    let pending = Arc::new(pending);
    let setter = thread::spawn(move || {
        // Set once the waiters may have blocked; any order is correct.
        thread::yield_now();
        promise.set_result(()).unwrap();
    });
    let futures = run_all(3, move |i, slots| match i {
        0 => told(pending.result()),
        _ => told(slots[0].get().unwrap().result_timeout(PATIENCE)),
    });
    setter.join().unwrap();
    assert_eq!(count_told(&futures), 0);
}

/// A wait for any of several futures is stuck only if every one leads back: `a` waits for any
/// of `b` and a promise's future, `b` waits on `a`. Nobody is told; once the promise is set, `a`
/// returns and `b` gets its result.
#[test]
fn an_any_of_wait_with_a_way_out_is_not_told() {
    let (promise, way_out) = Promise::<bool>::new();
    let way_out = Arc::new(way_out);
    let setter = thread::spawn(move || {
        thread::yield_now();
        promise.set_result(false).unwrap();
    });
    let futures = run_all(2, move |i, slots| {
        let other = slots[1 - i].get().unwrap();
        if i == 0 {
            let targets = [WaitTarget::of(other), WaitTarget::of(&*way_out)];
            told(while_blocked(targets, WaitsFor::Any, || {
                until_done(&way_out)
            }))
        } else {
            told(other.result())
        }
    });
    setter.join().unwrap();
    assert_eq!(count_told(&futures), 0);
}

/// The same two waits as an all-of wait: `a` needs both, and `b` never finishes without `a`,
/// so the wait closing the cycle is told.
#[test]
fn an_all_of_wait_through_a_cycle_is_told() {
    let (promise, also_needed) = Promise::<bool>::new();
    let also_needed = Arc::new(also_needed);
    let futures = run_all(2, move |i, slots| {
        let other = slots[1 - i].get().unwrap();
        if i == 0 {
            let targets = [WaitTarget::of(other), WaitTarget::of(&*also_needed)];
            told(while_blocked(targets, WaitsFor::All, || until_done(other)))
        } else {
            told(other.result())
        }
    });
    drop(promise);
    assert_eq!(count_told(&futures), 1);
}

/// A thread that runs no task is never told, even when it waits on a task that waits on it in
/// spirit (here: on a promise only it could set); the timeout ends the wait.
#[test]
fn a_wait_outside_any_task_is_never_reported() {
    let (promise, pending) = Promise::<u8>::new();
    let (task, future) = Task::new(Inline::Never, move || pending.result().copied());
    let worker = thread::spawn(move || task.run());
    assert!(matches!(
        future.result_timeout(Duration::from_millis(10)),
        Err(Error::Timeout { .. })
    ));
    promise.set_result(3).unwrap();
    assert_eq!(future.result(), Ok(&Ok(3)));
    worker.join().unwrap();
}

/// A wait on more than `MAX_AWAITED` futures is not published, so a cycle through it is not
/// seen (and nobody is told): here the other side's timeout ends it.
#[test]
fn a_wait_on_too_many_futures_is_not_checked() {
    let promises: Vec<(Promise<bool>, Future<bool>)> =
        (0..MAX_AWAITED).map(|_| Promise::new()).collect();
    let extra: Arc<Vec<Future<bool>>> = Arc::new(promises.iter().map(|(_, f)| f.clone()).collect());
    let futures = run_all(2, move |i, slots| {
        let other = slots[1 - i].get().unwrap();
        if i == 0 {
            let targets = extra
                .iter()
                .chain(std::iter::once(other))
                .map(WaitTarget::of);
            told(while_blocked(targets, WaitsFor::All, || until_done(other)))
        } else {
            match other.result_timeout(Duration::from_millis(20)) {
                Err(Error::Timeout { .. }) => false,
                outcome => told(outcome),
            }
        }
    });
    drop(promises);
    assert_eq!(count_told(&futures), 0);
}
