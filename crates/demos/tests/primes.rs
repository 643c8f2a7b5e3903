//! `primes` end to end: the built binary prints the seed's answers in input order.

mod common;

use common::run;

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
    let out = run(BIN, &["--threads", "--workers", "2"]);
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
fn bad_flags_print_usage_and_exit_2() {
    for args in [
        &["--bogus"][..],
        &["extra"],
        &["--workers", "0"],
        &["--workers"],
        &["--threads=1"],
    ] {
        let out = run(BIN, args);
        assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
        assert!(out.stderr.contains("Usage: primes"), "{args:?}");
        assert_eq!(out.stdout, "", "{args:?}");
    }
    let out = run(BIN, &["--help"]);
    assert_eq!(out.code, Some(0));
    assert!(out.stdout.starts_with("Usage: primes"));
}
