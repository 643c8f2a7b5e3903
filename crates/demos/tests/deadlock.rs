//! `deadlock` end to end: both of Python's documented deadlocks end, with their messages.

mod common;

use common::run;

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
fn bad_flags_print_usage_and_exit_2() {
    for args in [&["--bogus"][..], &["--timeout", "0"], &["x"]] {
        let out = run(BIN, args);
        assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
        assert!(out.stderr.contains("Usage: deadlock"), "{args:?}");
    }
}
