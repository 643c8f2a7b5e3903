//! `primes` end to end: the built binary prints the seed's answers in input order.

mod common;

use common::{assert_help, assert_usage_error, assert_version, run};

const BIN: &str = env!("CARGO_BIN_EXE_primes");

const SEED_LINES: &str = "\
112272535095293 is prime: true
112582705942171 is prime: true
112272535095293 is prime: true
115280095190773 is prime: true
115797848077099 is prime: true
1099726899285419 is prime: false
";

#[test]
fn the_process_pool_prints_the_six_lines_in_order() {
    let out = run(BIN, &[]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, SEED_LINES);
    assert_eq!(out.stderr, "");
}

#[test]
fn the_thread_pool_prints_the_same_lines() {
    let out = run(BIN, &["--threads", "-w2"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, SEED_LINES);
}

#[test]
fn compare_adds_a_timing_line() {
    let out = run(BIN, &["--compare", "-w", "2"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let (lines, timing) = out
        .stdout
        .rsplit_once("sequential: ")
        .expect("a timing line");
    assert_eq!(lines, SEED_LINES);
    // The shape only: the numbers depend on the machine.
    let parts: Vec<&str> = timing.trim_end().split(", ").collect();
    assert_eq!(parts.len(), 3, "{timing}");
    assert!(parts[0].ends_with(" s"), "{timing}");
    assert!(
        parts[1].starts_with("pool: ") && parts[1].ends_with(" s"),
        "{timing}"
    );
    assert!(
        parts[2].starts_with("speedup: ") && parts[2].ends_with(" x"),
        "{timing}"
    );
}

#[test]
fn bad_flags_are_usage_errors_with_exit_2() {
    for (args, culprit) in [
        (&["--bogus"][..], "'--bogus'"),
        (&["extra"], "'extra'"),
        (&["--workers", "0"], "must be at least 1"),
        (&["-w0"], "must be at least 1"),
        (&["--workers"], "'--workers <N>'"),
        (&["--threads=1"], "'--threads'"),
    ] {
        assert_usage_error(&run(BIN, args), culprit);
    }
}

#[test]
fn help_and_version_print_on_stdout_and_exit_0() {
    for flag in ["--help", "-h"] {
        assert_help(&run(BIN, &[flag]), "primes");
    }
    assert_version(&run(BIN, &["--version"]), "primes");
}
