//! What the bench targets share: the scenarios' sizes (DESIGN.md §4, the same as
//! `python_baseline.py`), the seed's numbers and `is_prime`, and how long to measure.
//!
//! `cargo xtask bench --quick` sets `CFUTURES_BENCH_QUICK`, which shortens every group here:
//! a group's own settings override criterion's command-line ones, so the switch has to reach
//! the groups themselves.

// Each bench target uses its own part of this module.
#![allow(dead_code)]

pub mod plain;

use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, SamplingMode};

/// The seed's numbers and `is_prime` (one home for the tests and benches of every crate).
#[allow(unused_imports)] // each bench target uses its own part of this module
pub use cfutures_test_support::{PRIMES, PRIMES_EXPECTED, is_prime};

/// T1: empty tasks per iteration.
pub const T1_TASKS: u64 = 100_000;
/// T3: depth of the fork-join tree (2^depth leaves).
pub const T3_DEPTH: u32 = 14;
/// P2: items mapped per iteration, by chunksize.
pub const P2_ITEMS: [(usize, u64); 2] = [(1, 5_000), (256, 100_000)];
/// M1: pending tasks.
pub const M1_TASKS: usize = 1_000_000;

/// Every pool gets this many workers: the cores this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A cfutures pool with [`cores`] workers.
pub fn cfutures_pool() -> cfutures::thread::ThreadPoolExecutor {
    cfutures::thread::ThreadPoolExecutor::new(cores()).expect("thread pool")
}

/// A rayon pool with [`cores`] threads.
pub fn rayon_pool() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(cores())
        .build()
        .expect("rayon pool")
}

/// A tokio runtime for `spawn_blocking` peers: [`cores`] worker threads, and its blocking pool
/// capped at [`cores`] threads too. Tokio's default cap is 512 (the blocking pool is meant for
/// waiting, not computing): left at that, T4's six tasks would get six threads on two cores
/// and T1's burst up to 512, so the cap gives every pool the same number of workers.
pub fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores())
        .max_blocking_threads(cores())
        .build()
        .expect("tokio runtime")
}

/// A chili pool of [`cores`] threads, counting the thread that opens its scope (chili starts
/// `thread_count - 1` workers: the joining thread is the last one).
pub fn chili_pool() -> chili::ThreadPool {
    chili::ThreadPool::with_config(chili::Config {
        thread_count: std::num::NonZero::new(cores()),
        ..chili::Config::default()
    })
}

/// True under `cargo xtask bench --quick`.
pub fn quick() -> bool {
    std::env::var_os("CFUTURES_BENCH_QUICK").is_some()
}

/// How long one iteration of a group's benchmarks takes, which decides how to sample it.
#[derive(Clone, Copy, Debug)]
pub enum Cost {
    /// Nanoseconds to microseconds.
    Micro,
    /// Milliseconds.
    Milli,
    /// Tenths of a second or more: few iterations, flat sampling.
    Heavy,
}

/// Sample size and time windows for a group; two shared cores keep them short.
pub fn configure(group: &mut BenchmarkGroup<'_, WallTime>, cost: Cost) {
    let (samples, warm_up, measure) = match (cost, quick()) {
        (Cost::Micro, false) => (30, 1.0, 3.0),
        (Cost::Milli, false) => (20, 1.0, 4.0),
        (Cost::Heavy, false) => (10, 0.5, 4.0),
        (Cost::Micro, true) => (10, 0.2, 0.6),
        (Cost::Milli, true) => (10, 0.2, 1.0),
        (Cost::Heavy, true) => (10, 0.05, 0.5),
    };
    group
        .sample_size(samples)
        .warm_up_time(Duration::from_secs_f64(warm_up))
        .measurement_time(Duration::from_secs_f64(measure));
    if let Cost::Heavy = cost {
        group.sampling_mode(SamplingMode::Flat);
    }
}
