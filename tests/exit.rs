//! Shutdown and exit: a program that exits while tasks still run, and Ctrl-C (SIGINT) while a
//! program waits in `shutdown(wait = true)`. Each case runs this test executable again as a
//! small program (an `#[ignore]`d helper test activated by `cfutures_test_support::HELPER_ENV`) and watches
//! it from outside.
//!
//! The behaviour asserted (and documented in the README):
//! - `std::process::exit` (or returning from `main` while pools live in statics or were
//!   leaked) ends the program at once, whatever tasks still run: nothing joins them. Results
//!   already printed are not lost; process-pool workers die with the program (their
//!   parent-death signal is `SIGKILL`) and none is left running or unreaped.
//! - cfutures installs no signal handler. SIGINT has its default effect, also during
//!   `shutdown(wait = true)`: the program terminates at once, and its workers die with it as
//!   above. A terminal's Ctrl-C signals the whole foreground process group, workers included,
//!   which ends the same way. Programs that want a graceful Ctrl-C install their own handler
//!   and call `shutdown(Shutdown::NO_WAIT.cancel_futures())` or `kill_workers()` from their main thread.
//!
//! The SIGINT helper resets SIGINT to its default first: a test run started with SIGINT
//! ignored (`nohup cargo test &`, a script's background job) hands that disposition down
//! through `exec`, and the case then checks it also holds when started that way.
//!
//! The test process makes itself a *child subreaper*, so the workers of the programs it starts
//! become its own children when those programs die; it can then reap them and check how they
//! ended, and that no zombie is left.

use cfutures::Shutdown;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Stdio};
use std::sync::{Mutex, mpsc};
use std::time::Duration;

use cfutures::helpers::as_completed;
use cfutures::process::ProcessPoolExecutor;
use cfutures::thread::ThreadPoolExecutor;
use cfutures_test_support::process::{wait_exit, zombie_children};
use cfutures_test_support::{Gate, GateArg, PATIENCE, helper_active, helper_command};

/// The cases run one at a time: each checks for zombie children of this process.
static SERIAL: Mutex<()> = Mutex::new(());

fn square(x: u64) -> u64 {
    x * x
}

/// A process task that says it started, then runs "for ever" (an hour).
fn announce_and_hang(gate: GateArg) -> u32 {
    let mut started = std::fs::OpenOptions::new()
        .write(true)
        .open(&gate.0)
        .unwrap();
    // One write, so lines of concurrent tasks never interleave.
    started
        .write_all(format!("{}\n", std::process::id()).as_bytes())
        .unwrap();
    drop(started);
    std::thread::sleep(Duration::from_secs(3600));
    0
}

/// Starts the long-running tasks of the child programs: one per process worker and one on
/// the thread pool, each known to be running when this returns. Prints the worker pids.
/// `processes` must be fresh: a pool that has measured quick tasks pipelines work to busy
/// workers (see `test_process_pool::a_task_does_not_wait_behind_a_long_one_while_a_worker_idles`).
fn start_endless_work(threads: &ThreadPoolExecutor, processes: &ProcessPoolExecutor) -> Vec<u32> {
    let (started_tx, started) = mpsc::channel();
    let (_never_tx, never) = mpsc::channel::<()>();
    let never = Mutex::new(never);
    drop(
        threads
            .submit(move || {
                started_tx.send(()).unwrap();
                let _ = never.lock().unwrap().recv();
            })
            .unwrap(),
    );
    started.recv().unwrap();
    std::mem::forget(_never_tx);
    let gate = Gate::new();
    for _ in 0..processes.max_workers() {
        drop(processes.submit(announce_and_hang, gate.arg()).unwrap());
    }
    let pids: Vec<u32> = (0..processes.max_workers())
        .map(|_| gate.wait_started())
        .collect();
    // Removes the FIFOs; the tasks never read from them again.
    drop(gate);
    pids
}

/// Prints the pids of every worker process of this program.
fn print_workers(pids: impl IntoIterator<Item = u32>) {
    let pids: Vec<String> = pids.into_iter().map(|p| p.to_string()).collect();
    println!("workers {}", pids.join(" "));
}

/// In a helper program: a failure aborts at once, instead of unwinding into the drop of a pool
/// that would wait for the endless tasks.
fn abort_on_panic() {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("helper program: {info}");
        std::process::abort();
    }));
}

