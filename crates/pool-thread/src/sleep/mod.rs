//! When idle workers go to sleep and who wakes them, without lost wake-ups.
//!
//! This is rayon-core's protocol (its `sleep` module) with two changes: a worker that finds
//! work wakes another sleeper only if work is still visible (rayon wakes up to two
//! unconditionally), and every publisher fences, since a task pushed on a worker's own deque
//! can be the only way forward when that worker then blocks in user code.
//!
//! # Protocol
//!
//! All counts live in one atomic word (`counters.rs`): idle workers, sleeping workers and the
//! jobs event counter (JEC).
//!
//! - An idle worker searches, spins a few rounds (each a fresh search), then **announces**
//!   itself sleepy: it makes the JEC odd and records that value. It searches once more; if that
//!   fails it takes its own mutex and registers as sleeping with a compare-and-swap that
//!   succeeds only if the JEC still holds the recorded value. Then `fence(SeqCst)` and a last
//!   look (`has_work`: the queues and the pool's shutdown state). Only if that finds nothing
//!   does it block on its condition variable.
//! - A **publisher** pushes its task, `fence(SeqCst)`, then reads the word. If the JEC is odd
//!   it bumps it (so a worker between announcing and registering cannot register). If nobody
//!   sleeps it returns: one fence and one load, no syscall. Otherwise it wakes one sleeper
//!   unless enough workers are awake and idle already.
//! - A waker takes the sleeper's mutex, clears its `is_blocked` flag, notifies it, and
//!   decrements the sleeping count itself (so later publishers do not count a sleeper that is
//!   already on its way).
//!
//! Why no wake-up is lost: the publisher's fence and the sleeper's fence are both in the single
//! total order of `SeqCst` operations. If the publisher's read of the word did not see the
//! sleeper's registration, the publisher's fence precedes the registration, hence the sleeper's
//! fence, and the sleeper's last look sees the task. If it did see the registration, it wakes a
//! sleeper; the sleeper held its mutex from before registering until it blocked, so the waker
//! finds `is_blocked` set. A worker that found work while publishers skipped waking (because it
//! still counted as idle) re-checks the queues after leaving the idle count and passes the
//! wake-up on. The loom models in `tests/loom_sleep.rs` check these interleavings.

mod counters;

use crossbeam_utils::{Backoff, CachePadded};

use self::counters::{AtomicCounters, JobsEventCounter};
use crate::sync::{Condvar, Mutex, Ordering, fence, lock, yield_now};

pub use self::counters::MAX_THREADS;

/// Rounds (each a fresh search) before a worker announces itself sleepy; between rounds it
/// pauses with `Backoff::snooze` (its first seven rounds only pause the core with `spin_loop`,
/// 1 to 64 hints, later ones yield the thread). Loom explores every interleaving of every
/// round, so its models skip them.
const ROUNDS_UNTIL_SLEEPY: u32 = if cfg!(loom) { 0 } else { 32 };

/// The sleep state of a pool: one entry per worker slot and the shared counters.
pub struct Sleep {
    states: Box<[CachePadded<WorkerSleepState>]>,
    counters: AtomicCounters,
}

struct WorkerSleepState {
    /// Set by the worker right before it blocks, cleared by whoever wakes it.
    is_blocked: Mutex<bool>,
    condvar: Condvar,
}

/// Proof that a worker is idle, and how long it has been looking. Made by
/// [`Sleep::start_looking`], consumed by [`Sleep::work_found`] or [`Sleep::stop_looking`].
#[derive(Debug)]
#[must_use = "an idle worker must leave the idle count through work_found or stop_looking"]
pub struct IdleState {
    index: usize,
    rounds: u32,
    /// The JEC value recorded when announcing sleepy.
    jobs_counter: Option<JobsEventCounter>,
    /// The pause between rounds.
    backoff: Backoff,
}

impl IdleState {
    /// True once the worker announced itself sleepy: its next failed search may block.
    pub fn is_sleepy(&self) -> bool {
        self.jobs_counter.is_some()
    }
}

impl Sleep {
    /// Sleep state for `slots` workers (at most [`MAX_THREADS`]).
    pub fn new(slots: usize) -> Self {
        assert!(slots <= MAX_THREADS, "at most {MAX_THREADS} workers");
        Sleep {
            states: (0..slots)
                .map(|_| {
                    CachePadded::new(WorkerSleepState {
                        is_blocked: Mutex::new(false),
                        condvar: Condvar::new(),
                    })
                })
                .collect(),
            counters: AtomicCounters::new(),
        }
    }

    /// Worker `index` found its queues empty and starts looking for work.
    pub fn start_looking(&self, index: usize) -> IdleState {
        self.counters.add_idle_thread();
        IdleState {
            index,
            rounds: 0,
            jobs_counter: None,
            backoff: Backoff::new(),
        }
    }

