//! `as_completed`, `wait` and `map` for [`cfutures_core::Future`]s from any executor.
//!
//! This crate will own Python's module-level helpers: `as_completed(futures, timeout)`,
//! `wait(futures, timeout, return_when)` and an ordered, bounded `map`.
