//! Python's module-level helpers of `concurrent.futures` — `as_completed`, `wait` and
//! `Executor.map` — plus an unordered map and a growable completion set, for
//! [`cfutures_core::Future`]s from any executor, mixed in one call: thread pool, process pool
//! and futures you complete yourself with a [`Promise`](cfutures_core::Promise).
//!
//! | Python | here | returns |
//! |---|---|---|
//! | `as_completed(fs, timeout=None)` | [`as_completed`]`(fs, timeout)` | [`AsCompleted`]: `Iterator<Item = Result<Future<T>, Error>>` |
//! | (asyncio's `as_completed`) | [`AsCompleted::next_async`] | a `std::future::Future`, no runtime needed |
//! | `wait(fs, timeout=None, return_when=ALL_COMPLETED)` | [`wait`]`(fs, timeout, return_when)` | [`DoneAndNotDone`] `{ done, not_done }` |
//! | `FIRST_COMPLETED`, `FIRST_EXCEPTION`, `ALL_COMPLETED` | [`ReturnWhen`] | |
//! | `Executor.map(fn, *iterables, timeout=, buffersize=)` | [`map`]`(items, submit, MapOptions)` | [`Map`]: `Iterator<Item = Result<T, Error>>` |
//! | `ProcessPoolExecutor.map(..., chunksize=)` | [`map_chunked`]`(items, submit, MapOptions::new().chunksize(n))` | [`MapChunked`] |
//! | `multiprocessing.Pool.imap_unordered` | [`map_unordered`]`(items, submit, MapOptions)`, [`map_unordered_chunked`] | [`MapUnordered`]: `Iterator<Item = (usize, Result<T, Error>)>` |
//! | (tokio's `JoinSet`, `FuturesUnordered`) | [`CompletionSet`]: `insert`, `next`, `next_timeout`, `next_async` | `Iterator<Item = Future<T>>`, growable while drained |
//! | `TimeoutError`, `ValueError` | [`Error::Timeout`], [`Error::InvalidArgument`] | |
//!
//! # Semantics in brief
//! - **Timeouts count from the call**, as in Python, not from each `next`.
//! - **A cancelled future is done.** Python counts a future as done once it is
//!   `CANCELLED_AND_NOTIFIED`; cancelling a cfutures future notifies its waiters at once, so
//!   there is no cancelled-but-not-done state. `as_completed` yields cancelled futures, `wait`
//!   puts them in `done`, and a cancellation is never the error `FirstException` waits for.
//! - **Duplicates** collapse; identity (not value) is what counts, as with Python's sets.
//! - **No polling**: each unfinished future gets one waker registration that pushes its index
//!   to a ready queue, so `as_completed` over `n` futures is O(n) in all (the crate's
//!   `as_completed` benchmark shows a flat cost per future from 10 thousand to 1 million).
//! - `map` yields results **in input order**, surfaces a task's error at its item and goes on
//!   (CPython's behaviour after gh-108518; 3.14 stops at the first error, see [`map`]), bounds
//!   what is in flight with `buffersize`, and cancels what has not started when timed out or
//!   dropped mid-iteration; a map never iterated runs every task it submitted, as in Python.
//!   `map_unordered` does the same in completion order.
//!
//! # Features
//! - `executor`: the abstract [`Executor`] trait every pool implements (brings `serde`).
//! - `stream`: `futures_core::Stream` for [`AsCompleted`] and [`CompletionSet`] (brings the
//!   `futures-core` crate, the trait only).
//!
//! # Example: the seed program's loop
//! ```
//! use cfutures_core::{Error, Inline, Promise, Task};
//! use cfutures_helpers::as_completed;
//! use std::collections::HashMap;
//! use std::thread;
//!
//! // Futures from two "executors": tasks on plain threads, and a promise set by hand.
//! let mut future_to_url = HashMap::new();
//! for url in ["http://a.example/", "http://b.example/"] {
//!     let (task, future) = Task::new(Inline::Never, move || url.len());
//!     thread::spawn(move || task.run());
//!     future_to_url.insert(future, url);
//! }
//! let (promise, future) = Promise::new();
//! promise.set_error(Error::InvalidArgument("no such host".into())).unwrap();
//! future_to_url.insert(future, "http://c.invalid/");
//!
//! let mut lines = Vec::new();
//! for future in as_completed(future_to_url.keys().cloned(), None) {
//!     let future = future.unwrap(); // no timeout was given
//!     let url = future_to_url[&future];
//!     match future.result() {
//!         Ok(len) => lines.push(format!("{url:?} page is {len} bytes")),
//!         Err(exc) => lines.push(format!("{url:?} generated an exception: {exc}")),
//!     }
//! }
//! lines.sort();
//! assert_eq!(lines[2], r#""http://c.invalid/" generated an exception: invalid argument: no such host"#);
//! ```
//!
//! [`Error::Timeout`]: cfutures_core::Error::Timeout
//! [`Error::InvalidArgument`]: cfutures_core::Error::InvalidArgument

mod as_completed;
mod chunked;
mod completion_set;
mod deadline;
mod distinct;
#[cfg(feature = "executor")]
mod executor;
mod map;
mod map_unordered;
mod options;
mod ordered;
mod ready;
mod timer;
mod units;
mod unordered;
mod wait;
mod watch_set;

pub use as_completed::{AsCompleted, NextCompleted, as_completed};
pub use chunked::{MapChunked, map_chunked};
pub use completion_set::{CompletionSet, Inserter, NextDone};
#[cfg(feature = "executor")]
pub use executor::{Executor, Payload, TaskFn};
pub use map::{Map, map};
pub use map_unordered::{MapUnordered, MapUnorderedChunked, map_unordered, map_unordered_chunked};
pub use options::MapOptions;
pub use units::{SubmitChunk, SubmitItem};
pub use wait::{DoneAndNotDone, ReturnWhen, wait};
