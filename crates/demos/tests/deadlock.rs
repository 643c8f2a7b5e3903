//! `deadlock` end to end: both of Python's documented deadlocks end, with their messages.

mod common;

use common::{assert_help, assert_usage_error, assert_version, run};

const BIN: &str = env!("CARGO_BIN_EXE_deadlock");

#[test]
fn the_self_wait_prints_25_and_the_mutual_wait_resolves_through_the_timeout() {
    let out = run(BIN, &["--timeout", "0.05"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    let pow = lines
        .iter()
        .position(|l| *l == "25")
        .expect("pow(5, 2) printed");
    assert!(lines[pow - 1].starts_with("1. Self-wait"), "{lines:?}");
    let gave_up = lines
        .iter()
        .position(|l| l.starts_with("   a: b did not finish within 50ms"))
        .expect("a's timeout message");
    assert!(
        lines[gave_up + 1].starts_with("   b: a failed: timed out"),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"   result: a failed: timed out waiting for the future; b returned 6"),
        "{lines:?}"
    );
}

#[test]
fn bad_flags_are_usage_errors_with_exit_2() {
    for (args, culprit) in [
        (&["--bogus"][..], "'--bogus'"),
        (&["--timeout", "0"], "must be a positive number of seconds"),
        (&["-t-1"], "must be a positive number of seconds"),
        (&["x"], "'x'"),
    ] {
        assert_usage_error(&run(BIN, args), culprit);
    }
}

#[test]
fn help_and_version_print_on_stdout_and_exit_0() {
    for flag in ["--help", "-h"] {
        assert_help(&run(BIN, &[flag]), "deadlock");
    }
    assert_version(&run(BIN, &["--version"]), "deadlock");
}
