//! Conformance: CPython's `Lib/test/test_concurrent_futures/test_process_pool.py` and the
//! `ExecutorTest` cases of `executor.py`, for `cfutures::process::ProcessPoolExecutor`.
//! Python's `manager.Event()`/`Queue` are [`Gate`]s (named pipes), `os.getpid` is [`pid`].
//!
//! Deliberate differences, asserted as ours (see the crate docs): a worker that dies fails only
//! the task(s) it held, with `Error::WorkerDied`, and the pool keeps serving (Python breaks the
//! whole pool: `test_killed_child`, `test_broken_process_pool_traceback`,
//! `test_traceback_when_child_process_terminates_abruptly`); dropping the executor waits for
//! its work like `shutdown(wait=True)`, so the "garbage collected" cases complete their work
//! instead of failing it; `terminate_workers`/`kill_workers` cancel what is queued.
//!
//! Not ported, with the reason:
//! - `test_max_workers_too_large` (Windows), `test_sysconf_permission_error` (semaphore
//!   limits of `multiprocessing`), `test_max_tasks_per_child_defaults_to_spawn_context` (there
//!   is one start method: `exec`), `test_python_finalization_error` (interpreter
//!   finalisation), `test_ressources_gced_in_workers` (no garbage collector: a task's argument
//!   is moved into the function and dropped by it).
//! - `test_failed_worker_replacement_breaks_pool`: needs a spawn that fails on demand (Python
//!   mocks `_spawn_worker`); there is no such seam.
//! - `test_terminate_workers`/`test_kill_workers` mock `_force_shutdown`;
//!   `test_force_shutdown_workers_invalid_op` passes an unknown operation name. Here the two
//!   operations are two methods; their effect is tested by `test_force_shutdown_workers`.
//! - `ExecutorTest.test_no_stale_references`/`test_free_reference`: arguments and results
//!   cross processes as bytes, so the pool holds no reference to either.
//! - `test_submit_keyword`'s keyword forms, `test_max_workers_negative` with `-1`,
//!   `test_map_chunksize` with `-1`: see `test_thread_pool.rs` (0 is ported).

mod common;

use std::collections::HashSet;
use std::time::Duration;

use cfutures::helpers::{MapOptions, map};
use cfutures::process::ProcessPoolExecutor;
use cfutures::{Error, ExitReason, Future, Shutdown};
use common::{
    Gate, GateArg, PATIENCE, gate_return, gate_wait, mul, no_core_dumps, pid, pow, reaped,
    signal_own_child, wait_exit,
};

const WORKER_COUNT: usize = 5;

fn executor() -> ProcessPoolExecutor {
    ProcessPoolExecutor::builder()
        .max_workers(WORKER_COUNT)
        .build()
        .unwrap()
}

fn pool(workers: usize, max_tasks_per_child: Option<usize>) -> ProcessPoolExecutor {
    let builder = ProcessPoolExecutor::builder().max_workers(workers);
    match max_tasks_per_child {
        Some(n) => builder.max_tasks_per_child(n),
        None => builder,
    }
    .build()
    .unwrap()
}

fn result<T: Clone>(future: &Future<T>) -> Result<T, Error> {
    future.result_timeout(PATIENCE).cloned()
}

fn died_with(future: &Future<u32>, reason: ExitReason) -> u32 {
    match future.result_timeout(PATIENCE) {
        Err(Error::WorkerDied { pid, reason: got }) if got == reason => pid,
        other => panic!("expected WorkerDied({reason}), got {other:?}"),
    }
}

// --- ExecutorTest (executor.py) ------------------------------------------------------------

#[test]
fn test_submit() {
    let future = executor().submit(pow, (2, 8)).unwrap();
    assert_eq!(result(&future), Ok(256));
}

#[test]
fn test_submit_keyword() {
    let future = executor().submit(mul, (2, 8)).unwrap();
    assert_eq!(result(&future), Ok(16));
}

#[test]
fn test_map() {
    let executor = executor();
    let want: Vec<u64> = (0..10u64).zip(0..10).map(|(b, e)| b.pow(e)).collect();
    for chunksize in [1, 3] {
        let got: Vec<u64> = executor
            .map(pow, (0..10u64).zip(0..10u32), chunksize)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(got, want, "chunksize {chunksize}");
    }
}