/// In a helper program: SIGINT gets its default effect, whatever disposition the program
/// inherited. An ignored SIGINT survives `exec`, so a test run started in the background
/// (`nohup cargo test &`, a script's `cmd &`) would hand it to the program, which would then
/// ignore the signal the test sends it. Its process workers, started later, inherit the default.
fn default_sigint() {
    // SAFETY: `signal` with a valid signal number and `SIG_DFL` touches no memory; no handler
    // of this program is replaced (cfutures installs none).
    let previous = unsafe { libc::signal(libc::SIGINT, libc::SIG_DFL) };
    assert_ne!(
        previous,
        libc::SIG_ERR,
        "{}",
        std::io::Error::last_os_error()
    );
}

/// A child program that is killed if the test fails before reaping it.
struct Program(Child);

impl Drop for Program {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Makes this process the reaper of its orphaned descendants.
fn become_subreaper() {
    // SAFETY: prctl(PR_SET_CHILD_SUBREAPER, 1) takes integers and touches no memory.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
}

/// Reads the child's stdout lines on a thread of its own.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(mut line) = line else { break };
            // With `--nocapture` the harness's `test NAME ... ` precedes the first line.
            if let Some(at) = line.find(" ... ") {
                line = line[at + 5..].to_owned();
            }
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits (bounded) for a line starting with `prefix`; returns it. Collects every line seen.
fn expect_line(lines: &mpsc::Receiver<String>, prefix: &str, seen: &mut Vec<String>) -> String {
    loop {
        let line = lines
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|_| panic!("no line {prefix:?} from the child; saw {seen:?}"));
        seen.push(line.clone());
        if let Some(at) = line.find(prefix) {
            return line[at..].to_owned();
        }
    }
}

/// The worker pids from a `workers 12 34` line.
fn worker_pids(line: &str) -> Vec<u32> {
    line.trim_start_matches("workers ")
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect()
}

/// Waits until `child` exits (bounded) and returns how.
fn wait_child(child: &mut Child) -> std::process::ExitStatus {
    assert!(
        wait_exit(child.id(), PATIENCE),
        "the child program did not exit"
    );
    child.wait().unwrap()
}

/// Asserts that every worker exited, then reaps it (an orphan of the dead program, it is our
/// child now) and returns how it ended.
fn reap_orphaned_workers(pids: &[u32]) -> Vec<std::process::ExitStatus> {
    pids.iter()
        .map(|&pid| {
            assert!(
                wait_exit(pid, PATIENCE),
                "worker {pid} outlived its program"
            );
            let mut status = 0;
            // SAFETY: waitpid on one pid, writing `status`.
            let rc = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
            assert_eq!(
                rc, pid as libc::pid_t,
                "worker {pid} was not re-parented to us"
            );
            std::process::ExitStatus::from_raw(status)
        })
        .collect()
}

/// A worker whose program died ends by its parent-death signal (`SIGKILL`), by the signal
/// the terminal sent its process group, or by exiting when its pipe closed.
fn assert_died_with_its_program(status: std::process::ExitStatus, group_signal: Option<i32>) {
    let by_signal = status.signal();
    assert!(
        by_signal == Some(libc::SIGKILL)
            || (by_signal.is_some() && by_signal == group_signal)
            || status.code() == Some(0),
        "worker ended as {status:?}"
    );
}

#[test]
#[ignore = "helper program: run by `exit_with_tasks_running_loses_no_result_and_leaves_no_worker`"]
fn helper_exit_with_tasks_running() {
    if !helper_active("helper_exit_with_tasks_running") {
        return;
    }
    abort_on_panic();
    let threads = ThreadPoolExecutor::new(2).unwrap();
    let processes = ProcessPoolExecutor::builder()
        .max_workers(2)
        .build()
        .unwrap();
    let thread_futures: Vec<_> = (1..=5u64)
        .map(|i| threads.submit(move || square(i)).unwrap())
        .collect();
    let process_futures: Vec<_> = (1..=5u64)
        .map(|i| processes.submit(square, i).unwrap())
        .collect();
    for f in as_completed(thread_futures, Some(PATIENCE)) {
        println!("thread result {}", f.unwrap().result().unwrap());
    }
    for f in as_completed(process_futures, Some(PATIENCE)) {
        println!("process result {}", f.unwrap().result().unwrap());
    }
    let endless = ProcessPoolExecutor::builder()
        .max_workers(2)
        .build()
        .unwrap();
    let mut pids = start_endless_work(&threads, &endless);
    pids.extend(processes.worker_pids());
    print_workers(pids);
    println!("exiting");
    std::process::exit(0);
}

