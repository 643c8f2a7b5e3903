//! `deadlock`: the two deadlocks of Python's `ThreadPoolExecutor` documentation, run on
//! cfutures' thread pool.
//!
//! 1. **Self-wait** (`max_workers=1`): a task submits `pow(5, 2)` and waits for it. In Python
//!    the only worker is busy waiting, so `pow` never runs. Here the waiting worker runs the
//!    not-yet-started task inline, and the program prints 25.
//! 2. **Mutual wait** (`max_workers=2`): `a` waits on `b` while `b` waits on `a`. No scheduler
//!    can finish that: each task needs the other's result. `a` waits with a timeout, gives up
//!    with a clear message, and that breaks the cycle; `b` then sees how `a` ended.
//!
//! Run `deadlock --help` for the options.

use std::process::ExitCode;
use std::sync::{Arc, Barrier, OnceLock};
use std::time::Duration;

use cfutures::thread::ThreadPoolExecutor;
use cfutures::{Error, Future};
use cfutures_demos::cli;
use clap::Parser;

const PROGRAM: &str = "deadlock";

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = PROGRAM,
    version,
    help_template = cli::HELP_TEMPLATE,
    about = "\
Runs the two deadlock examples of Python's ThreadPoolExecutor documentation:
the self-wait completes (the waiting worker runs the task inline); the mutual
wait is broken by a timeout, with a message instead of a hang."
)]
struct Options {
    /// How long task a waits for task b
    #[arg(
        short,
        long,
        value_name = "SECS",
        default_value = "0.25",
        value_parser = cli::positive_secs,
        allow_negative_numbers = true
    )]
    timeout: Duration,
}

fn main() -> ExitCode {
    let options = Options::parse();
    match self_wait().and_then(|()| mutual_wait(options.timeout)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{PROGRAM}: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Python's documentation:
///
/// ```python
/// def wait_on_future():
///     f = executor.submit(pow, 5, 2)
///     # This will never complete because there is only one worker thread and
///     # it is executing this function.
///     print(f.result())
///
/// executor = ThreadPoolExecutor(max_workers=1)
/// executor.submit(wait_on_future)
/// ```
fn self_wait() -> Result<(), Error> {
    println!("1. Self-wait: max_workers=1, wait_on_future() submits pow(5, 2) and waits on it");
    let executor = Arc::new(ThreadPoolExecutor::new(1)?);
    let pool = Arc::clone(&executor);
    let wait_on_future = move || -> Result<(), Error> {
        let f = pool.submit(|| 5u32.pow(2))?;
        // The only worker is this one; `result()` runs `pow` right here since it has not
        // started. In Python this line never returns.
        println!("{}", f.result()?);
        Ok(())
    };
    executor.submit(wait_on_future)?.into_result()??;
    println!("   completed: the waiting worker ran pow(5, 2) itself (Python hangs here)");
    println!();
    Ok(())
}

/// Python's documentation:
///
/// ```python
/// def wait_on_b():
///     time.sleep(5)
///     print(b.result())  # b will never complete because it is waiting on a.
///     return 5
///
/// def wait_on_a():
///     time.sleep(5)
///     print(a.result())  # a will never complete because it is waiting on b.
///     return 6
///
/// executor = ThreadPoolExecutor(max_workers=2)
/// a = executor.submit(wait_on_b)
/// b = executor.submit(wait_on_a)
/// ```
///
/// The `sleep(5)` there makes sure both futures exist and both tasks are running before
/// either waits; a barrier and two once-cells do that here without sleeping.
fn mutual_wait(timeout: Duration) -> Result<(), Error> {
    println!("2. Mutual wait: max_workers=2, a waits on b while b waits on a");
    let executor = ThreadPoolExecutor::new(2)?;
    let a_slot: Arc<OnceLock<Future<Result<i32, Error>>>> = Arc::default();
    let b_slot: Arc<OnceLock<Future<i32>>> = Arc::default();
    // Both tasks running before either waits: then neither can run the other inline, and the
    // cycle is the real one.
    let both_running = Arc::new(Barrier::new(2));

    let wait_on_b = {
        let (b_slot, both_running) = (Arc::clone(&b_slot), Arc::clone(&both_running));
        move || -> Result<i32, Error> {
            both_running.wait();
            let b = b_slot.wait();
            match b.result_timeout(timeout) {
                Ok(value) => {
                    println!("   a: b returned {value}");
                    Ok(5)
                }
                Err(error) => {
                    println!(
                        "   a: b did not finish within {timeout:?} ({error}): b is waiting on \
                         a, so waiting longer would hang; a gives up"
                    );
                    Err(error)
                }
            }
        }
    };
    let wait_on_a = {
        let (a_slot, both_running) = (Arc::clone(&a_slot), Arc::clone(&both_running));
        move || -> i32 {
            both_running.wait();
            let a = a_slot.wait();
            // No timeout needed on this side: a's own timeout guarantees it finishes.
            match a.result() {
                Ok(Ok(value)) => println!("   b: a returned {value}"),
                Ok(Err(error)) => println!("   b: a failed: {error}"),
                Err(error) => println!("   b: a failed: {error}"),
            }
            6
        }
    };

    let a = executor.submit(wait_on_b)?;
    let b = executor.submit(wait_on_a)?;
    let _ = a_slot.set(a.clone());
    let _ = b_slot.set(b.clone());

    let a_outcome = match a.result()? {
        Ok(value) => format!("returned {value}"),
        Err(error) => format!("failed: {error}"),
    };
    println!("   result: a {a_outcome}; b returned {}", b.result()?);
    println!("   resolved by the timeout instead of hanging");
    Ok(())
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
    fn the_default_timeout_is_a_quarter_second() {
        let options = Options::try_parse_from([PROGRAM]).unwrap();
        assert_eq!(options.timeout, Duration::from_millis(250));
    }
}
