//! P1-P5 on the process pool, against procspawn's pool (the Rust crate that re-executes the
//! program for its workers, as cfutures does) and sequential code. Worker processes of both
//! are this bench binary re-executed, so `main` enters either worker mode first, before
//! criterion parses anything. procspawn has no `map`: its P2 row spawns one job per chunk and
//! joins them in order, which is what a map does.
//!
//! The CPython rows come from `python_baseline.py`. P4's floor is 100 MiB through two native
//! pipe hops (`head -c 104857600 /dev/zero | cat | cat`), timed in the same run.

mod common;

use std::hint::black_box;
use std::io::Write;

use cfutures::Shutdown;
use cfutures::process::ProcessPoolExecutor;
use common::{Cost, P2_ITEMS, PRIMES, PRIMES_EXPECTED, configure, cores, is_prime};
use criterion::{BatchSize, Criterion, Throughput};

fn noop(_: ()) {}

fn identity(n: u64) -> u64 {
    n
}

fn identity_chunk(chunk: Vec<u64>) -> Vec<u64> {
    chunk
}

/// P4's payload: 100 MiB.
const P4_BYTES: usize = 100 << 20;
/// P5's payload: this many small structs.
const P5_ITEMS: u32 = 1_000_000;

/// P5's small struct (CPython's peer is a tuple of an int and two floats).
#[derive(serde::Serialize, serde::Deserialize, Clone, PartialEq, Debug)]
struct Point {
    id: u32,
    x: f64,
    y: f64,
}

fn echo<T>(value: T) -> T {
    value
}

fn procspawn_pool() -> procspawn::Pool {
    let pool = procspawn::Pool::new(cores()).expect("procspawn pool");
    let warm: Vec<_> = (0..cores() * 4)
        .map(|_| pool.spawn((), noop as fn(())))
        .collect();
    for handle in warm {
        handle.join().unwrap();
    }
    pool
}

fn pool() -> ProcessPoolExecutor {
    let pool = ProcessPoolExecutor::builder()
        .max_workers(cores())
        .build()
        .expect("process pool");
    // Start every worker before timing: P1 and P2 measure a warm pool.
    let warm: Vec<_> = (0..cores() * 4)
        .map(|_| pool.submit(noop, ()).unwrap())
        .collect();
    for future in &warm {
        future.result().unwrap();
    }
    pool
}

/// P1: one empty task's round trip to a worker process and back.
fn p1(c: &mut Criterion) {
    let mut group = c.benchmark_group("P1");
    configure(&mut group, Cost::Micro);
    let pool = pool();
    group.bench_function("cfutures", |b| {
        b.iter(|| pool.submit(noop, ()).unwrap().result().copied().unwrap());
    });
    drop(pool);
    let pool = procspawn_pool();
    group.bench_function("procspawn", |b| {
        b.iter(|| pool.spawn((), noop as fn(())).join().unwrap());
    });
    pool.shutdown();
    group.finish();
}

/// P2: `map` throughput with small and large chunks.
fn p2(c: &mut Criterion) {
    let pool = pool();
    let peer = procspawn_pool();
    for (chunksize, items) in P2_ITEMS {
        let mut group = c.benchmark_group(format!("P2/chunksize={chunksize}"));
        // procspawn's chunksize 1 takes a good part of a second per iteration.
        configure(&mut group, Cost::Heavy);
        group.throughput(Throughput::Elements(items));
        group.bench_function("cfutures", |b| {
            b.iter(|| {
                let mut count = 0u64;
                for result in pool.map(identity, 0..items, chunksize).unwrap() {
                    black_box(result.unwrap());
                    count += 1;
                }
                assert_eq!(count, items);
            });
        });
        group.bench_function("procspawn", |b| {
            b.iter(|| {
                let items: Vec<u64> = (0..items).collect();
                let handles: Vec<_> = items
                    .chunks(chunksize)
                    .map(|chunk| {
                        peer.spawn(chunk.to_vec(), identity_chunk as fn(Vec<u64>) -> Vec<u64>)
                    })
                    .collect();
                let mut count = 0;
                for handle in handles {
                    count += black_box(handle.join().unwrap()).len();
                }
                assert_eq!(count, items.len());
            });
        });
        group.finish();
    }
    peer.shutdown();
}

