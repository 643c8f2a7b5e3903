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
//! | [`cfutures::Future`](Future), [`Promise`], [`Task`], [`Error`], [`State`] | `cfutures-core` | the future and its producer side |
//! | [`cfutures::thread`](thread) | `cfutures-thread` | `ThreadPoolExecutor`, a work-stealing thread pool |
//! | [`cfutures::process`](process) | `cfutures-process` | `ProcessPoolExecutor`, real worker processes that survive their crashes |
//! | [`cfutures::helpers`](helpers) | `cfutures-helpers` | `as_completed`, `wait`, `map` over futures of any executor |
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

pub use cfutures_core::*;

/// The thread pool: `ThreadPoolExecutor` (re-exports `cfutures-thread`).
pub mod thread {
    pub use cfutures_thread::*;
}

/// The process pool: `ProcessPoolExecutor` (re-exports `cfutures-process`).
pub mod process {
    pub use cfutures_process::*;
}

/// `as_completed`, `wait` and `map` over futures of any executor (re-exports
/// `cfutures-helpers`).
pub mod helpers {
    pub use cfutures_helpers::*;
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
