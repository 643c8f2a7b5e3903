//! The future at the heart of cfutures: Python's `concurrent.futures.Future`, in Rust.
//!
//! - [`Future<T>`]: a cheap-to-clone handle with Python's states
//!   ([`State`]: pending, running, cancelled, finished), `cancel`, `result`, `exception`,
//!   `add_done_callback`, timed waits, and `.await` in any async runtime.
//! - [`Promise<T>`]: the producer's side (Python's executor-only methods
//!   `set_running_or_notify_cancel`, `set_result`, `set_exception`).
//! - [`Task`]: a closure bound to its future, the unit executors queue; a waiter may run a
//!   not-yet-started task inline ([`Inline`], [`ExecutorId`]).
//! - [`Error`]: the one error type of the workspace.
//!
//! ```
//! use cfutures_core::{Error, Promise, State};
//! use std::thread;
//!
//! let (promise, future) = Promise::new();
//! let watcher = future.clone();
//! future.add_done_callback(|f| println!("done: {f:?}"));
//! thread::spawn(move || {
//!     if promise.set_running_or_notify_cancel() {
//!         promise.set_result(21 * 2).unwrap();
//!     }
//! });
//! assert_eq!(watcher.result(), Ok(&42));
//! assert_eq!(future.state(), State::Finished);
//! assert!(!future.cancel(), "a finished future cannot be cancelled");
//! # let _ = Error::Cancelled;
//! ```
//!
//! # Memory
//! A future is one allocation shared by its handles and its producer: the state word, a handle
//! count, the inline policy, the outcome cell, the task cell and the waiter list. The waiter list
//! costs nothing until someone waits: a future nobody waits on is completed with one
//! compare-and-swap and no lock (see the protocol in `shared.rs`).
#![cfg_attr(docsrs, feature(doc_cfg))]

mod deferred;
mod error;
mod future;
mod inline;
mod promise;
mod shared;
mod shutdown;
mod state;
mod sync;
mod task;
pub mod unwind;
mod wait_async;

pub use deferred::DeferredCallbacks;
pub use error::{Error, ExitReason};
pub use future::{Future, WakerKey};
pub use inline::{ExecutorId, Inline, WorkerGuard};
pub use promise::Promise;
pub use shutdown::Shutdown;
pub use state::State;
pub use task::Task;
pub use wait_async::{IntoWaitAsync, WaitAsync};