    /// The worker found a task. If others sleep and `has_work` still sees work, one of them is
    /// woken: a publisher may have skipped waking anyone because this worker counted as idle.
    pub fn work_found(&self, idle: IdleState, has_work: impl FnOnce() -> bool) {
        let _ = idle;
        let before = self.counters.sub_idle_thread();
        if before.sleeping_threads() > 0 {
            // Pairs with the publishers' fence, as in `sleep`.
            fence(Ordering::SeqCst);
            if has_work() {
                self.wake_any(1);
            }
        }
    }

    /// The worker stops looking without work (it is exiting).
    pub fn stop_looking(&self, idle: IdleState) {
        let _ = idle;
        self.counters.sub_idle_thread();
    }

    /// The worker's search failed: spin, announce sleepy, or sleep, depending on how long it
    /// has been looking. `has_work` is the last look taken after registering as a sleeper; it
    /// must see every queue and the pool's shutdown state.
    // Under loom the round limits are 0, which makes two comparisons constant.
    #[cfg_attr(loom, allow(clippy::absurd_extreme_comparisons))]
    pub fn no_work_found(&self, idle: &mut IdleState, has_work: impl FnOnce() -> bool) {
        if idle.rounds < ROUNDS_UNTIL_SLEEPY {
            idle.backoff.snooze();
            idle.rounds += 1;
        } else if idle.rounds == ROUNDS_UNTIL_SLEEPY {
            idle.jobs_counter = Some(self.announce_sleepy());
            idle.rounds += 1;
            yield_now();
        } else {
            self.sleep(idle, has_work);
        }
    }

    #[cold]
    fn announce_sleepy(&self) -> JobsEventCounter {
        loop {
            let counters = self.counters.load();
            let jec = counters.jobs_counter();
            if jec.is_sleepy() {
                return jec;
            }
            if self.counters.try_bump_jec(counters) {
                return counters.with_jec_bumped().jobs_counter();
            }
        }
    }

    #[cold]
    fn sleep(&self, idle: &mut IdleState, has_work: impl FnOnce() -> bool) {
        let state = &self.states[idle.index];
        let mut is_blocked = lock(&state.is_blocked);
        loop {
            let counters = self.counters.load();
            if Some(counters.jobs_counter()) != idle.jobs_counter {
                // A task was published since we announced: search again before sleeping.
                idle.rounds = ROUNDS_UNTIL_SLEEPY;
                idle.jobs_counter = None;
                return;
            }
            if self.counters.try_add_sleeping_thread(counters) {
                break;
            }
        }
        fence(Ordering::SeqCst);
        if has_work() {
            // Nobody will wake us for what we just saw, so leave the sleeping count ourselves.
            self.counters.sub_sleeping_thread();
        } else {
            *is_blocked = true;
            while *is_blocked {
                is_blocked = state
                    .condvar
                    .wait(is_blocked)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
        }
        idle.rounds = 0;
        idle.jobs_counter = None;
        idle.backoff.reset();
    }

    /// A task was just pushed. Call after the push: the fence here is the publisher's half of
    /// the protocol. `others_queued` tells whether tasks besides this one wait in its queue; it
    /// is asked only when a worker sleeps (so the hot path never touches the queue's other end).
    #[inline]
    pub fn new_job(&self, others_queued: impl FnOnce() -> bool) {
        fence(Ordering::SeqCst);
        let counters = loop {
            let counters = self.counters.load();
            if !counters.jobs_counter().is_sleepy() || self.counters.try_bump_jec(counters) {
                break counters;
            }
        };
        if counters.sleeping_threads() == 0 {
            return;
        }
        // A backlog means the idle workers are not keeping up.
        if counters.awake_but_idle_threads() == 0 || others_queued() {
            self.wake_any(1);
        }
    }

    /// Wakes every sleeper (shutdown, a broken pool). Sleepers re-check the pool's state, so a
    /// worker about to sleep cannot miss this (it holds its mutex from its last look on).
    pub fn wake_all(&self) {
        for index in 0..self.states.len() {
            self.wake_specific(index);
        }
    }

    /// Workers looking for work (spinning or asleep).
    pub fn idle_threads(&self) -> usize {
        self.counters.load().idle_threads()
    }

    /// Workers blocked asleep.
    pub fn sleeping_threads(&self) -> usize {
        self.counters.load().sleeping_threads()
    }

    #[cold]
    fn wake_any(&self, mut count: usize) {
        for index in 0..self.states.len() {
            if count == 0 {
                return;
            }
            if self.wake_specific(index) {
                count -= 1;
            }
        }
    }

    fn wake_specific(&self, index: usize) -> bool {
        let state = &self.states[index];
        let mut is_blocked = lock(&state.is_blocked);
        if *is_blocked {
            *is_blocked = false;
            state.condvar.notify_one();
            self.counters.sub_sleeping_thread();
            true
        } else {
            false
        }
    }
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep")
            .field("slots", &self.states.len())
            .field("idle", &self.idle_threads())
            .field("sleeping", &self.sleeping_threads())
            .finish()
    }
}
