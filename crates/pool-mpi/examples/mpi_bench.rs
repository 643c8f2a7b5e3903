//! Hand measurements of the MPI pool (X1-X3 of issue 14) and an idle phase for measuring the
//! worker ranks' CPU from outside:
//!
//! ```text
//! cargo build --release -p cfutures-mpi --features mpi --example mpi_bench
//! mpirun --oversubscribe -n 3 target/release/examples/mpi_bench [idle-seconds]
//! ```

use std::time::{Duration, Instant};

use cfutures_demos::primes::{PRIMES, is_prime};
use cfutures_mpi::MpiPoolExecutor;

fn noop(x: u64) -> u64 {
    x
}

fn main() -> Result<(), cfutures_core::Error> {
    let world = cfutures_mpi::init()?;
    let idle: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let pool = MpiPoolExecutor::builder().build()?;

    // X1: round trip of one no-op task, one at a time.
    let mut samples = Vec::new();
    for i in 0..5000u64 {
        let began = Instant::now();
        pool.submit(noop, i)?.into_result()?;
        samples.push(began.elapsed());
    }
    samples.sort();
    println!(
        "X1 round trip: median {:?}, p90 {:?}",
        samples[2500], samples[4500]
    );

    // X2: submit throughput, and map with chunksize 256.
    let n = 200_000u64;
    let began = Instant::now();
    let futures: Vec<_> = (0..n)
        .map(|i| pool.submit(noop, i))
        .collect::<Result<_, _>>()?;
    for f in &futures {
        f.result()?;
    }
    let secs = began.elapsed().as_secs_f64();
    println!("X2 submit: {:.0} tasks/s", n as f64 / secs);
    let items = 5_000_000u64;
    let began = Instant::now();
    let count = pool.map(noop, 0..items, 256)?.filter(Result::is_ok).count();
    assert_eq!(count as u64, items);
    println!(
        "X2 map(chunksize=256): {:.0} items/s",
        items as f64 / began.elapsed().as_secs_f64()
    );

    // X3: the seed's primes, end to end, against sequential.
    let began = Instant::now();
    let answers: Vec<bool> = pool.map(is_prime, PRIMES, 1)?.collect::<Result<_, _>>()?;
    let parallel = began.elapsed();
    let began = Instant::now();
    let sequential: Vec<bool> = PRIMES.iter().map(|&n| is_prime(n)).collect();
    let sequential_time = began.elapsed();
    assert_eq!(answers, sequential);
    println!(
        "X3 primes: {parallel:?} on {} ranks, sequential {sequential_time:?}, speedup {:.2}",
        pool.max_workers(),
        sequential_time.as_secs_f64() / parallel.as_secs_f64()
    );

    if idle > 0 {
        println!("idle for {idle} s");
        std::thread::sleep(Duration::from_secs(idle));
    }
    drop(pool);
    drop(world);
    Ok(())
}
