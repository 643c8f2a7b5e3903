//! Large byte-like payloads (`Vec<u8>`, `String`, `Vec<f32>`, `Vec<f64>`) through real
//! workers: they travel as body frames, written from the value's own buffer and read into a
//! vector of their own, in both directions; everything else still travels encoded.
#![cfg(target_os = "linux")]

use cfutures_core::Error;
use cfutures_process::ProcessPoolExecutor;
use cfutures_test_support::process::no_core_dumps;
use cfutures_test_support::{Gate, gate_wait};

/// Larger than the smallest body (64 KiB) and than a pipe's buffer (1 MiB).
const BIG: usize = 3 << 20;

fn pool(workers: usize) -> ProcessPoolExecutor {
    no_core_dumps();
    ProcessPoolExecutor::new(workers).unwrap()
}

fn reversed(mut v: Vec<u8>) -> Vec<u8> {
    v.reverse();
    v
}

fn upper(s: String) -> String {
    s.to_uppercase()
}

fn halved(v: Vec<f64>) -> Vec<f64> {
    v.into_iter().map(|x| x / 2.0).collect()
}

fn negated(v: Vec<f32>) -> Vec<f32> {
    v.into_iter().map(|x| -x).collect()
}

fn sum(v: Vec<u8>) -> u64 {
    v.iter().map(|&b| u64::from(b)).sum()
}

fn filled(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

#[test]
fn large_byte_like_values_round_trip_exactly() {
    let pool = pool(1);
    let bytes = filled(BIG);
    let mut want = bytes.clone();
    want.reverse();
    assert_eq!(pool.submit(reversed, bytes).unwrap().result(), Ok(&want));

    let text: String = (0..BIG / 4).map(|i| ['a', 'é', 'z'][i % 3]).collect();
    let got = pool.submit(upper, text.clone()).unwrap();
    assert_eq!(got.result(), Ok(&text.to_uppercase()));

    let floats: Vec<f64> = (0..BIG / 8).map(|i| i as f64 - 0.5).collect();
    let want: Vec<f64> = floats.iter().map(|x| x / 2.0).collect();
    assert_eq!(pool.submit(halved, floats).unwrap().result(), Ok(&want));

    let floats: Vec<f32> = (0..BIG / 4).map(|i| i as f32 * 0.25).collect();
    let want: Vec<f32> = floats.iter().map(|x| -x).collect();
    assert_eq!(pool.submit(negated, floats).unwrap().result(), Ok(&want));
}

#[test]
fn a_body_argument_with_an_encoded_result_and_the_reverse() {
    let pool = pool(1);
    let bytes = filled(BIG);
    let want: u64 = bytes.iter().map(|&b| u64::from(b)).sum();
    assert_eq!(pool.submit(sum, bytes).unwrap().result(), Ok(&want));
    assert_eq!(pool.submit(filled, BIG).unwrap().result(), Ok(&filled(BIG)));
}

#[test]
fn small_and_large_payloads_interleaved_on_several_workers_all_arrive() {
    let pool = pool(2);
    let sizes: Vec<usize> = (0..24)
        .map(|i| [10, 70_000, BIG, 0, 1 << 16][i % 5])
        .collect();
    let futures: Vec<_> = sizes
        .iter()
        .map(|&n| pool.submit(reversed, filled(n)).unwrap())
        .collect();
    for (n, future) in sizes.into_iter().zip(futures) {
        let mut want = filled(n);
        want.reverse();
        assert_eq!(future.result(), Ok(&want), "{n} bytes");
    }
}

#[test]
fn a_body_over_the_frame_limit_fails_its_future() {
    let pool = ProcessPoolExecutor::builder()
        .max_workers(1)
        .max_frame_size(1 << 20)
        .build()
        .unwrap();
    let too_big = pool.submit(reversed, vec![0; 2 << 20]).unwrap();
    assert!(
        matches!(too_big.result(), Err(Error::Serialization(m)) if m.contains("frame limit")),
        "{:?}",
        too_big.result()
    );
    let back = pool.submit(filled, 2 << 20).unwrap();
    assert!(
        matches!(back.result(), Err(Error::Serialization(m)) if m.contains("frame limit")),
        "{:?}",
        back.result()
    );
    // The worker still serves.
    assert_eq!(
        pool.submit(sum, vec![1; 100_000]).unwrap().result(),
        Ok(&100_000)
    );
}

#[test]
fn a_body_behind_a_task_whose_worker_is_killed_still_arrives() {
    let pool = pool(1);
    let gate = Gate::new();
    let running = pool.submit(gate_wait, gate.arg()).unwrap();
    let pid = gate.wait_started();
    // Small enough to be pipelined into the busy worker's pipe (then resent once it dies,
    // R7 of `dispatch.rs`), large enough to be a body.
    const PIPELINED: usize = 500_000;
    let queued = pool.submit(reversed, filled(PIPELINED)).unwrap();
    // SAFETY: kill(2) with a pid and a signal number.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    assert!(matches!(running.result(), Err(Error::WorkerDied { .. })));
    let mut want = filled(PIPELINED);
    want.reverse();
    assert_eq!(queued.result(), Ok(&want));
}
