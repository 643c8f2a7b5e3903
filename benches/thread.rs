//! T1-T4 on the thread pool, each against its peers in the same group: rayon (`spawn` with
//! one std channel for all tasks, and `spawn` with a crossbeam one-slot channel per task),
//! the `threadpool` crate with a channel, tokio's `spawn_blocking`, chili's `join` (T3, the
//! lower bound of fork-join), and sequential code where it means something.
//!
//! Every pool has as many workers as the machine has cores, and every peer gives back one
//! result per task (a channel message or a join handle), as a future does. The CPython rows
//! come from `python_baseline.py`; the no-pool floor of T1/T2 from the `core` target; T2
//! back to back, in round robin, and the idle pools' CPU from the `latency` target.
//!
//! The per-task oneshot is `crossbeam_channel::bounded(1)`: the crossbeam family is the
//! field's standard and already in the tree (the pool is built on crossbeam-deque), and it is
//! what rayon's own documentation pairs with `spawn` to get a result back.

mod common;

use std::hint::black_box;
use std::sync::OnceLock;
use std::sync::mpsc;

use cfutures::thread::ThreadPoolExecutor;
use common::{
    Cost, PRIMES, PRIMES_EXPECTED, T1_TASKS, T3_DEPTH, cfutures_pool, chili_pool, configure, cores,
    is_prime, rayon_pool, tokio_runtime,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;

fn threadpool_pool() -> threadpool::ThreadPool {
    threadpool::ThreadPool::new(cores())
}

/// T1: 100k empty tasks submitted from outside, then all awaited.
fn t1(c: &mut Criterion) {
    let mut group = c.benchmark_group("T1");
    configure(&mut group, Cost::Milli);
    group.throughput(Throughput::Elements(T1_TASKS));

    let pool = cfutures_pool();
    group.bench_function("cfutures", |b| {
        b.iter(|| {
            let futures: Vec<_> = (0..T1_TASKS).map(|_| pool.submit(|| ()).unwrap()).collect();
            for future in &futures {
                future.result().unwrap();
            }
        });
    });
    drop(pool);

    let pool = rayon_pool();
    group.bench_function("rayon", |b| {
        b.iter(|| {
            let (tx, rx) = mpsc::channel();
            for _ in 0..T1_TASKS {
                let tx = tx.clone();
                pool.spawn(move || tx.send(()).unwrap());
            }
            for _ in 0..T1_TASKS {
                rx.recv().unwrap();
            }
        });
    });
    group.bench_function("rayon+oneshot", |b| {
        b.iter(|| {
            let handles: Vec<_> = (0..T1_TASKS)
                .map(|_| {
                    let (tx, rx) = crossbeam_channel::bounded(1);
                    pool.spawn(move || tx.send(()).unwrap());
                    rx
                })
                .collect();
            for handle in &handles {
                handle.recv().unwrap();
            }
        });
    });
    drop(pool);

    let pool = threadpool_pool();
    group.bench_function("threadpool", |b| {
        b.iter(|| {
            let (tx, rx) = mpsc::channel();
            for _ in 0..T1_TASKS {
                let tx = tx.clone();
                pool.execute(move || tx.send(()).unwrap());
            }
            for _ in 0..T1_TASKS {
                rx.recv().unwrap();
            }
        });
    });
    drop(pool);

    let runtime = tokio_runtime();
    group.bench_function("tokio", |b| {
        b.iter(|| {
            let handles: Vec<_> = (0..T1_TASKS)
                .map(|_| runtime.spawn_blocking(|| ()))
                .collect();
            runtime.block_on(async {
                for handle in handles {
                    handle.await.unwrap();
                }
            });
        });
    });
    group.finish();
}

/// T2: one submit -> result round trip on an idle pool. The caller blocks; it does not run
/// the task itself (cfutures runs tasks inline only for the pool's own workers by default).
fn t2(c: &mut Criterion) {
    let mut group = c.benchmark_group("T2");
    configure(&mut group, Cost::Micro);

    let pool = cfutures_pool();
    group.bench_function("cfutures", |b| {
        b.iter(|| {
            pool.submit(|| black_box(1u64))
                .unwrap()
                .into_result()
                .unwrap()
        });
    });
    drop(pool);

    let pool = rayon_pool();
    let (tx, rx) = mpsc::channel();
    group.bench_function("rayon", |b| {
        b.iter(|| {
            let tx = tx.clone();
            pool.spawn(move || tx.send(black_box(1u64)).unwrap());
            rx.recv().unwrap()
        });
    });
    group.bench_function("rayon+oneshot", |b| {
        b.iter(|| {
            let (tx, rx) = crossbeam_channel::bounded(1);
            pool.spawn(move || tx.send(black_box(1u64)).unwrap());
            rx.recv().unwrap()
        });
    });
    drop(pool);

    let pool = threadpool_pool();
    group.bench_function("threadpool", |b| {
        b.iter(|| {
            let tx = tx.clone();
            pool.execute(move || tx.send(black_box(1u64)).unwrap());
            rx.recv().unwrap()
        });
    });
    drop(pool);

    let runtime = tokio_runtime();
    group.bench_function("tokio", |b| {
        b.iter(|| {
            runtime
                .block_on(runtime.spawn_blocking(|| black_box(1u64)))
                .unwrap()
        });
    });
    group.finish();
}

/// T3's pool lives in a static so that tasks can reach it without an `Arc` per task.
static T3_POOL: OnceLock<ThreadPoolExecutor> = OnceLock::new();

/// A binary fork-join tree: the left half as a task, the right half here, then wait.
fn tree_cfutures(depth: u32) -> u64 {
    if depth == 0 {
        return 1;
    }
    let pool = T3_POOL.get().expect("set before the benchmark");
    let left = pool.submit(move || tree_cfutures(depth - 1)).unwrap();
    let right = tree_cfutures(depth - 1);
    left.into_result().unwrap() + right
}

fn tree_rayon(depth: u32) -> u64 {
    if depth == 0 {
        return 1;
    }
    let (left, right) = rayon::join(|| tree_rayon(depth - 1), || tree_rayon(depth - 1));
    left + right
}

fn tree_chili(scope: &mut chili::Scope<'_>, depth: u32) -> u64 {
    if depth == 0 {
        return 1;
    }
    let (left, right) = scope.join(|s| tree_chili(s, depth - 1), |s| tree_chili(s, depth - 1));
    left + right
}

fn tree_sequential(depth: u32) -> u64 {
    if depth == 0 {
        return 1;
    }
    black_box(tree_sequential(depth - 1)) + tree_sequential(depth - 1)
}

/// T3: recursive fork-join through submit/result inside tasks, vs `rayon::join` and chili's
/// `Scope::join` (heartbeat scheduling: the lower bound of what fork-join can cost).
fn t3(c: &mut Criterion) {
    let mut group = c.benchmark_group("T3");
    configure(&mut group, Cost::Milli);
    let leaves = 1u64 << T3_DEPTH;

    let pool = T3_POOL.get_or_init(cfutures_pool);
    group.bench_function("cfutures", |b| {
        b.iter(|| {
            let sum = pool
                .submit(|| tree_cfutures(T3_DEPTH))
                .unwrap()
                .into_result()
                .unwrap();
            assert_eq!(sum, leaves);
        });
    });

    let pool = rayon_pool();
    group.bench_function("rayon", |b| {
        b.iter(|| assert_eq!(pool.install(|| tree_rayon(T3_DEPTH)), leaves));
    });
    drop(pool);

    let pool = chili_pool();
    let mut scope = pool.scope();
    group.bench_function("chili", |b| {
        b.iter(|| assert_eq!(tree_chili(&mut scope, T3_DEPTH), leaves));
    });
    drop(scope);
    drop(pool);

    group.bench_function("sequential", |b| {
        b.iter(|| assert_eq!(tree_sequential(black_box(T3_DEPTH)), leaves));
    });
    group.finish();
}

/// T4: `is_prime` over the seed's numbers on the pool; the ratio to sequential is the
/// inverse of the speed-up.
fn t4(c: &mut Criterion) {
    let mut group = c.benchmark_group("T4");
    configure(&mut group, Cost::Heavy);

    let pool = cfutures_pool();
    group.bench_function("cfutures", |b| {
        b.iter(|| {
            let futures: Vec<_> = PRIMES
                .iter()
                .map(|&n| pool.submit(move || is_prime(n)).unwrap())
                .collect();
            let verdicts: Vec<bool> = futures.iter().map(|f| *f.result().unwrap()).collect();
            assert_eq!(verdicts, PRIMES_EXPECTED);
        });
    });
    drop(pool);

    let pool = rayon_pool();
    group.bench_function("rayon", |b| {
        b.iter(|| {
            let verdicts: Vec<bool> =
                pool.install(|| PRIMES.par_iter().map(|&n| is_prime(n)).collect());
            assert_eq!(verdicts, PRIMES_EXPECTED);
        });
    });
    drop(pool);

    let pool = threadpool_pool();
    group.bench_function("threadpool", |b| {
        b.iter(|| {
            let (tx, rx) = mpsc::channel();
            for (i, &n) in PRIMES.iter().enumerate() {
                let tx = tx.clone();
                pool.execute(move || tx.send((i, is_prime(n))).unwrap());
            }
            let mut verdicts = [false; PRIMES.len()];
            for _ in 0..PRIMES.len() {
                let (i, verdict) = rx.recv().unwrap();
                verdicts[i] = verdict;
            }
            assert_eq!(verdicts, PRIMES_EXPECTED);
        });
    });
    drop(pool);

    let runtime = tokio_runtime();
    group.bench_function("tokio", |b| {
        b.iter(|| {
            let handles: Vec<_> = PRIMES
                .iter()
                .map(|&n| runtime.spawn_blocking(move || is_prime(n)))
                .collect();
            let verdicts: Vec<bool> = runtime.block_on(async {
                let mut verdicts = Vec::with_capacity(handles.len());
                for handle in handles {
                    verdicts.push(handle.await.unwrap());
                }
                verdicts
            });
            assert_eq!(verdicts, PRIMES_EXPECTED);
        });
    });
    drop(runtime);

    group.bench_function("sequential", |b| {
        b.iter(|| {
            let verdicts: Vec<bool> = PRIMES.iter().map(|&n| is_prime(black_box(n))).collect();
            assert_eq!(verdicts, PRIMES_EXPECTED);
        });
    });
    group.finish();
}

criterion_group!(benches, t1, t2, t3, t4);
criterion_main!(benches);
