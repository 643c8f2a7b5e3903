//! `ThreadPoolExecutor`: Python's `concurrent.futures.ThreadPoolExecutor` on a work-stealing
//! scheduler, returning [`cfutures_core::Future`]s.
//!
//! ```
//! use cfutures_thread::ThreadPoolExecutor;
//!
//! let pool = ThreadPoolExecutor::new(4)?;
//! let future = pool.submit(|| 2u64.pow(10))?;
//! assert_eq!(future.result(), Ok(&1024));
//! # Ok::<(), cfutures_core::Error>(())
//! ```
//!
//! | Python | here |
//! |---|---|
//! | `ThreadPoolExecutor(max_workers=5)` | [`ThreadPoolExecutor::new`]`(5)?` |
//! | `ThreadPoolExecutor(thread_name_prefix=, initializer=, ...)` | [`ThreadPoolBuilder`] (also `stack_size`, [`InlineWaits`]) |
//! | `executor.submit(fn, *args)` | [`submit`](ThreadPoolExecutor::submit)`(move \|\| fn(args))?` |
//! | `executor.map(fn, *iterables, timeout=, buffersize=)` | [`map`](ThreadPoolExecutor::map), [`map_with`](ThreadPoolExecutor::map_with) |
//! | `executor.shutdown(wait=True, cancel_futures=False)` | [`shutdown`](ThreadPoolExecutor::shutdown)`(Shutdown::WAIT)` ([`Shutdown`](cfutures_core::Shutdown)); also `Drop` |
//! | `with ThreadPoolExecutor() as executor:` | a scope ending in `drop(executor)` |
//! | `BrokenThreadPool`, `RuntimeError` after shutdown | [`Error::Broken`](cfutures_core::Error::Broken), [`Error::ShutDown`](cfutures_core::Error::ShutDown) |
//! | (none) | [`scope`](ThreadPoolExecutor::scope) for borrowing tasks, [`stats`](ThreadPoolExecutor::stats) |
//!
//! # Scheduler
//! Submissions from outside the pool go to a shared FIFO queue (crossbeam's injector protocol,
//! with emptied blocks reused instead of freed: `src/outside_queue.rs`), which workers take from
//! one task at a time, so that they start in submission order (give or take the number of
//! workers), as from Python's one queue. Submissions from a running task go to its worker's
//! own LIFO deque: a task waiting on the child it just submitted takes it back off the top and
//! runs it, and idle workers steal the oldest entries of each other's deques
//! (`crossbeam-deque`). Threads start lazily, one per outstanding task, up to
//! `max_workers`. Idle workers spin briefly, then sleep; a submission while no worker sleeps
//! costs a fence and one atomic load (no syscall). The sleep protocol, adapted from rayon, is
//! described in `src/sleep/mod.rs`; it and the outside queue are checked by loom models
//! (`tests/loom_sleep.rs`, `tests/loom_outside_queue.rs`, run with
//! `RUSTFLAGS="--cfg loom"`).
//!
//! # Differences from Python
//! - Waiting on a pending task from a worker of the same pool runs it inline
//!   ([`InlineWaits`]), so nested submit-and-wait cannot deadlock the pool.
//! - A task's panic fails its future ([`Error::Panicked`](cfutures_core::Error::Panicked) with the panic message); the worker
//!   survives. A panic in a [`scope`](ThreadPoolExecutor::scope)d task also re-panics from
//!   `scope` once every task is done, as `std::thread::scope` does.
//!
//! # Under `panic = "abort"`
//! With `panic = "abort"` in the profile a panic cannot be caught, so a task's panic does not
//! fail its future: the panic hook prints the message (and a backtrace if enabled) on stderr,
//! then the whole process aborts, the pool and every waiter with it. Nothing is reported
//! through a future. Use the process pool (`cfutures-process`) when a task's crash must not
//! take the program down.
//! - `shutdown(wait = true)` from one of the pool's own tasks does not wait for the calling
//!   thread.
//! - The decision to start a thread counts tasks not yet finished rather than releases of an
//!   idle semaphore, so "an idle thread is reused" holds deterministically.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(not(loom))]
mod builder;
#[cfg(all(feature = "executor", not(loom)))]
mod executor;
#[cfg(not(loom))]
mod map;
#[cfg(not(loom))]
mod pool;
#[cfg(not(loom))]
mod registry;
#[cfg(not(loom))]
mod scope;
#[cfg(not(loom))]
mod stats;
#[cfg(not(loom))]
mod worker;

// Under loom only the sleep protocol exists, public so that `tests/loom_sleep.rs` can model it.
#[cfg(loom)]
#[doc(hidden)]
pub mod sleep;
#[cfg(not(loom))]
mod sleep;
mod sync;
// Under loom public too, for `tests/loom_outside_queue.rs`.
#[cfg(loom)]
#[doc(hidden)]
pub mod outside_queue;
#[cfg(not(loom))]
mod outside_queue;

#[cfg(not(loom))]
pub use builder::{InitializerResult, InlineWaits, ThreadPoolBuilder, default_max_workers};
#[cfg(not(loom))]
pub use pool::ThreadPoolExecutor;
#[cfg(not(loom))]
pub use scope::Scope;
#[cfg(not(loom))]
pub use stats::Stats;
