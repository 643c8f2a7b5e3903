//! Fixtures shared by the facade's reliability suite: CPython's canned futures (`util.py`),
//! `threading.Event`/`Semaphore` stand-ins, a gate that works across processes, process
//! helpers (zombie scan, waiting for a pid to exit) and the self-reinvoking helper pattern.
#![allow(dead_code, unused_macros)]

use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, Once};
use std::time::{Duration, Instant};

use cfutures::process::ProcessPoolExecutor;
use cfutures::thread::ThreadPoolExecutor;
use cfutures::{Error, Future, Promise};

/// How long anything that should happen "at once" may take before a test fails instead of
/// hanging (CPython's `support.SHORT_TIMEOUT` is 30 s; two noisy shared cores get more).
pub const PATIENCE: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------
// CPython's `util.py` fixtures: one future in each state.

/// `PENDING_FUTURE`, `RUNNING_FUTURE`, `CANCELLED_FUTURE`, `EXCEPTION_FUTURE`,
/// `SUCCESSFUL_FUTURE` (`CANCELLED_AND_NOTIFIED_FUTURE` is `cancelled`: cancelling notifies
/// at once here). The promises of the unfinished ones are kept so they stay unfinished.
pub struct Canned {
    pub pending: Future<i32>,
    pub running: Future<i32>,
    pub cancelled: Future<i32>,
    pub exception: Future<i32>,
    pub successful: Future<i32>,
    _keep: Vec<Promise<i32>>,
}

impl Canned {
    pub fn new() -> Self {
        let (pending_promise, pending) = Promise::new();
        let (running_promise, running) = Promise::new();
        assert!(running_promise.set_running_or_notify_cancel());
        let (cancel_promise, cancelled) = Promise::new();
        assert!(cancelled.cancel());
        let (exception_promise, exception) = Promise::new();
        exception_promise
            .set_error(Error::other(std::io::Error::other("OSError")))
            .unwrap();
        let (successful_promise, successful) = Promise::new();
        successful_promise.set_result(42).unwrap();
        Canned {
            pending,
            running,
            cancelled,
            exception,
            successful,
            _keep: vec![pending_promise, running_promise, cancel_promise],
        }
    }
}

// ---------------------------------------------------------------------------------------
// Python's `threading.Event` and `threading.Semaphore`.

/// Python's `threading.Event`.
#[derive(Clone, Default)]
pub struct Event(Arc<(Mutex<bool>, Condvar)>);

impl Event {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(&self) {
        *self.0.0.lock().unwrap() = true;
        self.0.1.notify_all();
    }

    pub fn is_set(&self) -> bool {
        *self.0.0.lock().unwrap()
    }

    /// Waits until set; false if `timeout` passed first.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut set = self.0.0.lock().unwrap();
        while !*set {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            set = self.0.1.wait_timeout(set, deadline - now).unwrap().0;
        }
        true
    }

    /// Waits until set, failing the test after [`PATIENCE`] rather than hanging it.
    pub fn wait(&self) {
        assert!(self.wait_timeout(PATIENCE), "the event was never set");
    }
}

/// Python's `threading.Semaphore`.
#[derive(Clone)]
pub struct Semaphore(Arc<(Mutex<usize>, Condvar)>);

impl Semaphore {
    pub fn new(permits: usize) -> Self {
        Semaphore(Arc::new((Mutex::new(permits), Condvar::new())))
    }

    pub fn acquire(&self) {
        let deadline = Instant::now() + PATIENCE;
        let mut permits = self.0.0.lock().unwrap();
        while *permits == 0 {
            let now = Instant::now();
            assert!(now < deadline, "the semaphore was never released");
            permits = self.0.1.wait_timeout(permits, deadline - now).unwrap().0;
        }
        *permits -= 1;
    }

    pub fn release(&self, n: usize) {
        *self.0.0.lock().unwrap() += n;
        self.0.1.notify_all();
    }
}

// ---------------------------------------------------------------------------------------
// A gate for process-pool tasks (Python's `manager.Event()`), built on two named pipes.
//
// The test side keeps both FIFOs open read-write, so a task never blocks opening them, bytes
// written before a task arrives wait in the pipe, and dropping the gate (end of file) frees
// every task still waiting: a failing test cannot leave a worker blocked forever.

