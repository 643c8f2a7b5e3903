//! Loom models of the wait-graph protocol (see `src/wait_graph.rs`): real tasks run by loom
//! threads, waiting on each other through `result` (the core's hook) and through
//! `while_blocked` (the helpers' hook). Run with
//! `RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test --release -p cfutures-core --test loom_wait_graph`.
//! Loom also fails a model in which every thread ends up parked, so each model checks that
//! nothing hangs as well as who is told.
#![cfg(loom)]

use std::sync::OnceLock;

use cfutures_core::executor::{Inline, Task, WaitTarget, WaitsFor, while_blocked};
use cfutures_core::{Error, Future};
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;

type Slot = std::sync::Arc<OnceLock<Future<bool>>>;

fn told<T>(outcome: Result<T, Error>) -> bool {
    match outcome {
        Ok(_) => false,
        Err(Error::Deadlock) => true,
        Err(other) => panic!("unexpected {other:?}"),
    }
}

/// A task whose future goes into a slot the other tasks read (set before any task runs).
fn task(slot: &Slot, f: impl FnOnce() -> bool + Send + 'static) -> (Task, Future<bool>) {
    let (task, future) = Task::new(Inline::Never, f);
    slot.set(future.clone()).unwrap();
    (task, future)
}

/// Python's mutual wait: `a` waits on `b` while `b` waits on `a`, both closing the cycle at
/// once from two threads. Exactly one is told, and the other then gets its result.
#[test]
fn a_cycle_of_two_closed_concurrently_tells_exactly_one() {
    loom::model(|| {
        let (a_slot, b_slot) = (Slot::default(), Slot::default());
        let (task_a, a) = {
            let b_slot = b_slot.clone();
            task(&a_slot, move || told(b_slot.get().unwrap().result()))
        };
        let (task_b, b) = {
            let a_slot = a_slot.clone();
            task(&b_slot, move || told(a_slot.get().unwrap().result()))
        };
        let other = thread::spawn(move || task_a.run());
        assert!(task_b.run());
        assert!(other.join().unwrap());
        let told_a = *a.result().unwrap();
        let told_b = *b.result().unwrap();
        assert!(told_a != told_b, "exactly one told: a {told_a}, b {told_b}");
    });
}

/// `a` waits for any of `b` and `q`, `b` waits on `a`, and `q` (run by a third thread that
/// never blocks) completes meanwhile: the cycle `a <-> b` always has a way out through `q`, so
/// in no interleaving is anyone told, whether `q` is still running or already done when each
/// check happens.
///
/// Three threads, one of them spinning: explored with at most four preemptions per execution
/// (loom's recommended bound for larger models) to stay within a CI budget.
#[test]
fn a_cycle_racing_a_completion_that_breaks_it_tells_nobody() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(4);
    builder.check(|| {
        let (a_slot, b_slot, q_slot) = (Slot::default(), Slot::default(), Slot::default());
        let (task_q, q) = task(&q_slot, || false);
        let (task_a, a) = {
            let (b_slot, q_slot) = (b_slot.clone(), q_slot.clone());
            task(&a_slot, move || {
                let (b, q) = (b_slot.get().unwrap(), q_slot.get().unwrap());
                let targets = [WaitTarget::of(b), WaitTarget::of(q)];
                told(while_blocked(targets, WaitsFor::Any, || {
                    while !b.done() && !q.done() {
                        thread::yield_now();
                    }
                }))
            })
        };
        let (task_b, b) = {
            let a_slot = a_slot.clone();
            task(&b_slot, move || told(a_slot.get().unwrap().result()))
        };
        let completer = thread::spawn(move || task_q.run());
        let other = thread::spawn(move || task_a.run());
        assert!(task_b.run());
        assert!(other.join().unwrap());
        assert!(completer.join().unwrap());
        assert_eq!(
            (
                *a.result().unwrap(),
                *b.result().unwrap(),
                *q.result().unwrap()
            ),
            (false, false, false),
            "nobody is told"
        );
    });
}

/// `a` waits on `b` with a timeout that expires (its entry is removed), racing `b` closing the
/// cycle `b -> a -> b`. Whoever closes a cycle that is there is told; once the timed wait has
/// left the graph, `b` is never told; at most one is told, and both finish.
#[test]
fn a_cycle_racing_a_timeout_that_breaks_it_tells_nobody_after_the_break() {
    loom::model(|| {
        let (a_slot, b_slot) = (Slot::default(), Slot::default());
        let gave_up = Arc::new(AtomicBool::new(false));
        let (task_a, a) = {
            let (b_slot, gave_up) = (b_slot.clone(), gave_up.clone());
            task(&a_slot, move || {
                let b = b_slot.get().unwrap();
                // A timed wait that expires: blocked for one yield, then it gives up.
                let outcome = while_blocked([WaitTarget::of(b)], WaitsFor::All, thread::yield_now);
                // ORDERING: SeqCst for the model's own bookkeeping; stored after the entry left
                // the graph (under its mutex).
                gave_up.store(true, Ordering::SeqCst);
                told(outcome)
            })
        };
        let (task_b, b) = {
            let (a_slot, gave_up) = (a_slot.clone(), gave_up.clone());
            task(&b_slot, move || {
                let broken_before = gave_up.load(Ordering::SeqCst);
                let told_b = told(a_slot.get().unwrap().result());
                assert!(
                    !(broken_before && told_b),
                    "told after the cycle was broken"
                );
                told_b
            })
        };
        let other = thread::spawn(move || task_a.run());
        assert!(task_b.run());
        assert!(other.join().unwrap());
        let told_a = *a.result().unwrap();
        let told_b = *b.result().unwrap();
        assert!(!(told_a && told_b), "at most one told");
    });
}

/// A cycle closed by a wait that cannot be told (a scope's end, through `WaitHandle`): `a`
/// waits on `b` with `result`, and `b`'s wait on `a` is a `WaitHandle` wait. Whichever
/// publishes last, `a` is the one told (directly, or through its alarm while parked), and `b`
/// then finishes: loom fails the model if both stay parked.
#[test]
fn a_cycle_closed_by_a_wait_that_cannot_be_told_tells_the_other() {
    loom::model(|| {
        let (a_slot, b_slot) = (Slot::default(), Slot::default());
        let (task_a, a) = {
            let b_slot = b_slot.clone();
            task(&a_slot, move || told(b_slot.get().unwrap().result()))
        };
        let (task_b, b) = {
            let a_slot = a_slot.clone();
            task(&b_slot, move || {
                cfutures_core::executor::WaitHandle::new(a_slot.get().unwrap()).wait();
                false
            })
        };
        let other = thread::spawn(move || task_a.run());
        assert!(task_b.run());
        assert!(other.join().unwrap());
        assert_eq!(a.result(), Ok(&true), "a is told");
        assert_eq!(b.result(), Ok(&false));
    });
}
