//! Conformance: CPython's `Lib/test/test_concurrent_futures/test_shutdown.py`, for both pools.
//! `ThreadPoolShutdownTest`'s single-layer cases are the thread crate's
//! (`crates/pool-thread/tests/test_shutdown.rs`, thread names in its `test_thread_pool.rs`);
//! here are the cases on both pools, the ones that run programs, and the process pool's.
//! The cases that run a child interpreter run this test executable again as a small program
//! (`cfutures_test_support::helper_command`); `sleep_and_print` is a task that sleeps briefly (the work it
//! stands for, not synchronisation) and prints.
//!
//! Rust differences:
//! - A pool is shut down when its handle is dropped (Python's `with` block or `del`), which
//!   waits for its work like `shutdown(wait=True)`. A `ThreadPoolExecutor::map` iterator
//!   borrows its pool, so Python's `del executor` while iterating (`test_del_shutdown`) is a
//!   compile error for the thread pool; the port drops the pool holding futures instead.
//! - Python joins `executor._threads`; here worker processes are found by pid (reaped or
//!   not), and (in the thread crate) worker threads by name in `/proc/self/task`.
//!
//! Not ported: `test_submit_after_interpreter_shutdown` (Python's `atexit` hooks; Rust has
//! none, and a submission after shutdown is `test_run_after_shutdown`).

mod common;

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use cfutures::process::ProcessPoolExecutor;
use cfutures::thread::ThreadPoolExecutor;
use cfutures::{Error, Future, Shutdown};
use cfutures_test_support::process::{reaped, wait_exit};
use cfutures_test_support::{
    Event, Gate, PATIENCE, gate_wait, helper_active, helper_command, program_lines,
    quiet_expected_panics, within,
};
use common::mul;

/// CPython's `sleep_and_print`.
fn sleep_and_print((millis, msg): (u64, String)) {
    std::thread::sleep(Duration::from_millis(millis));
    println!("{msg}");
}

/// Runs helper `name` (this executable, as a program) and returns its program output; the
/// child must succeed, promptly, with nothing on stderr.
fn run_program(name: &str) -> Vec<String> {
    let output = within("the child program", {
        let mut command = helper_command(name);
        move || command.output().unwrap()
    });
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.trim().is_empty(), "stderr: {stderr}");
    program_lines(&output.stdout, name)
}

fn process_pool(workers: usize) -> ProcessPoolExecutor {
    ProcessPoolExecutor::builder()
        .max_workers(workers)
        .build()
        .unwrap()
}

// --- ExecutorShutdownTest, on both pools -------------------------------------------------

mod test_run_after_shutdown {
    use super::*;

    #[test]
    fn thread() {
        let executor = ThreadPoolExecutor::new(5).unwrap();
        executor.shutdown(Shutdown::WAIT);
        assert_eq!(
            executor.submit(|| 2u32.pow(5)).unwrap_err(),
            Error::ShutDown
        );
    }

    #[test]
    fn process() {
        let executor = process_pool(5);
        executor.shutdown(Shutdown::WAIT);
        assert_eq!(executor.submit(mul, (2, 5)).unwrap_err(), Error::ShutDown);
    }
}

/// Python's atexit hook waits for the pool's work; here leaving `main` drops the pool, which
/// waits the same way: "apple" is printed, nothing on stderr.
mod test_interpreter_shutdown {
    use super::*;

    #[test]
    fn thread() {
        if helper_active("test_interpreter_shutdown::thread") {
            let t = ThreadPoolExecutor::new(5).unwrap();
            drop(t.submit(|| sleep_and_print((100, "apple".into()))).unwrap());
            return;
        }
        assert_eq!(run_program("test_interpreter_shutdown::thread"), ["apple"]);
    }

    #[test]
    fn process() {
        if helper_active("test_interpreter_shutdown::process") {
            let t = process_pool(5);
            drop(t.submit(sleep_and_print, (100, "apple".into())).unwrap());
            return;
        }
        assert_eq!(run_program("test_interpreter_shutdown::process"), ["apple"]);
    }
}

mod test_hang_issue12364 {
    use super::*;

    #[test]
    fn thread() {
        let executor = ThreadPoolExecutor::new(5).unwrap();
        let fs: Vec<_> = (0..50)
            .map(|_| {
                executor
                    .submit(|| std::thread::sleep(Duration::from_millis(1)))
                    .unwrap()
            })
            .collect();
        within("shutdown", move || executor.shutdown(Shutdown::WAIT));
        for f in fs {
            f.result().unwrap();
        }
    }

