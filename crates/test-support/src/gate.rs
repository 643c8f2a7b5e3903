//! A gate for process-pool tasks (Python's `manager.Event()`), built on two named pipes: a
//! gated task announces its worker's pid through one and waits on the other until the test
//! releases it, so a test knows a task runs in a worker without sleeping.
//!
//! The test side keeps both FIFOs open read-write, so a task never blocks opening them, bytes
//! written before a task arrives wait in the pipe, and dropping the gate (end of file) frees
//! every task still waiting: a failing test cannot leave a worker blocked forever.
//!
//! ```
//! use cfutures_test_support::{Gate, gate_wait};
//!
//! let gate = Gate::new();
//! let arg = gate.arg(); // what a process task gets: `pool.submit(gate_wait, gate.arg())`
//! let task = std::thread::spawn(move || gate_wait(arg));
//! let pid = gate.wait_started();
//! gate.release(1);
//! assert_eq!(task.join().unwrap(), pid);
//! ```

use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::PATIENCE;

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

impl Default for Gate {
    fn default() -> Self {
        Self::new()
    }
}

impl Gate {
    /// Two fresh FIFOs in the temporary directory, named after this process.
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
