//! Faults, in the spirit of CPython's `test_deadlock.py`: every case gives its future a clear
//! error, loses nothing else, and nothing hangs.
#![cfg(target_os = "linux")]

use std::io::Write;
use std::os::fd::FromRawFd;

use cfutures_core::{Error, ExitReason, Shutdown};
use cfutures_process::ProcessPoolExecutor;
use cfutures_test_support::process::{no_core_dumps, pid, reaped, wait_exit};
use cfutures_test_support::{Gate, PATIENCE, gate_wait, helper_active, program_lines, run_helper};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

fn pool(workers: usize) -> ProcessPoolExecutor {
    no_core_dumps();
    ProcessPoolExecutor::builder()
        .max_workers(workers)
        .build()
        .unwrap()
}

/// Asserts `future` failed because its worker died for `reason`, that the worker was reaped,
/// and that the pool still serves (from a new process).
fn assert_died_and_pool_recovers(
    pool: &ProcessPoolExecutor,
    result: Result<&u32, Error>,
    reason: ExitReason,
) {
    let dead = match result {
        Err(Error::WorkerDied { pid, reason: got }) => {
            assert_eq!(got, reason);
            pid
        }
        other => panic!("expected WorkerDied({reason}), got {other:?}"),
    };
    assert!(reaped(dead), "the dead worker {dead} was not reaped");
    let next = pool.submit(pid, ()).unwrap();
    let next_pid = *next.result().unwrap();
    assert_ne!(next_pid, dead);
}

fn abort(_: ()) -> u32 {
    std::process::abort();
}

fn segfault(_: ()) -> u32 {
    // SAFETY: none; this deliberately crashes the worker process.
    unsafe { std::ptr::null_mut::<u32>().write_volatile(1) };
    0
}

fn exit_three(_: ()) -> u32 {
    std::process::exit(3);
}

#[test]
fn a_task_that_aborts_fails_with_sigabrt() {
    let pool = pool(1);
    let f = pool.submit(abort, ()).unwrap();
    assert_died_and_pool_recovers(&pool, f.result(), ExitReason::Signal(libc::SIGABRT));
}

#[test]
fn a_task_that_segfaults_fails_with_sigsegv() {
    let pool = pool(1);
    let f = pool.submit(segfault, ()).unwrap();
    assert_died_and_pool_recovers(&pool, f.result(), ExitReason::Signal(libc::SIGSEGV));
}

#[test]
fn a_task_that_exits_fails_with_its_exit_code() {
    let pool = pool(1);
    let f = pool.submit(exit_three, ()).unwrap();
    assert_died_and_pool_recovers(&pool, f.result(), ExitReason::Code(3));
}

#[test]
fn a_worker_killed_from_outside_fails_only_its_task() {
    let pool = pool(1);
    let gate = Gate::new();
    let victim = pool.submit(gate_wait, gate.arg()).unwrap();
    // Queued behind the gate_wait task (a fresh pool sends one task at a time until it has
    // measured how long tasks take), so not lost with the worker.
    let queued: Vec<_> = (0..3).map(|_| pool.submit(pid, ()).unwrap()).collect();
    let worker = gate.wait_started();
    // SAFETY: kill with a pid of our pool's worker, which is not reaped while its task runs.
    unsafe { libc::kill(worker as libc::pid_t, libc::SIGKILL) };
    assert_died_and_pool_recovers(&pool, victim.result(), ExitReason::Signal(libc::SIGKILL));
    for future in queued {
        assert_ne!(*future.result().unwrap(), worker);
    }
}

