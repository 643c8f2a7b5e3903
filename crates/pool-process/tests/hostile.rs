//! Programs and machines that do ordinary (and less ordinary) Unix things to the pool: closed
//! standard descriptors, forks that hold the wire, stopped workers, descriptor exhaustion,
//! huge payloads, callbacks that wait, stack overflows. Each ends in a clear error on the
//! futures concerned, nothing lost, no hang, and a pool that keeps serving.
//!
//! Cases that change process-wide state (closed descriptors, resource limits, signal
//! dispositions) run in a child process: the test re-executes this binary on one `helper_` test.
#![cfg(target_os = "linux")]

use std::io::Write;
use std::sync::mpsc;

use cfutures_core::Error;
use cfutures_process::ProcessPoolExecutor;
use cfutures_test_support::process::{no_core_dumps, pid, wait_exit};
use cfutures_test_support::{Gate, PATIENCE, gate_wait, helper_active, run_helper, within};

fn pool(workers: usize) -> ProcessPoolExecutor {
    no_core_dumps();
    ProcessPoolExecutor::builder()
        .max_workers(workers)
        .build()
        .unwrap()
}

/// Runs helper `name` in a child process, fails unless it passed, and returns its output.
fn run_passing_helper(name: &str) -> std::process::Output {
    let output = run_helper(name);
    assert!(
        output.status.success(),
        "helper {name} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Kills and reaps (if it is ours) a process a test left behind on purpose.
fn kill_leftover(pid: u32) {
    // SAFETY: kill and waitpid take plain integers.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGKILL);
        libc::waitpid(pid as libc::pid_t, std::ptr::null_mut(), libc::WNOHANG);
    }
    assert!(wait_exit(pid, PATIENCE));
}

// 1. A program that closed stdin before its first pool (as daemons do).

#[test]
#[ignore = "helper: run by a_program_that_closed_stdin_still_starts_workers"]
fn helper_closed_stdin() {
    if !helper_active("helper_closed_stdin") {
        return;
    }
    // SAFETY: closes this helper process's own stdin; nothing else uses it.
    unsafe { libc::close(0) };
    let pool = pool(1);
    let result = pool.submit(pid, ()).unwrap().into_result();
    assert!(result.is_ok(), "{result:?}");
}

#[test]
fn a_program_that_closed_stdin_still_starts_workers() {
    run_passing_helper("helper_closed_stdin");
}

// 2. Someone else holds a wire pipe.

/// Forks a child that sleeps for five minutes (holding every descriptor the worker has) and
/// returns its pid.
fn fork_a_sleeper(_: ()) -> u32 {
    // SAFETY: the child calls only async-signal-safe functions (sleep, _exit).
    unsafe {
        let child = libc::fork();
        if child == 0 {
            libc::sleep(300);
            libc::_exit(0);
        }
        child as u32
    }
}

#[test]
fn a_grandchild_holding_the_wire_does_not_block_shutdown() {
    let pool = pool(1);
    let sleeper = *pool.submit(fork_a_sleeper, ()).unwrap().result().unwrap();
    within(
        "shutdown(wait) with a grandchild holding the wire",
        move || drop(pool),
    );
    kill_leftover(sleeper);
}

#[test]
fn a_fork_of_the_parent_does_not_block_shutdown() {
    let pool = pool(1);
    assert!(pool.submit(pid, ()).unwrap().result().is_ok());
    let sleeper = fork_a_sleeper(());
    within(
        "shutdown(wait) with a forked parent holding the wire",
        move || drop(pool),
    );
    kill_leftover(sleeper);
}

/// Forks a sleeper (which inherits the wire), writes its pid to `pid_file`, then waits at the
/// gate.
fn fork_then_wait((paths, pid_file): ((String, String), String)) -> u32 {
    let sleeper = fork_a_sleeper(());
    std::fs::write(pid_file, sleeper.to_string()).unwrap();
    gate_wait(paths)
}

#[test]
fn kill_workers_fails_the_running_task_even_if_a_grandchild_holds_the_wire() {
    let pool = pool(1);
    let gate = Gate::new();
    let pid_file = std::env::temp_dir().join(format!("cfutures-sleeper-{}", std::process::id()));
    let arg = (gate.arg(), pid_file.to_str().unwrap().to_owned());
    let running = pool.submit(fork_then_wait, arg).unwrap();
    let worker = gate.wait_started();
    let sleeper: u32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    let _ = std::fs::remove_file(&pid_file);
    pool.kill_workers();
    let outcome = within("the killed task's future", move || running.into_result());
    assert!(
        matches!(outcome, Err(Error::WorkerDied { pid, .. }) if pid == worker),
        "{outcome:?}"
    );
    within("dropping the killed pool", move || drop(pool));
    kill_leftover(sleeper);
}

// 3. SIGPIPE in a worker.

fn write_to_a_closed_pipe(_: ()) -> String {
    let (reader, mut writer) = std::io::pipe().unwrap();
    drop(reader);
    match writer.write_all(b"x") {
        Ok(()) => "wrote".into(),
        Err(e) => format!("{:?}", e.kind()),
    }
}

#[test]
fn a_task_writing_to_a_closed_pipe_gets_broken_pipe_as_in_the_parent() {
    let pool = pool(1);
    let result = pool
        .submit(write_to_a_closed_pipe, ())
        .unwrap()
        .into_result();
    assert_eq!(result, Ok("BrokenPipe".to_string()));
}

// 4. terminate_workers with a stopped worker.

#[test]
fn terminate_workers_ends_a_stopped_worker() {
    let pool = pool(1);
    let gate = Gate::new();
    let running = pool.submit(gate_wait, gate.arg()).unwrap();
    let worker = gate.wait_started();
    // SAFETY: stops our own worker process.
    unsafe { libc::kill(worker as libc::pid_t, libc::SIGSTOP) };
    pool.terminate_workers();
    let outcome = within("the stopped worker's future", move || running.into_result());
    assert!(
        matches!(outcome, Err(Error::WorkerDied { pid, .. }) if pid == worker),
        "{outcome:?}"
    );
    within("dropping the terminated pool", move || drop(pool));
}

fn ignore_sigterm_then_wait(paths: (String, String)) -> u32 {
    // SAFETY: sets this worker's own disposition.
    unsafe { libc::signal(libc::SIGTERM, libc::SIG_IGN) };
    gate_wait(paths)
}

#[test]
fn terminate_workers_ends_a_worker_that_ignores_sigterm() {
    let pool = pool(1);
    let gate = Gate::new();
    let running = pool.submit(ignore_sigterm_then_wait, gate.arg()).unwrap();
    let worker = gate.wait_started();
    pool.terminate_workers();
    let outcome = within("the stubborn worker's future", move || {
        running.into_result()
    });
    assert!(
        matches!(outcome, Err(Error::WorkerDied { pid, .. }) if pid == worker),
        "{outcome:?}"
    );
    within("dropping the terminated pool", move || drop(pool));
}

// 5. Running out of file descriptors while the first worker starts.

#[test]
#[ignore = "helper: run by running_out_of_descriptors_once_does_not_break_the_pool"]
fn helper_out_of_descriptors() {
    if !helper_active("helper_out_of_descriptors") {
        return;
    }
    let limit = libc::rlimit {
        rlim_cur: 256,
        rlim_max: 256,
    };
    // SAFETY: setrlimit reads one valid struct; this helper runs in its own process.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    let pool = pool(1);
    let mut hog = Vec::new();
    while let Ok(file) = std::fs::File::open("/dev/null") {
        hog.push(file);
    }
    let first = pool.submit(pid, ()).map(|f| f.into_result());
    match &first {
        Err(Error::Broken(why)) | Ok(Err(Error::Broken(why))) => {
            panic!("a transient failure broke the pool: {why}")
        }
        Ok(Ok(_)) => panic!("the test did not exhaust the descriptors"),
        _ => println!("first submission failed as it should: {first:?}"),
    }
    drop(hog);
    let second = pool.submit(pid, ()).unwrap().into_result();
    assert!(second.is_ok(), "{second:?}");
}

#[test]
fn running_out_of_descriptors_once_does_not_break_the_pool() {
    run_passing_helper("helper_out_of_descriptors");
}

// 6. A large payload's memory is given back.

fn echo(bytes: Vec<u8>) -> Vec<u8> {
    bytes
}

/// Resident set size of process `pid` in bytes.
fn rss(pid: u32) -> usize {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[test]
#[ignore = "helper: run by a_large_payload_is_given_back_in_the_parent_and_the_worker"]
fn helper_large_payload() {
    if !helper_active("helper_large_payload") {
        return;
    }
    const MIB: usize = 1 << 20;
    let pool = pool(1);
    let worker = *pool.submit(pid, ()).unwrap().result().unwrap();
    let before = rss(std::process::id());
    let back = pool
        .submit(echo, vec![7u8; 100 * MIB])
        .unwrap()
        .into_result();
    assert_eq!(back.map(|b| b.len()), Ok(100 * MIB));
    // One more small round trip: every buffer of the big one has been used and released.
    assert!(pool.submit(pid, ()).unwrap().result().is_ok());
    let parent = rss(std::process::id()).saturating_sub(before);
    let child = rss(worker);
    println!(
        "parent grew by {} MiB, worker holds {} MiB",
        parent / MIB,
        child / MIB
    );
    assert!(parent < 30 * MIB, "the parent kept {} MiB", parent / MIB);
    assert!(child < 30 * MIB, "the worker kept {} MiB", child / MIB);
}

#[test]
fn a_large_payload_is_given_back_in_the_parent_and_the_worker() {
    run_passing_helper("helper_large_payload");
}

// 7. kill_workers and tasks that were pipelined but never started.

fn nothing(x: u32) -> u32 {
    x
}

#[test]
fn kill_workers_says_pipelined_tasks_never_started() {
    let pool = pool(1);
    // Many tiny tasks teach the pool to pipeline deeply.
    let warm: Vec<_> = (0..200).map(|i| pool.submit(nothing, i).unwrap()).collect();
    for f in &warm {
        f.result().unwrap();
    }
    let gate = Gate::new();
    let running = pool.submit(gate_wait, gate.arg()).unwrap();
    let behind: Vec<_> = (0..8).map(|i| pool.submit(nothing, i).unwrap()).collect();
    gate.wait_started();
    pool.kill_workers();
    assert!(matches!(running.result(), Err(Error::WorkerDied { .. })));
    let mut pipelined = 0;
    for f in &behind {
        match f.result() {
            Err(Error::Cancelled) => {}
            Err(Error::WorkerDied { .. }) => {
                panic!(
                    "a task that never started failed as if it ran: {:?}",
                    f.result()
                )
            }
            Err(e) => {
                assert!(e.to_string().contains("before this task started"), "{e}");
                pipelined += 1;
            }
            Ok(v) => panic!("a task behind the gate ran: {v}"),
        }
    }
    assert!(
        pipelined > 0,
        "nothing was pipelined; the test proves nothing"
    );
}

// 8. Done-callbacks never block the delivery of replies.

#[test]
fn a_done_callback_waiting_on_a_later_future_of_the_same_worker_does_not_deadlock() {
    let pool = pool(1);
    let gate = Gate::new();
    let first = pool.submit(gate_wait, gate.arg()).unwrap();
    let second = pool.submit(nothing, 2).unwrap();
    let (tx, rx) = mpsc::channel();
    let waited = second.clone();
    first.add_done_callback(move |_| {
        let _ = tx.send(waited.result_timeout(PATIENCE).cloned());
    });
    gate.wait_started();
    gate.release(1);
    let seen = rx
        .recv_timeout(PATIENCE * 2)
        .expect("the callback never ran");
    assert_eq!(seen, Ok(2));
}

// 9. The worker's thread has a name, and a stack overflow says so.

fn thread_name(_: ()) -> String {
    std::fs::read_to_string("/proc/thread-self/comm").unwrap()
}

#[test]
fn the_worker_thread_has_a_name() {
    let pool = pool(1);
    let name = pool.submit(thread_name, ()).unwrap().into_result().unwrap();
    assert_eq!(name.trim_end(), "cfutures-worker");
}

fn recurse(depth: u64) -> u64 {
    let pad = std::hint::black_box([depth; 64]);
    if depth == u64::MAX {
        return pad[0];
    }
    recurse(depth + 1).wrapping_add(pad[1])
}

fn overflow(_: ()) -> u64 {
    recurse(0)
}

#[test]
#[ignore = "helper: run by a_stack_overflow_in_a_task_prints_rusts_message"]
fn helper_stack_overflow() {
    if !helper_active("helper_stack_overflow") {
        return;
    }
    let pool = pool(1);
    let outcome = pool.submit(overflow, ()).unwrap().into_result();
    println!("outcome: {outcome:?}");
    assert!(
        matches!(outcome, Err(Error::WorkerDied { .. })),
        "{outcome:?}"
    );
    assert!(pool.submit(pid, ()).unwrap().result().is_ok());
}

#[test]
fn a_stack_overflow_in_a_task_prints_rusts_message() {
    let output = run_passing_helper("helper_stack_overflow");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("thread 'cfutures-worker' has overflowed its stack"),
        "{stderr}"
    );
}

// Beyond the listed failures: tasks that take the worker's process into their own hands,
// frame limits at the top of the range, a parent whose children someone else reaps, and
// other constructors running first. Each task's future gets a clear error, the others their
// values, and the pool keeps serving.

/// Asserts that `future` failed with `WorkerDied` and returns how the worker ended.
fn died<T: Clone + std::fmt::Debug>(future: cfutures_core::Future<T>) -> cfutures_core::ExitReason {
    match future.into_result() {
        Err(Error::WorkerDied { reason, .. }) => reason,
        other => panic!("expected WorkerDied, got {other:?}"),
    }
}

/// Closes every descriptor above stdio: the wire (and the started counter's descriptor).
fn close_the_wire(_: ()) -> u32 {
    for fd in 3..4096 {
        // SAFETY: closing descriptors this worker process owns; that is the hostile part.
        unsafe { libc::close(fd) };
    }
    1
}

#[test]
fn a_task_that_closes_its_wire_fails_alone() {
    let pool = pool(1);
    let before = pool.submit(pid, ()).unwrap();
    let closer = pool.submit(close_the_wire, ()).unwrap();
    let after = pool.submit(pid, ()).unwrap();
    within("a task closing its wire", move || {
        let first = *before.result().unwrap();
        died(closer);
        let next = *after.result().unwrap();
        assert_ne!(first, next, "a replacement worker ran the next task");
        assert!(pool.submit(pid, ()).unwrap().result().is_ok());
    });
}

/// Replaces the worker's program with a shell running `script`.
fn exec_a_shell(script: String) -> u32 {
    use std::os::unix::process::CommandExt;
    let error = std::process::Command::new("/bin/sh")
        .args(["-c", &script])
        .exec();
    panic!("exec failed: {error}")
}

#[test]
fn a_task_that_execs_fails_with_how_the_new_program_ended() {
    let pool = pool(1);
    let quick = pool.submit(exec_a_shell, "exit 3".to_string()).unwrap();
    // The wire is close-on-exec, so a program that lives on is seen to have closed it.
    let lingering = pool.submit(exec_a_shell, "sleep 300".to_string()).unwrap();
    within("a task that execs", move || {
        assert_eq!(died(quick), cfutures_core::ExitReason::Code(3));
        died(lingering);
        assert!(pool.submit(pid, ()).unwrap().result().is_ok());
    });
}

fn new_session(_: ()) -> (u32, i32) {
    // SAFETY: setsid takes no arguments.
    (std::process::id(), unsafe { libc::setsid() })
}

#[test]
fn a_task_that_calls_setsid_is_still_served_and_terminated() {
    let pool = pool(1);
    let (worker, session) = *pool.submit(new_session, ()).unwrap().result().unwrap();
    assert_eq!(session, worker as i32, "the worker leads a new session");
    assert_eq!(*pool.submit(pid, ()).unwrap().result().unwrap(), worker);
    pool.terminate_workers();
    within("drop after terminate_workers", move || drop(pool));
    assert!(wait_exit(worker, PATIENCE));
}

fn length(bytes: Vec<u8>) -> usize {
    bytes.len()
}

#[test]
fn a_frame_limit_at_4_gib_serves_and_one_past_it_is_refused() {
    let past = ProcessPoolExecutor::builder()
        .max_frame_size(u32::MAX as usize + 1)
        .build();
    assert!(matches!(past, Err(Error::InvalidArgument(_))), "{past:?}");
    let pool = ProcessPoolExecutor::builder()
        .max_workers(1)
        .max_frame_size(u32::MAX as usize)
        .build()
        .unwrap();
    let sent = vec![7u8; 3 << 20];
    assert_eq!(pool.submit(length, sent).unwrap().result(), Ok(&(3 << 20)));
}

fn exit_with(code: i32) -> u32 {
    std::process::exit(code)
}

/// The pool's worker dies while someone else can reap it first; its future still fails.
fn a_dead_worker_still_fails_its_future() {
    let pool = pool(1);
    assert!(pool.submit(pid, ()).unwrap().result().is_ok());
    let dying = pool.submit(exit_with, 3).unwrap();
    let reason = within("a worker reaped by someone else", move || died(dying));
    println!("reason: {reason}");
    assert!(pool.submit(pid, ()).unwrap().result().is_ok());
}

#[test]
#[ignore = "helper: run by a_parent_ignoring_sigchld_still_learns_of_dead_workers"]
fn helper_sigchld_ignored() {
    if !helper_active("helper_sigchld_ignored") {
        return;
    }
    // SAFETY: sets this helper process's own disposition before it starts any thread.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_IGN) };
    a_dead_worker_still_fails_its_future();
}

#[test]
fn a_parent_ignoring_sigchld_still_learns_of_dead_workers() {
    run_passing_helper("helper_sigchld_ignored");
}

#[test]
#[ignore = "helper: run by a_thread_reaping_every_child_does_not_hide_dead_workers"]
fn helper_reaping_thread() {
    if !helper_active("helper_reaping_thread") {
        return;
    }
    std::thread::spawn(|| {
        loop {
            // SAFETY: waitpid with a null status pointer is allowed.
            if unsafe { libc::waitpid(-1, std::ptr::null_mut(), 0) } < 0 {
                // No child right now (ECHILD): a hostile reaper keeps trying.
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
    });
    a_dead_worker_still_fails_its_future();
}

#[test]
fn a_thread_reaping_every_child_does_not_hide_dead_workers() {
    run_passing_helper("helper_reaping_thread");
}

/// Another library's ELF constructor, ordered before this crate's (prioritised `.init_array`
/// entries run first): it starts a thread, as runtimes and tracers do.
static EARLY_CONSTRUCTOR_RAN: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

extern "C" fn early_constructor() {
    std::thread::spawn(|| {
        loop {
            std::thread::park();
        }
    });
    EARLY_CONSTRUCTOR_RAN.store(true, std::sync::atomic::Ordering::SeqCst);
}

#[used]
#[unsafe(link_section = ".init_array.00100")]
static EARLY_CONSTRUCTOR: extern "C" fn() = early_constructor;

fn early_constructor_ran(_: ()) -> bool {
    EARLY_CONSTRUCTOR_RAN.load(std::sync::atomic::Ordering::SeqCst)
}

#[test]
fn a_constructor_running_before_ours_does_not_stop_workers() {
    let pool = pool(1);
    let ran = pool
        .submit(early_constructor_ran, ())
        .unwrap()
        .into_result();
    assert_eq!(
        ran,
        Ok(true),
        "the other constructor ran first, in the worker too"
    );
    assert!(pool.submit(pid, ()).unwrap().result().is_ok());
}
