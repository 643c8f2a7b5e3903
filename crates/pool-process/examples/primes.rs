//! The seed's `ProcessPoolExecutor` program: which of six large numbers are prime, computed in
//! worker processes, printed in input order.
//!
//! ```text
//! cargo run --release -p cfutures-process --example primes
//! ```

use cfutures_process::ProcessPoolExecutor;

const PRIMES: [u64; 6] = [
    112272535095293,
    112582705942171,
    112272535095293,
    115280095190773,
    115797848077099,
    1099726899285419,
];

/// Trial division by odd numbers, as in the seed.
fn is_prime(n: u64) -> bool {
    if n.is_multiple_of(2) {
        return false;
    }
    let sqrt_n = (n as f64).sqrt().floor() as u64;
    (3..=sqrt_n).step_by(2).all(|i| !n.is_multiple_of(i))
}

fn main() {
    // First thing in main: a worker process turns into a worker here (see `init`).
    cfutures_process::init();
    let pool = ProcessPoolExecutor::builder()
        .build()
        .expect("a default pool");
    let primes = pool.map(is_prime, PRIMES, 1).expect("map");
    for (number, prime) in PRIMES.iter().zip(primes) {
        match prime {
            Ok(prime) => println!("{number} is prime: {prime}"),
            Err(error) => println!("{number} generated an exception: {error}"),
        }
    }
}
