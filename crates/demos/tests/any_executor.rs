//! The seed's program written against `Executor` gives the seed's answers on both local pools.

use cfutures::Error;
use cfutures::process::ProcessPoolExecutor;
use cfutures::thread::ThreadPoolExecutor;
use cfutures_demos::any_executor::{SeedPrimes, seed_primes};
use cfutures_demos::primes::{EXPECTED, PRIMES};

/// Every number once per submission (duplicates included), with the seed's answer; map in
/// input order.
fn assert_seed_answers(seen: &SeedPrimes) {
    assert_eq!(seen.mapped, EXPECTED);
    let mut want: Vec<(u64, bool)> = PRIMES.iter().copied().zip(EXPECTED).collect();
    let mut got = seen.completed.clone();
    want.sort_unstable();
    got.sort_unstable();
    assert_eq!(
        got, want,
        "one completion per submission, with the seed's answer"
    );
}

#[test]
fn the_seed_runs_unchanged_on_the_thread_pool() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    assert_seed_answers(&seed_primes(&pool).unwrap());
    assert_eq!(pool.submit(|| ()).unwrap_err(), Error::ShutDown);
}

#[test]
fn the_seed_runs_unchanged_on_the_process_pool() {
    let pool = ProcessPoolExecutor::new(2).unwrap();
    assert_seed_answers(&seed_primes(&pool).unwrap());
    assert_eq!(pool.submit(|n: u64| n, 1).unwrap_err(), Error::ShutDown);
}
