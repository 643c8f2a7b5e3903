//! The scenarios (see `main.rs`).

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use cfutures_test_support::{PRIMES, is_prime};
use cfutures_thread::ThreadPoolExecutor;
use criterion::{Criterion, criterion_group};

const T1_TASKS: usize = 100_000;

fn cores() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

fn pool() -> &'static ThreadPoolExecutor {
    static POOL: OnceLock<ThreadPoolExecutor> = OnceLock::new();
    POOL.get_or_init(|| ThreadPoolExecutor::new(cores()).unwrap())
}

fn rayon_pool() -> &'static rayon::ThreadPool {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(cores())
            .build()
            .unwrap()
    })
}

/// The completion signal rayon's peer gets: one handle per task holding its value, a blocking
/// wait that parks (no polling), like a future but with no states beyond done.
struct Handle<T> {
    slot: Arc<Slot<T>>,
}

struct Slot<T> {
    value: OnceLock<T>,
    done: AtomicBool,
    waiter: Mutex<Option<Thread>>,
}

fn rayon_spawn<T: Send + Sync + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Handle<T> {
    let slot = Arc::new(Slot {
        value: OnceLock::new(),
        done: AtomicBool::new(false),
        waiter: Mutex::new(None),
    });
    let producer = Arc::clone(&slot);
    rayon_pool().spawn(move || {
        let _ = producer.value.set(f());
        producer.done.store(true, Ordering::SeqCst);
        if let Some(waiter) = producer.waiter.lock().unwrap().take() {
            waiter.unpark();
        }
    });
    Handle { slot }
}

impl<T> Handle<T> {
    fn wait(&self) -> &T {
        if !self.slot.done.load(Ordering::SeqCst) {
            *self.slot.waiter.lock().unwrap() = Some(thread::current());
            while !self.slot.done.load(Ordering::SeqCst) {
                thread::park();
            }
        }
        self.slot.value.get().unwrap()
    }
}

fn t1_throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("T1 100k empty tasks");
    group.bench_function("cfutures submit+result", |b| {
        b.iter(|| {
            let futures: Vec<_> = (0..T1_TASKS)
                .map(|_| pool().submit(|| ()).unwrap())
                .collect();
            for f in &futures {
                f.result().unwrap();
            }
        })
    });
    group.bench_function("rayon spawn+handle", |b| {
        b.iter(|| {
            let handles: Vec<_> = (0..T1_TASKS).map(|_| rayon_spawn(|| ())).collect();
            for h in &handles {
                h.wait();
            }
        })
    });
    group.bench_function("rayon scope (no handles)", |b| {
        b.iter(|| {
            rayon_pool().scope(|s| {
                for _ in 0..T1_TASKS {
                    s.spawn(|_| ());
                }
            })
        })
    });
    group.finish();
}

fn t2_latency(c: &mut Criterion) {
    let mut group = c.benchmark_group("T2 submit->result latency");
    group.bench_function("cfutures", |b| {
        b.iter(|| *pool().submit(|| black_box(1u64)).unwrap().result().unwrap())
    });
    group.bench_function("rayon spawn+handle", |b| {
        b.iter(|| *rayon_spawn(|| black_box(1u64)).wait())
    });
    group.finish();
}

/// `fib(n)` by recursive fork-join above `cutoff`, sequential below it.
fn fib_seq(n: u64) -> u64 {
    if n < 2 {
        n
    } else {
        fib_seq(n - 1) + fib_seq(n - 2)
    }
}

fn fib_cfutures(n: u64, cutoff: u64) -> u64 {
    if n <= cutoff {
        return fib_seq(n);
    }
    // The shape of `rayon::join(a, b)`: offer `b` to other workers, run `a` here, then wait
    // on `b` (which runs here too if nobody took it).
    let right = pool().submit(move || fib_cfutures(n - 2, cutoff)).unwrap();
    let left = fib_cfutures(n - 1, cutoff);
    left + *right.result().unwrap()
}

fn fib_rayon(n: u64, cutoff: u64) -> u64 {
    if n <= cutoff {
        return fib_seq(n);
    }
    let (a, b) = rayon::join(|| fib_rayon(n - 1, cutoff), || fib_rayon(n - 2, cutoff));
    a + b
}

fn t3_nested(c: &mut Criterion) {
    let mut group = c.benchmark_group("T3 fork-join fib(30)");
    for cutoff in [12, 20] {
        group.bench_function(format!("cfutures submit/result, cutoff {cutoff}"), |b| {
            b.iter(|| {
                *pool()
                    .submit(move || fib_cfutures(30, cutoff))
                    .unwrap()
                    .result()
                    .unwrap()
            })
        });
        group.bench_function(format!("rayon::join, cutoff {cutoff}"), |b| {
            b.iter(|| rayon_pool().install(|| fib_rayon(30, cutoff)))
        });
    }
    group.finish();
}

fn t4_cpu_bound(c: &mut Criterion) {
    report_t4_ideal();
    let mut group = c.benchmark_group("T4 is_prime over the seed's numbers");
    group.sample_size(10);
    group.bench_function("sequential", |b| {
        b.iter(|| {
            PRIMES
                .iter()
                .map(|&n| is_prime(black_box(n)))
                .collect::<Vec<_>>()
        })
    });
    group.bench_function("cfutures map", |b| {
        b.iter(|| {
            pool()
                .map(is_prime, PRIMES)
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap()
        })
    });
    group.bench_function("rayon par_iter", |b| {
        use rayon::prelude::*;
        b.iter(|| {
            rayon_pool().install(|| PRIMES.par_iter().map(|&n| is_prime(n)).collect::<Vec<_>>())
        })
    });
    group.finish();
}

/// Prints the best possible speedup on this machine: the sequential time over the shortest
/// makespan of the six items on `cores()` workers (brute force over assignments).
fn report_t4_ideal() {
    let times: Vec<Duration> = PRIMES
        .iter()
        .map(|&n| {
            let start = Instant::now();
            black_box(is_prime(black_box(n)));
            start.elapsed()
        })
        .collect();
    let total: Duration = times.iter().sum();
    let workers = cores();
    let mut best = total;
    for assignment in 0..workers.pow(times.len() as u32) {
        let mut loads = vec![Duration::ZERO; workers];
        let mut a = assignment;
        for t in &times {
            loads[a % workers] += *t;
            a /= workers;
        }
        best = best.min(loads.into_iter().max().unwrap());
    }
    eprintln!(
        "T4: sequential {total:?} (items {times:?}); best makespan on {workers} workers {best:?}; \
         ideal speedup {:.3}",
        total.as_secs_f64() / best.as_secs_f64()
    );
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = t1_throughput, t2_latency, t3_nested, t4_cpu_bound
}