    #[test]
    fn process() {
        let executor = Arc::new(process_pool(5));
        let fs: Vec<_> = (0..50)
            .map(|i| executor.submit(mul, (i, 2)).unwrap())
            .collect();
        let pool = Arc::clone(&executor);
        within("shutdown", move || pool.shutdown(Shutdown::WAIT));
        for (i, f) in (0..).zip(fs) {
            assert_eq!(f.result(), Ok(&(i * 2)));
        }
    }
}

/// Asserts `test_cancel_futures`'s outcome: many cancelled, the others finished cleanly.
fn assert_some_cancelled<T>(fs: &[Future<T>]) {
    let cancelled = fs.iter().filter(|f| f.cancelled()).count();
    assert!(cancelled > 20, "only {cancelled} cancelled");
    let others: Vec<_> = fs.iter().filter(|f| !f.cancelled()).collect();
    for fut in &others {
        assert!(fut.done(), "{fut:?}");
        assert_eq!(fut.exception().ok().flatten(), None);
    }
    assert!(!others.is_empty());
}

/// The running tasks are held until the shutdown has cancelled the queue:
/// `shutdown(wait=True, cancel_futures=True)` is taken in its two halves, cancelling
/// (`wait=False`), then releasing the running tasks and waiting.
mod test_cancel_futures {
    use super::*;

    #[test]
    fn thread() {
        let executor = ThreadPoolExecutor::new(5).unwrap();
        let event = Event::new();
        let (started_tx, started) = mpsc::channel();
        let fs: Vec<Future<()>> = (0..50)
            .map(|_| {
                let (event, started_tx) = (event.clone(), started_tx.clone());
                executor
                    .submit(move || {
                        started_tx.send(()).unwrap();
                        event.wait()
                    })
                    .unwrap()
            })
            .collect();
        // Python's queue hands tasks to its workers at once; ours when they take them.
        for _ in 0..5 {
            started.recv_timeout(PATIENCE).unwrap();
        }
        executor.shutdown(Shutdown::NO_WAIT.cancel_futures());
        event.set();
        within("shutdown", move || executor.shutdown(Shutdown::WAIT));
        assert_some_cancelled(&fs);
    }

    #[test]
    fn process() {
        let executor = process_pool(5);
        let gate = Gate::new();
        let fs: Vec<Future<u32>> = (0..50)
            .map(|_| executor.submit(gate_wait, gate.arg()).unwrap())
            .collect();
        // Python's queue hands tasks to its workers at once; ours when the workers are up.
        for _ in 0..5 {
            gate.wait_started();
        }
        executor.shutdown(Shutdown::NO_WAIT.cancel_futures());
        gate.release(50);
        within("shutdown", move || executor.shutdown(Shutdown::WAIT));
        assert_some_cancelled(&fs);
    }
}

/// `shutdown(wait=False)` with a task running, then the end of `main`: no hang, "apple".
mod test_hang_gh83386 {
    use super::*;

    #[test]
    fn thread() {
        if helper_active("test_hang_gh83386::thread") {
            let t = ThreadPoolExecutor::new(3).unwrap();
            drop(t.submit(|| sleep_and_print((100, "apple".into()))).unwrap());
            t.shutdown(Shutdown::NO_WAIT);
            return;
        }
        assert_eq!(run_program("test_hang_gh83386::thread"), ["apple"]);
    }

    /// Python skips this for its process pool (it hangs, cpython#83386); ours must not.
    #[test]
    fn process() {
        if helper_active("test_hang_gh83386::process") {
            let t = process_pool(3);
            drop(t.submit(sleep_and_print, (100, "apple".into())).unwrap());
            t.shutdown(Shutdown::NO_WAIT);
            return;
        }
        assert_eq!(run_program("test_hang_gh83386::process"), ["apple"]);
    }
}

/// `shutdown(wait=True)` right after a submission was cancelled does not hang.
mod test_hang_gh94440 {
    use super::*;

    #[test]
    fn thread() {
        let executor = ThreadPoolExecutor::new(1).unwrap();
        executor.submit(|| 0).unwrap().result().unwrap();
        executor.submit(|| 0).unwrap().cancel();
        within("shutdown", move || executor.shutdown(Shutdown::WAIT));
    }

    #[test]
    fn process() {
        let executor = process_pool(1);
        executor.submit(mul, (0, 0)).unwrap().result().unwrap();
        executor.submit(mul, (0, 0)).unwrap().cancel();
        within("shutdown", move || executor.shutdown(Shutdown::WAIT));
    }
}

// --- ThreadPoolShutdownTest: the case that runs a program (the others are single-layer, in
// `crates/pool-thread/tests/test_shutdown.rs` and `test_thread_pool.rs`) ---------------------

