//! The parent's record of one submitted task: its promise, behind a type-erased face.

use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};

use cfutures_core::unwind::{drop_payload, panic_message};
use cfutures_core::{Error, Future, Promise};
use serde::de::{DeserializeOwned, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::body::Body;
use crate::codec::Encoded;
use crate::dispatch::{self, Dispatcher};
use crate::wire::Failure;

/// The outcome of a submission whose argument could not be sent (it would not encode, or
/// exceeds the frame limit): a refusal of the pool's (R1) comes first, as CPython's `submit`
/// raises before its feeder thread pickles; otherwise a future failed with `error`, as
/// CPython fails the future of an argument that does not pickle. Nothing is queued.
pub fn unsent<T, J: dispatch::Job>(
    machine: &Dispatcher<J>,
    error: Error,
) -> Result<Future<T>, Error> {
    if let Some(refusal) = machine.refusal() {
        return Err(refusal);
    }
    let (promise, future) = Promise::new();
    // A fresh promise accepts its one outcome.
    let _ = promise.set_error(error);
    Ok(future)
}

/// The done-callbacks of a future just completed, to run off the thread that reads replies.
pub type Callbacks = Box<dyn FnOnce() + Send>;

/// What the pool keeps for a task it has not completed yet.
pub trait Job: Send {
    /// Marks the future running before it is sent to a worker; false if it was cancelled
    /// meanwhile (then it is not sent), like Python's `set_running_or_notify_cancel`.
    fn start(&self) -> bool;
    /// Decodes a worker's encoded value (or takes the error) and completes the future at
    /// once, waking its waiters; returns its done-callbacks, if it has any, for the caller to
    /// run elsewhere (a delivery thread), so a callback never holds up replies.
    fn settle(self: Box<Self>, outcome: Result<&[u8], Error>) -> Option<Callbacks>;
    /// [`settle`](Self::settle) with a value that arrived as a body (a DONE_BODY frame).
    fn settle_body(self: Box<Self>, body: Body) -> Option<Callbacks>;
    /// Cancels a future that was never sent (shutdown with `cancel_futures`).
    fn cancel(self: Box<Self>);
}

/// Runs a result decoder, turning a panic in the user's `Deserialize` impl into the future's
/// error: decoding runs on the thread that serves a worker's replies, which must survive it
/// (otherwise that worker's other replies and its reaping would stall).
fn decode_guarded<T>(decode: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    match catch_unwind(AssertUnwindSafe(decode)) {
        Ok(result) => result,
        Err(payload) => {
            let message = panic_message(&*payload);
            drop_payload(payload);
            Err(Error::Panicked {
                message: format!("decoding the result panicked: {message}"),
                backtrace: None,
            })
        }
    }
}

fn complete<T: Send + Sync + 'static>(
    promise: &Promise<T>,
    result: Result<T, Error>,
) -> Option<Callbacks> {
    let deferred = match result {
        Ok(value) => promise.set_result_deferred(value),
        Err(error) => promise.set_error_deferred(error),
    };
    // A future the user cancelled while it was still queued refuses completion; that is the
    // only way these can fail, and there is nothing left to tell anyone.
    let callbacks = deferred.ok().flatten()?;
    Some(Box::new(move || callbacks.run()))
}

impl crate::dispatch::Job for Box<dyn Job> {
    fn start(&mut self) -> bool {
        (**self).start()
    }
}

/// A task whose value decodes as `R`.
pub struct Pending<R> {
    /// The future's promise.
    pub promise: Promise<R>,
}

impl<R: DeserializeOwned + Send + Sync + 'static> Job for Pending<R> {
    fn start(&self) -> bool {
        self.promise.set_running_or_notify_cancel()
    }

    fn settle(self: Box<Self>, outcome: Result<&[u8], Error>) -> Option<Callbacks> {
        self.settle_encoded(outcome.map(Encoded::Inline))
    }

    fn settle_body(self: Box<Self>, body: Body) -> Option<Callbacks> {
        self.settle_encoded(Ok(Encoded::Body(body)))
    }

    fn cancel(self: Box<Self>) {
        self.promise.future().cancel();
    }
}

impl<R: DeserializeOwned + Send + Sync + 'static> Pending<R> {
    fn settle_encoded(&self, outcome: Result<Encoded<'_>, Error>) -> Option<Callbacks> {
        let result = outcome.and_then(|encoded| {
            decode_guarded(|| {
                crate::codec::decode::<R>(encoded)
                    .map_err(|e| Error::Serialization(format!("cannot decode the result: {e}")))
            })
        });
        complete(&self.promise, result)
    }
}

/// A `map` chunk: the worker sends one result or failure per item.
pub struct ChunkPending<R> {
    /// The future's promise.
    pub promise: Promise<Vec<Result<R, Error>>>,
}

impl<R: DeserializeOwned + Send + Sync + 'static> Job for ChunkPending<R> {
    fn start(&self) -> bool {
        self.promise.set_running_or_notify_cancel()
    }

    fn settle(self: Box<Self>, outcome: Result<&[u8], Error>) -> Option<Callbacks> {
        let result = outcome.and_then(|bytes| {
            decode_guarded(|| {
                crate::serde_text::decode::<ChunkResults<R>>(bytes)
                    .map(|results| results.0)
                    .map_err(|e| Error::Serialization(format!("cannot decode the results: {e}")))
            })
        });
        complete(&self.promise, result)
    }

    fn settle_body(self: Box<Self>, body: Body) -> Option<Callbacks> {
        let error = format!("a chunk's results arrived as a body ({body:?})");
        complete(&self.promise, Err(Error::Serialization(error)))
    }

    fn cancel(self: Box<Self>) {
        self.promise.future().cancel();
    }
}

/// A chunk's results as the worker sent them (`Vec<Result<R, Failure>>`), decoded straight
/// into what the future holds, without an intermediate vector.
struct ChunkResults<R>(Vec<Result<R, Error>>);

impl<'de, R: Deserialize<'de>> Deserialize<'de> for ChunkResults<R> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Items<R>(PhantomData<R>);

        impl<'de, R: Deserialize<'de>> Visitor<'de> for Items<R> {
            type Value = ChunkResults<R>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a sequence of results")
            }

            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
                // Never trust a length prefix for an allocation: cap what it reserves.
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some(item) = seq.next_element::<Result<R, Failure>>()? {
                    items.push(item.map_err(failure_error));
                }
                Ok(ChunkResults(items))
            }
        }

        deserializer.deserialize_seq(Items(PhantomData))
    }
}

/// The error a worker's [`Failure`] becomes.
pub fn failure_error(failure: Failure) -> Error {
    match failure {
        Failure::Panicked { message, backtrace } => Error::Panicked {
            message,
            backtrace: Some(backtrace),
        },
        Failure::Serialization(message) => Error::Serialization(message),
    }
}
