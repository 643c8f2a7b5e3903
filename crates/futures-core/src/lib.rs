//! The future at the heart of cfutures: Python's `concurrent.futures.Future`, in Rust.
//!
//! - [`Future<T>`]: a cheap-to-clone handle with Python's states
//!   ([`State`]: pending, running, cancelled, finished), `cancel`, `result`, `exception`,
//!   `add_done_callback`, timed waits, and `.await` in any async runtime.
//! - [`Promise<T>`]: the producer's side (Python's executor-only methods
//!   `set_running_or_notify_cancel`, `set_result`, `set_exception`).
//! - [`Shutdown`]: Python's `shutdown(wait, cancel_futures)`, named.
//! - [`executor`]: what executor authors need (tasks, inline waiting, wakers, shared plumbing);
//!   users who only submit and wait need nothing from it.
//! - [`Error`]: the one error type of the workspace.
//!
// The crate docs survive the `#![cfg]` below, so their example is left out of a loom build.
#![cfg_attr(
    not(all(cfutures_loom_build, not(loom))),
    doc = r#"
```
use cfutures_core::{Error, Promise, State};
use std::thread;

let (promise, future) = Promise::new();
let watcher = future.clone();
future.add_done_callback(|f| println!("done: {f:?}"));
thread::spawn(move || {
    if promise.set_running_or_notify_cancel() {
        promise.set_result(21 * 2).unwrap();
    }
});
assert_eq!(watcher.result(), Ok(&42));
assert_eq!(future.state(), State::Finished);
assert!(!future.cancel(), "a finished future cannot be cancelled");
# let _ = Error::Cancelled;
```
"#
)]
//!
//! # Memory
//! A future is one allocation shared by its handles and its producer: the state word, a handle
//! count, the inline policy, the outcome cell, the task cell and the waiter list. The waiter list
//! costs nothing until someone waits: a future nobody waits on is completed with one
//! compare-and-swap and no lock (see the protocol in `shared.rs`).
#![cfg_attr(docsrs, feature(doc_cfg))]
// Under `RUSTFLAGS="--cfg loom"` only the loom models run. rustdoc sees `cfutures_loom_build`
// (set by `build.rs`) but not `loom`, so this empties the crate for rustdoc alone, and a loom
// build collects no doctests; rustc, seeing both, builds the whole crate.
#![cfg(not(all(cfutures_loom_build, not(loom))))]

mod error;
pub mod executor;
mod future;
mod inline;
mod promise;
mod shared;
mod shutdown;
mod state;
mod sync;
mod task;
/// Kept (hidden) for callers of the old path; the functions are in [`executor`].
#[doc(hidden)]
pub mod unwind;
mod wait_async;
mod wait_graph;

pub use error::{Error, ExitReason};
pub use future::Future;
pub use promise::Promise;
pub use shutdown::Shutdown;
pub use state::State;
pub use wait_async::WaitAsync;

// The paths these items had before `executor` existed, kept (hidden) so that callers can move
// at their own pace; `executor` is the one documented path.
#[doc(hidden)]
pub use executor::{ExecutorId, Inline, Task, WakerKey, WorkerGuard};