#[test]
fn an_idle_worker_killed_from_outside_is_replaced() {
    let pool = pool(1);
    let first = *pool.submit(pid, ()).unwrap().result().unwrap();
    // SAFETY: the pid of our pool's idle worker, not reaped until it dies.
    unsafe { libc::kill(first as libc::pid_t, libc::SIGKILL) };
    assert!(wait_exit(first, PATIENCE));
    // A task sent before the pool noticed the death fails with it; none is lost silently.
    match pool.submit(pid, ()).unwrap().result() {
        Ok(&other) => assert_ne!(other, first),
        Err(e) => assert_eq!(
            e,
            Error::WorkerDied {
                pid: first,
                reason: ExitReason::Signal(libc::SIGKILL)
            }
        ),
    }
    let second = *pool.submit(pid, ()).unwrap().result().unwrap();
    assert_ne!(first, second);
    drop(pool);
    assert!(reaped(first) && reaped(second));
}

#[test]
fn crashes_in_a_busy_pool_resolve_every_future() {
    let pool = pool(2);
    let mut futures = Vec::new();
    for i in 0..60u32 {
        let f = if i % 20 == 10 {
            pool.submit(abort, ()).unwrap()
        } else {
            pool.submit(|x: u32| x, i).unwrap()
        };
        futures.push((i, f));
    }
    let mut died = 0;
    for (i, f) in futures {
        match f.result() {
            Ok(v) => assert_eq!(*v, i),
            Err(Error::WorkerDied { .. }) => died += 1,
            Err(e) => panic!("task {i}: {e}"),
        }
    }
    // Exactly the aborting tasks fail: a worker answers each task before it starts the
    // next, and the tasks sent to it but not started run on its replacement.
    assert_eq!(died, 3);
    assert!(pool.submit(pid, ()).unwrap().result().is_ok());
}

#[test]
fn tasks_sent_to_a_worker_that_dies_before_starting_them_run_elsewhere() {
    let pool = pool(1);
    // Teach the pool that tasks are short, so it pipelines several to the worker.
    let _: Vec<_> = pool.map(|x: u32| x, 0..200, 1).unwrap().collect();
    let gate = Gate::new();
    let victim = pool.submit(gate_wait, gate.arg()).unwrap();
    let behind: Vec<_> = (0..5).map(|_| pool.submit(pid, ()).unwrap()).collect();
    let worker = gate.wait_started();
    // SAFETY: our pool's worker, not reaped while its task runs.
    unsafe { libc::kill(worker as libc::pid_t, libc::SIGKILL) };
    assert_died_and_pool_recovers(&pool, victim.result(), ExitReason::Signal(libc::SIGKILL));
    for future in behind {
        let ran_in = *future.result().unwrap();
        assert_ne!(ran_in, worker);
    }
}

#[test]
fn a_finished_result_is_not_held_back_by_the_next_task() {
    // CPython's test_wait.test_first_exception pattern: a result must reach the parent while
    // the next task, already pipelined to the same worker, blocks.
    let pool = pool(1);
    let _: Vec<_> = pool.map(|x: u32| x, 0..200, 1).unwrap().collect();
    let first = Gate::new();
    let second = Gate::new();
    let a = pool.submit(gate_wait, first.arg()).unwrap();
    let b = pool.submit(gate_wait, second.arg()).unwrap();
    first.wait_started();
    first.release(1);
    // `b` may already be blocking in the same worker.
    assert!(a.wait_timeout(PATIENCE), "a's result was held back");
    assert!(a.result().is_ok());
    second.wait_started();
    second.release(1);
    assert!(b.result().is_ok());
}

fn abort_on_three(x: u32) -> u32 {
    if x == 3 {
        std::process::abort();
    }
    x
}

#[test]
fn a_map_chunk_whose_worker_dies_fails_its_items_and_map_goes_on() {
    let pool = pool(1);
    let got: Vec<Result<u32, Error>> = pool.map(abort_on_three, 0..8, 2).unwrap().collect();
    assert_eq!(got.len(), 8);
    for (i, result) in got.iter().enumerate() {
        match i {
            2 | 3 => assert!(
                matches!(
                    result,
                    Err(Error::WorkerDied {
                        reason: ExitReason::Signal(6),
                        ..
                    })
                ),
                "{i}: {result:?}"
            ),
            // The first chunk was answered before the crash (a new pool sends one task at a
            // time until it knows how long they take); later ones were never started.
            _ => assert_eq!(result, &Ok(i as u32)),
        }
    }
}

