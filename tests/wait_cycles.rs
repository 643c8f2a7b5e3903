//! Wait cycles between running tasks end in `Error::Deadlock` for exactly one waiter (the one
//! whose wait closes the cycle), never for a waiter outside a cycle: Python's documented
//! mutual-wait program and its variants on the real `ThreadPoolExecutor`, closed through
//! `result`, `result_timeout`, `as_completed`, `wait` and `map`; and a stress test of random
//! waits that form no cycle (`CFUTURES_WAIT_STRESS=<tasks>` for a longer run).

mod common;

use std::sync::{Arc, Barrier, OnceLock};
use std::time::Duration;

use cfutures::helpers::{MapOptions, ReturnWhen, as_completed, map, wait};
use cfutures::thread::ThreadPoolExecutor;
use cfutures::{Error, Future, Promise};
use common::{PATIENCE, within};

type Slot = Arc<OnceLock<Future<bool>>>;

/// How a task waits on the future of the next task in the ring; true if it was told
/// `Deadlock`. Any other error fails the test.
#[derive(Clone, Copy, Debug)]
enum Via {
    Result,
    ResultTimeout,
    AsCompleted,
    Map,
    MapTimeout,
}

impl Via {
    fn wait_on(self, future: &Future<bool>) -> bool {
        let outcome: Result<(), Error> = match self {
            Via::Result => future.result().map(drop),
            Via::ResultTimeout => future.result_timeout(PATIENCE).map(drop),
            Via::AsCompleted => as_completed([future.clone()], None)
                .next()
                .expect("one future")
                .map(drop),
            Via::Map | Via::MapTimeout => {
                let options = match self {
                    Via::MapTimeout => MapOptions::new().timeout(PATIENCE),
                    _ => MapOptions::new(),
                };
                let future = future.clone();
                let mut items = map([()], move |()| Ok(future.clone()), options).unwrap();
                match items.next().expect("one item") {
                    // The map's own handle is not the last one (the slot keeps another), so a
                    // finished item cannot be moved out: the wait itself ended normally.
                    Err(Error::InvalidState(_)) => Ok(()),
                    other => other.map(drop),
                }
            }
        };
        match outcome {
            Ok(()) => false,
            Err(Error::Deadlock) => true,
            Err(other) => panic!("{self:?}: unexpected {other:?}"),
        }
    }
}

/// Runs a ring of `ways.len()` tasks on as many workers: task `i` waits (through `ways[i]`) on
/// task `i + 1`'s future, the last on the first's. A barrier makes every task run before any
/// waits, as the `sleep(5)` of Python's example does, so no task is run inline by a waiter.
/// Returns which tasks were told `Deadlock`.
fn ring(ways: &[Via]) -> Vec<bool> {
    let n = ways.len();
    let pool = ThreadPoolExecutor::new(n).unwrap();
    let slots: Vec<Slot> = (0..n).map(|_| Slot::default()).collect();
    let all_running = Arc::new(Barrier::new(n));
    let futures: Vec<Future<bool>> = (0..n)
        .map(|i| {
            let next = Arc::clone(&slots[(i + 1) % n]);
            let all_running = Arc::clone(&all_running);
            let via = ways[i];
            pool.submit(move || {
                all_running.wait();
                via.wait_on(next.wait())
            })
            .unwrap()
        })
        .collect();
    for (slot, future) in slots.iter().zip(&futures) {
        slot.set(future.clone()).unwrap();
    }
    futures
        .iter()
        .map(|future| *future.result_timeout(PATIENCE).expect("the ring resolves"))
        .collect()
}

fn told(outcomes: &[bool]) -> usize {
    outcomes.iter().filter(|&&told| told).count()
}

/// Python's documented program (`a` waits on `b`, `b` on `a`, two workers): exactly one is
/// told, and the other then gets its result. Repeated, since which one closes the cycle is a
/// race.
#[test]
fn the_documented_mutual_wait_tells_exactly_one_and_the_other_proceeds() {
    for _ in 0..20 {
        let outcomes = ring(&[Via::Result, Via::Result]);
        assert_eq!(told(&outcomes), 1, "{outcomes:?}");
    }
}

#[test]
fn a_chain_of_three_tells_exactly_one() {
    for _ in 0..10 {
        let outcomes = ring(&[Via::Result, Via::Result, Via::Result]);
        assert_eq!(told(&outcomes), 1, "{outcomes:?}");
    }
}

/// A timed wait in the cycle is a wait like any other: told at once, not after its timeout
/// (which is far longer than the test may take).
#[test]
fn cycles_through_timed_waits_are_told_without_waiting_for_the_timeout() {
    for ways in [
        [Via::ResultTimeout, Via::Result],
        [Via::ResultTimeout, Via::ResultTimeout],
        [Via::MapTimeout, Via::ResultTimeout],
    ] {
        let outcomes = ring(&ways);
        assert_eq!(told(&outcomes), 1, "{ways:?}: {outcomes:?}");
    }
}

