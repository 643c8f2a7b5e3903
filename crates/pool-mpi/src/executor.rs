//! `MpiPoolExecutor` and `MpiPoolBuilder`: the public handle on rank 0.

use std::fmt;
use std::sync::Arc;

use cfutures_core::{Error, Future, Shutdown};
use cfutures_helpers::{
    Executor, MapChunked, MapOptions, MapUnorderedChunked, Payload, SubmitChunk, TaskFn,
    map_chunked, map_unordered_chunked,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use cfutures_process::shell_kit::{self, ChunkPending, Pending};

use crate::shell::{Pool, Runtime};

/// Python's `mpi4py.futures.MPIPoolExecutor`: runs functions on the worker ranks of the MPI
/// job and returns [`cfutures_core::Future`]s for their values.
///
/// Create it on rank 0 after [`init`](crate::init). Its workers are MPI ranks `1..=max_workers`
/// (every rank but 0 by default); several executors may share ranks. A task is a function
/// `fn(A) -> R` or a closure that captures nothing (a capturing closure is
/// [`Error::InvalidArgument`]); `A` and `R` travel with serde, in the process pool's codec (postcard's bytes).
///
/// - A task's panic fails its future with [`Error::Panicked`]; the error's backtrace text
///   names the rank, host and pid, and the panic location.
/// - [`Future::cancel`] succeeds while the task is queued; a task is marked running when it
///   is sent to a rank.
/// - Dropping the executor is `shutdown(Shutdown::WAIT)`.
/// - A rank that dies ends the whole MPI job (see the crate docs): there is no
///   [`Error::WorkerDied`] here.
///
/// ```no_run
/// use cfutures_mpi::MpiPoolExecutor;
///
/// fn square(x: u64) -> u64 {
///     x * x
/// }
///
/// let world = cfutures_mpi::init().unwrap();
/// let pool = MpiPoolExecutor::builder().build().unwrap();
/// assert_eq!(pool.submit(square, 12).unwrap().result(), Ok(&144));
/// let squares: Vec<u64> = pool.map(square, 1..=4, 2).unwrap().map(Result::unwrap).collect();
/// assert_eq!(squares, [1, 4, 9, 16]);
/// drop(pool);
/// drop(world);
/// ```
pub struct MpiPoolExecutor {
    handle: Handle,
}

/// What submitting needs: shared by the executor and its `map` iterators.
#[derive(Clone)]
struct Handle {
    runtime: Arc<Runtime>,
    pool: Arc<Pool>,
    workers: usize,
}

/// Settings for an [`MpiPoolExecutor`]; mistakes are [`Error::InvalidArgument`] at
/// [`build`](Self::build).
#[derive(Debug, Clone, Default)]
pub struct MpiPoolBuilder {
    max_workers: Option<usize>,
}

impl MpiPoolBuilder {
    /// Default settings: every worker rank.
    pub fn new() -> Self {
        Self::default()
    }

    /// Use worker ranks `1..=max_workers` only. Zero, or more than the job's worker ranks, is
    /// an error at [`build`](Self::build).
    pub fn max_workers(mut self, max_workers: usize) -> Self {
        self.max_workers = Some(max_workers);
        self
    }

    /// The executor. Fails with [`Error::InvalidState`] before [`init`](crate::init),
    /// [`Error::ShutDown`] once the [`World`](crate::World) was dropped, and
    /// [`Error::InvalidArgument`] in a world of one rank (there is no rank to run tasks on:
    /// start the program with `mpirun -n N`, `N >= 2`) or for a bad `max_workers`.
    pub fn build(self) -> Result<MpiPoolExecutor, Error> {
        let runtime = crate::world::runtime()?;
        let available = runtime.workers();
        if available == 0 {
            return Err(Error::InvalidArgument(
                "the MPI world has a single rank, so there is no worker rank: start the \
                 program with `mpirun -n N prog` (N >= 2)"
                    .into(),
            ));
        }
        let workers = self.max_workers.unwrap_or(available);
        if workers == 0 || workers > available {
            return Err(Error::InvalidArgument(format!(
                "max_workers must be between 1 and {available} (the job's worker ranks), \
                 not {workers}"
            )));
        }
        let pool = runtime.register(workers)?;
        Ok(MpiPoolExecutor {
            handle: Handle {
                runtime,
                pool,
                workers,
            },
        })
    }
}

impl MpiPoolExecutor {
    /// An executor on worker ranks `1..=max_workers`; see [`MpiPoolBuilder::build`] for the
    /// errors.
    pub fn new(max_workers: usize) -> Result<Self, Error> {
        MpiPoolBuilder::new().max_workers(max_workers).build()
    }

    /// A builder; `MpiPoolExecutor::builder().build()` uses every worker rank.
    pub fn builder() -> MpiPoolBuilder {
        MpiPoolBuilder::new()
    }

    /// How many worker ranks this executor sends tasks to.
    pub fn max_workers(&self) -> usize {
        self.handle.workers
    }

    /// Runs `f(arg)` on a worker rank and returns the future of its value.
    ///
    /// Fails with [`Error::InvalidArgument`] for a capturing closure and [`Error::ShutDown`]
    /// after [`shutdown`](Self::shutdown). The future fails with [`Error::Serialization`] if
    /// `arg` cannot be encoded or exceeds an MPI message (2 GiB; nothing is sent), with
    /// [`Error::Panicked`] if the task panics, and with [`Error::Serialization`] if its value
    /// cannot be encoded or decoded.
    pub fn submit<F, A, R>(&self, f: F, arg: A) -> Result<Future<R>, Error>
    where
        F: Fn(A) -> R + Copy + Send + 'static,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        let call = shell_kit::task_call::<F, A, R>(&f)?;
        self.handle.runtime.submit_encoded(
            &self.handle.pool,
            call,
            move |out| shell_kit::encode_value(arg, out),
            |promise| Box::new(Pending { promise }),
        )
    }

    /// Python's `map(fn, iterable, chunksize=...)`: `f` over every item on the worker ranks,
    /// results in input order, `chunksize` items per message. Each item's panic is yielded at
    /// its position; dropping the iterator cancels the chunks not yet sent. `chunksize` 0 is
    /// [`Error::InvalidArgument`].
    pub fn map<F, A, R, I>(
        &self,
        f: F,
        items: I,
        chunksize: usize,
    ) -> Result<MapChunked<I::IntoIter, impl SubmitChunk<A, R> + use<F, A, R, I>, R>, Error>
    where
        F: Fn(A) -> R + Copy + Send + 'static,
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        self.map_with(f, items, MapOptions::new().chunksize(chunksize))
    }

    /// [`map`](Self::map) with all of Python's keyword arguments ([`MapOptions`]: `chunksize`,
    /// `timeout`, `buffersize`).
    pub fn map_with<F, A, R, I>(
        &self,
        f: F,
        items: I,
        options: MapOptions,
    ) -> Result<MapChunked<I::IntoIter, impl SubmitChunk<A, R> + use<F, A, R, I>, R>, Error>
    where
        F: Fn(A) -> R + Copy + Send + 'static,
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        map_chunked(items, self.chunk_submitter(f)?, options)
    }

    /// `map` in completion order: `(index, result)` per item as its chunk finishes, `index`
    /// being the item's input position. See [`cfutures_helpers::map_unordered_chunked`].
    pub fn map_unordered<F, A, R, I>(
        &self,
        f: F,
        items: I,
        options: MapOptions,
    ) -> Result<MapUnorderedChunked<I::IntoIter, impl SubmitChunk<A, R> + use<F, A, R, I>, R>, Error>
    where
        F: Fn(A) -> R + Copy + Send + 'static,
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        map_unordered_chunked(items, self.chunk_submitter(f)?, options)
    }

    /// The chunk submission both maps use: one message and one task per chunk.
    fn chunk_submitter<F, A, R>(&self, f: F) -> Result<impl SubmitChunk<A, R> + use<F, A, R>, Error>
    where
        F: Fn(A) -> R + Copy + Send + 'static,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        let call = shell_kit::chunk_call::<F, A, R>(&f)?;
        let handle = self.handle.clone();
        Ok(move |chunk: Vec<A>| {
            handle.runtime.submit_encoded(
                &handle.pool,
                call,
                move |out| shell_kit::encode_value(chunk, out),
                |promise| Box::new(ChunkPending::<R> { promise }),
            )
        })
    }

    /// Python's `shutdown(wait, cancel_futures)`: refuses new work from now on
    /// ([`Error::ShutDown`]); with `cancel_futures` cancels every task not yet sent to a rank;
    /// with `wait` returns once every task of this executor is done. The worker ranks keep
    /// serving other executors until the [`World`](crate::World) is dropped.
    pub fn shutdown(&self, how: Shutdown) {
        self.handle.runtime.shutdown(&self.handle.pool, how);
    }
}

