//! Helpers shared by the integration tests: a gate a task waits at, across processes.
#![allow(dead_code)]

use std::ffi::CString;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// How long a test waits for something that should happen at once before failing (instead
/// of hanging).
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Two named pipes: a task announces it started (sending its pid) through one and waits on
/// the other until the test releases it. Lets tests know a task is running in a worker
/// without sleeping.
pub struct Gate {
    started: PathBuf,
    release: PathBuf,
}

fn mkfifo(path: &PathBuf) {
    let c = CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(
        rc,
        0,
        "mkfifo {path:?}: {}",
        std::io::Error::last_os_error()
    );
}

impl Gate {
    pub fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir();
        let base = format!("cfutures-gate-{}-{n}", std::process::id());
        let gate = Gate {
            started: dir.join(format!("{base}-started")),
            release: dir.join(format!("{base}-release")),
        };
        mkfifo(&gate.started);
        mkfifo(&gate.release);
        gate
    }

    /// The argument of [`gated`].
    pub fn arg(&self) -> (String, String) {
        (
            self.started.to_str().unwrap().to_owned(),
            self.release.to_str().unwrap().to_owned(),
        )
    }

    /// Waits until a task entered [`gated`]; returns its worker's pid.
    pub fn wait_started(&self) -> u32 {
        let path = self.started.clone();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            let result = std::fs::File::open(&path).and_then(|mut f| f.read_to_string(&mut text));
            let _ = tx.send(result.map(|_| text));
        });
        let text = rx
            .recv_timeout(PATIENCE)
            .expect("the gated task never started")
            .unwrap();
        text.trim().parse().unwrap()
    }

    /// Lets the task waiting in [`gated`] finish.
    pub fn release(&self) {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&self.release)
            .unwrap();
        f.write_all(b"go").unwrap();
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.started);
        let _ = std::fs::remove_file(&self.release);
    }
}

/// A task that reports its pid through the gate, waits to be released, returns its pid.
pub fn gated(paths: (String, String)) -> u32 {
    let pid = std::process::id();
    std::fs::write(&paths.0, pid.to_string()).unwrap();
    let mut buf = Vec::new();
    std::fs::File::open(&paths.1)
        .unwrap()
        .read_to_end(&mut buf)
        .unwrap();
    pid
}

/// The pid of the worker that runs it.
pub fn pid(_: ()) -> u32 {
    std::process::id()
}

/// True if `pid` is not a child of ours waiting to be reaped (it was reaped, or never was our
/// child). Reaps it if it was a zombie, so call it only for pids the pool should have reaped.
pub fn reaped(pid: u32) -> bool {
    let mut status = 0;
    // SAFETY: waitpid with WNOHANG only writes `status`.
    let rc = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, libc::WNOHANG) };
    rc == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD)
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
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut pfd, 1, timeout.as_millis() as i32) };
    // SAFETY: closing the descriptor pidfd_open gave us.
    unsafe { libc::close(fd) };
    n == 1
}

/// Turns core dumps off for this process and the workers it starts: several tests crash
/// workers on purpose, and must not litter the disk where core dumps are on.
pub fn no_core_dumps() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: setrlimit reads one valid struct.
        unsafe { libc::setrlimit(libc::RLIMIT_CORE, &limit) };
    });
}
