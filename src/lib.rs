//! # cfutures
//!
//! Python's [`concurrent.futures`](https://docs.python.org/3/library/concurrent.futures.html)
//! in Rust: submit a closure, get a [`Future`] back, wait on it, or collect many as they
//! complete.
//!
//! This facade re-exports every layer, so one dependency gives you all of it:
//!
//! | path | crate | what |
//! |---|---|---|
//! | [`Future`], [`Promise`], [`Error`], [`State`], [`Shutdown`] | `cfutures-core` | the future, its producer side, the one error type |
//! | [`cfutures::executor`](executor) | `cfutures-core` | for executor authors: `Task`, inline waiting, wakers |
//! | [`cfutures::thread`](thread) | `cfutures-thread` | `ThreadPoolExecutor`, a work-stealing thread pool (feature `thread`) |
//! | [`cfutures::process`](process) | `cfutures-process` | `ProcessPoolExecutor`, real worker processes that survive their crashes (feature `process`) |
//! | [`cfutures::helpers`](helpers) | `cfutures-helpers` | `as_completed`, `wait`, `map` over futures of any executor |
//! | `cfutures::Executor` | `cfutures-helpers` | Python's abstract `Executor`, implemented by every pool (feature `executor`, on with `process`) |
//!
//! # Features
//! - `thread` (default): the thread pool. Alone (`default-features = false, features =
//!   ["thread"]`) it pulls no serde, postcard or libc.
//! - `process` (default): the process pool; turns on `executor`.
//! - `executor`: the abstract [`Executor`] trait and its implementation by each enabled pool
//!   (brings serde: tasks given through it take serde arguments).
//!
//! ```
//! use cfutures::helpers::{ReturnWhen, as_completed, wait};
//! use cfutures::thread::ThreadPoolExecutor;
//!
//! let pool = ThreadPoolExecutor::new(4)?;
//! let futures: Vec<_> = (1..=5u64)
//!     .map(|n| pool.submit(move || (1..=n).product::<u64>()))
//!     .collect::<Result<_, _>>()?;
//!
//! // As they complete, like Python's `as_completed`:
//! let mut total = 0;
//! for future in as_completed(futures.clone(), None) {
//!     total += future?.result()?;
//! }
//! assert_eq!(total, 1 + 2 + 6 + 24 + 120);
//!
//! // Or all at once, like `wait(fs, return_when=ALL_COMPLETED)`:
//! let sets = wait(futures, None, ReturnWhen::AllCompleted);
//! assert_eq!((sets.done.len(), sets.not_done.len()), (5, 0));
//! # Ok::<(), cfutures::Error>(())
//! ```
//!
//! Programs that use the process pool call [`process::init`] first thing in `main` (see its
//! documentation for why).

pub use cfutures_core::{Error, ExitReason, Future, Promise, Shutdown, State, WaitAsync};

pub use cfutures_core::executor;

#[cfg(feature = "executor")]
#[cfg_attr(docsrs, doc(cfg(feature = "executor")))]
pub use cfutures_helpers::{Executor, Payload, TaskFn};

#[cfg(feature = "thread")]
#[cfg_attr(docsrs, doc(cfg(feature = "thread")))]
#[doc(inline)]
pub use cfutures_thread as thread;

#[cfg(feature = "process")]
#[cfg_attr(docsrs, doc(cfg(feature = "process")))]
#[doc(inline)]
pub use cfutures_process as process;

#[doc(inline)]
pub use cfutures_helpers as helpers;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
