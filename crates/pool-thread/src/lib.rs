//! `ThreadPoolExecutor`: a work-stealing thread pool whose `submit` returns a
//! [`cfutures_core::Future`].
//!
//! This crate will own the thread pool: a builder, `submit`, `map`, `shutdown`, scoped tasks and a
//! scheduler on `crossbeam-deque`.