#[test]
fn cycles_through_as_completed_and_map_tell_exactly_one() {
    for ways in [
        [Via::AsCompleted, Via::Result],
        [Via::AsCompleted, Via::AsCompleted],
        [Via::Map, Via::Result],
        [Via::Map, Via::AsCompleted],
    ] {
        let outcomes = ring(&ways);
        assert_eq!(told(&outcomes), 1, "{ways:?}: {outcomes:?}");
    }
    let outcomes = ring(&[Via::AsCompleted, Via::Map, Via::ResultTimeout]);
    assert_eq!(told(&outcomes), 1, "{outcomes:?}");
}

/// `wait` has no error to return (Python's never raises): a wait that would close a cycle
/// returns at once, as a timeout would, with the futures it could not wait for in
/// `not_done`. The other task of the cycle then proceeds.
#[test]
fn a_cycle_closed_through_wait_returns_the_split_at_once() {
    for return_when in [ReturnWhen::AllCompleted, ReturnWhen::FirstCompleted] {
        let pool = ThreadPoolExecutor::new(2).unwrap();
        let (a_slot, b_slot) = (Slot::default(), Slot::default());
        let both_running = Arc::new(Barrier::new(2));
        let a = {
            let (b_slot, both_running) = (Arc::clone(&b_slot), Arc::clone(&both_running));
            pool.submit(move || {
                both_running.wait();
                let b = b_slot.wait();
                let split = wait([b.clone()], None, return_when);
                // With no timeout, a future left in `not_done` means the wait was refused.
                !split.not_done.is_empty()
            })
            .unwrap()
        };
        let b = {
            let a_slot = Arc::clone(&a_slot);
            pool.submit(move || {
                both_running.wait();
                Via::Result.wait_on(a_slot.wait())
            })
            .unwrap()
        };
        a_slot.set(a.clone()).unwrap();
        b_slot.set(b.clone()).unwrap();
        let outcomes = [a, b].map(|f| *f.result_timeout(PATIENCE).expect("the cycle resolves"));
        assert_eq!(told(&outcomes), 1, "{return_when:?}: {outcomes:?}");
    }
}

/// An any-of wait is told only when every alternative leads back to it. `a` waits for any of
/// `b` and `c` while `b` waits on `a`; `c` waits on a promise held here (a producer outside
/// the pool, which never closes a cycle). While `c` is unfinished nobody is told, so `c` comes
/// out of `a`'s `as_completed` first; then only `b` is left and exactly one of `a`, `b` is told.
#[test]
fn an_any_of_wait_is_told_only_when_every_alternative_leads_back() {
    for _ in 0..10 {
        let pool = ThreadPoolExecutor::new(3).unwrap();
        let (a_slot, b_slot) = (Slot::default(), Slot::default());
        let (release, released) = Promise::<()>::new();
        let all_running = Arc::new(Barrier::new(3));
        let c = {
            let all_running = Arc::clone(&all_running);
            pool.submit(move || {
                all_running.wait();
                released.result().is_ok()
            })
            .unwrap()
        };
        let a = {
            let (b_slot, all_running, c) =
                (Arc::clone(&b_slot), Arc::clone(&all_running), c.clone());
            pool.submit(move || {
                all_running.wait();
                let b = b_slot.wait();
                let mut completed = as_completed([b.clone(), c.clone()], None);
                let first = completed.next().expect("two futures");
                assert!(
                    matches!(&first, Ok(f) if *f == c),
                    "c comes first: {first:?}"
                );
                match completed.next().expect("two futures") {
                    Ok(f) => {
                        assert!(f == *b, "{f:?}");
                        false
                    }
                    Err(Error::Deadlock) => true,
                    Err(other) => panic!("unexpected {other:?}"),
                }
            })
            .unwrap()
        };
        let b = {
            let a_slot = Arc::clone(&a_slot);
            pool.submit(move || {
                all_running.wait();
                Via::Result.wait_on(a_slot.wait())
            })
            .unwrap()
        };
        a_slot.set(a.clone()).unwrap();
        b_slot.set(b.clone()).unwrap();
        // Give the cycle every chance to be (wrongly) reported while c is unfinished.
        for _ in 0..1000 {
            assert!(
                !a.done() && !b.done(),
                "told while an alternative could finish"
            );
            std::thread::yield_now();
        }
        release.set_result(()).unwrap();
        assert_eq!(c.result_timeout(PATIENCE), Ok(&true));
        let outcomes = [a, b].map(|f| *f.result_timeout(PATIENCE).expect("the cycle resolves"));
        assert_eq!(told(&outcomes), 1, "{outcomes:?}");
    }
}

