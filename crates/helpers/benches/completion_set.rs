//! `CompletionSet` over 10 thousand, 100 thousand and 1 million futures: the time per future
//! should stay flat (O(1) per insert and per completion).
//!
//! Each iteration makes `n` fresh promises (not timed), then times: inserting every future
//! (one waker registration each) while a producer thread completes them in insertion order,
//! and draining every one. Half the futures are inserted before the producer starts and half
//! while it runs and the set is being drained, so inserts, completions and the consumer
//! contend as in use. `cargo bench -p cfutures-helpers --bench completion_set`.

use std::hint::black_box;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use cfutures_core::Promise;
use cfutures_helpers::CompletionSet;
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
    let mut set = CompletionSet::new();
    let mut futures = futures.into_iter();
    set.extend(futures.by_ref().take(n / 2));
    let inserter = set.inserter();
    let late_inserts = thread::spawn(move || {
        for future in futures {
            inserter.insert(future).unwrap();
        }
    });
    go.send(()).unwrap();
    let mut count = 0;
    while count < n {
        // The set may be empty for a moment while the late half is still being inserted.
        match set.next() {
            Some(future) => {
                drop(black_box(future));
                count += 1;
            }
            None => thread::yield_now(),
        }
    }
    let elapsed = start.elapsed();
    late_inserts.join().unwrap();
    producer.join().unwrap();
    elapsed
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("completion_set");
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