/// The seed's `main`, printing to a sink instead of the terminal.
fn seed_main(out: &mut impl Write) {
    let pool = ProcessPoolExecutor::builder()
        .build()
        .expect("process pool");
    let verdicts = pool.map(is_prime, PRIMES, 1).expect("map");
    for ((number, prime), expected) in PRIMES.iter().zip(verdicts).zip(PRIMES_EXPECTED) {
        let prime = prime.unwrap();
        assert_eq!(prime, expected);
        writeln!(out, "{number} is prime: {prime}").unwrap();
    }
    pool.shutdown(Shutdown::WAIT);
}

/// The same program on procspawn's pool.
fn seed_main_procspawn(out: &mut impl Write) {
    let pool = procspawn::Pool::new(cores()).expect("procspawn pool");
    let handles: Vec<_> = PRIMES
        .iter()
        .map(|&n| pool.spawn(n, is_prime as fn(u64) -> bool))
        .collect();
    for ((number, handle), expected) in PRIMES.iter().zip(handles).zip(PRIMES_EXPECTED) {
        let prime = handle.join().unwrap();
        assert_eq!(prime, expected);
        writeln!(out, "{number} is prime: {prime}").unwrap();
    }
    pool.shutdown();
}

/// P3: the seed's primes program end to end, pool start and shutdown included.
fn p3(c: &mut Criterion) {
    let mut group = c.benchmark_group("P3");
    configure(&mut group, Cost::Heavy);
    group.bench_function("cfutures", |b| b.iter(|| seed_main(&mut std::io::sink())));
    group.bench_function("procspawn", |b| {
        b.iter(|| seed_main_procspawn(&mut std::io::sink()))
    });
    group.bench_function("sequential", |b| {
        b.iter(|| {
            let mut out = std::io::sink();
            for (&number, expected) in PRIMES.iter().zip(PRIMES_EXPECTED) {
                let prime = is_prime(number);
                assert_eq!(prime, expected);
                writeln!(out, "{number} is prime: {prime}").unwrap();
            }
        });
    });
    group.finish();
}

/// P4: a 100 MiB `Vec<u8>` argument and result, one task's round trip; beside it the native
/// two-hop pipe floor.
fn p4(c: &mut Criterion) {
    let mut group = c.benchmark_group("P4");
    configure(&mut group, Cost::Heavy);
    group.throughput(Throughput::Bytes(P4_BYTES as u64));
    let pool = ProcessPoolExecutor::new(1).expect("process pool");
    pool.submit(noop, ()).unwrap().result().unwrap();
    let payload = vec![7u8; P4_BYTES];
    group.bench_function("cfutures", |b| {
        // The caller's own copy is made outside the timing: CPython's row copies nothing.
        b.iter_batched(
            || payload.clone(),
            |payload| {
                let back = pool.submit(echo::<Vec<u8>>, payload).unwrap();
                assert_eq!(back.result().unwrap().len(), P4_BYTES);
            },
            BatchSize::PerIteration,
        );
    });
    drop(pool);
    group.bench_function("floor", |b| {
        b.iter(|| {
            let status = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "head -c {P4_BYTES} /dev/zero | cat | cat > /dev/null"
                ))
                .status()
                .expect("sh");
            assert!(status.success());
        });
    });
    group.finish();
}

/// P5: a `Vec` of 1M small serde structs as argument and result, one task's round trip.
fn p5(c: &mut Criterion) {
    let mut group = c.benchmark_group("P5");
    configure(&mut group, Cost::Heavy);
    group.throughput(Throughput::Elements(u64::from(P5_ITEMS)));
    let pool = ProcessPoolExecutor::new(1).expect("process pool");
    pool.submit(noop, ()).unwrap().result().unwrap();
    let points: Vec<Point> = (0..P5_ITEMS)
        .map(|i| Point {
            id: i,
            x: f64::from(i),
            y: -f64::from(i),
        })
        .collect();
    group.bench_function("cfutures", |b| {
        b.iter_batched(
            || points.clone(),
            |points| {
                let back = pool.submit(echo::<Vec<Point>>, points).unwrap();
                assert_eq!(back.result().unwrap().len(), P5_ITEMS as usize);
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

fn main() {
    cfutures::process::init();
    procspawn::init();
    let mut criterion = Criterion::default().configure_from_args();
    p1(&mut criterion);
    p2(&mut criterion);
    p3(&mut criterion);
    p4(&mut criterion);
    p5(&mut criterion);
    criterion.final_summary();
}
