//! The MPI messages between rank 0 and the worker ranks: one message per frame, the MPI tag
//! is the frame's kind and MPI carries the length.
//!
//! The payloads of the hot frames keep the fixed little-endian headers of the process pool's
//! wire (`cfutures_process::wire`: a task is `id, entry, fn_word` then the argument's
//! postcard bytes; a reply is `id, elapsed_ns` then the value or a postcard `Failure`), so
//! both pools encode a task the same way.

/// Worker -> rank 0, once at start-up: a postcard [`Hello`].
pub(crate) const HELLO: i32 = 1;
/// Rank 0 -> worker: `id: u64, entry: i64, fn_word: u64`, then the argument.
pub(crate) const TASK: i32 = 2;
/// Worker -> rank 0: `id: u64, elapsed_ns: u64`, then the value's postcard bytes.
pub(crate) const DONE: i32 = 3;
/// Worker -> rank 0: `id: u64, elapsed_ns: u64`, then a postcard `Failure`.
pub(crate) const FAILED: i32 = 4;
/// Rank 0 -> worker: no payload; finalize MPI and exit (sent once every task is done).
pub(crate) const STOP: i32 = 5;

/// Bytes of a task header.
pub(crate) const TASK_HEADER: usize = 24;
/// Bytes of a reply header.
pub(crate) const REPLY_HEADER: usize = 16;

/// A worker's introduction: who it is and which build it runs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Hello {
    pub(crate) build: crate::shipping::BuildId,
    pub(crate) host: String,
    pub(crate) pid: u32,
}

/// Splits `N` little-endian u64 words off the front of `payload`.
pub(crate) fn split_words<const N: usize>(payload: &[u8]) -> Option<([u64; N], &[u8])> {
    if payload.len() < N * 8 {
        return None;
    }
    let mut words = [0u64; N];
    for (i, word) in words.iter_mut().enumerate() {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&payload[i * 8..i * 8 + 8]);
        *word = u64::from_le_bytes(bytes);
    }
    Some((words, &payload[N * 8..]))
}

/// Appends `words` little-endian.
pub(crate) fn push_words(out: &mut Vec<u8>, words: &[u64]) {
    for word in words {
        out.extend_from_slice(&word.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_short_payloads_are_refused() {
        let mut out = Vec::new();
        push_words(&mut out, &[1, u64::MAX, 7]);
        out.push(9);
        assert_eq!(split_words::<3>(&out), Some(([1, u64::MAX, 7], &[9u8][..])));
        assert_eq!(split_words::<4>(&out), None);
    }
}
