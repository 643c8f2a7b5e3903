//! `as_completed` over 10 thousand, 100 thousand and 1 million futures completed by one
//! producer thread: the time per future should stay flat (O(n) in all).
//!
//! Each iteration makes `n` fresh promises (not timed), then times: building the iterator
//! (one waker registration per future), letting the producer complete them all, and
//! consuming every yielded future. `cargo bench -p cfutures-helpers --bench as_completed`.

use std::hint::black_box;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use cfutures_core::Promise;
use cfutures_helpers::as_completed;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn one_run(n: usize) -> Duration {
    let (promises, futures): (Vec<Promise<usize>>, Vec<_>) = (0..n).map(|_| Promise::new()).unzip();
    let (go, wait_for_go) = mpsc::channel::<()>();
    let producer = thread::spawn(move || {
        wait_for_go.recv().unwrap();
        for (i, promise) in promises.into_iter().enumerate() {
            promise.set_result(i).unwrap();
        }
    });

    let start = Instant::now();
    let completed = as_completed(futures, None);
    go.send(()).unwrap();
    let mut count = 0;
    for future in completed {
        drop(black_box(future.unwrap()));
        count += 1;
    }
    let elapsed = start.elapsed();
    assert_eq!(count, n);
    producer.join().unwrap();
    elapsed
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("as_completed");
    group.sample_size(10);
    for n in [10_000, 100_000, 1_000_000] {
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter_custom(|iterations| (0..iterations).map(|_| one_run(n)).sum());
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