impl Drop for MpiPoolExecutor {
    fn drop(&mut self) {
        self.shutdown(Shutdown::WAIT);
        // A `map` iterator still alive holds a `Handle`; its submissions now fail with
        // `Error::ShutDown`, as the owner is gone.
        self.handle.runtime.forget(&self.handle.pool);
    }
}

impl fmt::Debug for MpiPoolExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MpiPoolExecutor")
            .field("max_workers", &self.handle.workers)
            .finish_non_exhaustive()
    }
}

impl Executor for MpiPoolExecutor {
    fn submit<F, A, R>(&self, f: F, arg: A) -> Result<Future<R>, Error>
    where
        F: TaskFn<A, R>,
        A: Payload,
        R: Payload,
    {
        MpiPoolExecutor::submit(self, f, arg)
    }

    fn map<F, A, R, I>(
        &self,
        f: F,
        items: I,
        options: MapOptions,
    ) -> Result<impl Iterator<Item = Result<R, Error>>, Error>
    where
        F: TaskFn<A, R>,
        A: Payload,
        R: Payload,
        I: IntoIterator<Item = A>,
    {
        self.map_with(f, items, options)
    }

    fn map_unordered<F, A, R, I>(
        &self,
        f: F,
        items: I,
        options: MapOptions,
    ) -> Result<impl Iterator<Item = (usize, Result<R, Error>)>, Error>
    where
        F: TaskFn<A, R>,
        A: Payload,
        R: Payload,
        I: IntoIterator<Item = A>,
    {
        MpiPoolExecutor::map_unordered(self, f, items, options)
    }

    fn shutdown(&self, how: Shutdown) {
        MpiPoolExecutor::shutdown(self, how);
    }
}