/// The test's side of a gate: learns when gated tasks start, and lets them go.
pub struct Gate {
    started_path: PathBuf,
    release_path: PathBuf,
    started: File,
    release: File,
    buffered: Mutex<String>,
}

/// What a gated task needs: the two FIFO paths.
pub type GateArg = (String, String);

fn open_fifo(path: &PathBuf) -> File {
    let c = CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only reads it.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(
        rc,
        0,
        "mkfifo {path:?}: {}",
        std::io::Error::last_os_error()
    );
    // Read-write: never blocks on open, and keeps the FIFO alive for both sides.
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap()
}

impl Gate {
    pub fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let base = std::env::temp_dir().join(format!("cfutures-suite-{}-{n}", std::process::id()));
        let started_path = base.with_extension("started");
        let release_path = base.with_extension("release");
        Gate {
            started: open_fifo(&started_path),
            release: open_fifo(&release_path),
            started_path,
            release_path,
            buffered: Mutex::new(String::new()),
        }
    }

    /// The argument of [`gate_wait`] and [`gate_return`].
    pub fn arg(&self) -> GateArg {
        (
            self.started_path.to_str().unwrap().to_owned(),
            self.release_path.to_str().unwrap().to_owned(),
        )
    }

    /// Waits until one more gated task has started; returns its worker's pid.
    pub fn wait_started(&self) -> u32 {
        self.try_wait_started(PATIENCE)
            .expect("no gated task started in time")
    }

    /// As [`wait_started`](Self::wait_started), `None` after `timeout`.
    pub fn try_wait_started(&self, timeout: Duration) -> Option<u32> {
        let deadline = Instant::now() + timeout;
        let mut buffered = self.buffered.lock().unwrap();
        loop {
            if let Some(end) = buffered.find('\n') {
                let line: String = buffered.drain(..=end).collect();
                return Some(line.trim().parse().unwrap());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            let mut pfd = libc::pollfd {
                fd: self.started.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let n =
                unsafe { libc::poll(&mut pfd, 1, left.as_millis().min(i32::MAX as u128) as i32) };
            if n == 1 {
                let mut chunk = [0u8; 256];
                let read = (&self.started).read(&mut chunk).unwrap();
                buffered.push_str(std::str::from_utf8(&chunk[..read]).unwrap());
            }
        }
    }

    /// Lets `n` gated tasks (present or future) through.
    pub fn release(&self, n: usize) {
        (&self.release).write_all(&vec![b'g'; n]).unwrap();
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.started_path);
        let _ = std::fs::remove_file(&self.release_path);
    }
}

/// A process task: announces its pid through the gate, then waits until released (or until
/// the gate is dropped). Returns its pid.
pub fn gate_wait(arg: GateArg) -> u32 {
    let pid = std::process::id();
    let mut started = std::fs::OpenOptions::new()
        .write(true)
        .open(&arg.0)
        .unwrap();
    started.write_all(format!("{pid}\n").as_bytes()).unwrap();
    drop(started);
    let mut release = File::open(&arg.1).unwrap();
    let mut byte = [0u8; 1];
    let _ = release.read(&mut byte);
    pid
}

/// As [`gate_wait`], returning `value` (CPython's `_report_wait_return`).
pub fn gate_return((arg, value): (GateArg, u64)) -> u64 {
    gate_wait(arg);
    value
}

/// A process task: the pid of the worker that runs it.
pub fn pid(_: ()) -> u32 {
    std::process::id()
}

/// CPython's `mul`.
pub fn mul((x, y): (i64, i64)) -> i64 {
    x * y
}

/// CPython's `divmod`, panicking on a zero divisor like Python's `ZeroDivisionError`.
pub fn divmod((a, b): (i64, i64)) -> (i64, i64) {
    if b == 0 {
        panic!("expected: integer division or modulo by zero");
    }
    (a / b, a % b)
}

/// CPython's `pow` on the tests' small numbers.
pub fn pow((base, exp): (u64, u32)) -> u64 {
    base.pow(exp)
}

// ---------------------------------------------------------------------------------------
// Panics the tests cause on purpose.

