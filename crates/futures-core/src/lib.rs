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
//! # Deadlocks
//! A blocking wait that could never end fails with [`Error::Deadlock`] instead of hanging:
//! - a task waiting on its own future (directly, or through tasks it runs inline);
//! - a wait that would close a **cycle of waits between running tasks**: `a` waits on `b`
//!   while `b` waits on `a` (Python's documented two-worker deadlock), or a longer chain,
//!   through any mix of `result`, `result_timeout`, `exception` and the helpers' `as_completed`,
//!   `wait` and `map` iteration. For a wait on *any* of several futures (`as_completed`,
//!   `wait(FIRST_COMPLETED)`) it takes every one of them leading back to the waiter.
//!
//! Exactly one waiter of a cycle is told: the one whose wait would close it; it does not park,
//! and the others go on waiting (they usually finish once the told task returns). Nothing is
//! reported that is not proven: a wait outside any task (the main thread), and a wait on a
//! future whose producer is not a blocked task of ours (a [`Promise`] in user code, a process
//! pool's future, a task still queued) never closes a cycle. What cannot be seen is not
//! reported either: waits outside cfutures (channels, locks), and waits made inside a worker
//! *process* (its tasks run in another address space; a thread-pool task waiting on a process
//! future takes part, the process task it waits for does not). The check costs nothing until a
//! waiter is about to park, and then one global lock, only inside a task; the protocol and
//! why it never reports a cycle that is not there are in the source (`wait_graph.rs`, checked
//! with loom). Executors and helpers built elsewhere join in through
//! [`executor::while_blocked`].
//!
//! # Memory
//! A future is one allocation shared by its handles and its producer: its own type-erased
//! address (so that a handle is two words), the state word, its reference count, a handle
//! count, the inline policy, the task's lineage, the outcome cell, the task cell and the waiter
//! list (128 bytes plus the value and the closure's captures), taken from a small per-thread
//! cache of freed blocks before the global allocator (`block_cache.rs`). The
//! waiter list costs nothing until someone waits: a future nobody waits on is completed with one
//! compare-and-swap and no lock (see the protocol in `shared.rs`). A worker that waits on a task
//! it submitted itself, still queued on its own deque and seen by nobody else, runs it and frees
//! the allocation without a single atomic read-modify-write (`shared_ref.rs`).
#![cfg_attr(docsrs, feature(doc_cfg))]
// Under `RUSTFLAGS="--cfg loom"` only the loom models run. rustdoc sees `cfutures_loom_build`
// (set by `build.rs`) but not `loom`, so this empties the crate for rustdoc alone, and a loom
// build collects no doctests; rustc, seeing both, builds the whole crate.
#![cfg(not(all(cfutures_loom_build, not(loom))))]

mod block_cache;
mod deferred;
mod error;
pub mod executor;
mod future;
mod inline;
mod lineage;
mod local_queue;
mod promise;
mod searching;
mod shared;
mod shared_ref;
mod shutdown;
mod state;
mod sync;
mod task;
/// Kept (hidden) for callers of the old path; the functions are in [`executor`].
#[doc(hidden)]
pub mod unwind;
mod wait_async;
mod wait_graph;

pub use deferred::DeferredCallbacks;
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
