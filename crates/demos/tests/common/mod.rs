//! Running the built binaries, with a deadline so that a hang fails the test instead of
//! stalling the suite.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Far more than any of these runs needs; only a hang reaches it.
const DEADLINE: Duration = Duration::from_secs(120);

/// What a finished run printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: Option<i32>,
}

impl Run {
    /// The stdout lines, sorted (for output whose order is completion order).
    #[allow(dead_code)] // not every test binary that includes this module uses it
    pub fn sorted_lines(&self) -> Vec<&str> {
        let mut lines: Vec<&str> = self.stdout.lines().collect();
        lines.sort_unstable();
        lines
    }
}

/// Runs `program` with `args` and no proxy settings (the URLs point at 127.0.0.1), and
/// collects its output; kills it and panics if it has not exited by the deadline.
pub fn run(program: &str, args: &[&str]) -> Run {
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ] {
        command.env_remove(var);
    }
    let mut child = command.spawn().expect("the binary starts");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).map(|_| text)
    });
    let err = thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).map(|_| text)
    });
    let (done_tx, done_rx) = mpsc::channel();
    let pid = child.id();
    let waiter = thread::spawn(move || {
        let status = child.wait();
        let _ = done_tx.send(());
        status
    });
    if done_rx.recv_timeout(DEADLINE).is_err() {
        // The child this test started, not yet reaped (the waiter is still blocked in wait),
        // so the pid is still its own.
        let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        panic!("{program} {args:?} did not finish within {DEADLINE:?}");
    }
    let status = waiter.join().unwrap().expect("wait for the binary");
    Run {
        stdout: out.join().unwrap().expect("stdout is UTF-8"),
        stderr: err.join().unwrap().expect("stderr is UTF-8"),
        code: status.code(),
    }
}

/// Asserts that `out` is the run of a bad command line: exit status 2, nothing on stdout, and
/// on stderr clap's report, which quotes `culprit` (the offending argument or option) and
/// points to `--help`.
#[allow(dead_code)] // not every test binary that includes this module uses it
pub fn assert_usage_error(out: &Run, culprit: &str) {
    assert_eq!(out.code, Some(2), "{culprit}: {out:?}");
    assert_eq!(out.stdout, "", "{culprit}");
    assert!(
        out.stderr.starts_with("error: "),
        "{culprit}: {}",
        out.stderr
    );
    assert!(out.stderr.contains(culprit), "{culprit}: {}", out.stderr);
    assert!(
        out.stderr.contains("try '--help'"),
        "{culprit}: {}",
        out.stderr
    );
}

/// Asserts that `out` is a run of `--help`: usage first, on stdout, and exit status 0.
#[allow(dead_code)] // not every test binary that includes this module uses it
pub fn assert_help(out: &Run, program: &str) {
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout
            .starts_with(&format!("Usage: {program} [OPTIONS]")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("-h, --help"), "{}", out.stdout);
}

/// Asserts that `out` is a run of `--version`: `PROGRAM VERSION` on stdout, exit status 0.
#[allow(dead_code)] // not every test binary that includes this module uses it
pub fn assert_version(out: &Run, program: &str) {
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        out.stdout,
        format!("{program} {}\n", env!("CARGO_PKG_VERSION"))
    );
}
