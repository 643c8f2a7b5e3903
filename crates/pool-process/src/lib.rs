//! `ProcessPoolExecutor`: CPU-bound work in real OS worker processes, futures back in the parent.
//!
//! This crate will own the process pool: worker re-execution, the private wire, and recovery from
//! worker crashes.
