//! Per-task deadlines (issue 13): a task past its limit is killed with its worker and fails
//! with `TaskTimedOut`; one whose limit passes in the queue never starts; nothing else is
//! affected and every future reaches one outcome.
#![cfg(target_os = "linux")]

use std::time::Duration;

use cfutures_core::{Error, Shutdown};
use cfutures_process::ProcessPoolExecutor;
use cfutures_test_support::process::{no_core_dumps, pid, reaped, wait_exit};
use cfutures_test_support::{Gate, PATIENCE, gate_wait};

const LIMIT: Duration = Duration::from_millis(150);

fn pool(workers: usize) -> ProcessPoolExecutor {
    no_core_dumps();
    ProcessPoolExecutor::builder()
        .max_workers(workers)
        .build()
        .unwrap()
}

fn timed_out(limit: Duration) -> Error {
    Error::TaskTimedOut { after: limit }
}

/// Reports its pid, then spins for ever.
fn runaway(path: String) -> u32 {
    std::fs::write(&path, std::process::id().to_string()).unwrap();
    #[allow(clippy::empty_loop)]
    loop {
        std::hint::spin_loop();
    }
}

fn asleep(_: ()) -> u64 {
    std::thread::sleep(Duration::from_secs(3600));
    0
}

/// Blocks reading a pipe nobody writes to.
fn blocked_in_read(_: ()) -> u64 {
    let mut fds = [0; 2];
    // SAFETY: pipe writes two descriptors into the array.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let mut byte = 0u8;
    // SAFETY: reads one byte into `byte` from the descriptor just made.
    unsafe { libc::read(fds[0], (&mut byte as *mut u8).cast(), 1) };
    0
}

fn double(x: u64) -> u64 {
    x * 2
}

fn nap_us(us: u64) -> u64 {
    std::thread::sleep(Duration::from_micros(us));
    us
}

/// Creates the file when it starts.
fn touch(path: String) -> u32 {
    std::fs::write(path, b"ran").unwrap();
    1
}