fn panics(n: u32) -> u32 {
    if n > 0 {
        panic!("bad input {n}");
    }
    n
}

#[test]
fn a_panicking_task_fails_with_the_message_and_the_workers_backtrace() {
    let pool = pool(1);
    let bad = pool.submit(panics, 7).unwrap();
    let good = pool.submit(panics, 0).unwrap();
    match bad.result() {
        Err(Error::Panicked { message, backtrace }) => {
            assert_eq!(message, "bad input 7");
            let backtrace = backtrace.as_deref().unwrap();
            assert!(backtrace.contains("panicked at"), "{backtrace}");
            assert!(backtrace.contains("faults.rs"), "{backtrace}");
            assert!(backtrace.contains("stack backtrace"), "{backtrace}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(good.result(), Ok(&0), "the worker survives a panic");
}

fn panics_with_a_non_string(_: ()) -> u32 {
    std::panic::panic_any(42u8);
}

#[test]
fn a_non_string_panic_payload_is_described() {
    let pool = pool(1);
    let f = pool.submit(panics_with_a_non_string, ()).unwrap();
    assert!(
        matches!(f.result(), Err(Error::Panicked { message, .. }) if message.contains("non-string"))
    );
}

/// Serialises as an error.
#[derive(Debug, Deserialize)]
struct Unencodable;

impl Serialize for Unencodable {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("Unencodable refuses"))
    }
}

/// Encodes fine, but refuses to decode.
#[derive(Debug, Serialize)]
struct Undecodable(u8);

impl<'de> Deserialize<'de> for Undecodable {
    fn deserialize<D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom("Undecodable refuses"))
    }
}

#[test]
fn an_argument_that_cannot_be_encoded_fails_its_future_and_is_never_sent() {
    let pool = pool(1);
    let future = pool.submit(|_: Unencodable| 1u8, Unencodable).unwrap();
    assert!(
        matches!(future.result(), Err(Error::Serialization(m)) if m.contains("cannot encode the argument")),
        "{:?}",
        future.result()
    );
    assert_eq!(pool.worker_count(), 0);
}

#[test]
fn an_argument_that_cannot_be_decoded_fails_its_future() {
    let pool = pool(1);
    let f = pool.submit(|u: Undecodable| u.0, Undecodable(1)).unwrap();
    assert!(
        matches!(f.result(), Err(Error::Serialization(m)) if m.contains("cannot decode the argument"))
    );
    assert!(pool.submit(pid, ()).unwrap().result().is_ok());
}

#[test]
fn a_result_that_cannot_be_encoded_fails_its_future() {
    let pool = pool(1);
    let f = pool.submit(|_: ()| Unencodable, ()).unwrap();
    assert!(
        matches!(f.result(), Err(Error::Serialization(m)) if m.contains("cannot encode the result"))
    );
    assert!(pool.submit(pid, ()).unwrap().result().is_ok());
}

#[test]
fn a_result_that_cannot_be_decoded_fails_its_future() {
    let pool = pool(1);
    let f = pool.submit(|x: u8| Undecodable(x), 1).unwrap();
    assert!(
        matches!(f.result(), Err(Error::Serialization(m)) if m.contains("cannot decode the result"))
    );
    assert!(pool.submit(pid, ()).unwrap().result().is_ok());
}

/// Aborts the process that decodes it (the worker, for an argument).
#[derive(Debug, Serialize)]
struct AbortOnDecode;

impl<'de> Deserialize<'de> for AbortOnDecode {
    fn deserialize<D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        std::process::abort()
    }
}

/// Aborts the process that encodes it (the worker, for a result).
#[derive(Debug, Deserialize)]
struct AbortOnEncode;

