//! `cargo xtask`: project automation (the alias lives in `.cargo/config.toml`).
//!
//! - `cargo xtask bench [--quick] [--filter NAME] [--report-only]`: runs the benchmark suite
//!   against the peers and CPython, prints one table and writes `target/xtask-bench/`.
//! - `cargo xtask valgrind [-p PACKAGE]... [-- TEST-ARGS...]`: the core and thread-pool tests
//!   under valgrind's memcheck.

mod bench;
mod valgrind;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  bench [--quick] [--filter NAME] [--report-only]
      Runs the criterion benchmarks of the `cfutures` package, the memory benchmark, the
      CPython baseline (benches/python_baseline.py) and the MPI rows X1-X4 (cfutures-mpi
      beside mpi4py.futures, each under `mpirun --oversubscribe -n 3`; mpi4py is installed
      into target/xtask-bench/venv on first use), prints one table of medians and ratios
      (cfutures / peer: below 1 means cfutures is faster) and writes
      target/xtask-bench/{report.md,report.json,ratios.svg}.
        --quick        short measurements (the whole run takes a couple of minutes)
        --filter NAME  only the benchmarks whose `scenario/impl` contains NAME (e.g. T1, P2,
                       rayon, T4/cfutures; X for the MPI rows only)
        --report-only  skip measuring; rebuild the report from the last run's results
  valgrind [-p PACKAGE]... [-- TEST-ARGS...]
      Runs the tests of cfutures-core and cfutures-thread under valgrind memcheck; fails on
      any memcheck error.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bench") => match bench::Options::parse(&args[1..]) {
            Ok(Some(options)) => match bench::run(&options) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("cargo xtask bench: {error}");
                    ExitCode::FAILURE
                }
            },
            Ok(None) => {
                println!("{USAGE}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("cargo xtask bench: {error}\n\n{USAGE}");
                ExitCode::from(2)
            }
        },
        Some("valgrind") => match valgrind::run(&args[1..]) {
            0 => ExitCode::SUCCESS,
            code => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        },
        Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
