//! `cfutures_helpers::Executor` on the thread pool (feature `executor`).
#![cfg(all(feature = "executor", not(loom)))]

use cfutures_core::{Error, Shutdown};
use cfutures_helpers::{Executor, MapOptions};
use cfutures_thread::ThreadPoolExecutor;

fn halve_even(n: u32) -> u32 {
    assert!(n.is_multiple_of(2), "odd input {n}");
    n / 2
}

/// Generic code, as a user of the trait writes it.
fn run_all<E: Executor>(executor: &E) -> Vec<Result<u32, Error>> {
    executor
        .map(halve_even, [2, 4, 5, 8], MapOptions::new())
        .unwrap()
        .collect()
}

#[test]
fn map_through_the_trait_keeps_order_and_reports_each_items_error() {
    let pool = ThreadPoolExecutor::new(3).unwrap();
    let results = run_all(&pool);
    assert_eq!(results[..2], [Ok(1), Ok(2)]);
    assert!(
        matches!(&results[2], Err(Error::Panicked { message, .. }) if message == "odd input 5")
    );
    assert_eq!(results[3], Ok(4));
}

#[test]
fn submit_and_shutdown_through_the_trait() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let future = Executor::submit(&pool, halve_even, 10).unwrap();
    assert_eq!(future.into_result(), Ok(5));
    Executor::shutdown(&pool, Shutdown::WAIT);
    assert_eq!(
        Executor::submit(&pool, halve_even, 2).unwrap_err(),
        Error::ShutDown
    );
    assert!(matches!(
        Executor::map(&pool, halve_even, [2], MapOptions::new()),
        Err(Error::ShutDown)
    ));
}