#[test]
fn test_map_exception() {
    let executor = executor();
    let mut i = executor
        .map(common::divmod, [(1, 2), (1, 3), (1, 0), (1, 5)], 1)
        .unwrap();
    assert_eq!(i.next().unwrap(), Ok((0, 1)));
    assert_eq!(i.next().unwrap(), Ok((0, 1)));
    assert!(matches!(
        i.next().unwrap(),
        Err(Error::Panicked { message, .. }) if message.contains("division or modulo by zero")
    ));
}

fn sleep_or_wait((block, gate): (bool, GateArg)) {
    if block {
        gate_wait(gate);
    }
}

/// The process pool's own `map` has no timeout; the facade's `helpers::map` over `submit`
/// gives Python's `map(..., timeout=)`.
#[test]
fn test_map_timeout() {
    let executor = executor();
    let gate = Gate::new();
    let items = [false, false, true].map(|block| (block, gate.arg()));
    let options = MapOptions::new().timeout(Duration::from_secs(1));
    let mut results = Vec::new();
    let mut timed_out = false;
    for i in map(items, |item| executor.submit(sleep_or_wait, item), options).unwrap() {
        match i {
            Ok(()) => results.push(()),
            Err(Error::Timeout { .. }) => timed_out = true,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(timed_out, "expected a timeout");
    assert_eq!(results, [(), ()]);
}

fn to_string(n: u32) -> String {
    n.to_string()
}

#[test]
fn test_shutdown_race_issue12456() {
    let executor = executor();
    drop(
        executor
            .map(to_string, vec![2; WORKER_COUNT + 1], 1)
            .unwrap(),
    );
    executor.shutdown(Shutdown::WAIT);
}

#[test]
fn test_max_workers_negative() {
    let err = ProcessPoolExecutor::builder()
        .max_workers(0)
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument(m) if m.contains("max_workers must be greater than 0"))
    );
}

// --- ProcessPoolExecutorTest -----------------------------------------------------------------

#[test]
fn test_killed_child() {
    let executor = executor();
    let gate = Gate::new();
    let future = executor.submit(gate_wait, gate.arg()).unwrap();
    let worker = gate.wait_started();
    assert!(signal_own_child(worker, libc::SIGKILL));
    assert_eq!(
        died_with(&future, ExitReason::Signal(libc::SIGKILL)),
        worker
    );
    // Ours: only that task failed; the pool still serves (Python: BrokenProcessPool).
    assert_eq!(result(&executor.submit(pow, (2, 8)).unwrap()), Ok(256));
}

#[test]
fn test_broken_process_pool_traceback() {
    let executor = executor();
    let gate = Gate::new();
    let futures: Vec<_> = (0..3)
        .map(|_| executor.submit(gate_wait, gate.arg()).unwrap())
        .collect();
    let pids: Vec<u32> = (0..3).map(|_| gate.wait_started()).collect();
    assert!(signal_own_child(pids[0], libc::SIGTERM));
    // A dying worker woken by data may still take a byte from the gate before it exits.
    assert!(wait_exit(pids[0], PATIENCE));
    gate.release(2);
    let mut died = 0;
    for future in &futures {
        match future.result_timeout(PATIENCE) {
            Err(Error::WorkerDied { pid, reason }) => {
                assert_eq!((pid, reason), (pids[0], ExitReason::Signal(libc::SIGTERM)));
                died += 1;
            }
            Ok(pid) => assert!(pids[1..].contains(pid)),
            Err(e) => panic!("{e}"),
        }
    }
    // Each future holds its own error value, so no traceback accumulates across `result()`s.
    assert_eq!(died, 1);
}

#[test]
fn test_map_chunksize() {
    let executor = executor();
    let reference: Vec<u64> = (0..40u64)
        .zip(0..40)
        .map(|(b, e)| b.wrapping_pow(e))
        .collect();
    fn wrapping_pow((b, e): (u64, u32)) -> u64 {
        b.wrapping_pow(e)
    }
    for chunksize in [6, 50, 40] {
        let got: Vec<u64> = executor
            .map(wrapping_pow, (0..40u64).zip(0..40u32), chunksize)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(got, reference, "chunksize {chunksize}");
    }
    let bad = executor.map(wrapping_pow, [(1, 1)], 0);
    assert!(matches!(bad, Err(Error::InvalidArgument(_))));
}

