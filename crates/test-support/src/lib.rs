//! The fixtures cfutures' test suites share, each with one home. Dev-only: every crate of
//! the workspace lists it under `[dev-dependencies]` and uses it from `tests/` (and benches),
//! never from unit tests inside `src/` (there a dev-dependency cycle through the core would
//! link a second copy of `cfutures_core` whose types differ from the crate's own).
//!
//! - [`patience`]: [`PATIENCE`], how long "at once" may take before a test fails instead of
//!   hanging, and [`within`], which turns a hang into that failure.
//! - [`sync`]: Python's `threading.Event` and `threading.Semaphore`.
//! - [`gate`] (Unix): a gate for process-pool tasks (Python's `manager.Event()`).
//! - [`canned`]: CPython's `util.py` futures, one in each state, and finished futures.
//! - [`waker`]: [`block_on`] (`pollster`'s) and a counting waker for wake-up assertions.
//! - [`panics`]: keeps the panics a test causes on purpose off stderr.
//! - [`helper`]: the self-reinvoking helper program pattern.
//! - [`process`] (Linux): zombie scans, reaping, waiting for exits, signalling workers.
//! - [`threads`]: thread names, and (Linux) this process's threads by name.
//! - [`primes`]: the seed's `PRIMES` and `is_prime`.
//! - [`rng`]: a seeded, replayable random number generator, and counts from the environment.
//!
//! ```
//! use cfutures_test_support::{Event, PATIENCE};
//!
//! let event = Event::new();
//! let setter = event.clone();
//! std::thread::spawn(move || setter.set());
//! assert!(event.wait_timeout(PATIENCE));
//! ```

pub mod canned;
#[cfg(unix)]
pub mod gate;
pub mod helper;
pub mod panics;
pub mod patience;
pub mod primes;
#[cfg(target_os = "linux")]
pub mod process;
pub mod rng;
pub mod sync;
pub mod threads;
pub mod waker;

pub use canned::{Canned, finished};
#[cfg(unix)]
pub use gate::{Gate, GateArg, gate_return, gate_wait};
pub use helper::{HELPER_ENV, helper_active, helper_command, program_lines, run_helper};
pub use panics::quiet_expected_panics;
pub use patience::{PATIENCE, within};
pub use primes::{PRIMES, PRIMES_EXPECTED, is_prime};
pub use rng::{Rng, count_from_env};
pub use sync::{Event, Semaphore};
pub use threads::thread_name;
pub use waker::{CountingWaker, block_on, block_on_counting};
