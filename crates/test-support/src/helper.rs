//! The self-reinvoking helper pattern: a test runs its own executable, filtered to one test
//! (often itself) that acts as a small program when [`HELPER_ENV`] names it. Helpers that are
//! only programs are `#[ignore]`d and return at once without the variable, so
//! `cargo test -- --ignored` runs them as harmless no-ops.
//!
//! ```no_run
//! use cfutures_test_support::{helper_active, run_helper};
//!
//! #[test]
//! fn prints_hello() {
//!     if helper_active("prints_hello") {
//!         println!("hello"); // in the child
//!         return;
//!     }
//!     let output = run_helper("prints_hello");
//!     assert!(String::from_utf8_lossy(&output.stdout).contains("hello"));
//! }
//! ```

use std::process::{Command, Output};

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
///
/// ```
/// let stdout = b"\nrunning 1 test\ntest t ... apple\nok\n\ntest result: ok.\n";
/// assert_eq!(cfutures_test_support::program_lines(stdout, "t"), ["apple"]);
/// ```
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
