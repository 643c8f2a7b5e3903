//! Property tests of the process pool's wire, from outside (the frame decoder's own unit
//! properties live in `crates/pool-process/src/wire.rs`): random argument and result sizes
//! around the frame limit, and random or oversized frames forged onto a worker's reply pipe.
//! Each gives a typed error for the task concerned, never a panic or a hang, and the pool
//! keeps serving.
//!
//! Not covered: a worker that writes a *truncated* frame and stays alive. The parent then
//! waits for the rest of the frame, which the worker's next reply (or its exit) completes;
//! until then that worker's future stays unresolved. Only a task sabotaging the private
//! pipe can do that, and nothing bounds how long a frame may take to arrive.

mod common;

use std::io::Write;
use std::os::fd::FromRawFd;

use cfutures::Error;
use cfutures::process::ProcessPoolExecutor;
use common::{PATIENCE, pid};
use proptest::prelude::*;

const LIMIT: usize = 4096;

fn pool() -> ProcessPoolExecutor {
    ProcessPoolExecutor::builder()
        .max_workers(1)
        .max_frame_size(LIMIT)
        .build()
        .unwrap()
}

fn length(bytes: Vec<u8>) -> usize {
    bytes.len()
}

fn bytes_of_length(n: usize) -> Vec<u8> {
    vec![7; n]
}

/// Writes `bytes` onto the worker's reply pipe (its one write-only pipe above stderr).
fn forge_reply(bytes: Vec<u8>) -> u32 {
    for fd in 3..256 {
        // SAFETY: F_GETFL only queries the descriptor.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap_or_default();
        if flags >= 0
            && flags & libc::O_ACCMODE == libc::O_WRONLY
            && link.to_string_lossy().starts_with("pipe:")
        {
            // SAFETY: borrowed for one write; ManuallyDrop keeps the worker's descriptor open.
            let mut pipe = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) });
            pipe.write_all(&bytes).unwrap();
        }
    }
    0
}

/// A whole frame: little-endian length, kind, payload.
fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = ((payload.len() + 1) as u32).to_le_bytes().to_vec();
    out.push(kind);
    out.extend_from_slice(payload);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Arguments and results near the frame limit either cross or fail their future with a
    /// serialisation error naming the limit.
    #[test]
    fn sizes_around_the_frame_limit(n in 0usize..2 * LIMIT) {
        let pool = pool();
        match pool.submit(length, vec![1u8; n]).unwrap().result_timeout(PATIENCE) {
            Ok(&got) => {
                prop_assert!(n <= LIMIT, "{n} bytes crossed a {LIMIT}-byte limit");
                prop_assert_eq!(got, n);
            }
            Err(Error::Serialization(message)) => {
                prop_assert!(n + 64 > LIMIT, "{n} bytes refused: {message}");
                prop_assert!(message.contains("frame limit"), "{message}");
            }
            Err(other) => prop_assert!(false, "{other:?}"),
        }
        match pool.submit(bytes_of_length, n).unwrap().result_timeout(PATIENCE) {
            Ok(bytes) => {
                prop_assert!(n <= LIMIT);
                prop_assert_eq!(bytes.len(), n);
            }
            Err(Error::Serialization(message)) => {
                prop_assert!(n + 64 > LIMIT, "{n} bytes refused: {message}");
                prop_assert!(message.contains("frame limit"), "{message}");
            }
            Err(other) => prop_assert!(false, "{other:?}"),
        }
    }

    /// Forged frames of any kind and content, and length prefixes over the limit, fail the
    /// task that sent them with a protocol error; the worker is replaced.
    #[test]
    fn forged_frames_fail_their_task_only(
        kind in any::<u8>(),
        payload in proptest::collection::vec(any::<u8>(), 0..64),
        oversized in proptest::option::of((LIMIT as u32 + 1)..=u32::MAX),
    ) {
        let pool = pool();
        let bytes = match oversized {
            Some(len) => {
                let mut bytes = len.to_le_bytes().to_vec();
                bytes.extend_from_slice(&payload);
                bytes
            }
            None => frame(kind, &payload),
        };
        match pool.submit(forge_reply, bytes).unwrap().result_timeout(PATIENCE) {
            Err(Error::Serialization(message)) => {
                prop_assert!(message.contains("protocol"), "{message}");
            }
            other => prop_assert!(false, "{other:?}"),
        }
        prop_assert!(pool.submit(pid, ()).unwrap().result_timeout(PATIENCE).is_ok());
    }
}
