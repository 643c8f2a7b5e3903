//! `primes`: the seed's `ProcessPoolExecutor` program as a command-line tool.
//!
//! Checks the seed's six numbers with `map(is_prime, PRIMES)` on a pool of worker processes
//! (or threads, with `--threads`) and prints `N is prime: true|false` in input order.
//! `--compare` also times the sequential loop against the pool. Run `primes --help` for the
//! options.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use cfutures::Error;
use cfutures::process::ProcessPoolExecutor;
use cfutures::thread::ThreadPoolExecutor;
use cfutures_demos::cli;
use cfutures_demos::primes::{PRIMES, is_prime};
use clap::Parser;

const PROGRAM: &str = "primes";

/// The command line.
#[derive(Debug, Clone, Copy, Parser)]
#[command(
    name = PROGRAM,
    version,
    help_template = cli::HELP_TEMPLATE,
    about = "\
Checks the seed's six numbers for primality on a pool of worker processes
(Python's ProcessPoolExecutor.map) and prints 'N is prime: true|false' for
each, in input order."
)]
struct Options {
    /// Use the thread pool instead of worker processes
    #[arg(long)]
    threads: bool,
    /// Workers in the pool [default: the number of CPUs]
    #[arg(short, long, value_name = "N", value_parser = cli::at_least_one)]
    workers: Option<usize>,
    /// Also time the sequential loop and print
    /// 'sequential: X s, pool: Y s, speedup: Z x'
    /// (the pool's time includes starting it)
    #[arg(long, verbatim_doc_comment)]
    compare: bool,
}

fn main() -> ExitCode {
    // First thing: in a worker process this serves tasks and never returns (see its docs).
    cfutures::process::init();
    let options = Options::parse();
    let start = Instant::now();
    let results = match pool_map(options) {
        Ok(results) => results,
        Err(error) => {
            eprintln!("{PROGRAM}: cannot start the pool: {error}");
            return ExitCode::FAILURE;
        }
    };
    let pool_time = start.elapsed();

    let mut failed = false;
    for (number, prime) in PRIMES.iter().zip(&results) {
        match prime {
            Ok(prime) => println!("{number} is prime: {prime}"),
            Err(error) => {
                failed = true;
                println!("{number} generated an exception: {error}");
            }
        }
    }
    if options.compare {
        let sequential = time_sequential();
        println!(
            "sequential: {:.3} s, pool: {:.3} s, speedup: {:.2} x",
            sequential.as_secs_f64(),
            pool_time.as_secs_f64(),
            sequential.as_secs_f64() / pool_time.as_secs_f64().max(f64::MIN_POSITIVE)
        );
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// `executor.map(is_prime, PRIMES)` on the chosen pool, from creating it to having every
/// result (the seed's `with` block).
fn pool_map(options: Options) -> Result<Vec<Result<bool, Error>>, Error> {
    if options.threads {
        let mut builder = ThreadPoolExecutor::builder();
        if let Some(workers) = options.workers {
            builder = builder.max_workers(workers);
        } else {
            builder = builder.max_workers(cpus());
        }
        let executor = builder.build()?;
        let results = executor.map(is_prime, PRIMES)?.collect();
        Ok(results)
    } else {
        let mut builder = ProcessPoolExecutor::builder();
        if let Some(workers) = options.workers {
            builder = builder.max_workers(workers);
        }
        let executor = builder.build()?;
        // chunksize 1, Python's default: six large tasks spread over the workers.
        let results = executor.map(is_prime, PRIMES, 1)?.collect();
        Ok(results)
    }
}

/// For CPU-bound work more threads than CPUs only add switching (Python's thread default,
/// `cpus + 4`, is meant for I/O).
fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn time_sequential() -> Duration {
    let start = Instant::now();
    let answers: Vec<bool> = PRIMES.iter().map(|&n| is_prime(n)).collect();
    let elapsed = start.elapsed();
    std::hint::black_box(answers);
    elapsed
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Options::command().debug_assert();
    }

    #[test]
    fn workers_take_an_attached_value() {
        let options = Options::try_parse_from([PROGRAM, "-w2", "--threads"]).unwrap();
        assert_eq!(options.workers, Some(2));
        assert!(options.threads && !options.compare);
    }
}
