//! The physical floor of T1 and T2: creating and completing futures on one thread, no pool,
//! no hand-off between threads. A pool cannot beat this; the ratio cfutures / floor is what
//! scheduling costs.

mod common;

use std::hint::black_box;

use cfutures::Future;
use cfutures::executor::{Inline, Task};
use common::{Cost, T1_TASKS, configure};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// T1 floor: 100k tasks bound to their futures, run, then every result read.
fn t1(c: &mut Criterion) {
    let mut group = c.benchmark_group("T1");
    configure(&mut group, Cost::Milli);
    group.throughput(Throughput::Elements(T1_TASKS));
    group.bench_function("floor", |b| {
        b.iter(|| {
            let futures: Vec<Future<()>> = (0..T1_TASKS)
                .map(|_| {
                    let (task, future) = Task::new(Inline::Never, || ());
                    task.run();
                    future
                })
                .collect();
            for future in &futures {
                black_box(future.result().unwrap());
            }
        });
    });
    group.finish();
}

/// T2 floor: one task created, run and its result read, on the caller's thread.
fn t2(c: &mut Criterion) {
    let mut group = c.benchmark_group("T2");
    configure(&mut group, Cost::Micro);
    group.bench_function("floor", |b| {
        b.iter(|| {
            let (task, future) = Task::new(Inline::Never, || ());
            task.run();
            future.result().unwrap();
        });
    });
    group.finish();
}

criterion_group!(benches, t1, t2);
criterion_main!(benches);