impl Serialize for AbortOnEncode {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        std::process::abort()
    }
}

#[test]
fn a_crash_while_decoding_the_argument_or_encoding_the_result_fails_the_future() {
    // CPython's test_deadlock: crash at unpickle / crash during result pickle.
    let pool = pool(1);
    let decode = pool.submit(|_: AbortOnDecode| 1u8, AbortOnDecode).unwrap();
    assert!(matches!(
        decode.result(),
        Err(Error::WorkerDied {
            reason: ExitReason::Signal(6),
            ..
        })
    ));
    let encode = pool.submit(|_: ()| AbortOnEncode, ()).unwrap();
    assert!(matches!(
        encode.result(),
        Err(Error::WorkerDied {
            reason: ExitReason::Signal(6),
            ..
        })
    ));
    assert!(pool.submit(pid, ()).unwrap().result().is_ok());
}

#[test]
fn shutdown_right_after_a_crash_does_not_hang() {
    // CPython's test_shutdown_deadlock.
    let pool = pool(2);
    let crashed = pool.submit(abort, ()).unwrap();
    let others: Vec<_> = (0..4).map(|_| pool.submit(pid, ()).unwrap()).collect();
    pool.shutdown(Shutdown::WAIT);
    assert!(matches!(crashed.result(), Err(Error::WorkerDied { .. })));
    for future in others {
        assert!(future.done());
    }
    assert_eq!(pool.worker_count(), 0);
}

#[test]
fn frames_over_the_limit_fail_their_future() {
    let pool = ProcessPoolExecutor::builder()
        .max_workers(1)
        .max_frame_size(4096)
        .build()
        .unwrap();
    let too_big = pool.submit(|v: Vec<u8>| v.len(), vec![0u8; 5000]).unwrap();
    assert!(
        matches!(too_big.result(), Err(Error::Serialization(m)) if m.contains("frame limit")),
        "{:?}",
        too_big.result()
    );
    let big = pool.submit(|n: usize| vec![1u8; n], 5000).unwrap();
    assert!(matches!(big.result(), Err(Error::Serialization(m)) if m.contains("frame limit")));
    let fits = pool.submit(|n: usize| vec![1u8; n], 3000).unwrap();
    assert_eq!(fits.result().map(Vec::len), Ok(3000));
}

#[test]
fn a_panic_too_large_for_a_frame_fails_its_future_with_a_short_text() {
    let pool = ProcessPoolExecutor::builder()
        .max_workers(1)
        .max_frame_size(4096)
        .build()
        .unwrap();
    let huge = pool
        .submit(|n: usize| -> u32 { panic!("{}", "x".repeat(n)) }, 10_000)
        .unwrap();
    let outcome = huge.result_timeout(PATIENCE);
    assert!(
        matches!(&outcome, Err(Error::Serialization(m)) if m == "the task's failure was too large to send"),
        "{outcome:?}"
    );
    // The worker still serves.
    let after = pool.submit(pid, ()).unwrap();
    assert!(after.result_timeout(PATIENCE).is_ok());
    assert_eq!(pool.worker_count(), 1);
}

/// Writes `bytes` to the worker's reply pipe (the one write-only pipe descriptor above 2),
/// corrupting the wire from inside a task.
fn corrupt_the_wire(bytes: Vec<u8>) -> u32 {
    for fd in 3..256 {
        // SAFETY: F_GETFL only queries the descriptor.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap_or_default();
        if flags >= 0
            && flags & libc::O_ACCMODE == libc::O_WRONLY
            && link.to_string_lossy().starts_with("pipe:")
        {
            // SAFETY: borrowed for one write; ManuallyDrop keeps the worker's descriptor open.
            let mut file = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) });
            file.write_all(&bytes).unwrap();
        }
    }
    0
}

