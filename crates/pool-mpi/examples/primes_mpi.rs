//! The seed's primes over MPI: `submit` + `as_completed`, then `map` in order.
//!
//! ```text
//! cargo build --release -p cfutures-mpi --features mpi --example primes_mpi
//! mpirun --oversubscribe -n 3 target/release/examples/primes_mpi
//! ```
//! (as root add `OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1`; several machines:
//! `mpirun --hostfile hosts -n N target/release/examples/primes_mpi`.)

use std::time::Instant;

use cfutures_demos::primes::{EXPECTED, PRIMES, is_prime};
use cfutures_helpers::as_completed;
use cfutures_mpi::MpiPoolExecutor;

fn main() -> Result<(), cfutures_core::Error> {
    let world = cfutures_mpi::init()?; // the worker ranks serve from here and never return
    let pool = MpiPoolExecutor::builder().build()?;
    println!(
        "{} worker ranks on {:?}",
        pool.max_workers(),
        (1..world.size())
            .filter_map(|r| world.host(r))
            .collect::<Vec<_>>()
    );
    let began = Instant::now();
    let futures: Vec<_> = PRIMES
        .iter()
        .map(|&n| pool.submit(is_prime, n))
        .collect::<Result<_, _>>()?;
    for future in as_completed(futures.iter().cloned(), None) {
        let future = future?;
        let index = futures
            .iter()
            .position(|f| *f == future)
            .expect("one of ours");
        println!("done: {} is prime: {}", PRIMES[index], future.result()?);
    }
    for (number, prime) in PRIMES.iter().zip(pool.map(is_prime, PRIMES, 1)?) {
        println!("{number} is prime: {}", prime?);
    }
    let answers: Vec<bool> = pool.map(is_prime, PRIMES, 1)?.collect::<Result<_, _>>()?;
    assert_eq!(answers, EXPECTED);
    println!("elapsed: {:.3?}", began.elapsed());
    Ok(())
}
