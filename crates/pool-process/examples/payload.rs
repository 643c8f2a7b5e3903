//! Times large payloads through one process task: `cargo run --release -p cfutures-process
//! --example payload` (P4: 100 MiB `Vec<u8>`, `String`, `Vec<f64>` round trips and the time
//! `submit` takes; P5: 1M small structs).
use std::time::Instant;

use cfutures_process::ProcessPoolExecutor;
use serde::{Deserialize, Serialize};

const MIB100: usize = 100 << 20;

#[derive(Serialize, Deserialize, Clone)]
struct Point {
    id: u32,
    x: f64,
    y: f64,
}

fn echo<T>(x: T) -> T {
    x
}

fn time<T: Serialize + serde::de::DeserializeOwned + Send + Sync + Clone + 'static>(
    pool: &ProcessPoolExecutor,
    name: &str,
    value: T,
) {
    let mut best = (f64::MAX, f64::MAX);
    for _ in 0..3 {
        let arg = value.clone();
        let t = Instant::now();
        let f = pool.submit(echo::<T>, arg).unwrap();
        let submitted = t.elapsed().as_secs_f64();
        f.result().unwrap();
        let total = t.elapsed().as_secs_f64();
        best = (best.0.min(total), best.1.min(submitted));
    }
    println!(
        "{name}: round trip {:.3} s, submit {:.2} ms",
        best.0,
        best.1 * 1e3
    );
}

fn main() {
    cfutures_process::init();
    let pool = ProcessPoolExecutor::new(1).unwrap();
    pool.submit(echo::<u8>, 0).unwrap().result().unwrap();
    time(&pool, "P4 Vec<u8>", vec![7u8; MIB100]);
    time(&pool, "P4 String", "x".repeat(MIB100));
    time(&pool, "P4 Vec<f64>", vec![1.5f64; MIB100 / 8]);
    let points: Vec<Point> = (0..1_000_000)
        .map(|i| Point {
            id: i,
            x: i as f64,
            y: -(i as f64),
        })
        .collect();
    time(&pool, "P5 1M structs", points);
}
