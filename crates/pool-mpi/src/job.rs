//! The rank-0 record of one submitted task: its promise behind a type-erased face.
//!
//! TO BE REPLACED by the shared dispatcher's job type (issue 12): it mirrors
//! `cfutures_process::job` (`Job`, `Pending`, `ChunkPending`).

use cfutures_core::unwind::catch_message;
use cfutures_core::{Error, Promise};
use serde::de::DeserializeOwned;

use crate::shipping::Failure;

/// What the dispatcher keeps for a task it has not completed.
pub(crate) trait Job: Send {
    /// Marks the future running as it is sent; false if it was cancelled (then it is not
    /// sent), like Python's `set_running_or_notify_cancel`.
    fn start(&self) -> bool;
    /// Completes the future from a worker's encoded value, or with an error.
    fn finish(self: Box<Self>, outcome: Result<&[u8], Error>);
    /// Cancels a future that was never sent (shutdown with `cancel_futures`).
    fn cancel(self: Box<Self>);
}

/// Runs a decoder, turning a panic in the user's `Deserialize` into the future's error: the
/// dispatcher thread decodes and must survive it.
fn decode_guarded<T>(decode: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    catch_message(decode).unwrap_or_else(|message| {
        Err(Error::Panicked {
            message: format!("decoding the result panicked: {message}"),
            backtrace: None,
        })
    })
}

fn complete<T>(promise: &Promise<T>, result: Result<T, Error>) {
    // Only a future cancelled by its user refuses completion, and then nobody waits for it.
    let _ = match result {
        Ok(value) => promise.set_result(value),
        Err(error) => promise.set_error(error),
    };
}

/// A task whose value decodes as `R`.
pub(crate) struct Pending<R> {
    pub(crate) promise: Promise<R>,
}

impl<R: DeserializeOwned + Send + 'static> Job for Pending<R> {
    fn start(&self) -> bool {
        self.promise.set_running_or_notify_cancel()
    }

    fn finish(self: Box<Self>, outcome: Result<&[u8], Error>) {
        let result = outcome.and_then(|bytes| {
            decode_guarded(|| {
                postcard::from_bytes::<R>(bytes)
                    .map_err(|e| Error::Serialization(format!("cannot decode the result: {e}")))
            })
        });
        complete(&self.promise, result);
    }

    fn cancel(self: Box<Self>) {
        self.promise.cancel();
    }
}

/// A `map` chunk: one result or failure per item.
pub(crate) struct ChunkPending<R> {
    pub(crate) promise: Promise<Vec<Result<R, Error>>>,
}

impl<R: DeserializeOwned + Send + 'static> Job for ChunkPending<R> {
    fn start(&self) -> bool {
        self.promise.set_running_or_notify_cancel()
    }

    fn finish(self: Box<Self>, outcome: Result<&[u8], Error>) {
        let result = outcome.and_then(|bytes| {
            decode_guarded(|| {
                postcard::from_bytes::<Vec<Result<R, Failure>>>(bytes)
                    .map(|items| {
                        items
                            .into_iter()
                            .map(|item| item.map_err(Failure::into_error))
                            .collect()
                    })
                    .map_err(|e| Error::Serialization(format!("cannot decode the results: {e}")))
            })
        });
        complete(&self.promise, result);
    }

    fn cancel(self: Box<Self>) {
        self.promise.cancel();
    }
}
