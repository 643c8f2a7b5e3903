//! What criterion's loop cannot show: T2 back to back in round robin, and what an idle pool
//! costs once a burst is over (I1, I2).
//!
//! **T2/back-to-back**: every implementation's pool is alive for the whole measurement, and
//! the implementations take turns: each round times a block of submit -> result trips in a
//! tight loop for each of them (the order rotating from round to round), so that noise from
//! the shared machine falls on all of them alike and each block starts with its pool's
//! threads as the others' blocks left them (spinning down or asleep). A row is the median over
//! the rounds of (block time / trips).
//!
//! **I1 / I2**: each pool runs in a fresh child process (this binary re-executed), so that
//! every thread but the main one is the pool's. The child runs a burst (T1's shape, 10k empty
//! tasks submitted from outside, then every result awaited), then samples the CPU time of
//! the pool's threads (`/proc/self/task/<tid>/schedstat`, nanoseconds on the CPU, summed over
//! every thread seen) for one second after the last result, every 250 µs for the first 20 ms,
//! then coarser. I1 is the settle time: the end of the last sampling interval in which the
//! pool used more than 1 % of one core (0 if the first interval already was below it). I2 is
//! the pool's CPU time in that second. Medians over a few bursts. The kernel adds a running
//! thread's time at its scheduler ticks and switches, so I1 resolves about a tick (4 ms at
//! 250 Hz) for a thread that spins without yielding, one sampling step for one that yields.
//!
//! Run by `cargo xtask bench` (`cargo bench --bench latency [-- FILTER]`), as every plain
//! target is (`common/plain.rs`).

mod common;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use common::plain::Plain;
use common::{cfutures_pool, quick, rayon_pool, tokio_runtime};

/// The T2/back-to-back scenario's id.
const BACK_TO_BACK: &str = "T2/back-to-back";
/// The implementations of T2 back to back.
const ROUND_TRIP_IMPLS: [&str; 3] = ["cfutures", "rayon+oneshot", "tokio"];
/// The pools whose idling I1/I2 measure.
const IDLE_IMPLS: [&str; 3] = ["cfutures", "rayon", "tokio"];
/// Tasks in the burst before the idle measurement.
const BURST_TASKS: usize = 10_000;
/// How long the pool is watched after its burst.
const WATCH: Duration = Duration::from_secs(1);
/// "About 0 % CPU": under this share of one core.
const IDLE_SHARE: f64 = 0.01;

/// One round trip: submit an empty task, wait for its result.
type RoundTrip = Box<dyn Fn() -> u64>;

fn round_trip(implementation: &str) -> RoundTrip {
    match implementation {
        "cfutures" => {
            let pool = cfutures_pool();
            Box::new(move || {
                pool.submit(|| black_box(1u64))
                    .unwrap()
                    .into_result()
                    .unwrap()
            })
        }
        "rayon+oneshot" => {
            let pool = rayon_pool();
            Box::new(move || {
                let (tx, rx) = crossbeam_channel::bounded(1);
                pool.spawn(move || tx.send(black_box(1u64)).unwrap());
                rx.recv().unwrap()
            })
        }
        "tokio" => {
            let runtime = tokio_runtime();
            Box::new(move || {
                runtime
                    .block_on(runtime.spawn_blocking(|| black_box(1u64)))
                    .unwrap()
            })
        }
        other => panic!("unknown implementation {other}"),
    }
}

fn back_to_back(plain: &mut Plain) {
    let trippers: Vec<(&str, RoundTrip)> = ROUND_TRIP_IMPLS
        .iter()
        .filter(|i| plain.wants(BACK_TO_BACK, i))
        .map(|&i| (i, round_trip(i)))
        .collect();
    if trippers.is_empty() {
        return;
    }
    let (rounds, trips) = if quick() { (7, 500) } else { (21, 2000) };
    let mut per_trip: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); trippers.len()];
    // Round 0 warms up (threads started, caches and allocator primed) and is not kept.
    for round in 0..=rounds {
        for k in 0..trippers.len() {
            let which = (round + k) % trippers.len();
            let trip = &trippers[which].1;
            let start = Instant::now();
            for _ in 0..trips {
                black_box(trip());
            }
            let ns = start.elapsed().as_nanos() as f64 / trips as f64;
            if round > 0 {
                per_trip[which].push(ns);
            }
        }
    }
    for ((implementation, _), samples) in trippers.iter().zip(&mut per_trip) {
        let median = median(samples);
        plain.record(
            BACK_TO_BACK,
            implementation,
            ("median_ns", median),
            &format!("median of {rounds} rounds of {trips} trips, round robin"),
            &format!("{:.2} µs per trip", median / 1e3),
        );
    }
}

/// A burst of `BURST_TASKS` empty tasks on one implementation, returning after the last result.
type Burst = Box<dyn Fn()>;

fn burst(implementation: &str) -> Burst {
    match implementation {
        "cfutures" => {
            let pool = cfutures_pool();
            Box::new(move || {
                let futures: Vec<_> = (0..BURST_TASKS)
                    .map(|_| pool.submit(|| ()).unwrap())
                    .collect();
                for future in &futures {
                    future.result().unwrap();
                }
            })
        }
        "rayon" => {
            let pool = rayon_pool();
            Box::new(move || {
                let handles: Vec<_> = (0..BURST_TASKS)
                    .map(|_| {
                        let (tx, rx) = crossbeam_channel::bounded(1);
                        pool.spawn(move || tx.send(()).unwrap());
                        rx
                    })
                    .collect();
                for handle in &handles {
                    handle.recv().unwrap();
                }
            })
        }
        "tokio" => {
            let runtime = tokio_runtime();
            Box::new(move || {
                let handles: Vec<_> = (0..BURST_TASKS)
                    .map(|_| runtime.spawn_blocking(|| ()))
                    .collect();
                runtime.block_on(async {
                    for handle in handles {
                        handle.await.unwrap();
                    }
                });
            })
        }
        other => panic!("unknown implementation {other}"),
    }
}