/// Keeps the panics the tests cause on purpose (messages starting with `expected:`) off
/// stderr; every other panic is printed by the default hook as usual.
pub fn quiet_expected_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
            if !message.is_some_and(|m| m.starts_with("expected:")) {
                default(info);
            }
        }));
    });
}

// ---------------------------------------------------------------------------------------
// Processes.

/// Children of this process that are zombies (exited, not reaped), by pid.
pub fn zombie_children() -> Vec<u32> {
    let me = std::process::id();
    let mut zombies = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let mut fields = after.split_whitespace();
        let (Some(state), Some(ppid)) = (fields.next(), fields.next()) else {
            continue;
        };
        if ppid.parse::<u32>() == Ok(me) && state == "Z" {
            zombies.push(pid);
        }
    }
    zombies
}

/// Waits (without polling) until process `pid`, not necessarily our child, has exited.
/// False if it is still alive after `timeout`.
pub fn wait_exit(pid: u32, timeout: Duration) -> bool {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) } as i32;
    if fd < 0 {
        // Already gone (ESRCH).
        return std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
    }
    // SAFETY: pidfd_open returned a descriptor we now own.
    let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = unsafe {
        libc::poll(
            &mut pfd,
            1,
            timeout.as_millis().min(i32::MAX as u128) as i32,
        )
    };
    n == 1
}

/// True if `pid` is not a child of ours awaiting reaping (it was reaped, or never was ours).
/// Reaps it if it was a zombie, so call it only for pids the pool should have reaped.
pub fn reaped(pid: u32) -> bool {
    let mut status = 0;
    // SAFETY: waitpid with WNOHANG only writes `status`.
    let rc = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, libc::WNOHANG) };
    rc == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD)
}

/// Sends `signal` to `pid` only if it is, at this instant, a child of this process (a worker
/// of one of our pools). A pidfd pins the process, so a pid reused by another process after
/// its reaping cannot be hit. True if the signal was sent.
pub fn signal_own_child(pid: u32, signal: i32) -> bool {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) } as i32;
    if fd < 0 {
        return false;
    }
    // SAFETY: pidfd_open returned a descriptor we now own.
    let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    // The pidfd names one process for good; check that *it* is ours. (If it died and the pid
    // was reused since, /proc shows the new process and the check may pass or fail, but the
    // signal below goes to the dead one and is refused.)
    let ours = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let after = &stat[stat.rfind(')')? + 1..];
            after.split_whitespace().nth(1)?.parse::<u32>().ok()
        })
        == Some(std::process::id());
    if !ours {
        return false;
    }
    // SAFETY: pidfd_send_signal with a valid pidfd, a signal number, no siginfo, no flags.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    rc == 0
}

/// Makes core dumps of this process (a worker about to crash on purpose) impossible, so a
/// thousand deliberate crashes write no thousand core files.
pub fn no_core_dumps() {
    let limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit reads one valid rlimit.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &limit) };
}

// ---------------------------------------------------------------------------------------
// The self-reinvoking helper pattern: a test runs its own executable, filtered to one test
// (often itself) that acts as a small program when this variable names it. Helpers that are
// only programs are `#[ignore]`d and do nothing without the variable, so
// `cargo test -- --ignored` runs them as harmless no-ops.

/// The environment variable that activates a helper.
pub const HELPER_ENV: &str = "CFUTURES_SUITE_HELPER";

/// True inside the child process started by [`helper_command`] for `name`.
pub fn helper_active(name: &str) -> bool {
    std::env::var(HELPER_ENV).is_ok_and(|v| v == name)
}

/// A command that runs this test executable as the helper `name` (a test, ignored or not).
pub fn helper_command(name: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--include-ignored",
            "--exact",
            name,
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HELPER_ENV, name);
    command
}

/// Runs helper `name` to completion and returns its output.
pub fn run_helper(name: &str) -> Output {
    helper_command(name).output().unwrap()
}

