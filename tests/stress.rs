//! Stress: many thread-pool tasks with random panics, cancellations, done-callbacks and nested
//! submissions (some waited on from inside the task, which runs them inline), while other
//! threads wait on the same futures through `as_completed` and `wait`. Asserted: every
//! future ends terminal within a bound, and the counts add up exactly (values, panics,
//! cancellations, callbacks, nested tasks), also as seen by the concurrent waiters.
//!
//! `CFUTURES_STRESS_TASKS` sets the number of tasks (default 100 000, what CI runs);
//! `cargo test --test stress -- --ignored` runs a million. `CFUTURES_SEED` replays a run.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use cfutures::helpers::{ReturnWhen, as_completed, wait};
use cfutures::thread::ThreadPoolExecutor;
use cfutures::{Error, Future, Shutdown};
use cfutures_test_support::{PATIENCE, Rng, count_from_env, quiet_expected_panics};

const BATCH: usize = 5_000;

/// What the tasks and callbacks count.
#[derive(Default)]
struct Counters {
    callbacks_run: AtomicUsize,
    children_submitted: AtomicUsize,
    children_run: AtomicUsize,
}

/// What a task was asked to do.
#[derive(Clone, Copy)]
enum Kind {
    Value,
    Panic,
    /// Submits a child task; waits for it if `true`.
    Nested(bool),
}

fn task(pool: &Arc<ThreadPoolExecutor>, counters: &Arc<Counters>, i: u64, kind: Kind) -> u64 {
    match kind {
        Kind::Value => i,
        Kind::Panic => panic!("expected: stress panic {i}"),
        Kind::Nested(wait_for_it) => {
            let counters_in_child = Arc::clone(counters);
            let child = pool.submit(move || {
                counters_in_child
                    .children_run
                    .fetch_add(1, Ordering::Relaxed);
                i + 1
            });
            let child = child.expect("the pool is not shut down while the stress runs");
            counters.children_submitted.fetch_add(1, Ordering::Relaxed);
            if wait_for_it {
                // Untimed, from a worker of the pool: runs the child inline if it is queued.
                *child.result().unwrap() - 1
            } else {
                i
            }
        }
    }
}

fn run_stress(total: usize) {
    quiet_expected_panics();
    let mut rng = Rng::from_env("stress");
    let started = Instant::now();
    let pool = Arc::new(ThreadPoolExecutor::new(4).unwrap());
    let counters = Arc::new(Counters::default());
    let (mut values, mut panics, mut cancelled, mut callbacks_registered) = (0, 0, 0, 0);
    let mut cancels_won = HashSet::new();
    let mut next = 0u64;
    while (next as usize) < total {
        let batch = BATCH.min(total - next as usize);
        let mut futures: Vec<(u64, Kind, Future<u64>)> = Vec::with_capacity(batch);
        // Concurrent waiters see the batch's futures as they are submitted, through a
        // channel, and wait on them with `as_completed` and `wait` at the same time.
        let (tx, rx) = std::sync::mpsc::channel::<Vec<Future<u64>>>();
        let waiters = std::thread::spawn(move || {
            let all: Vec<Future<u64>> = rx.into_iter().flatten().collect();
            let total = all.len();
            let by_as_completed = std::thread::spawn({
                let all = all.clone();
                move || {
                    let mut seen = HashSet::new();
                    for f in as_completed(all, Some(PATIENCE)) {
                        let f = f.expect("as_completed timed out");
                        assert!(f.done());
                        assert!(seen.insert(f), "as_completed yielded a future twice");
                    }
                    seen.len()
                }
            });
            let split = wait(all, Some(PATIENCE), ReturnWhen::AllCompleted);
            assert!(split.not_done.is_empty(), "wait timed out");
            assert_eq!(split.done.len(), total);
            assert_eq!(by_as_completed.join().unwrap(), total);
        });
        let mut chunk = Vec::new();
        for _ in 0..batch {
            next += 1;
            let i = next;
            let kind = match rng.below(100) {
                0..10 => Kind::Panic,
                10..20 => Kind::Nested(rng.chance(50)),
                _ => Kind::Value,
            };
            let (p, c) = (Arc::clone(&pool), Arc::clone(&counters));
            let future = pool.submit(move || task(&p, &c, i, kind)).unwrap();
            if rng.chance(30) {
                let c = Arc::clone(&counters);
                future.add_done_callback(move |f| {
                    assert!(f.done());
                    c.callbacks_run.fetch_add(1, Ordering::Relaxed);
                });
                callbacks_registered += 1;
            }
            if rng.chance(10) && future.cancel() {
                cancels_won.insert(i);
            }
            // Also cancel an earlier task of the batch now and then: queued, running or done.
            if rng.chance(5) && !futures.is_empty() {
                let (j, _, earlier) = &futures[rng.below(futures.len() as u64) as usize];
                if earlier.cancel() {
                    cancels_won.insert(*j);
                }
            }
            chunk.push(future.clone());
            if chunk.len() == 64 {
                tx.send(std::mem::take(&mut chunk)).unwrap();
            }
            futures.push((i, kind, future));
        }
        tx.send(chunk).unwrap();
        drop(tx);
        for (i, kind, future) in &futures {
            match (future.result_timeout(PATIENCE), kind) {
                (Err(Error::Timeout { .. }), _) => panic!("task {i} did not resolve"),
                (Err(Error::Cancelled), _) => {
                    assert!(cancels_won.contains(i), "task {i} cancelled by nobody");
                    cancelled += 1;
                }
                (Ok(v), Kind::Value | Kind::Nested(_)) => {
                    assert_eq!(v, i);
                    values += 1;
                }
                (Err(Error::Panicked { message, .. }), Kind::Panic) => {
                    assert_eq!(*message, format!("expected: stress panic {i}"));
                    panics += 1;
                }
                (other, _) => panic!("task {i}: {other:?}"),
            }
        }
        waiters.join().expect("a concurrent waiter failed");
    }
    // The pool's shutdown waits for the un-awaited nested children and for every callback.
    let pool = Arc::try_unwrap(pool).expect("no task holds the pool any more");
    pool.shutdown(Shutdown::WAIT);
    assert_eq!(
        values + panics + cancelled,
        total,
        "every future is terminal"
    );
    assert_eq!(
        cancelled,
        cancels_won.len(),
        "exactly the successful cancels cancelled"
    );
    assert_eq!(
        counters.callbacks_run.load(Ordering::Relaxed),
        callbacks_registered
    );
    assert_eq!(
        counters.children_run.load(Ordering::Relaxed),
        counters.children_submitted.load(Ordering::Relaxed)
    );
    eprintln!(
        "stress: {total} tasks in {:.1?}: {values} values, {panics} panics, {cancelled} \
         cancelled, {callbacks_registered} callbacks, {} nested",
        started.elapsed(),
        counters.children_submitted.load(Ordering::Relaxed)
    );
}

#[test]
fn random_panics_cancels_callbacks_and_nesting_add_up() {
    run_stress(count_from_env("CFUTURES_STRESS_TASKS", 100_000));
}

#[test]
#[ignore = "a million tasks; run with --ignored"]
fn a_million_tasks() {
    run_stress(count_from_env("CFUTURES_STRESS_TASKS", 1_000_000));
}