#[test]
fn malformed_frames_from_a_worker_fail_its_futures_not_the_parent() {
    let pool = pool(1);
    let cases: Vec<Vec<u8>> = vec![
        // An oversized length prefix.
        vec![0xff, 0xff, 0xff, 0x7f, 1, 2, 3],
        // A frame of an unknown kind.
        vec![2, 0, 0, 0, 99, 0],
        // A reply for a task nobody sent.
        {
            let mut v = vec![17, 0, 0, 0, 6];
            v.extend_from_slice(&u64::MAX.to_le_bytes());
            v.extend_from_slice(&0u64.to_le_bytes());
            v
        },
        // An empty frame.
        vec![0, 0, 0, 0],
        // A body frame (DONE_BODY) of an unknown shape.
        {
            let mut v = vec![26, 0, 0, 0, 11];
            v.extend_from_slice(&u64::MAX.to_le_bytes());
            v.extend_from_slice(&0u64.to_le_bytes());
            v.extend_from_slice(&99u64.to_le_bytes());
            v.push(7);
            v
        },
        // A body frame shorter than its header.
        vec![9, 0, 0, 0, 11, 1, 2, 3, 4, 5, 6, 7, 8],
    ];
    for bytes in cases {
        let f = pool.submit(corrupt_the_wire, bytes.clone()).unwrap();
        match f.result() {
            Err(Error::Serialization(m)) => assert!(m.contains("protocol"), "{m}"),
            other => panic!("{bytes:?}: {other:?}"),
        }
        assert!(pool.submit(pid, ()).unwrap().result().is_ok());
    }
}

/// Run by `workers_exit_when_their_parent_dies` in a child process: starts a worker, prints
/// its pid, and dies without any cleanup.
#[test]
#[ignore = "helper: run by workers_exit_when_their_parent_dies"]
fn helper_parent_that_dies() {
    if !helper_active("helper_parent_that_dies") {
        return;
    }
    let pool = pool(1);
    let gate = Gate::new();
    let _running = pool.submit(gate_wait, gate.arg()).unwrap();
    let worker = gate.wait_started();
    println!("worker pid {worker}");
    std::io::stdout().flush().unwrap();
    std::process::abort();
}

#[test]
fn workers_exit_when_their_parent_dies() {
    let output = run_helper("helper_parent_that_dies");
    let worker: u32 = program_lines(&output.stdout, "helper_parent_that_dies")
        .iter()
        .find_map(|l| l.strip_prefix("worker pid "))
        .unwrap_or_else(|| panic!("no pid in {output:?}"))
        .trim()
        .parse()
        .unwrap();
    assert!(
        wait_exit(worker, PATIENCE),
        "worker {worker} outlived its parent"
    );
}

/// Run by `a_process_started_as_a_worker_that_never_enters_worker_mode_refuses_pools`.
#[test]
#[ignore = "helper: run in a child process"]
fn helper_build_a_pool_with_the_worker_variable_set() {
    if !helper_active("helper_build_a_pool_with_the_worker_variable_set") {
        return;
    }
    // SAFETY: this helper runs alone in its own process; no other thread reads the
    // environment meanwhile.
    unsafe { std::env::set_var("CFUTURES_PROCESS_WORKER", "3,4") };
    let err = ProcessPoolExecutor::builder().build().unwrap_err();
    assert!(
        matches!(&err, Error::Broken(m) if m.contains("init()")),
        "{err}"
    );
}

#[test]
fn a_process_started_as_a_worker_that_never_enters_worker_mode_refuses_pools() {
    // As a program whose worker hook never ran would: it must not start workers of its own.
    let output = run_helper("helper_build_a_pool_with_the_worker_variable_set");
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("1 passed"));
}

#[test]
fn a_malformed_worker_variable_exits_before_main() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--list"])
        .env("CFUTURES_PROCESS_WORKER", "not-fds")
        .output()
        .unwrap();
    // The early hook refuses to serve and exits: the test harness's main never runs.
    assert_eq!(output.status.code(), Some(70), "{output:?}");
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("malformed"));
}
