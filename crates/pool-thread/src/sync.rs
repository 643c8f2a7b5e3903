//! The primitives of the sleep protocol, swapped for loom's under `--cfg loom` so the model
//! checker can explore every interleaving of `sleep/`.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU64, Ordering, fence};
#[cfg(loom)]
pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};
#[cfg(loom)]
pub(crate) use loom::thread::yield_now;

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU64, Ordering, fence};
#[cfg(not(loom))]
pub(crate) use std::sync::{Condvar, Mutex};
#[cfg(not(loom))]
pub(crate) use std::thread::yield_now;

/// The poison-ignoring lock: `cfutures_core::executor::lock` (no user code runs while the
/// pool's own locks are held, so a poisoned lock cannot hide a torn update). Under loom the
/// core is not built and loom's `Mutex` is another type, so the model gets the same few lines.
#[cfg(not(loom))]
pub(crate) use cfutures_core::executor::lock;
#[cfg(loom)]
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