/// CPU time of this process's threads other than the main one, per thread id. A thread that
/// exits keeps the last value read (tokio's blocking threads may come and go).
struct PoolCpu {
    seen: BTreeMap<u32, u64>,
}

impl PoolCpu {
    fn new() -> Self {
        PoolCpu {
            seen: BTreeMap::new(),
        }
    }

    /// Reads every thread's time on the CPU; returns the pool's total in nanoseconds.
    fn read(&mut self) -> u64 {
        let main = std::process::id();
        for entry in std::fs::read_dir("/proc/self/task").expect("/proc/self/task") {
            let Ok(entry) = entry else { continue };
            let Some(tid) = entry
                .file_name()
                .to_str()
                .and_then(|t| t.parse::<u32>().ok())
            else {
                continue;
            };
            if tid == main {
                continue;
            }
            // The thread may have exited since the directory was read.
            let Ok(text) = std::fs::read_to_string(entry.path().join("schedstat")) else {
                continue;
            };
            if let Some(ns) = text.split_whitespace().next().and_then(|v| v.parse().ok()) {
                let slot = self.seen.entry(tid).or_insert(0);
                *slot = (*slot).max(ns);
            }
        }
        self.seen.values().sum()
    }
}

/// After a burst: (settle time, pool CPU time in the watched second), in nanoseconds.
fn watch_idle(cpu: &mut PoolCpu) -> (f64, f64) {
    let start = Instant::now();
    let mut samples = vec![(Duration::ZERO, cpu.read())];
    // Fine steps while a pool is likely to be spinning down, coarse ones after.
    while start.elapsed() < WATCH {
        let elapsed = start.elapsed();
        let step = if elapsed < Duration::from_millis(20) {
            Duration::from_micros(250)
        } else if elapsed < Duration::from_millis(100) {
            Duration::from_millis(1)
        } else {
            Duration::from_millis(10)
        };
        std::thread::sleep(step.min(WATCH.saturating_sub(elapsed)));
        samples.push((start.elapsed(), cpu.read()));
    }
    // Settled at the end of the last interval in which the pool was above the idle share.
    let settled = samples
        .windows(2)
        .filter(|pair| {
            let ((from, cpu_from), (to, cpu_to)) = (pair[0], pair[1]);
            (cpu_to - cpu_from) as f64 > IDLE_SHARE * (to - from).as_nanos() as f64
        })
        .map(|pair| pair[1].0)
        .next_back()
        .unwrap_or(Duration::ZERO);
    let (end, end_cpu) = *samples.last().expect("at least one sample");
    (
        settled.as_nanos() as f64,
        (end_cpu - samples[0].1) as f64 / end.as_secs_f64(),
    )
}

/// The child's side: bursts, each watched; prints the medians and the threads seen.
fn idle_child(implementation: &str, bursts: usize) {
    let run = burst(implementation);
    run(); // starts every thread the pool will use
    let mut cpu = PoolCpu::new();
    let (mut settle, mut busy) = (Vec::new(), Vec::new());
    for _ in 0..bursts {
        run();
        let (settled, cpu_ns) = watch_idle(&mut cpu);
        settle.push(settled);
        busy.push(cpu_ns);
    }
    println!(
        "{} {} {}",
        median(&mut settle),
        median(&mut busy),
        cpu.seen.len()
    );
}

fn idle(plain: &mut Plain) {
    let exe = std::env::current_exe().expect("own executable");
    let bursts = if quick() { 3 } else { 7 };
    for implementation in IDLE_IMPLS {
        let settle_wanted = plain.wants("I1", implementation);
        let cpu_wanted = plain.wants("I2", implementation);
        if !settle_wanted && !cpu_wanted {
            continue;
        }
        let output = Command::new(&exe)
            .args(["--idle-child", implementation, &bursts.to_string()])
            .output()
            .expect("child process");
        assert!(
            output.status.success(),
            "idle {implementation} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8_lossy(&output.stdout);
        let fields: Vec<f64> = text
            .split_whitespace()
            .map(|v| v.parse().expect("a number"))
            .collect();
        let [settle_ns, cpu_ns, threads] = fields[..] else {
            panic!("idle {implementation}: unexpected output {text:?}");
        };
        let note = format!("{threads} pool threads, median of {bursts} bursts of {BURST_TASKS}");
        if settle_wanted {
            plain.record(
                "I1",
                implementation,
                ("median_ns", settle_ns),
                &note,
                &format!("{:.3} ms to idle", settle_ns / 1e6),
            );
        }
        if cpu_wanted {
            plain.record(
                "I2",
                implementation,
                ("median_ns", cpu_ns),
                &note,
                &format!(
                    "{:.3} ms CPU in the second after ({:.2} % of a core)",
                    cpu_ns / 1e6,
                    cpu_ns / 1e7
                ),
            );
        }
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, implementation, bursts] = args.as_slice()
        && flag == "--idle-child"
    {
        idle_child(implementation, bursts.parse().expect("burst count"));
        return;
    }
    let mut plain = Plain::from_args(&args);
    back_to_back(&mut plain);
    idle(&mut plain);
    plain.finish();
}
