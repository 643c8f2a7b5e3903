//! Deadlines: every timeout of this crate counts from the call that received it, like Python's
//! `end_time = timeout + time.monotonic()`. Also the crate's one way to park until a deadline.

use std::thread;
use std::time::{Duration, Instant};

/// The time left until `deadline`; `None` once it has passed.
pub(crate) fn time_left(deadline: Instant) -> Option<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    (!left.is_zero()).then_some(left)
}

/// Parks the current thread once, until it is unparked or `deadline` (if any) passes. False,
/// without parking, if the deadline has already passed. The wake-up may be spurious: callers
/// re-check their condition in a loop (as every caller here does).
pub(crate) fn park_until(deadline: Option<Instant>) -> bool {
    match deadline {
        None => thread::park(),
        Some(deadline) => match time_left(deadline) {
            Some(left) => thread::park_timeout(left),
            None => return false,
        },
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_is_left_before_a_deadline_and_none_after() {
        let deadline = Instant::now() + Duration::from_secs(3600);
        assert!(time_left(deadline).is_some_and(|left| left <= Duration::from_secs(3600)));
        assert_eq!(time_left(Instant::now()), None);
    }

    #[test]
    fn a_passed_deadline_does_not_park() {
        assert!(!park_until(Some(Instant::now())));
    }
}
