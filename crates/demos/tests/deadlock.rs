//! `deadlock` end to end: both of Python's documented deadlocks end, with their messages: the
//! self-wait completes, the mutual wait prints the cycle it detected.

mod common;

use common::{assert_help, assert_usage_error, assert_version, run};

const BIN: &str = env!("CARGO_BIN_EXE_deadlock");

#[test]
fn the_self_wait_prints_25_and_the_mutual_wait_prints_the_detected_cycle() {
    // The default timeout is a minute: the run ends long before only if the cycle is detected.
    let out = run(BIN, &[]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    let pow = lines
        .iter()
        .position(|l| *l == "25")
        .expect("pow(5, 2) printed");
    assert!(lines[pow - 1].starts_with("1. Self-wait"), "{lines:?}");
    // Whichever task waits second closes the cycle and is told; the other then sees it fail.
    let (told, other) = if lines.iter().any(|l| l.starts_with("   a: waiting on b")) {
        ("a", "b")
    } else {
        ("b", "a")
    };
    let cycle = lines
        .iter()
        .position(|l| {
            *l == format!(
                "   {told}: waiting on {other} would close the cycle {told} -> {other} -> {told} \
                 (Error::Deadlock); {told} gives up"
            )
        })
        .unwrap_or_else(|| panic!("the detected cycle is printed: {lines:?}"));
    assert!(
        lines[cycle + 1].starts_with(&format!("   {other}: {told} failed: deadlock")),
        "{lines:?}"
    );
    let result = lines
        .iter()
        .find(|l| l.starts_with("   result: "))
        .expect("the result line");
    assert!(
        result.contains(&format!("{told} failed: deadlock")),
        "{result}"
    );
    assert!(
        lines.contains(&"   resolved by deadlock detection at once (Python hangs here)"),
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