/// Waits on a producer outside the pool (a promise in user code) never close a cycle, and a
/// thread that runs no task (here, the test's) is never told: a chain of tasks waiting on a
/// promise, and the main thread waiting on the chain with a timeout, all just wait.
#[test]
fn waits_on_promises_and_outside_tasks_are_never_reported() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let (promise, pending) = Promise::<u8>::new();
    let a = pool.submit(move || pending.result().copied()).unwrap();
    let b = {
        let a = a.clone();
        pool.submit(move || a.result_timeout(PATIENCE).cloned())
            .unwrap()
    };
    assert!(matches!(
        b.result_timeout(Duration::from_millis(20)),
        Err(Error::Timeout { .. })
    ));
    promise.set_result(7).unwrap();
    assert_eq!(b.result_timeout(PATIENCE), Ok(&Ok(Ok(7))));
}

/// Random waits that form no cycle are never told `Deadlock`: task `i` waits, through a
/// random mix of every kind of wait, on up to three earlier tasks. Outside submissions start in
/// FIFO order, so every task it waits on has started (none is starved behind it), and the waits
/// form chains through blocked tasks that the check must walk and find open.
#[test]
fn random_waits_without_cycles_are_never_told_deadlock() {
    let tasks: usize = std::env::var("CFUTURES_WAIT_STRESS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let pool = ThreadPoolExecutor::new(4).unwrap();
    let slots: Arc<Vec<OnceLock<Future<bool>>>> =
        Arc::new((0..tasks).map(|_| OnceLock::new()).collect());
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for i in 0..tasks {
        let deps: Vec<usize> = if i == 0 {
            Vec::new()
        } else {
            (0..next() % 4).map(|_| (next() as usize) % i).collect()
        };
        let way = next() % 6;
        let slots_for_task = Arc::clone(&slots);
        let future = pool
            .submit(move || {
                let deps: Vec<Future<bool>> = deps
                    .iter()
                    .map(|&j| slots_for_task[j].get().expect("set before").clone())
                    .collect();
                let told = match way {
                    0 => deps.iter().any(|f| Via::Result.wait_on(f)),
                    1 => deps.iter().any(|f| Via::ResultTimeout.wait_on(f)),
                    2 => as_completed(deps.clone(), None).any(|f| f.is_err()),
                    3 => {
                        let split = wait(deps.clone(), None, ReturnWhen::AllCompleted);
                        !split.not_done.is_empty()
                    }
                    4 => {
                        let split = wait(deps.clone(), None, ReturnWhen::FirstCompleted);
                        !deps.is_empty() && split.done.is_empty()
                    }
                    _ => deps.iter().any(|f| Via::Map.wait_on(f)),
                };
                // Some work after the waits, so that later tasks find this one running and
                // block on it (building chains of blocked tasks) rather than find it done.
                let mut x = i as u64;
                for _ in 0..20_000 {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
                // A dependency's own "told" is its value; it must be false everywhere.
                told || deps.iter().any(|f| *f.result().unwrap())
            })
            .unwrap();
        slots[i].set(future).unwrap();
    }
    for (i, slot) in slots.iter().enumerate() {
        let future = slot.get().unwrap();
        assert_eq!(
            future.result_timeout(PATIENCE),
            Ok(&false),
            "task {i} was told Deadlock"
        );
    }
}

/// A cycle closed by the end of a scope (issue 16): task `a` opens a scope whose task `s`
/// waits on `a`'s own future, and the scope's end waits on `s`. The scope cannot return while
/// `s` runs (it borrows the scope's data), so it cannot be the one told: `s` is, whichever of
/// the two waits comes last, and the scope then ends. Repeated, since the order is a race.
#[test]
fn a_cycle_closed_by_a_scope_end_tells_the_scoped_task() {
    within("the scope rounds", || {
        for round in 0..20 {
            let pool = Arc::new(ThreadPoolExecutor::new(2).unwrap());
            let slot: Arc<OnceLock<Future<Result<(), Error>>>> = Arc::default();
            let own = Arc::clone(&slot);
            let a = pool
                .submit({
                    let pool = Arc::clone(&pool);
                    move || {
                        let own = own.wait().clone();
                        let (waiting_tx, waiting_rx) = std::sync::mpsc::channel();
                        pool.scope(|s| {
                            let scoped = s
                                .submit(move || {
                                    waiting_tx.send(()).unwrap();
                                    own.result().map(drop)
                                })
                                .unwrap();
                            // `s` runs on the other worker before the scope's end waits.
                            waiting_rx.recv().unwrap();
                            scoped
                        })
                        .into_result()
                        .unwrap()
                    }
                })
                .unwrap();
            slot.set(a.clone()).unwrap();
            assert_eq!(a.result(), Ok(&Err(Error::Deadlock)), "round {round}");
        }
    });
}
