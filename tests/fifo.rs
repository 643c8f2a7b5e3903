//! Start order (issue 15, DESIGN: "Outside submissions start in FIFO order, as from Python's
//! one queue"). Python's workers pull from one FIFO queue, so the n-th task submitted from
//! outside starts n-th, give or take the tasks the other workers took in the same instant.
//! Tasks that tasks submit are the pool's business: they may start LIFO on the submitting
//! worker's own deque (fork-join locality), which the second test shows without requiring it.
//!
//! Each task takes a ticket from an atomic sequence as its first action: the ticket is its
//! start rank among the tasks of the test. Outside submissions then hold their worker until
//! the next ticket is taken, so that every worker is busy at once, as with real tasks (with
//! empty ones, whichever worker wakes first may run the whole queue alone, in order, and hide
//! how the queue is shared out).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use cfutures::Future;
use cfutures::thread::ThreadPoolExecutor;
use common::{Event, PATIENCE, Semaphore};

const WORKERS: usize = 2;
const TASKS: usize = 16;

/// Start ranks of `TASKS` tasks submitted from outside while every worker is held by a gate
/// task, so that all of them are queued before the first starts.
fn start_ranks_from_outside() -> Vec<usize> {
    let pool = ThreadPoolExecutor::new(WORKERS).unwrap();
    let inside = Semaphore::new(0);
    let open = Event::new();
    let gates: Vec<Future<()>> = (0..WORKERS)
        .map(|_| {
            let (inside, open) = (inside.clone(), open.clone());
            pool.submit(move || {
                inside.release(1);
                open.wait();
            })
            .unwrap()
        })
        .collect();
    for _ in 0..WORKERS {
        inside.acquire();
    }
    let tickets = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<Future<usize>> = (0..TASKS)
        .map(|_| {
            let tickets = Arc::clone(&tickets);
            pool.submit(move || {
                let rank = tickets.fetch_add(1, Ordering::SeqCst);
                // Another worker is free (it finished the task before this one, which waited
                // for this one to start), so the next ticket is taken unless this was the last.
                let next = (rank + 1).min(TASKS - 1);
                let deadline = Instant::now() + PATIENCE;
                while tickets.load(Ordering::SeqCst) <= next && Instant::now() < deadline {
                    std::thread::yield_now();
                }
                rank
            })
            .unwrap()
        })
        .collect();
    open.set();
    for gate in &gates {
        gate.result().unwrap();
    }
    tasks.iter().map(|task| *task.result().unwrap()).collect()
}

/// With one FIFO queue a worker takes the oldest task; between taking it and taking its
/// ticket, the other workers can each take one more, so a task's rank differs from its
/// submission index by less than the number of workers. `WORKERS` is the tolerance the goal
/// states ("give or take the number of workers").
#[test]
fn outside_submissions_start_in_submission_order_give_or_take_the_workers() {
    let ranks = start_ranks_from_outside();
    let mut sorted = ranks.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..TASKS).collect::<Vec<_>>(), "each task ran once");
    let displaced: Vec<(usize, usize)> = ranks
        .iter()
        .enumerate()
        .filter(|(index, rank)| index.abs_diff(**rank) > WORKERS)
        .map(|(index, rank)| (index, *rank))
        .collect();
    assert!(
        displaced.is_empty(),
        "tasks started more than {WORKERS} places from their submission index \
         (index, rank): {displaced:?}; start ranks by submission: {ranks:?}"
    );
}

/// Tasks submitted from inside a task go on that worker's own deque, where the pool may run
/// them in any order (LIFO keeps fork-join trees local): only that each starts exactly once is
/// required. The order seen is printed (`--nocapture`) to document it.
#[test]
fn tasks_submitted_from_a_task_each_start_once_in_an_order_the_pool_chooses() {
    let pool = Arc::new(ThreadPoolExecutor::new(1).unwrap());
    let tickets = Arc::new(AtomicUsize::new(0));
    let children: Vec<Future<usize>> = {
        let (pool, tickets) = (Arc::clone(&pool), Arc::clone(&tickets));
        pool.clone()
            .submit(move || {
                (0..TASKS)
                    .map(|_| {
                        let tickets = Arc::clone(&tickets);
                        pool.submit(move || tickets.fetch_add(1, Ordering::SeqCst))
                            .unwrap()
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap()
            .into_result()
            .unwrap()
    };
    let ranks: Vec<usize> = children.iter().map(|c| *c.result().unwrap()).collect();
    eprintln!("start ranks of tasks submitted from a task, by submission: {ranks:?}");
    let mut sorted = ranks;
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (0..TASKS).collect::<Vec<_>>(),
        "each child ran once"
    );
}
