//! Entering MPI: [`init`] on every rank, the [`World`] guard on rank 0.
//!
//! MPI is owned by one thread per process, `cfutures-mpi`, which initialises it
//! (`MPI_THREAD_FUNNELED`), runs the MPI shell (rank 0) or the worker loop (other ranks),
//! and finalises it. Rank 0's `main` goes on while the other ranks' `main` threads wait for
//! their worker loop to end and then exit the process: user code after `init` runs on rank 0
//! only.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::{self, JoinHandle};

use cfutures_core::Error;
use cfutures_core::unwind::catch_message;
use mpi::Threading;

use crate::backoff::Backoff;
use crate::comm::Comm;
use cfutures_process::shell_kit::{self, Hello, PROTOCOL_VERSION, Ready, kind};

use crate::frames::{HOST, WIRE};
use crate::shell::{self, Runtime};
use crate::worker;

/// Exit code of the job when a rank runs another build.
const EXIT_IDENTITY: i32 = 70;
/// Exit code of the job when the serving machinery itself panicked.
const EXIT_INTERNAL: i32 = 71;

/// The runtime of the live [`World`], for executors to find.
static RUNTIME: Mutex<Option<Arc<Runtime>>> = Mutex::new(None);

/// The runtime executors submit to, or why there is none.
pub(crate) fn runtime() -> Result<Arc<Runtime>, Error> {
    match &*RUNTIME.lock().unwrap_or_else(|e| e.into_inner()) {
        Some(runtime) => Ok(runtime.clone()),
        None if INITIALISED.load(Ordering::Relaxed) => Err(Error::ShutDown),
        None => Err(Error::InvalidState(
            "MPI is not initialised: call cfutures_mpi::init() first thing in main, on every rank"
                .into(),
        )),
    }
}

/// `init` was called (so a missing runtime means the `World` was dropped).
static INITIALISED: AtomicBool = AtomicBool::new(false);

/// What the MPI thread tells `init` once MPI is up.
enum Started {
    Root(Arc<Runtime>),
    Worker,
    Failed(String),
}

/// Rank 0's handle on the MPI job: keep it alive for as long as the program uses MPI pools
/// (bind it in `main`: `let world = cfutures_mpi::init()?;`).
///
/// Dropping it waits for every task submitted to any [`MpiPoolExecutor`](crate::MpiPoolExecutor)
/// to finish, tells the worker ranks to stop, and finalises MPI; pools are shut down from then
/// on ([`Error::ShutDown`]). Dropped while rank 0 panics, it aborts the job instead
/// (`MPI_Abort`), so a failing program never hangs in `MPI_Finalize`.
#[must_use = "dropping the World ends the MPI job's pools at once"]
pub struct World {
    runtime: Arc<Runtime>,
    thread: Option<JoinHandle<()>>,
}

impl World {
    /// The number of ranks in the job (`mpirun -n`).
    pub fn size(&self) -> usize {
        self.runtime.hosts.len()
    }

    /// The number of worker ranks: every rank but 0.
    pub fn workers(&self) -> usize {
        self.runtime.workers()
    }

    /// The host name of `rank` (`MPI_Get_processor_name`), if there is such a rank.
    pub fn host(&self, rank: usize) -> Option<&str> {
        self.runtime.hosts.get(rank).map(String::as_str)
    }
}

