//! The process pool: functions run in worker processes (this same executable, re-executed in
//! worker mode); arguments and results travel with serde.
//!
//! `cfutures::process::init()` comes first in `main`: in a worker process it serves tasks and
//! never returns (see its documentation).
//!
//! ```text
//! cargo run --example process_pool
//! ```

use cfutures::Error;
use cfutures::process::ProcessPoolExecutor;

/// Runs in a worker process: which process is shown by its pid.
fn square_with_pid(x: u64) -> (u64, u32) {
    (x * x, std::process::id())
}

fn digits(n: u64) -> usize {
    n.to_string().len()
}

fn main() -> Result<(), Error> {
    cfutures::process::init();

    let pool = ProcessPoolExecutor::builder().max_workers(2).build()?;

    let future = pool.submit(square_with_pid, 12)?;
    let (square, pid) = *future.result()?;
    println!(
        "12 squared is {square}, computed by process {pid} (this one is {})",
        std::process::id()
    );

    // map, with items sent to the workers in chunks of 4.
    let lengths: Vec<usize> = pool
        .map(digits, [7, 42, 1_000, 65_536, 4_294_967_296, u64::MAX], 4)?
        .collect::<Result<_, _>>()?;
    println!("digit counts: {lengths:?}");

    // A capture-free closure works too; a panic comes back with its message.
    let failing = pool.submit(|n: u32| -> u32 { panic!("cannot handle {n}") }, 7)?;
    match failing.result() {
        Err(Error::Panicked { message, .. }) => println!("the worker's task panicked: {message}"),
        other => println!("unexpected: {other:?}"),
    }
    Ok(())
}
