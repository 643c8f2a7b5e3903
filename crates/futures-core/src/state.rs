//! The future's states as users see them, and their encoding in the state word.

use std::fmt;

/// Where a future is in its life, as Python names it.
///
/// ```text
/// Pending ──claim──> Running ──set_result/set_error──> Finished
///    │                                                    ▲
///    ├──cancel──> Cancelled                               │
///    └──────────────set_result/set_error (no claim)───────┘
/// ```
///
/// `Cancelled` and `Finished` are terminal: [`Future::done`](crate::Future::done) is true in
/// both.
///
/// ```
/// use cfutures_core::{Promise, State};
///
/// let (promise, future) = Promise::<()>::new();
/// assert_eq!(future.state(), State::Pending);
/// assert!(promise.set_running_or_notify_cancel());
/// assert_eq!(future.state(), State::Running);
/// promise.set_result(()).unwrap();
/// assert_eq!(future.state(), State::Finished);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Created, not started; the only state in which it can be cancelled.
    Pending,
    /// Claimed by a worker (or an inline waiter) and running.
    Running,
    /// Cancelled before it started.
    Cancelled,
    /// Finished with a value or an error.
    Finished,
}

impl State {
    /// Python's lower-case name: `pending`, `running`, `cancelled`, `finished`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Running => "running",
            State::Cancelled => "cancelled",
            State::Finished => "finished",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// The state word: the low three bits hold the phase, bit 3 says that someone registered a waiter
// (a parked thread, a waker or a callback) and so the terminal transition must take the waiter
// lock. Without that bit a future that nobody waits on completes with one atomic
// read-modify-write and no lock.
pub(crate) const PENDING: usize = 0;
pub(crate) const RUNNING: usize = 1;
/// The outcome is being written by the one thread that won the transition into this phase.
/// Users see it as `Running`.
pub(crate) const COMPLETING: usize = 2;
pub(crate) const FINISHED: usize = 3;
pub(crate) const CANCELLED: usize = 4;
pub(crate) const PHASE_MASK: usize = 0b111;
pub(crate) const HAS_WAITERS: usize = 0b1000;
/// Set together with FINISHED when there were waiters, cleared once every waiter was woken and
/// every done-callback has run (and dropped the handle it held).
pub(crate) const NOTIFYING: usize = 0b1_0000;

pub(crate) fn phase(word: usize) -> usize {
    word & PHASE_MASK
}

pub(crate) fn is_terminal(word: usize) -> bool {
    matches!(phase(word), FINISHED | CANCELLED)
}

pub(crate) fn public_state(word: usize) -> State {
    match phase(word) {
        PENDING => State::Pending,
        RUNNING | COMPLETING => State::Running,
        FINISHED => State::Finished,
        _ => State::Cancelled,
    }
}
