//! The thread pool: `submit` returns a future at once, `map` yields results in input order.
//!
//! ```text
//! cargo run --example thread_pool
//! ```

use cfutures::thread::ThreadPoolExecutor;
use cfutures::{Error, Shutdown};

fn collatz_steps(mut n: u64) -> u32 {
    let mut steps = 0;
    while n != 1 {
        n = if n.is_multiple_of(2) {
            n / 2
        } else {
            3 * n + 1
        };
        steps += 1;
    }
    steps
}

fn main() -> Result<(), Error> {
    // Dropping the pool at the end of `main` shuts it down and waits, like Python's `with`.
    let pool = ThreadPoolExecutor::builder()
        .max_workers(4)
        .thread_name_prefix("example")
        .build()?;

    // submit: one future per call.
    let future = pool.submit(|| collatz_steps(27))?;
    println!("27 reaches 1 in {} steps", future.result()?);

    // map: in input order, whatever order the tasks finish in.
    let steps: Vec<u32> = pool
        .map(collatz_steps, [6, 7, 97, 871])?
        .collect::<Result<_, _>>()?;
    println!("steps for 6, 7, 97, 871: {steps:?}");

    // A panicking task fails its own future; the worker and the pool carry on. (The standard
    // panic hook still reports the panic on stderr, as it does for any thread.)
    let failing = pool.submit(|| -> u32 { panic!("no steps for zero") })?;
    println!("a panicking task: {}", failing.result().unwrap_err());
    println!(
        "still serving: {}",
        pool.submit(|| collatz_steps(9))?.result()?
    );

    pool.shutdown(Shutdown::WAIT);
    println!("after shutdown: {}", pool.submit(|| 0).unwrap_err());
    Ok(())
}