fn temp(name: &str) -> String {
    let path = std::env::temp_dir().join(format!("cfutures-{name}-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path.to_string_lossy().into_owned()
}

/// The limit's worker is killed, reaped and replaced; the future says why.
#[test]
fn a_runaway_loop_is_killed_at_its_deadline() {
    let pool = pool(1);
    let path = temp("runaway");
    let future = pool
        .submit_with_timeout(runaway, path.clone(), LIMIT)
        .unwrap();
    assert_eq!(future.result_timeout(PATIENCE), Err(timed_out(LIMIT)));
    let worker: u32 = std::fs::read_to_string(&path).unwrap().parse().unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(wait_exit(worker, PATIENCE));
    let next = pool.submit(pid, ()).unwrap();
    assert_ne!(next.result_timeout(PATIENCE), Ok(&worker));
    pool.shutdown(Shutdown::WAIT);
    assert!(reaped(worker));
}

#[test]
fn tasks_blocked_in_a_system_call_are_killed_at_their_deadline() {
    let pool = pool(2);
    let sleeping = pool.submit_with_timeout(asleep, (), LIMIT).unwrap();
    let reading = pool
        .submit_with_timeout(blocked_in_read, (), LIMIT)
        .unwrap();
    assert_eq!(sleeping.result_timeout(PATIENCE), Err(timed_out(LIMIT)));
    assert_eq!(reading.result_timeout(PATIENCE), Err(timed_out(LIMIT)));
    assert_eq!(
        pool.submit(double, 4).unwrap().result_timeout(PATIENCE),
        Ok(&8)
    );
}

/// The builder's default applies to `submit` and `map`; a task's own limit replaces it.
#[test]
fn the_builder_default_applies_and_a_task_limit_overrides_it() {
    let pool = ProcessPoolExecutor::builder()
        .max_workers(1)
        .task_timeout(LIMIT)
        .build()
        .unwrap();
    let stuck = pool.submit(asleep, ()).unwrap();
    assert_eq!(stuck.result_timeout(PATIENCE), Err(timed_out(LIMIT)));
    let mapped: Vec<_> = pool.map(asleep, [(), ()], 1).unwrap().collect();
    assert_eq!(mapped, [Err(timed_out(LIMIT)), Err(timed_out(LIMIT))]);
    let patient = pool
        .submit_with_timeout(nap_us, 300_000, Duration::from_secs(600))
        .unwrap();
    assert_eq!(patient.result_timeout(PATIENCE), Ok(&300_000));
}

/// A task whose deadline passes while it waits for a busy worker fails then, not when the
/// worker frees up, and never runs.
#[test]
fn a_task_whose_deadline_passes_in_the_queue_never_starts() {
    let pool = pool(1);
    let gate = Gate::new();
    let busy = pool.submit(gate_wait, gate.arg()).unwrap();
    gate.wait_started();
    let path = temp("never");
    let late = pool
        .submit_with_timeout(touch, path.clone(), LIMIT)
        .unwrap();
    assert_eq!(late.result_timeout(PATIENCE), Err(timed_out(LIMIT)));
    assert!(busy.running());
    gate.release(1);
    assert!(busy.result_timeout(PATIENCE).is_ok());
    pool.shutdown(Shutdown::WAIT);
    assert!(
        !std::path::Path::new(&path).exists(),
        "the timed-out task ran"
    );
}

/// Untimed tasks pipelined behind a timed one on the worker it kills run elsewhere.
#[test]
fn tasks_behind_a_killed_one_are_unaffected() {
    let pool = pool(1);
    let stuck = pool.submit_with_timeout(asleep, (), LIMIT).unwrap();
    let after: Vec<_> = (0..50).map(|i| pool.submit(double, i).unwrap()).collect();
    assert_eq!(stuck.result_timeout(PATIENCE), Err(timed_out(LIMIT)));
    for (i, f) in after.iter().enumerate() {
        assert_eq!(f.result_timeout(PATIENCE), Ok(&(2 * i as u64)));
    }
}

/// Completions racing their deadlines: each future gets its value or `TaskTimedOut`, never
/// another error, and the pool serves afterwards.
#[test]
fn a_deadline_racing_a_completion_gives_exactly_one_outcome() {
    let pool = pool(2);
    let limit = Duration::from_millis(2);
    let futures: Vec<_> = (0..200)
        .map(|i| {
            pool.submit_with_timeout(nap_us, 1_000 + (i % 3) * 500, limit)
                .unwrap()
        })
        .collect();
    let mut outcomes = (0, 0);
    for f in &futures {
        match f.result_timeout(PATIENCE) {
            Ok(us) => {
                assert!((1_000..=2_000).contains(us));
                outcomes.0 += 1;
            }
            Err(e) => {
                assert_eq!(e, timed_out(limit));
                outcomes.1 += 1;
            }
        }
        assert!(f.done());
    }
    assert_eq!(outcomes.0 + outcomes.1, 200);
    assert_eq!(
        pool.submit(double, 1).unwrap().result_timeout(PATIENCE),
        Ok(&2)
    );
}

/// Many deadlines at once, mixed with untimed work.
#[test]
fn many_deadlines_at_once() {
    let pool = pool(2);
    let timed: Vec<_> = (0..40)
        .map(|_| pool.submit_with_timeout(asleep, (), LIMIT).unwrap())
        .collect();
    let plain: Vec<_> = (0..40).map(|i| pool.submit(double, i).unwrap()).collect();
    for f in &timed {
        assert_eq!(f.result_timeout(PATIENCE), Err(timed_out(LIMIT)));
    }
    for (i, f) in plain.iter().enumerate() {
        assert_eq!(f.result_timeout(PATIENCE), Ok(&(2 * i as u64)));
    }
}

/// Workers killed from outside while deadlines expire: every future ends with its value,
/// its deadline, or its worker's death.
#[test]
fn deadlines_during_a_kill_storm_account_for_every_future() {
    let pool = pool(2);
    let mut futures = Vec::new();
    for round in 0..20u64 {
        futures.push((None, pool.submit_with_timeout(asleep, (), LIMIT).unwrap()));
        for i in 0..5 {
            let f = pool
                .submit_with_timeout(nap_us, 500 * i, Duration::from_secs(600))
                .unwrap();
            futures.push((Some(500 * i), f));
        }
        if round % 2 == 0 {
            for worker in pool.worker_pids() {
                // SAFETY: kill with a pid of our pool's worker; the pool has not reaped it
                // (at worst it already exited, and the signal goes nowhere).
                unsafe { libc::kill(worker as libc::pid_t, libc::SIGKILL) };
            }
        }
    }
    for (want, f) in &futures {
        match (want, f.result_timeout(PATIENCE)) {
            (Some(want), Ok(got)) => assert_eq!(got, want),
            (None, Err(e)) => assert!(
                e == timed_out(LIMIT) || matches!(e, Error::WorkerDied { .. }),
                "{e:?}"
            ),
            (Some(_), Err(Error::WorkerDied { .. })) => {}
            (want, got) => panic!("{want:?}: {got:?}"),
        }
    }
    assert_eq!(
        pool.submit(double, 3).unwrap().result_timeout(PATIENCE),
        Ok(&6)
    );
}
