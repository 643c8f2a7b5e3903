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
//!     let pool = ProcessPoolExecutor::builder().build().unwrap();
//!     let numbers = [2u64, 15, 97];
//!     for (n, prime) in numbers.iter().zip(pool.map(is_prime, numbers, 1).unwrap()) {
//!         println!("{n} is prime: {}", prime.unwrap());
//!     }
//! }
//! ```
//!
//! - [`ProcessPoolExecutor`]: `submit`, `map`, `shutdown`, `terminate_workers`,
//!   `kill_workers`; configured with a [`ProcessPoolBuilder`] (`max_workers`, `initializer`,
//!   `max_tasks_per_child`, `max_frame_size`, `task_timeout`); `submit_with_timeout` gives one task a time limit (R15 in `dispatch.rs`).
//! - The futures are [`cfutures_core::Future`]s: wait on them, `.await` them, or pass them to
//!   the helpers (`as_completed`, `wait`) together with futures from other executors.
//!
//! # How it works
//! - **Workers** are this executable re-executed in worker mode ([`init`]); each is served
//!   by a monitor thread in the parent that starts it, reads its replies, and learns its end
//!   from the process itself (a pidfd, so neither a grandchild holding the pipe nor a reused
//!   pid can mislead it) and reaps it. Shutdown tells an idle worker to stop with an explicit
//!   frame.
//! - **The dispatcher** (`dispatch.rs`) is a pure state machine: the queue, the workers and
//!   their phases, dispatch and pipelining, crash blame, the respawn/break policy, shutdown
//!   and terminate. Its transitions return effects that an I/O shell carries out: the pipe
//!   shell (`shell.rs`) here, an MPI shell elsewhere (see `shell_kit`).
//! - **The wire** is two pipes per worker, private to it (close-on-exec everywhere else),
//!   carrying length-prefixed frames: fixed binary headers for tasks and replies, `postcard`
//!   (serde) for values. A large `Vec<u8>`, `String`, `Vec<f32>` or `Vec<f64>` is not
//!   encoded: its own buffer is written after the frame's header with one vectored write (on
//!   a writer thread, so `submit` returns at once) and read on the other side straight into
//!   a vector of its own (`body.rs`). Frames are size-limited; a malformed or oversized one is an error
//!   for the futures it concerns, never a panic. A handshake checks that the worker speaks
//!   the same protocol version and runs the same build. What a task prints goes to the
//!   parent's stdout and stderr, which the worker inherits; the wire never shares a stream
//!   with them.
//! - **Finding the function**: see the next section.
//! - **Faults**: a panic fails its future with the message and the worker's backtrace; a
//!   worker that dies fails only the task it was running, with [`Error::WorkerDied`](cfutures_core::Error::WorkerDied) (a
//!   counter in shared memory tells which tasks it had started; the others run elsewhere);
//!   a replacement starts; workers die with their parent (parent-death signal and end of file
//!   on the wire); every worker is reaped. A task that closes the wire or `exec`s another
//!   program (the wire is close-on-exec) ends its worker the same way: its future fails with
//!   `WorkerDied`, the others are served by the replacement.
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
//!    replaced on disk since. (The MPI shell, whose workers may run a copy of the binary on
//!    another machine, compares `content_build_id` instead: size and hash of the bytes.)
//! 2. **Same image.** Before sending an offset the parent asks the dynamic loader (`dladdr`)
//!    which loaded object holds the entry point (and the function pointer, if one is sent),
//!    and refuses with [`Error::InvalidArgument`](cfutures_core::Error::InvalidArgument) unless it is the object holding the anchor:
//!    offsets between two shared objects would not survive the move to another process.
//! 3. **Same function value.** `F` is either zero-sized (a function item such as `is_prime`,
//!    or a closure that captures nothing), or the plain function pointer type `fn(A) -> R`.
//!    A zero-sized `F` has exactly one value and is `Copy`, so the worker making one is a
//!    copy of the parent's; a function pointer travels as an offset like the entry point. A
//!    closure that captures data is refused at submission with [`Error::InvalidArgument`](cfutures_core::Error::InvalidArgument):
//!    its captures would have to travel, which is what the argument is for.
//!
//! A registry of named tasks would avoid the offsets, at the price of registering every task
//! function by hand; the checks above give the same safety with plain functions.
//!
//! # Python's names for our parts
//! | CPython `concurrent/futures/process.py` | here |
//! |---|---|
//! | `_WorkItem` (future + call, in `_pending_work_items`) | `dispatch::Task` and its `job.rs` record |
//! | `_CallItem` (the pickled call on the call queue) | a TASK frame (`wire.rs`), made in `shell.rs` from `entry::task_call` |
//! | `_ResultItem` (on the result queue) | a DONE/FAILED frame, settled by `job.rs` |
//! | the manager thread (`_ExecutorManagerThread`) | the `dispatch.rs` state machine, driven by `shell.rs`'s monitor threads |
//! | its steps: `add_call_item_to_queue`, `process_result_item`, `terminate_broken`, `flag_executor_shutting_down`, `join_executor_internals` | `Dispatcher::submit`/dispatch (R3), `replied` (R6), `ended` (R7-R9), `shutdown`/`terminate` (R11, R12), `Inner::shutdown` waiting |
//! | `_process_worker` | `worker.rs` (`serve`) |
//!
//! # Platform
//! Linux (5.3 or later, for pidfds). The crate relies on `/proc/self/exe`,
//! `PR_SET_PDEATHSIG`, pidfds, `F_SETPIPE_SZ` and an ELF constructor. On any other platform
//! it compiles to the same public types, whose constructors fail with an [`Error::Other`](cfutures_core::Error::Other)
//! wrapping an [`std::io::ErrorKind::Unsupported`] error, so a program (or the `cfutures`
//! facade) that names them still builds there.
//!
//! # Signals
//! Workers ignore `SIGPIPE`, as Rust programs and CPython's workers do, so a task writing to
//! a closed pipe gets `BrokenPipe`. The parent is a Rust program and ignores it too; a program
//! that restores the default disposition would be killed by a write to a dead worker.
//! `terminate_workers` sends `SIGTERM` and `SIGCONT` (a stopped worker receives it) and kills
//! a worker still alive after two seconds. The pool never calls `waitpid(-1)` and does not
//! need `SIGCHLD`: if the program ignores `SIGCHLD` (so the kernel reaps) or reaps children
//! itself, a dead worker's futures still fail, with [`ExitReason::Unknown`](cfutures_core::ExitReason::Unknown).
//!
//! # Writing another shell
//! `shell_kit` (Linux only, hidden from these docs) is for shell authors (the MPI
//! executor), exempt from semver; the dispatcher is also the public [`dispatch`] module. A
//! shell:
//! 1. owns one [`Dispatcher`](dispatch::Dispatcher) behind a lock, and carries out every
//!    [`Effects`](dispatch::Effects) a transition returns, in order, after releasing the lock;
//! 2. on `Spawn(id)` starts a worker that runs this same binary and calls
//!    `shell_kit::serve` over a byte transport (worker side; `serve_as` chooses the identity
//!    to require and the name a task's panic text starts with), does the handshake (HELLO
//!    with `shell_kit::build_id`, or `content_build_id` across machines, expects READY), then
//!    calls `started` and `ready`;
//! 3. on `Flush(id)` writes what `take_outbox(id, ..)` returns until it returns `None`;
//! 4. reads reply frames with `shell_kit::FrameReader` (or `split_frame` from a buffer that
//!    arrived whole), passes their headers to `replied`
//!    and settles the returned jobs with the frames' bodies, in order;
//! 5. learns each worker's end from the worker itself (not only end of file) and reports it
//!    with `ended`, including the started-task counter if it has one and any LAST_WORDS;
//! 6. honours `Signal`, `Rearm`/`timer_of`/`timer_expired`, `Fail`, `Cancel`, `Discard`,
//!    and `Forget`, settling jobs with the `Pending`/`ChunkPending` records and running
//!    their done-callbacks on a `Delivery`.