impl Drop for World {
    fn drop(&mut self) {
        RUNTIME.lock().unwrap_or_else(|e| e.into_inner()).take();
        if thread::panicking() {
            self.runtime
                .abort("the program panicked on rank 0 while the MPI job was running".into());
        } else {
            self.runtime.close();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("size", &self.size())
            .finish_non_exhaustive()
    }
}

/// Initialises MPI and splits the job: on rank 0 returns the [`World`]; on every other rank
/// serves tasks until rank 0 drops its `World`, then **exits the process** without returning.
///
/// Call it first thing in `main`, on every rank (code before it runs on all ranks, as in any
/// MPI program). Rank 0 returns once every worker rank has introduced itself and shown it runs
/// the same build; a rank running another build ends the job with a message saying so.
///
/// Errors: [`Error::InvalidState`] if it was called before, [`Error::Broken`] if MPI was
/// initialised by someone else or could not start its thread.
///
/// ```no_run
/// fn main() -> Result<(), cfutures_core::Error> {
///     let world = cfutures_mpi::init()?; // worker ranks never get past this line
///     println!("rank 0 of {}", world.size());
///     Ok(())
/// }
/// ```
pub fn init() -> Result<World, Error> {
    if INITIALISED.swap(true, Ordering::SeqCst) {
        return Err(Error::InvalidState(
            "cfutures_mpi::init() was already called".into(),
        ));
    }
    let (started, on_start) = mpsc::channel();
    let thread = thread::Builder::new()
        .name("cfutures-mpi".into())
        // Worker ranks run tasks on this thread: give it a main thread's stack.
        .stack_size(8 << 20)
        .spawn(move || mpi_thread(started))
        .map_err(|e| Error::Broken(format!("cannot start the MPI thread: {e}")))?;
    match on_start.recv() {
        Ok(Started::Root(runtime)) => {
            *RUNTIME.lock().unwrap_or_else(|e| e.into_inner()) = Some(runtime.clone());
            Ok(World {
                runtime,
                thread: Some(thread),
            })
        }
        Ok(Started::Worker) => {
            let _ = thread.join();
            std::process::exit(0)
        }
        Ok(Started::Failed(why)) => Err(Error::Broken(why)),
        Err(_) => Err(Error::Broken(
            "the MPI thread ended before MPI was initialised".into(),
        )),
    }
}

fn mpi_thread(started: mpsc::Sender<Started>) {
    let Some((universe, _threading)) = mpi::initialize_with_threading(Threading::Funneled) else {
        let _ = started.send(Started::Failed("MPI was already initialised".into()));
        return;
    };
    let mut comm = Comm::new(universe.world());
    let host = mpi::environment::processor_name().unwrap_or_else(|_| "?".into());
    let rank = comm.rank();
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        if rank == 0 {
            let hosts = handshake(&mut comm, host.clone());
            let runtime = Arc::new(Runtime::new(hosts, thread::current()));
            let _ = started.send(Started::Root(runtime.clone()));
            shell::run(&runtime, &mut comm);
        } else {
            let _ = started.send(Started::Worker);
            worker::serve(&mut comm, &host);
        }
    }));
    if let Err(payload) = outcome {
        let message =
            catch_message(|| cfutures_core::unwind::panic_message(&*payload)).unwrap_or_default();
        cfutures_core::unwind::drop_payload(payload);
        comm.abort(
            &format!("rank {rank} (host {host}): internal panic outside a task: {message}"),
            EXIT_INTERNAL,
        );
    }
    drop(comm);
    drop(universe); // MPI_Finalize, on the thread that initialised MPI
}

/// Rank 0's side of start-up: every worker rank names its host, then gets the process
/// pool's handshake (HELLO with this build's content identity, which holds across machines)
/// and must answer READY with the same identity. Returns the host of every rank; a rank
/// running another build ends the job.
fn handshake(comm: &mut Comm, host: String) -> Vec<String> {
    let size = comm.size();
    let identity = shell_kit::content_build_id();
    let mut hosts = vec![String::new(); size];
    hosts[0] = host;
    let mut hello = Vec::new();
    let greeting = Hello {
        protocol: PROTOCOL_VERSION,
        build: identity.clone(),
        max_frame: crate::MAX_MESSAGE as u32,
        initializer: None,
    };
    shell_kit::push_message(&mut hello, kind::HELLO, &greeting, usize::MAX)
        .expect("a hello always encodes");
    let mut missing = 2 * (size - 1);
    let mut ready = vec![false; size];
    let mut backoff = Backoff::default();
    while missing > 0 {
        comm.progress();
        let Some(message) = comm.try_receive() else {
            backoff.snooze(false);
            continue;
        };
        let source = message.source;
        let fail = |comm: &Comm, why: String| -> ! {
            comm.abort(
                &format!("rank {source} (host {}): {why}", hosts[source]),
                EXIT_IDENTITY,
            )
        };
        match message.tag {
            HOST if source > 0 && hosts[source].is_empty() => {
                hosts[source] = String::from_utf8_lossy(&message.bytes).into_owned();
                comm.send(source, WIRE, hello.clone());
            }
            WIRE if source > 0 && !hosts[source].is_empty() && !ready[source] => {
                let mut bytes = &message.bytes[..];
                match shell_kit::split_frame(&mut bytes, crate::MAX_MESSAGE) {
                    Ok(Some((kind::READY, payload))) => match shell_kit::decode::<Ready>(payload) {
                        Ok(r) if r.protocol == PROTOCOL_VERSION && &r.build == identity => {}
                        Ok(r) => fail(
                            comm,
                            format!(
                                "runs another build than rank 0 ({:?} vs {identity:?}): every rank \
                             must run the same executable",
                                r.build
                            ),
                        ),
                        Err(e) => fail(comm, format!("unreadable handshake reply: {e}")),
                    },
                    Ok(Some((kind::REJECTED, payload))) => fail(
                        comm,
                        format!(
                            "refused the handshake: {}; every rank must run the same executable",
                            shell_kit::decode::<String>(payload).unwrap_or_else(|e| e)
                        ),
                    ),
                    _ => fail(comm, "sent an unexpected handshake reply".into()),
                }
                ready[source] = true;
            }
            tag => fail(comm, format!("sent tag {tag} during start-up")),
        }
        missing -= 1;
    }
    hosts
}
