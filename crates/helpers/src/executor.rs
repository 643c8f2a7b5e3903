//! The abstract `Executor`: Python's one interface over every pool, so a program written against
//! it moves from threads to processes to MPI ranks by changing the line that builds the pool.
//!
//! Behind the `executor` feature (it brings `serde`): tasks given through the trait are plain
//! functions (or closures that capture nothing) whose argument and result are serde values,
//! because that is what can cross into another process or onto another machine.

use cfutures_core::{Error, Future, Shutdown};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::MapOptions;

/// A value that can be a task's argument or result on every executor: it can be sent to
/// another thread, encoded for another process or machine, and shared by reference once its
/// future is finished (a future hands `&R` to every thread holding a handle, and its
/// done-callbacks may run on another thread, hence `Sync`; every plain serde data type
/// qualifies). Implemented for every type that qualifies.
pub trait Payload: Serialize + DeserializeOwned + Send + Sync + 'static {}

impl<T: Serialize + DeserializeOwned + Send + Sync + 'static> Payload for T {}

/// A task function usable on every executor: a function item such as `is_prime`, a closure
/// that captures nothing, or a `fn(A) -> R` pointer. Executors that run tasks in other
/// processes refuse a capturing closure with [`Error::InvalidArgument`] at submission (its
/// captures cannot travel; pass them in the argument).
pub trait TaskFn<A, R>: Fn(A) -> R + Copy + Send + Sync + 'static {}

impl<A, R, F: Fn(A) -> R + Copy + Send + Sync + 'static> TaskFn<A, R> for F {}

/// Python's abstract `concurrent.futures.Executor`: `submit`, `map` and `shutdown`, plus
/// `map_unordered`, implemented by the thread pool, the process pool and the MPI pool.
///
/// Every method has Python's semantics: `submit` after `shutdown` is [`Error::ShutDown`]; an
/// argument that cannot be encoded to travel fails its future with [`Error::Serialization`];
/// `map` yields results in input order, counts its timeout from the call, surfaces a task's
/// error at its item, and bounds what is in flight with `buffersize`; `shutdown` takes
/// Python's two choices as a [`Shutdown`]. The maps take every keyword argument of Python's
/// `map` in one [`MapOptions`] (`timeout`, `chunksize`, `buffersize`) and follow
/// [`map`](crate::map)'s rules (drop, errors, timeout) and
/// [`map_unordered`](crate::map_unordered)'s.
///
/// The maps return `impl Iterator`: each pool returns its own iterator type (item by item on
/// threads, in chunks across processes), and generic code needs only the items.
pub trait Executor {
    /// Schedules `f(arg)` and returns its future (Python's `submit(fn, arg)`).
    fn submit<F, A, R>(&self, f: F, arg: A) -> Result<Future<R>, Error>
    where
        F: TaskFn<A, R>,
        A: Payload,
        R: Payload;

    /// Python's `map(fn, items, timeout=, chunksize=, buffersize=)`: one result per item, in
    /// input order. `chunksize` groups items into one task where the executor benefits (the
    /// process and MPI pools); the thread pool sends each item on its own, as Python's does.
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
        I: IntoIterator<Item = A>;

    /// As [`map`](Self::map), in completion order: `(index, result)` per item, `index` being
    /// the item's input position (see [`map_unordered`](crate::map_unordered)).
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
        I: IntoIterator<Item = A>;

    /// Python's `shutdown(wait, cancel_futures)`.
    fn shutdown(&self, how: Shutdown);
}