// Off Linux only the dispatcher's `Task` names it.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
mod body;
#[cfg(target_os = "linux")]
mod builder;
#[cfg(target_os = "linux")]
mod codec;
#[cfg(target_os = "linux")]
mod delivery;
pub mod dispatch;
#[cfg(target_os = "linux")]
mod entry;
#[cfg(target_os = "linux")]
mod executor;
#[cfg(target_os = "linux")]
mod identity;
#[cfg(target_os = "linux")]
mod interface;
#[cfg(target_os = "linux")]
mod job;
#[cfg(target_os = "linux")]
mod map;
mod outbox;
#[cfg(target_os = "linux")]
mod overflow;
#[cfg(target_os = "linux")]
mod serde_text;
#[cfg(target_os = "linux")]
mod shell;
#[cfg(target_os = "linux")]
mod spawn;
#[cfg(target_os = "linux")]
mod started;
#[cfg(not(target_os = "linux"))]
mod unsupported;
// Off Linux only the dispatcher's STOP frame uses it.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
mod wire;
#[cfg(target_os = "linux")]
mod worker;

#[cfg(target_os = "linux")]
pub use builder::ProcessPoolBuilder;
#[cfg(target_os = "linux")]
pub use executor::ProcessPoolExecutor;
#[cfg(not(target_os = "linux"))]
pub use unsupported::{ProcessPoolBuilder, ProcessPoolExecutor};

/// What a second I/O shell (the MPI executor) needs: the dispatcher, the wire's frames and
/// codec, function shipping, the build identity and the worker's serve loop. Exempt from
/// semver; see the crate docs, "Writing another shell".
#[doc(hidden)]
#[cfg(target_os = "linux")]
pub mod shell_kit {
    pub use crate::delivery::Delivery;
    pub use crate::dispatch::*;
    pub use crate::entry::{chunk_call, init_call, task_call};
    pub use crate::identity::{build_id, content_build_id};
    pub use crate::job::{
        Callbacks, ChunkPending, Job as PendingJob, Pending, failure_error, unsent,
    };
    pub use crate::wire::{
        BuildId, Call, Failure, Frame, FrameError, FrameReader, Hello, PROTOCOL_VERSION,
        REPLY_HEADER, Ready, begin_frame, begin_task_frame, decode, end_frame, kind, push_message,
        push_stop, split_frame, split_words,
    };
    pub use crate::worker::{serve, serve_as};

    /// Appends `value`'s encoding (postcard's bytes, a type's own error text on failure) to
    /// `out`: the codec of the process pool's frames, for a shell that sends whole messages
    /// (no bodies).
    pub fn encode_value<T: serde::Serialize + 'static>(
        value: T,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        crate::codec::encode(value, out, usize::MAX).map(drop)
    }
}

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
    #[cfg(target_os = "linux")]
    worker::enter_if_worker();
}