/// The lines helper `name` printed, without the test harness's own text around them (with
/// `--nocapture` the harness writes `test NAME ... ` before the test runs and `ok` after).
pub fn program_lines(stdout: &[u8], name: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(stdout).replace(&format!("test {name} ... "), "\n");
    text.lines()
        .map(str::trim_end)
        .filter(|l| {
            !(l.is_empty()
                || *l == "ok"
                || l.starts_with("running 1 test")
                || l.starts_with("test result:"))
        })
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------------------------------
// CPython runs most modules once per executor kind; so do we, through this trait. The tasks
// all yield `i32` so their futures mix with the canned ones in one `wait`/`as_completed`.

/// CPython's `mul`, for both kinds of pool.
pub fn mul_i32((x, y): (i32, i32)) -> i32 {
    x * y
}

/// CPython's `divmod` quotient, panicking on a zero divisor like `ZeroDivisionError`.
pub fn div_i32((a, b): (i32, i32)) -> i32 {
    if b == 0 {
        panic!("expected: integer division or modulo by zero");
    }
    a / b
}

/// `event.wait` as a task: blocks at the gate, then returns 0.
pub fn gated_i32(arg: GateArg) -> i32 {
    gate_wait(arg);
    0
}

/// CPython's `wait_and_raise`: blocks at the gate, then fails.
pub fn gated_raise_i32(arg: GateArg) -> i32 {
    gate_wait(arg);
    panic!("expected: this is an exception")
}

/// The executor under test: a thread pool or a process pool.
pub trait Exec {
    fn mul(&self, x: i32, y: i32) -> Future<i32>;
    fn div(&self, a: i32, b: i32) -> Future<i32>;
    fn gated(&self, gate: &Gate) -> Future<i32>;
    fn gated_raise(&self, gate: &Gate) -> Future<i32>;
}

impl Exec for ThreadPoolExecutor {
    fn mul(&self, x: i32, y: i32) -> Future<i32> {
        self.submit(move || mul_i32((x, y))).unwrap()
    }
    fn div(&self, a: i32, b: i32) -> Future<i32> {
        quiet_expected_panics();
        self.submit(move || div_i32((a, b))).unwrap()
    }
    fn gated(&self, gate: &Gate) -> Future<i32> {
        let arg = gate.arg();
        self.submit(move || gated_i32(arg)).unwrap()
    }
    fn gated_raise(&self, gate: &Gate) -> Future<i32> {
        quiet_expected_panics();
        let arg = gate.arg();
        self.submit(move || gated_raise_i32(arg)).unwrap()
    }
}

impl Exec for ProcessPoolExecutor {
    fn mul(&self, x: i32, y: i32) -> Future<i32> {
        self.submit(mul_i32, (x, y)).unwrap()
    }
    fn div(&self, a: i32, b: i32) -> Future<i32> {
        self.submit(div_i32, (a, b)).unwrap()
    }
    fn gated(&self, gate: &Gate) -> Future<i32> {
        self.submit(gated_i32, gate.arg()).unwrap()
    }
    fn gated_raise(&self, gate: &Gate) -> Future<i32> {
        self.submit(gated_raise_i32, gate.arg()).unwrap()
    }
}

/// CPython's `ExecutorMixin` with `worker_count` workers: a thread pool.
pub fn thread_pool(workers: usize) -> ThreadPoolExecutor {
    ThreadPoolExecutor::new(workers).unwrap()
}

/// CPython's `ExecutorMixin` with `worker_count` workers: a process pool.
pub fn process_pool(workers: usize) -> ProcessPoolExecutor {
    ProcessPoolExecutor::builder()
        .max_workers(workers)
        .build()
        .unwrap()
}

/// Runs each listed generic case `fn case(&impl Exec)` once per executor kind, as CPython's
/// `create_executor_tests` does: tests `case::thread` and `case::process`.
macro_rules! on_both_pools {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[test]
            fn thread() {
                super::$case(&crate::common::thread_pool(5));
            }
            #[test]
            fn process() {
                super::$case(&crate::common::process_pool(5));
            }
        }
    )*};
}

// ---------------------------------------------------------------------------------------
// Randomness for the stress and fault streams, without a dependency.

/// SplitMix64: small, fast, and reproducible from the seed it prints.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `CFUTURES_SEED` if set, else from the clock; prints the seed so a failing
    /// run can be repeated.
    pub fn from_env(what: &str) -> Self {
        let seed = std::env::var("CFUTURES_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        eprintln!("{what}: CFUTURES_SEED={seed}");
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A count from the environment variable `name`, or `default`.
pub fn count_from_env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