#[test]
fn test_cancel_futures_wait_false() {
    if helper_active("test_cancel_futures_wait_false") {
        let t = ThreadPoolExecutor::default();
        drop(t.submit(|| sleep_and_print((100, "apple".into()))).unwrap());
        t.shutdown(Shutdown::NO_WAIT.cancel_futures());
        return;
    }
    // gh-116682: stdout may be empty if the shutdown came before the task started.
    let out = run_program("test_cancel_futures_wait_false");
    assert!(out.is_empty() || out == ["apple"], "{out:?}");
}

// --- ProcessPoolShutdownTest -------------------------------------------------------------

#[test]
fn test_processes_terminate() {
    let executor = process_pool(5);
    let gate = Gate::new();
    for _ in 0..3 {
        drop(executor.submit(gate_wait, gate.arg()).unwrap());
    }
    // Workers start on demand, one per task while none is idle.
    assert_eq!(executor.worker_count(), 3);
    let processes: Vec<u32> = (0..3).map(|_| gate.wait_started()).collect();
    gate.release(3);
    executor.shutdown(Shutdown::WAIT);
    assert!(processes.iter().all(|&p| reaped(p)));
}

mod process_shutdown {
    use super::*;

    fn abs(x: i32) -> i32 {
        x.abs()
    }

    #[test]
    fn test_context_manager_shutdown() {
        let processes = {
            let e = process_pool(5);
            let got: Vec<i32> = e
                .map(abs, -5..5, 1)
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(got, [5, 4, 3, 2, 1, 0, 1, 2, 3, 4]);
            e.worker_pids()
        };
        assert!(!processes.is_empty());
        assert!(processes.iter().all(|&p| reaped(p)));
    }

    /// The process pool's `map` iterator owns its futures, so Python's `del executor` while
    /// holding the iterator is expressible.
    #[test]
    fn test_del_shutdown() {
        let executor = process_pool(5);
        let res = executor.map(abs, -5..5, 1).unwrap();
        let processes = executor.worker_pids();
        drop(executor);
        assert!(processes.iter().all(|&p| reaped(p)));
        let got: Vec<i32> = res.collect::<Result<_, _>>().unwrap();
        assert_eq!(got, [5, 4, 3, 2, 1, 0, 1, 2, 3, 4]);
    }

    #[test]
    fn test_shutdown_no_wait() {
        let executor = process_pool(5);
        let res = executor.map(abs, -5..5, 1).unwrap();
        let processes = executor.worker_pids();
        executor.shutdown(Shutdown::NO_WAIT);
        for &p in &processes {
            assert!(wait_exit(p, PATIENCE), "worker {p} still running");
        }
        let got: Vec<i32> = res.collect::<Result<_, _>>().unwrap();
        assert_eq!(got, [5, 4, 3, 2, 1, 0, 1, 2, 3, 4]);
        // Reaping happens in the background; a waiting shutdown returns once it is done.
        executor.shutdown(Shutdown::WAIT);
        assert!(processes.iter().all(|&p| reaped(p)));
    }

    fn good_task(n: i32) -> i32 {
        n
    }

    fn failing_task(_: i32) -> i32 {
        panic!("expected: failing task")
    }

    /// gh-132969: `max_tasks_per_child=1`, a task fails, `shutdown(wait=False)`: no error,
    /// no hang, and the results before the failure count.
    fn run_test_issue_gh_132969(max_workers: usize) -> i32 {
        quiet_expected_panics();
        let executor = ProcessPoolExecutor::builder()
            .max_workers(max_workers)
            .max_tasks_per_child(1)
            .build()
            .unwrap();
        let f1 = executor.submit(good_task, 1).unwrap();
        let f2 = executor.submit(failing_task, 2).unwrap();
        let f3 = executor.submit(good_task, 3).unwrap();
        let mut result = 0;
        for f in [&f1, &f2, &f3] {
            match f.result_timeout(PATIENCE) {
                Ok(v) => result += v,
                // Stop processing results upon the first exception.
                Err(Error::Panicked { .. }) => break,
                Err(e) => panic!("{e}"),
            }
        }
        executor.shutdown(Shutdown::NO_WAIT);
        within("the background shutdown", move || {
            executor.shutdown(Shutdown::WAIT)
        });
        result
    }

    #[test]
    fn test_shutdown_gh_132969_case_1() {
        assert_eq!(run_test_issue_gh_132969(2), 1);
    }

    #[test]
    fn test_shutdown_gh_132969_case_2() {
        assert_eq!(run_test_issue_gh_132969(4), 1);
    }
}
