//! # cfutures
//!
//! Python's `concurrent.futures`, in Rust.
#![doc = ""]
pub use cfutures_core::*;

/// The thread pool (`cfutures-thread`).
pub mod thread {
    pub use cfutures_thread::*;
}

/// The process pool (`cfutures-process`).
pub mod process {
    pub use cfutures_process::*;
}

/// `as_completed`, `wait` and `map` (`cfutures-helpers`).
pub mod helpers {
    pub use cfutures_helpers::*;
}
