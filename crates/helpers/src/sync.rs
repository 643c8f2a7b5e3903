//! The crate's one lock helper.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, ignoring poison. Every mutex of this crate guards plain bookkeeping (queues of
/// indices, a table of futures) and nothing that can panic runs under it: wakers, callbacks and
/// cancellations are called after the guard is dropped. A poisoned lock therefore cannot hide a
/// torn update, and refusing it would only turn someone else's panic into a second one here.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
