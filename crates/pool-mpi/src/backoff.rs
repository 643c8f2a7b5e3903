//! Waiting for MPI messages without burning a core.
//!
//! Open MPI's blocking receive spins at 100 % CPU (so do mpi4py.futures' idle workers), and
//! MPI has no descriptor to sleep on. Every loop of this crate therefore polls (`MPI_Improbe`,
//! `MPI_Test`) and, between empty polls, backs off: spin briefly (a reply to a task just sent
//! arrives within microseconds), then yield the core, then sleep in growing naps up to
//! [`MAX_NAP`]. An idle rank thus wakes about a thousand times a second for a poll of a few
//! microseconds, and a busy one answers within a spin.

use std::time::{Duration, Instant};

/// Empty polls spent spinning before yielding.
const SPIN_POLLS: u32 = 256;
/// How long to keep yielding before sleeping.
const YIELD_FOR: Duration = Duration::from_micros(500);
/// The shortest nap.
const MIN_NAP: Duration = Duration::from_micros(50);
/// The longest nap: the most latency an idle rank adds to the first message after a pause.
pub(crate) const MAX_NAP: Duration = Duration::from_millis(1);

/// The state of one polling loop.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    empty_polls: u32,
    idle_since: Option<Instant>,
}

impl Backoff {
    /// Something happened: poll eagerly again.
    pub(crate) fn reset(&mut self) {
        self.empty_polls = 0;
        self.idle_since = None;
    }

    /// Nothing happened: wait a little before the next poll. `park` naps with
    /// `thread::park_timeout`, so another thread can cut the nap short with `unpark`.
    pub(crate) fn snooze(&mut self, park: bool) {
        self.snooze_at_most(park, MAX_NAP);
    }

    /// As [`snooze`](Self::snooze), with naps of at most `cap`.
    pub(crate) fn snooze_at_most(&mut self, park: bool, cap: Duration) {
        self.empty_polls = self.empty_polls.saturating_add(1);
        if self.empty_polls < SPIN_POLLS {
            std::hint::spin_loop();
            return;
        }
        let idle = self.idle_since.get_or_insert_with(Instant::now).elapsed();
        if idle < YIELD_FOR {
            std::thread::yield_now();
            return;
        }
        let nap = (idle / 4).clamp(MIN_NAP, MAX_NAP.min(cap).max(MIN_NAP));
        if park {
            std::thread::park_timeout(nap);
        } else {
            std::thread::sleep(nap);
        }
    }
}