fn raise_runtime_error(_: ()) -> u32 {
    panic!("{}", 123) // some comment
}

#[test]
fn test_traceback() {
    // The child's traceback travels with the error.
    let future = executor().submit(raise_runtime_error, ()).unwrap();
    match future.result_timeout(PATIENCE) {
        Err(Error::Panicked { message, backtrace }) => {
            assert_eq!(message, "123");
            let backtrace = backtrace.as_deref().unwrap();
            assert!(backtrace.contains("test_process_pool.rs"), "{backtrace}");
            assert!(backtrace.contains("raise_runtime_error"), "{backtrace}");
        }
        other => panic!("{other:?}"),
    }
}

fn exit_with(code: i32) -> u32 {
    no_core_dumps();
    std::process::exit(code)
}

#[test]
fn test_traceback_when_child_process_terminates_abruptly() {
    // gh-139462: the error says which process ended, and how.
    let executor = pool(1, None);
    let future = executor.submit(exit_with, 99).unwrap();
    let worker = died_with(&future, ExitReason::Code(99));
    let message = future.result().unwrap_err().to_string();
    assert!(
        message.contains(&format!("worker process {worker} died (exit code 99)")),
        "{message}"
    );
}

#[test]
fn test_saturation() {
    let executor = executor();
    let gate = Gate::new();
    let job_count = 15 * executor.max_workers();
    let futures: Vec<_> = (0..job_count)
        .map(|_| executor.submit(gate_wait, gate.arg()).unwrap())
        .collect();
    assert_eq!(executor.worker_count(), executor.max_workers());
    gate.release(job_count);
    for future in &futures {
        result(future).unwrap();
    }
}

#[test]
fn test_idle_process_reuse_one() {
    let executor = executor();
    assert_eq!(result(&executor.submit(mul, (21, 2)).unwrap()), Ok(42));
    assert_eq!(result(&executor.submit(mul, (6, 7)).unwrap()), Ok(42));
    assert_eq!(result(&executor.submit(mul, (3, 14)).unwrap()), Ok(42));
    assert_eq!(executor.worker_count(), 1);
}

#[test]
fn test_idle_process_reuse_multiple() {
    let executor = executor();
    result(&executor.submit(mul, (12, 7)).unwrap()).unwrap();
    drop(executor.submit(mul, (33, 25)).unwrap());
    result(&executor.submit(mul, (25, 26)).unwrap()).unwrap();
    drop(executor.submit(mul, (18, 29)).unwrap());
    result(&executor.submit(mul, (1, 2)).unwrap()).unwrap();
    drop(executor.submit(mul, (0, 9)).unwrap());
    assert!(executor.worker_count() <= 3, "{}", executor.worker_count());
    executor.shutdown(Shutdown::WAIT);
}

#[test]
fn test_max_tasks_per_child() {
    let executor = pool(1, Some(3));
    let original_pid = result(&executor.submit(pid, ()).unwrap()).unwrap();
    // The worker pid remains the same as the worker could be reused.
    assert_eq!(result(&executor.submit(pid, ()).unwrap()), Ok(original_pid));
    assert_eq!(executor.worker_count(), 1);
    assert_eq!(result(&executor.submit(pid, ()).unwrap()), Ok(original_pid));
    // A new worker is spawned while the previous one is reaped.
    let new_pid = result(&executor.submit(pid, ()).unwrap()).unwrap();
    assert_ne!(original_pid, new_pid);
    assert_eq!(executor.worker_count(), 1);
    executor.shutdown(Shutdown::WAIT);
    assert!(reaped(original_pid) && reaped(new_pid));
}

#[test]
fn test_max_tasks_per_child_pending_tasks_gh115634() {
    // gh-115634: a worker retiring at its limit with a backlog queued must be replaced.
    for (max_workers, max_tasks, num_tasks) in [(1, 2, 6), (2, 2, 8)] {
        let executor = pool(max_workers, Some(max_tasks));
        let futures: Vec<_> = (0..num_tasks)
            .map(|i| executor.submit(mul, (i, 2)).unwrap())
            .collect();
        let results: Vec<i64> = futures.iter().map(|f| result(f).unwrap()).collect();
        assert_eq!(results, (0..num_tasks).map(|i| i * 2).collect::<Vec<_>>());
        executor.shutdown(Shutdown::WAIT.cancel_futures());
    }
}

