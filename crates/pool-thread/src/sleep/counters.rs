//! The sleep bookkeeping of a whole pool in one atomic word, so that publishing a task reads one
//! word and, while no worker sleeps, writes nothing and makes no syscall.
//!
//! ```text
//!  63                      32 31            16 15             0
//! +--------------------------+----------------+----------------+
//! |  jobs event counter (JEC) |   idle workers | sleeping workers|
//! +--------------------------+----------------+----------------+
//! ```
//!
//! Idle workers are those looking for work (spinning or asleep); sleeping workers are the idle
//! ones blocked on their condition variable, so `idle - sleeping` are awake and searching.
//!
//! The JEC is odd ("sleepy") after a worker announced that it is about to sleep and no task has
//! been published since, even ("active") once a publisher has bumped it. A worker records the
//! sleepy value when it announces itself and may only register as sleeping if the JEC still
//! holds that value, so a task published in between always stops it from sleeping.

use crate::sync::{AtomicU64, Ordering};

const SLEEPING_SHIFT: u32 = 0;
const IDLE_SHIFT: u32 = 16;
const JEC_SHIFT: u32 = 32;
const THREADS_MASK: u64 = 0xFFFF;

const ONE_SLEEPING: u64 = 1 << SLEEPING_SHIFT;
const ONE_IDLE: u64 = 1 << IDLE_SHIFT;
const ONE_JEC: u64 = 1 << JEC_SHIFT;

/// The most workers the counters can represent.
pub const MAX_THREADS: usize = THREADS_MASK as usize;

/// The word, read-modify-written with `SeqCst` throughout: its protocols pair its operations
/// with fences around the task queues (see `sleep/mod.rs`).
pub(super) struct AtomicCounters {
    value: AtomicU64,
}

/// A snapshot of the word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Counters(u64);

/// The jobs event counter's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct JobsEventCounter(u32);

impl JobsEventCounter {
    /// True if a worker announced itself sleepy and no task was published since.
    pub(super) fn is_sleepy(self) -> bool {
        self.0 & 1 == 1
    }
}

impl Counters {
    pub(super) fn jobs_counter(self) -> JobsEventCounter {
        JobsEventCounter((self.0 >> JEC_SHIFT) as u32)
    }

    pub(super) fn sleeping_threads(self) -> usize {
        ((self.0 >> SLEEPING_SHIFT) & THREADS_MASK) as usize
    }

    pub(super) fn idle_threads(self) -> usize {
        ((self.0 >> IDLE_SHIFT) & THREADS_MASK) as usize
    }

    pub(super) fn awake_but_idle_threads(self) -> usize {
        // A waker decrements `sleeping` before the woken worker leaves `idle`, so this never
        // underflows.
        self.idle_threads().saturating_sub(self.sleeping_threads())
    }

    pub(super) fn with_jec_bumped(self) -> Counters {
        // The JEC wraps around; equality with a recorded value is all that is ever asked of it.
        Counters(self.0.wrapping_add(ONE_JEC))
    }
}

impl AtomicCounters {
    pub(super) fn new() -> Self {
        AtomicCounters {
            value: AtomicU64::new(0),
        }
    }

    #[inline]
    pub(super) fn load(&self) -> Counters {
        Counters(self.value.load(Ordering::SeqCst))
    }

    pub(super) fn add_idle_thread(&self) {
        self.value.fetch_add(ONE_IDLE, Ordering::SeqCst);
    }

    /// Returns the counters as they were before.
    pub(super) fn sub_idle_thread(&self) -> Counters {
        Counters(self.value.fetch_sub(ONE_IDLE, Ordering::SeqCst))
    }

    pub(super) fn sub_sleeping_thread(&self) {
        self.value.fetch_sub(ONE_SLEEPING, Ordering::SeqCst);
    }

    /// Registers one more sleeper if the word still equals `old` (so the JEC did not move).
    pub(super) fn try_add_sleeping_thread(&self, old: Counters) -> bool {
        let new = Counters(old.0 + ONE_SLEEPING);
        self.value
            .compare_exchange(old.0, new.0, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    /// Bumps the JEC if the word still equals `old`.
    pub(super) fn try_bump_jec(&self, old: Counters) -> bool {
        self.value
            .compare_exchange(
                old.0,
                old.with_jec_bumped().0,
                Ordering::SeqCst,
                Ordering::SeqCst,
            )
            .is_ok()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn fields_are_independent() {
        let c = AtomicCounters::new();
        c.add_idle_thread();
        c.add_idle_thread();
        assert!(c.try_add_sleeping_thread(c.load()));
        let now = c.load();
        assert_eq!(now.idle_threads(), 2);
        assert_eq!(now.sleeping_threads(), 1);
        assert_eq!(now.awake_but_idle_threads(), 1);
        assert!(!now.jobs_counter().is_sleepy());
        assert!(c.try_bump_jec(now));
        assert!(c.load().jobs_counter().is_sleepy());
        assert_eq!(c.load().idle_threads(), 2);
        c.sub_sleeping_thread();
        assert_eq!(c.sub_idle_thread().idle_threads(), 2);
        assert_eq!(c.load().idle_threads(), 1);
        assert_eq!(c.load().sleeping_threads(), 0);
    }

    #[test]
    fn jec_wraps_without_touching_thread_counts() {
        let c = AtomicCounters {
            value: AtomicU64::new((u64::from(u32::MAX) << JEC_SHIFT) | ONE_IDLE),
        };
        assert!(c.load().jobs_counter().is_sleepy());
        assert!(c.try_bump_jec(c.load()));
        assert_eq!(c.load().jobs_counter(), JobsEventCounter(0));
        assert_eq!(c.load().idle_threads(), 1);
    }

    #[test]
    fn stale_snapshot_does_not_register_a_sleeper() {
        let c = AtomicCounters::new();
        let seen = c.load();
        assert!(c.try_bump_jec(seen));
        assert!(!c.try_add_sleeping_thread(seen));
        assert_eq!(c.load().sleeping_threads(), 0);
    }
}
