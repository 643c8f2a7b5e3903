//! The seed's primes over MPI: `submit` + `as_completed`, then `map` in order.
//!
//! ```text
//! cargo build --release -p cfutures-mpi --features mpi --example primes_mpi
//! mpirun --oversubscribe -n 3 target/release/examples/primes_mpi
//! ```
//! (as root add `OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1`; several machines:
//! `mpirun --hostfile hosts -n N target/release/examples/primes_mpi`.)

use std::time::Instant;

use cfutures_helpers::as_completed;
use cfutures_mpi::MpiPoolExecutor;

// The seed's numbers and its `is_prime`, inline: a user-facing demo reads on its own (and an
// MPI build does not pull in the demos crate's HTTP stack).
const PRIMES: [u64; 6] = [
    112_272_535_095_293,
    112_582_705_942_171,
    112_272_535_095_293,
    115_280_095_190_773,
    115_797_848_077_099,
    1_099_726_899_285_419,
];
const EXPECTED: [bool; 6] = [true, true, true, true, true, false];

fn is_prime(n: u64) -> bool {
    if n < 2 || n.is_multiple_of(2) {
        return n == 2;
    }
    let sqrt_n = (n as f64).sqrt().floor() as u64;
    (3..=sqrt_n).step_by(2).all(|i| !n.is_multiple_of(i))
}

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