/// CPython's `_run_stranded_worker_exit_test`: a worker exits at its `max_tasks_per_child`
/// limit while work is queued, after `shutdown(wait=False)` and/or after the executor is
/// dropped. Ours: the remaining work runs in every case (dropping waits for it).
fn run_stranded_worker_exit_test(shutdown: bool, drop_reference: bool) {
    let gate = Gate::new();
    let executor = pool(1, Some(1));
    let futs: Vec<Future<u64>> = (0..3)
        .map(|i| executor.submit(gate_return, (gate.arg(), i)).unwrap())
        .collect();
    // The worker is inside the first task: it reaches its limit only after what follows.
    gate.wait_started();
    if shutdown {
        executor.shutdown(Shutdown::NO_WAIT);
    }
    std::thread::scope(|s| {
        // Dropping blocks until the work is done, so it happens on a thread of its own.
        let (dropper, kept) = if drop_reference {
            (Some(s.spawn(move || drop(executor))), None)
        } else {
            (None, Some(executor))
        };
        gate.release(3);
        let results: Vec<u64> = futs.iter().map(|f| result(f).unwrap()).collect();
        assert_eq!(results, [0, 1, 2]);
        if let Some(dropper) = dropper {
            dropper.join().unwrap();
        }
        drop(kept);
    });
}

#[test]
fn test_shutdown_no_wait_max_tasks_gh119592() {
    for drop_reference in [false, true] {
        run_stranded_worker_exit_test(true, drop_reference);
    }
}

#[test]
fn test_gc_during_max_tasks_worker_exit_gh152967() {
    run_stranded_worker_exit_test(false, true);
}

#[test]
fn test_force_shutdown_during_max_tasks_worker_exit() {
    // No replacement may escape a kill: the running task fails, the queued ones are
    // cancelled (Python: BrokenProcessPool "forcefully shut down"), nothing hangs.
    let gate = Gate::new();
    let executor = pool(1, Some(1));
    let futs: Vec<Future<u64>> = (0..3)
        .map(|i| executor.submit(gate_return, (gate.arg(), i)).unwrap())
        .collect();
    let worker = gate.wait_started();
    executor.kill_workers();
    match futs[0].result_timeout(PATIENCE) {
        Err(Error::WorkerDied { pid, reason }) => {
            assert_eq!((pid, reason), (worker, ExitReason::Signal(libc::SIGKILL)));
        }
        other => panic!("{other:?}"),
    }
    for fut in &futs[1..] {
        assert_eq!(fut.result_timeout(PATIENCE), Err(Error::Cancelled));
    }
    drop(executor);
    assert!(reaped(worker));
}

#[test]
fn test_max_tasks_early_shutdown() {
    let executor = pool(3, Some(1));
    let futures: Vec<_> = (0..6)
        .map(|i| executor.submit(mul, (i, i)).unwrap())
        .collect();
    executor.shutdown(Shutdown::WAIT);
    for (i, future) in (0..).zip(&futures) {
        assert_eq!(result(future), Ok(i * i));
    }
}

/// `test_force_shutdown_workers` for `terminate_workers` and `kill_workers`: the task that
/// was running never finishes, its worker is signalled, exits and is reaped.
fn force_shutdown_workers(kill: bool) {
    let gate = Gate::new();
    let executor = pool(1, None);
    let future = executor.submit(gate_wait, gate.arg()).unwrap();
    let worker = gate.wait_started();
    if kill {
        executor.kill_workers();
    } else {
        executor.terminate_workers();
    }
    let signal = if kill { libc::SIGKILL } else { libc::SIGTERM };
    assert_eq!(died_with(&future, ExitReason::Signal(signal)), worker);
    drop(executor);
    assert!(reaped(worker));
}

mod test_force_shutdown_workers {
    #[test]
    fn terminate_workers() {
        super::force_shutdown_workers(false);
    }
    #[test]
    fn kill_workers() {
        super::force_shutdown_workers(true);
    }
}

#[test]
fn test_force_shutdown_workers_dead_workers() {
    for kill in [false, true] {
        let executor = pool(1, None);
        let future = executor.submit(exit_with, 1).unwrap();
        died_with(&future, ExitReason::Code(1));
        // Even though the worker died, this must not fail.
        if kill {
            executor.kill_workers();
        } else {
            executor.terminate_workers();
        }
    }
}

