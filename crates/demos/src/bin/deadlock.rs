//! `deadlock`: the two deadlocks of Python's `ThreadPoolExecutor` documentation, run on
//! cfutures' thread pool.
//!
//! 1. **Self-wait** (`max_workers=1`): a task submits `pow(5, 2)` and waits for it. In Python
//!    the only worker is busy waiting, so `pow` never runs. Here the waiting worker runs the
//!    not-yet-started task inline, and the program prints 25.
//! 2. **Mutual wait** (`max_workers=2`): `a` waits on `b` while `b` waits on `a`. No scheduler
//!    can finish that: each task needs the other's result. Python hangs. Here the wait that
//!    would close the cycle fails at once with `Error::Deadlock` (whichever of the two waits
//!    second); that task prints the cycle and gives up, and the other then sees how it ended.
//!    `a`'s wait also has a timeout, the fallback for cycles that cannot be seen (a wait
//!    outside cfutures, such as a channel).
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
the self-wait completes (the waiting worker runs the task inline); in the mutual
wait, the wait that would close the cycle is told at once (Error::Deadlock) and
prints the cycle instead of hanging."
)]
struct Options {
    /// How long task a waits for task b at most (the fallback if no cycle were seen)
    #[arg(
        short,
        long,
        value_name = "SECS",
        default_value = "60",
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
    let b_slot: Arc<OnceLock<Future<Result<i32, Error>>>> = Arc::default();
    // Both tasks running before either waits: then neither can run the other inline, and the
    // cycle is the real one.
    let both_running = Arc::new(Barrier::new(2));

    let wait_on_b = {
        let (b_slot, both_running) = (Arc::clone(&b_slot), Arc::clone(&both_running));
        move || -> Result<i32, Error> {
            both_running.wait();
            let b = b_slot.wait();
            // A timeout as well, for cycles no one can see (a wait outside cfutures).
            report("a", "b", b.result_timeout(timeout))?;
            Ok(5)
        }
    };
    let wait_on_a = {
        let (a_slot, both_running) = (Arc::clone(&a_slot), Arc::clone(&both_running));
        move || -> Result<i32, Error> {
            both_running.wait();
            let a = a_slot.wait();
            report("b", "a", a.result())?;
            Ok(6)
        }
    };

    let a = executor.submit(wait_on_b)?;
    let b = executor.submit(wait_on_a)?;
    let _ = a_slot.set(a.clone());
    let _ = b_slot.set(b.clone());

    let outcome = |future: &Future<Result<i32, Error>>| -> Result<String, Error> {
        Ok(match future.result()? {
            Ok(value) => format!("returned {value}"),
            Err(error) => format!("failed: {error}"),
        })
    };
    println!("   result: a {}; b {}", outcome(&a)?, outcome(&b)?);
    let told = [&a, &b]
        .iter()
        .any(|f| matches!(f.result(), Ok(Err(Error::Deadlock))));
    if told {
        println!("   resolved by deadlock detection at once (Python hangs here)");
    } else {
        println!("   resolved by the timeout");
    }
    Ok(())
}

/// Prints how `waiter`'s wait on `awaited` ended and passes its error on.
fn report(
    waiter: &str,
    awaited: &str,
    outcome: Result<&Result<i32, Error>, Error>,
) -> Result<(), Error> {
    match outcome {
        Ok(Ok(value)) => println!("   {waiter}: {awaited} returned {value}"),
        Ok(Err(error)) => println!("   {waiter}: {awaited} failed: {error}"),
        Err(Error::Deadlock) => {
            println!(
                "   {waiter}: waiting on {awaited} would close the cycle \
                 {waiter} -> {awaited} -> {waiter} (Error::Deadlock); {waiter} gives up"
            );
            return Err(Error::Deadlock);
        }
        Err(error) => {
            println!("   {waiter}: {awaited} did not finish ({error}); {waiter} gives up");
            return Err(error);
        }
    }
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
    fn the_default_timeout_is_a_minute() {
        let options = Options::try_parse_from([PROGRAM]).unwrap();
        assert_eq!(options.timeout, Duration::from_secs(60));
    }
}
