//! Worker kills: during a stream of process tasks, workers die at random, by their own hand
//! (`abort`, a segmentation fault, `exit(n)`) or by `SIGKILL` sent from outside. Asserted:
//!
//! - every future ends terminal within a bound (a timed wait never times out);
//! - a dying task fails with `Error::WorkerDied` giving its own cause (or `SIGKILL`, when the
//!   outside kill reached its worker first); an ordinary task succeeds, or fails only with
//!   `SIGKILL` (it was running when the outside kill came); nothing else, nothing lost;
//! - every dead worker is reaped, the pool still serves afterwards, its shutdown returns, and
//!   no child of this process is left a zombie.
//!
//! `CFUTURES_KILLS` sets the number of kills (default 200, what CI runs);
//! `cargo test --test worker_kills -- --ignored a_thousand_worker_kills` runs the full
//! thousand.
//! `CFUTURES_SEED` replays a run (each run prints its seed).

mod common;

use std::collections::{HashSet, VecDeque};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cfutures::process::ProcessPoolExecutor;
use cfutures::{Error, ExitReason, Future};
use common::{
    PATIENCE, Rng, count_from_env, no_core_dumps, reaped, signal_own_child, zombie_children,
};

const WORKERS: usize = 3;

/// An ordinary task: returns its input, sometimes after a little work, so that outside kills
/// also land on running tasks.
fn echo(i: u64) -> (u64, u32) {
    if i.is_multiple_of(5) {
        let until = Instant::now() + Duration::from_micros(300);
        while Instant::now() < until {
            std::hint::spin_loop();
        }
    }
    (i, std::process::id())
}

/// How a dying task dies.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
enum Death {
    Abort,
    Segfault,
    Exit(i32),
}

impl Death {
    fn reason(self) -> ExitReason {
        match self {
            Death::Abort => ExitReason::Signal(libc::SIGABRT),
            Death::Segfault => ExitReason::Signal(libc::SIGSEGV),
            Death::Exit(code) => ExitReason::Code(code),
        }
    }
}

fn die(death: Death) -> (u64, u32) {
    no_core_dumps();
    match death {
        Death::Abort => std::process::abort(),
        // SAFETY: none; this deliberately crashes the worker process.
        Death::Segfault => unsafe {
            std::ptr::null_mut::<u64>().write_volatile(1);
            (0, 0)
        },
        Death::Exit(code) => std::process::exit(code),
    }
}

/// What a submitted task must end as.
enum Expect {
    Value(u64),
    Death(Death),
}

#[derive(Debug, Default)]
struct Tally {
    values: usize,
    own_deaths: usize,
    killed_running: usize,
    external_kills: usize,
    dead_pids: HashSet<u32>,
    /// Workers that have answered a task: past their start-up.
    served_by: HashSet<u32>,
}

/// Waits (boundedly) for one future and checks its outcome.
fn check(expect: Expect, future: Future<(u64, u32)>, tally: &mut Tally) {
    let outcome = future.result_timeout(PATIENCE);
    let sigkill = ExitReason::Signal(libc::SIGKILL);
    match (expect, outcome) {
        (_, Err(Error::Timeout { .. })) => panic!("a future did not resolve within {PATIENCE:?}"),
        (Expect::Value(want), Ok(&(got, pid))) => {
            assert_eq!(got, want);
            tally.values += 1;
            tally.served_by.insert(pid);
        }
        (Expect::Value(_), Err(Error::WorkerDied { pid, reason })) if reason == sigkill => {
            tally.killed_running += 1;
            tally.dead_pids.insert(pid);
        }
        (Expect::Death(death), Err(Error::WorkerDied { pid, reason }))
            if reason == death.reason() || reason == sigkill =>
        {
            tally.own_deaths += 1;
            tally.dead_pids.insert(pid);
        }
        (Expect::Value(want), other) => panic!("task echo({want}) ended as {other:?}"),
        (Expect::Death(death), other) => panic!("task die({death:?}) ended as {other:?}"),
    }
}