#[test]
fn test_force_shutdown_workers_not_started_yet() {
    for kill in [false, true] {
        let executor = pool(1, None);
        if kill {
            executor.kill_workers();
        } else {
            executor.terminate_workers();
        }
        assert_eq!(executor.worker_count(), 0);
        assert!(executor.worker_pids().is_empty());
    }
}

#[test]
fn test_force_shutdown_workers_stops_pool() {
    for kill in [false, true] {
        let executor = pool(1, None);
        let worker = result(&executor.submit(pid, ()).unwrap()).unwrap();
        assert_eq!(executor.worker_pids(), [worker]);
        if kill {
            executor.kill_workers();
        } else {
            executor.terminate_workers();
        }
        assert_eq!(executor.submit(pid, ()).unwrap_err(), Error::ShutDown);
        assert!(wait_exit(worker, PATIENCE));
        drop(executor);
        assert!(reaped(worker));
    }
}

// --- Beyond the port ----------------------------------------------------------------------

/// Python sends each result as its task completes. A worker here may batch replies while more
/// tasks are already waiting for it; a result must still not wait for the *next* task to end.
/// (A regression test: it once did, and `test_wait`'s `test_first_exception` hung.)
#[test]
fn a_finished_result_is_not_held_back_by_the_next_task() {
    let executor = pool(1, None);
    // Quick tasks first: the pool measures a tiny run time and pipelines deeply from now on.
    for _ in 0..20 {
        result(&executor.submit(pid, ()).unwrap()).unwrap();
    }
    let gates = [Gate::new(), Gate::new(), Gate::new()];
    // t1 and t2 reach the busy worker's pipe while t0 runs, so it reads them in one go.
    let t: Vec<_> = gates
        .iter()
        .map(|g| executor.submit(gate_wait, g.arg()).unwrap())
        .collect();
    gates[0].wait_started();
    gates[0].release(1);
    assert!(result(&t[0]).is_ok());
    gates[1].wait_started();
    gates[1].release(1);
    // t1 has finished; t2 is blocked at its gate.
    let outcome = t[1].result_timeout(PATIENCE);
    gates[2].release(1);
    assert!(outcome.is_ok(), "{outcome:?}");
    assert!(result(&t[2]).is_ok());
}

#[test]
fn every_worker_pid_is_distinct_and_reaped_after_shutdown() {
    let executor = executor();
    let gate = Gate::new();
    let futures: Vec<_> = (0..WORKER_COUNT)
        .map(|_| executor.submit(gate_wait, gate.arg()).unwrap())
        .collect();
    let pids: HashSet<u32> = (0..WORKER_COUNT).map(|_| gate.wait_started()).collect();
    assert_eq!(pids.len(), WORKER_COUNT);
    gate.release(WORKER_COUNT);
    for future in &futures {
        assert!(pids.contains(&result(future).unwrap()));
    }
    executor.shutdown(Shutdown::WAIT);
    assert!(pids.iter().all(|&p| reaped(p)));
}

/// Python's workers take tasks from one shared queue, so a task never waits behind a long one
/// while another worker is idle. Here the pool pipelines tasks to a busy worker when past
/// tasks were quick; a task sent behind one that turns out long must still not wait while a
/// worker idles.
#[test]
fn a_task_does_not_wait_behind_a_long_one_while_a_worker_idles() {
    let executor = pool(2, None);
    // Quick tasks on one worker: the pool measures a tiny run time and pipelines from now on.
    for _ in 0..20 {
        result(&executor.submit(pid, ()).unwrap()).unwrap();
    }
    let gate = Gate::new();
    let first = executor.submit(gate_wait, gate.arg()).unwrap();
    let second = executor.submit(gate_wait, gate.arg()).unwrap();
    let started = [
        gate.try_wait_started(PATIENCE),
        gate.try_wait_started(PATIENCE),
    ];
    gate.release(2);
    let (a, b) = (result(&first), result(&second));
    assert!(
        started[1].is_some(),
        "the second task never started while a worker idled"
    );
    assert_ne!(started[0], started[1]);
    assert!(a.is_ok() && b.is_ok());
}
