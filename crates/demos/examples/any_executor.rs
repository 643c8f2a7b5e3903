//! One function written against `cfutures::Executor` (the seed's primes: submit,
//! `as_completed`, `map` in order, shutdown) run unchanged on the thread pool and the process
//! pool; `cfutures-mpi`'s `primes_mpi` example runs it on MPI ranks.
//!
//! `cargo run --release -p cfutures-demos --example any_executor`

use cfutures::Error;
use cfutures::process::ProcessPoolExecutor;
use cfutures::thread::ThreadPoolExecutor;
use cfutures_demos::any_executor::{SeedPrimes, seed_primes};
use cfutures_demos::primes::PRIMES;

fn main() -> Result<(), Error> {
    cfutures::process::init();
    report("threads", seed_primes(&ThreadPoolExecutor::new(2)?)?);
    report("processes", seed_primes(&ProcessPoolExecutor::new(2)?)?);
    Ok(())
}

fn report(on: &str, seen: SeedPrimes) {
    println!("on {on}:");
    for (n, prime) in &seen.completed {
        println!("  completed: {n} is prime: {prime}");
    }
    for (n, prime) in PRIMES.iter().zip(&seen.mapped) {
        println!("  map, in order: {n} is prime: {prime}");
    }
}