fn run_kills(kills: usize) {
    let mut rng = Rng::from_env("worker_kills");
    let started = Instant::now();
    let pool = ProcessPoolExecutor::builder()
        .max_workers(WORKERS)
        .build()
        .unwrap();
    let mut pending: VecDeque<(Expect, Future<(u64, u32)>)> = VecDeque::new();
    let mut tally = Tally::default();
    let mut outside_pids = Vec::new();
    let mut next = 0u64;
    let mut kills_done = 0;
    while kills_done < kills {
        for _ in 0..rng.below(6) {
            next += 1;
            pending.push_back((Expect::Value(next), pool.submit(echo, next).unwrap()));
        }
        match rng.below(4) {
            0 => {
                // Only workers past their start-up (they answered a task): a kill while
                // starting has a test of its own below (the pool replaces such a worker, but
                // several in a row are taken as "workers cannot start" and break it).
                let pids: Vec<u32> = pool
                    .worker_pids()
                    .into_iter()
                    .filter(|pid| tally.served_by.contains(pid))
                    .collect();
                if !pids.is_empty() {
                    let pid = pids[rng.below(pids.len() as u64) as usize];
                    // Only if it still is our child (a pidfd pins it), so no stranger is hit.
                    if signal_own_child(pid, libc::SIGKILL) {
                        outside_pids.push(pid);
                        tally.external_kills += 1;
                        kills_done += 1;
                    }
                }
            }
            n => {
                let death = match n {
                    1 => Death::Abort,
                    2 => Death::Segfault,
                    _ => Death::Exit(1 + rng.below(100) as i32),
                };
                pending.push_back((Expect::Death(death), pool.submit(die, death).unwrap()));
                kills_done += 1;
            }
        }
        // A bounded window of unresolved futures keeps the stream going while the pool
        // recovers, without letting it run arbitrarily far ahead.
        while pending.len() > 32 {
            let (expect, future) = pending.pop_front().unwrap();
            check(expect, future, &mut tally);
        }
    }
    for (expect, future) in pending.drain(..) {
        check(expect, future, &mut tally);
    }

    // The pool still serves.
    let after: Vec<_> = (0..2 * WORKERS as u64)
        .map(|i| pool.submit(echo, 1_000_000 + i).unwrap())
        .collect();
    for (i, future) in (0..).zip(&after) {
        assert_eq!(
            future.result_timeout(PATIENCE).map(|r| r.0),
            Ok(1_000_000 + i)
        );
    }

    // Shutdown returns (bounded), then every worker that ever died is reaped, no zombie.
    let (done_tx, done) = mpsc::channel();
    std::thread::spawn(move || {
        drop(pool);
        let _ = done_tx.send(());
    });
    assert!(done.recv_timeout(PATIENCE).is_ok(), "shutdown hung");
    for pid in tally.dead_pids.iter().chain(&outside_pids) {
        assert!(reaped(*pid), "worker {pid} was not reaped");
    }
    assert_eq!(zombie_children(), Vec::<u32>::new(), "zombie children left");
    eprintln!(
        "worker_kills: {kills} kills ({} from outside) in {:.1?}: {tally:?}",
        tally.external_kills,
        started.elapsed()
    );
    assert_eq!(
        tally.own_deaths + tally.values + tally.killed_running,
        next as usize + kills - tally.external_kills
    );
}

#[test]
fn workers_killed_at_random_lose_nothing_and_hang_nothing() {
    run_kills(count_from_env("CFUTURES_KILLS", 200));
}

#[test]
#[ignore = "the full thousand kills (a few seconds); run with --ignored"]
fn a_thousand_worker_kills() {
    run_kills(count_from_env("CFUTURES_KILLS", 1000));
}

/// The pid of the pool's first worker as soon as it exists (there is no event to wait for:
/// this looks until it appears, within [`PATIENCE`]).
fn first_worker_pid(pool: &ProcessPoolExecutor) -> u32 {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(&pid) = pool.worker_pids().first() {
            return pid;
        }
        assert!(Instant::now() < deadline, "no worker started");
        std::thread::yield_now();
    }
}

#[test]
fn a_worker_killed_while_starting_is_replaced() {
    let pool = ProcessPoolExecutor::builder()
        .max_workers(1)
        .build()
        .unwrap();
    let future = pool.submit(echo, 1).unwrap();
    // Killed while it starts, before any task was sent to it.
    let pid = first_worker_pid(&pool);
    assert!(signal_own_child(pid, libc::SIGKILL));
    // Usually the kill lands during start-up and the task runs on the replacement; if the
    // worker was quicker and had started the task, only that task fails. Either way the pool
    // is not broken.
    let outcome = future.result_timeout(PATIENCE).map(|r| r.0);
    assert!(
        matches!(outcome, Ok(1) | Err(Error::WorkerDied { .. })),
        "{outcome:?}"
    );
    let next = pool.submit(echo, 2).unwrap();
    assert_eq!(next.result_timeout(PATIENCE).map(|r| r.0), Ok(2));
    drop(pool);
    assert!(reaped(pid));
}
