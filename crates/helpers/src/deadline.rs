//! Deadlines: every timeout of this crate counts from the call that received it, like Python's
//! `end_time = timeout + time.monotonic()`.

use std::time::{Duration, Instant};

/// The instant `timeout` from now; `None` for no timeout, and for a timeout too large to
/// represent (which no wait can outlast anyway).
pub(crate) fn deadline_after(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|timeout| Instant::now().checked_add(timeout))
}

/// The time left until `deadline`; `None` once it has passed.
pub(crate) fn time_left(deadline: Instant) -> Option<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    (!left.is_zero()).then_some(left)
}
