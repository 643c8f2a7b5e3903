//! Python's `ProcessPoolExecutor` for Rust: CPU-bound work in separate OS processes, futures
//! back in the parent.
//!
//! ```
//! use cfutures_process::ProcessPoolExecutor;
//!
//! fn is_prime(n: u64) -> bool {
//!     n > 1 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
//! }
//!
//! fn main() {
//!     cfutures_process::init(); // first thing: see `init` for why
//!     let pool = ProcessPoolExecutor::new().unwrap();
//!     let numbers = [2u64, 15, 97];
//!     for (n, prime) in numbers.iter().zip(pool.map(is_prime, numbers, 1).unwrap()) {
//!         println!("{n} is prime: {}", prime.unwrap());
//!     }
//! }
//! ```
//!
//! - [`ProcessPoolExecutor`]: `submit`, `map`, `shutdown`, `terminate_workers`,
//!   `kill_workers`; configured with a [`Builder`] (`max_workers`, `initializer`,
//!   `max_tasks_per_child`, `max_frame_size`).
//! - The futures are [`cfutures_core::Future`]s: wait on them, `.await` them, or pass them to
//!   the helpers (`as_completed`, `wait`) together with futures from other executors.
//!
//! # How it works
//! - **Workers** are this executable re-executed in worker mode ([`init`]); each is served
//!   by a monitor thread in the parent that starts it, reads its replies, reaps it, and starts
//!   a replacement when it dies.
//! - **The wire** is two pipes per worker, private to it (close-on-exec everywhere else),
//!   carrying length-prefixed frames: fixed binary headers for tasks and replies, `postcard`
//!   (serde) for values. Frames are size-limited; a malformed or oversized one is an error
//!   for the futures it concerns, never a panic. A handshake checks that the worker speaks
//!   the same protocol version and runs the same build. What a task prints goes to the
//!   parent's stdout and stderr, which the worker inherits; the wire never shares a stream
//!   with them.
//! - **Finding the function**: see the next section.
//! - **Faults**: a panic fails its future with the message and the worker's backtrace; a
//!   worker that dies fails only the task it was running, with [`Error::WorkerDied`] (a
//!   counter in shared memory tells which tasks it had started; the others run elsewhere);
//!   a replacement starts; workers die with their parent (parent-death signal and end of file
//!   on the wire); every worker is reaped.
//! - **Speed**: several tasks are kept in flight per worker (as many as hide a round trip,
//!   judged from the run times workers report), and replies and refills are batched.
//!
//! # How a worker finds the function, and why that is sound
//! A worker runs the parent's own executable, so every function of the parent exists in it,
//! at the same offset from any other function of the same executable image: address-space
//! layout randomisation moves an image as a whole. For each task the parent sends the offset
//! of a *monomorphised entry point* (one instance of a generic function per task type
//! `F: Fn(A) -> R`) from a fixed anchor function of this crate; the worker adds its own
//! anchor's address and calls the result through one non-generic signature. The entry point
//! was instantiated for exactly `F`, `A` and `R`, so it decodes an `A`, calls `F` and encodes
//! an `R`. Three checks make this sound:
//! 1. **Same build.** In the handshake the worker compares the parent's build identity
//!    (device, inode, size and modification time of the executable, the distance between two
//!    functions of this crate, the crate version, the wire protocol version) with its own and
//!    refuses to serve on any difference; the parent checks the worker's answer too. Workers
//!    are started from `/proc/self/exe`, which names the parent's image even if the file was
//!    replaced on disk since.
//! 2. **Same image.** Before sending an offset the parent asks the dynamic loader (`dladdr`)
//!    which loaded object holds the entry point (and the function pointer, if one is sent),
//!    and refuses with [`Error::InvalidArgument`] unless it is the object holding the anchor:
//!    offsets between two shared objects would not survive the move to another process.
//! 3. **Same function value.** `F` is either zero-sized (a function item such as `is_prime`,
//!    or a closure that captures nothing), or the plain function pointer type `fn(A) -> R`.
//!    A zero-sized `F` has exactly one value and is `Copy`, so the worker making one is a
//!    copy of the parent's; a function pointer travels as an offset like the entry point. A
//!    closure that captures data is refused at submission with [`Error::InvalidArgument`]:
//!    its captures would have to travel, which is what the argument is for.
//!
//! A registry of named tasks would avoid the offsets, at the price of registering every task
//! function by hand; the checks above give the same safety with plain functions.
//!
//! # Platform
//! Linux. The crate relies on `/proc/self/exe`, `PR_SET_PDEATHSIG`, `F_SETPIPE_SZ` and an
//! ELF constructor; the parts that are Linux-only are gated so it still compiles on other
//! Unixes, where workers must be entered through [`init`] and do not get the parent-death
//! signal (they still exit at end of file).
//!
//! # Rust's `SIGPIPE`
//! Rust programs ignore `SIGPIPE`, so writing to a dead worker's pipe is an error the pool
//! handles. A program that restores the default disposition would be killed instead.

mod builder;
mod entry;
mod executor;
mod identity;
mod job;
mod map;
mod monitor;
mod pool;
mod spawn;
mod started;
mod wire;
mod worker;

pub use builder::Builder;
pub use cfutures_core::{Error, ExitReason, Future};
pub use cfutures_helpers::{MapChunked, MapOptions};
pub use executor::ProcessPoolExecutor;

/// Enters worker mode if this process was started as a worker; returns at once otherwise.
///
/// A worker is this program re-executed by a [`ProcessPoolExecutor`]. On Linux you need not
/// call anything: an ELF constructor of this crate runs before `main` and turns a process
/// started as a worker into one, so binaries, examples, doctests and `cargo test` harnesses
/// (whose `main` belongs to the test framework) all work, and none of your `main` runs in a
/// worker. Calling `init()` first thing in `main` is still the portable contract: where the
/// constructor is not linked it is what makes workers work, and then **all code before it in
/// `main` runs in every worker too**, so put nothing with side effects there. In worker mode
/// this function never returns: the process serves tasks and exits.
///
/// ```
/// fn main() {
///     cfutures_process::init();
///     // ... the program, which may create process pools ...
/// }
/// ```
#[allow(clippy::needless_doctest_main)] // showing `main` is the point
pub fn init() {
    worker::enter_if_worker();
}