#[test]
fn exit_with_tasks_running_loses_no_result_and_leaves_no_worker() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    become_subreaper();
    let mut program = Program(
        helper_command("helper_exit_with_tasks_running")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let child = &mut program.0;
    let lines = lines_of(child);
    let mut seen = Vec::new();
    let workers = worker_pids(&expect_line(&lines, "workers ", &mut seen));
    expect_line(&lines, "exiting", &mut seen);
    let status = wait_child(child);
    assert_eq!(status.code(), Some(0), "{status:?}");
    // Every finished result was printed before the exit, none lost.
    let mut results: Vec<&String> = seen.iter().filter(|l| l.contains(" result ")).collect();
    results.sort();
    let mut want: Vec<String> = (1..=5u64)
        .flat_map(|i| {
            [
                format!("process result {}", i * i),
                format!("thread result {}", i * i),
            ]
        })
        .collect();
    want.sort();
    assert_eq!(results, want.iter().collect::<Vec<_>>());
    // Two endless tasks hold a worker each; the quick pool starts its workers on demand (as
    // CPython's does), so one of them may have run all five squares.
    assert!((3..=4).contains(&workers.len()), "{workers:?}");
    for status in reap_orphaned_workers(&workers) {
        assert_died_with_its_program(status, None);
    }
    assert_eq!(zombie_children(), Vec::<u32>::new());
}

#[test]
#[ignore = "helper program: run by the `sigint_during_shutdown_*` tests"]
fn helper_sigint_during_shutdown() {
    if !helper_active("helper_sigint_during_shutdown") {
        return;
    }
    abort_on_panic();
    default_sigint();
    let threads = ThreadPoolExecutor::new(2).unwrap();
    let processes = ProcessPoolExecutor::builder()
        .max_workers(2)
        .build()
        .unwrap();
    print_workers(start_endless_work(&threads, &processes));
    println!("shutting down");
    std::io::stdout().flush().unwrap();
    // Waits for tasks that never end: only a signal ends this program now.
    processes.shutdown(Shutdown::WAIT);
    threads.shutdown(Shutdown::WAIT);
    println!("shutdown returned");
}

/// How the SIGINT helper is started.
#[derive(Clone, Copy)]
enum Start {
    /// With the SIGINT disposition of this test run.
    Inherited,
    /// With SIGINT ignored, as a background job of a script or under `nohup` starts it.
    SigintIgnored,
}

/// Runs the SIGINT helper, sends SIGINT once it waits in `shutdown(wait = true)` (to its
/// process group, like a terminal's Ctrl-C, if `group`), and checks that it and its workers
/// die promptly and leave nothing behind.
fn sigint_during_shutdown(group: bool, start: Start) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    become_subreaper();
    let mut command = helper_command("helper_sigint_during_shutdown");
    command.stdout(Stdio::piped());
    if group {
        command.process_group(0);
    }
    if let Start::SigintIgnored = start {
        // SAFETY: runs in the forked child before exec; `signal` is async-signal-safe and
        // touches no memory of the parent.
        unsafe {
            command.pre_exec(|| {
                if libc::signal(libc::SIGINT, libc::SIG_IGN) == libc::SIG_ERR {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut program = Program(command.spawn().unwrap());
    let child = &mut program.0;
    let lines = lines_of(child);
    let mut seen = Vec::new();
    let workers = worker_pids(&expect_line(&lines, "workers ", &mut seen));
    expect_line(&lines, "shutting down", &mut seen);
    let target = if group {
        -(child.id() as libc::pid_t)
    } else {
        child.id() as libc::pid_t
    };
    // SAFETY: kill with our own child's pid (or its process group), not yet reaped.
    assert_eq!(unsafe { libc::kill(target, libc::SIGINT) }, 0);
    let status = wait_child(child);
    assert_eq!(status.signal(), Some(libc::SIGINT), "{status:?}");
    let mut rest = String::new();
    let _ = child.stdout.take().map(|mut s| s.read_to_string(&mut rest));
    assert!(!seen.iter().any(|l| l.contains("shutdown returned")));
    let group_signal = group.then_some(libc::SIGINT);
    for status in reap_orphaned_workers(&workers) {
        assert_died_with_its_program(status, group_signal);
    }
    assert_eq!(zombie_children(), Vec::<u32>::new());
}

#[test]
fn sigint_during_shutdown_terminates_the_program_and_its_workers() {
    sigint_during_shutdown(false, Start::Inherited);
}

#[test]
fn ctrl_c_to_the_process_group_during_shutdown_ends_everything() {
    sigint_during_shutdown(true, Start::Inherited);
}

/// The program under test sets the default disposition itself, so the cases above do not
/// depend on how the test run was started (`nohup cargo test &` ignores SIGINT).
#[test]
fn the_sigint_cases_hold_when_started_with_sigint_ignored() {
    sigint_during_shutdown(false, Start::SigintIgnored);
    sigint_during_shutdown(true, Start::SigintIgnored);
}
