//! Python's `mpi4py.futures.MPIPoolExecutor` for Rust: cfutures tasks on the ranks of an MPI
//! job, on one machine or many, behind the same [`cfutures_helpers::Executor`] interface as
//! the thread and process pools.
//!
//! **MPI support is behind the cargo feature `mpi`** (off by default). Without it this crate
//! has no executor and [`MPI_SUPPORT`] is `false`, so a workspace build needs no MPI
//! installation. With it, the crate builds on the `mpi` crate (rsmpi) and needs an MPI
//! library and libclang at build time; on Debian 12 (Open MPI 4.1):
//!
//! ```text
//! apt-get install -y --no-install-recommends openmpi-bin libopenmpi-dev libclang1-14 libclang-common-14-dev
//! cargo build --release -p cfutures-mpi --features mpi --example primes_mpi
//! mpirun --oversubscribe -n 4 target/release/examples/primes_mpi
//! ```
//!
//! (As root, Open MPI also wants `OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1`;
//! across machines, `mpirun --hostfile hosts -n N prog` works the same, provided every host
//! runs a byte-identical copy of the executable.)
//!
//! # The model: SPMD, as `mpiexec -n N python -m mpi4py.futures script.py`
//! `mpirun -n N prog` starts `prog` N times. Each calls [`init`] first thing in `main`
//! (with the `mpi` feature): on rank 0 it returns a [`World`] and `main` goes on to create
//! [`MpiPoolExecutor`]s; on every other rank it serves tasks and exits the process when rank
//! 0 drops its `World`, so none of `main` after `init` runs there.
//!
//! ```no_run
//! # #[cfg(feature = "mpi")] {
//! use cfutures_mpi::MpiPoolExecutor;
//!
//! fn is_prime(n: u64) -> bool {
//!     n > 1 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
//! }
//!
//! let world = cfutures_mpi::init().unwrap();
//! let pool = MpiPoolExecutor::builder().build().unwrap();
//! let numbers = [2u64, 15, 97];
//! for (n, prime) in numbers.iter().zip(pool.map(is_prime, numbers, 1).unwrap()) {
//!     println!("{n} is prime: {}", prime.unwrap());
//! }
//! # drop(world);
//! # }
//! ```
//!
//! - **A world of one rank** (the program started without `mpirun`, or with `-n 1`): [`init`]
//!   works, and building an executor is a typed [`Error::InvalidArgument`] saying to start
//!   the program with `mpirun -n N`, N >= 2. Tasks never run on rank 0 behind your back.
//! - **Function shipping** is the process pool's (`cfutures_process::shell_kit`): every rank
//!   runs the same executable, a task travels as the offset of its monomorphised entry point
//!   from an anchor function, and the process pool's handshake checks at start-up that every
//!   rank runs the same build. The identity compared is the executable's *content* (its size
//!   and a hash of its bytes, with the code layout and crate version), not its device and
//!   inode, so byte-identical copies on other hosts of `--hostfile` pass and any other build
//!   ends the job with a message.
//! - **One dispatcher, two shells**: each executor drives the process pool's state machine
//!   (`cfutures_process::dispatch`: queue, slots, dispatch, pipelining depth); `shell.rs` is
//!   its MPI shell (a worker id is a rank, an outbox one MPI message) and `worker.rs` runs the
//!   process pool's serve loop over MPI messages. See `shell.rs` for how each effect maps.
//! - **The transport**: MPI messages of the process pool's wire frames, non-blocking sends.
//!   Every task queued for a rank while rank 0's MPI thread was busy leaves in one message;
//!   each reply leaves as soon as its task ends (a later task may run for ever). Open MPI's
//!   blocking receive spins at 100 % CPU, so every loop polls (`MPI_Improbe`) and backs off
//!   from spinning to yielding to sleeping (at most 1 ms): an idle rank costs about 2-3 % of
//!   a core.
//!
//! # Faults
//! - A task's panic fails its future with [`Error::Panicked`]; the backtrace text starts with
//!   `MPI rank R (host H, pid P) panicked at file:line:col`.
//! - A panic of the serving machinery on any rank, or a protocol violation, ends the job with
//!   `MPI_Abort` and a message on stderr; so does rank 0's `main` panicking while it holds the
//!   `World`. Nothing waits for ever in `MPI_Finalize`.
//! - **A rank that dies** (killed, `abort`, `exit`) takes the whole job down: Open MPI 4.1 has
//!   no fault tolerance (ULFM), so `mpirun` kills every rank and exits non-zero within
//!   seconds. The futures of rank 0 never learn of it because rank 0 is gone too. This is
//!   unlike the process pool, which replaces a dead worker and fails only its task.
//! - Rank 0 exiting without dropping its `World` (`std::process::exit`) is such a death too:
//!   `mpirun` reports that rank 0 exited without finalising and ends the job non-zero.
//!
//! [`Error::InvalidArgument`]: cfutures_core::Error::InvalidArgument
//! [`Error::Panicked`]: cfutures_core::Error::Panicked
// Without the `mpi` feature (as on docs.rs, which has no MPI library) the items these docs
// link to do not exist: the links are then plain text, not errors.
#![cfg_attr(not(feature = "mpi"), allow(rustdoc::broken_intra_doc_links))]

/// Whether this build of `cfutures-mpi` has MPI support (the cargo feature `mpi`).
///
/// ```
/// assert_eq!(cfutures_mpi::MPI_SUPPORT, cfg!(feature = "mpi"));
/// ```
pub const MPI_SUPPORT: bool = cfg!(feature = "mpi");

/// The largest MPI message: MPI counts bytes in a C `int`.
#[cfg(feature = "mpi")]
const MAX_MESSAGE: usize = i32::MAX as usize;

#[cfg(feature = "mpi")]
mod backoff;
#[cfg(feature = "mpi")]
mod comm;
#[cfg(feature = "mpi")]
mod executor;
#[cfg(feature = "mpi")]
mod frames;
#[cfg(feature = "mpi")]
mod shell;
#[cfg(feature = "mpi")]
mod worker;
#[cfg(feature = "mpi")]
mod world;

#[cfg(feature = "mpi")]
pub use executor::{MpiPoolBuilder, MpiPoolExecutor};
#[cfg(feature = "mpi")]
pub use world::{World, init};
