//! The seed's primes program written once against Python's abstract `Executor`, so that the
//! same function runs on threads, processes or MPI ranks: only the line that builds the
//! executor changes, as in Python.

use std::collections::HashMap;

use cfutures::helpers::{MapOptions, as_completed};
use cfutures::{Error, Executor, Shutdown};

use crate::primes::{PRIMES, is_prime};

/// What [`seed_primes`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedPrimes {
    /// `(number, is_prime)` in the order the submitted tasks completed (`as_completed`).
    pub completed: Vec<(u64, bool)>,
    /// `is_prime` of each of the seed's numbers, in input order (`map`, chunksize 1).
    pub mapped: Vec<bool>,
}

/// The seed's program on any executor: submits `is_prime` for each of the seed's numbers and
/// collects them with `as_completed` (the seed's first loop), then runs `map` over the same
/// numbers in input order (its second), then shuts the executor down, waiting.
///
/// ```
/// use cfutures::thread::ThreadPoolExecutor;
/// use cfutures_demos::any_executor::seed_primes;
/// use cfutures_demos::primes::EXPECTED;
///
/// let pool = ThreadPoolExecutor::new(2)?;
/// let seen = seed_primes(&pool)?;
/// assert_eq!(seen.mapped, EXPECTED);
/// assert_eq!(seen.completed.len(), 6);
/// assert!(pool.submit(|| ()).is_err(), "shut down");
/// # Ok::<(), cfutures::Error>(())
/// ```
pub fn seed_primes<E: Executor>(executor: &E) -> Result<SeedPrimes, Error> {
    let mut future_to_number = HashMap::new();
    for n in PRIMES {
        future_to_number.insert(executor.submit(is_prime, n)?, n);
    }
    let mut completed = Vec::with_capacity(PRIMES.len());
    for future in as_completed(future_to_number.keys().cloned(), None) {
        let future = future?;
        completed.push((future_to_number[&future], *future.result()?));
    }
    let mapped = executor
        .map(is_prime, PRIMES, MapOptions::new())?
        .collect::<Result<_, _>>()?;
    executor.shutdown(Shutdown::WAIT);
    Ok(SeedPrimes { completed, mapped })
}
