//! `cfutures_helpers::Executor` for `ThreadPoolExecutor` (feature `executor`): Python's abstract
//! interface, so code written against it runs on threads, processes or MPI ranks.

use cfutures_core::{Error, Future, Shutdown};
use cfutures_helpers::{Executor, MapOptions, Payload, TaskFn};

use crate::pool::ThreadPoolExecutor;

/// Python's `Executor` interface on the thread pool: the inherent `submit`, `map_with`,
/// `map_unordered` and `shutdown`. The maps submit each item as its own task: as in CPython's
/// `ThreadPoolExecutor.map`, `chunksize` is ignored, since a thread pool has no round trip
/// to save. Arguments and results stay in this process (nothing is serialised); the `Payload`
/// bound only keeps code portable to the other executors.
///
/// ```
/// use cfutures_core::{Error, Shutdown};
/// use cfutures_helpers::{Executor, MapOptions};
/// use cfutures_thread::ThreadPoolExecutor;
///
/// fn square(n: u64) -> u64 {
///     n * n
/// }
///
/// fn sum_of_squares(executor: &impl Executor, n: u64) -> Result<u64, Error> {
///     executor.map(square, 0..n, MapOptions::new())?.sum()
/// }
///
/// let pool = ThreadPoolExecutor::new(2)?;
/// assert_eq!(sum_of_squares(&pool, 4)?, 14);
/// assert_eq!(Executor::submit(&pool, square, 9)?.into_result()?, 81);
/// Executor::shutdown(&pool, Shutdown::WAIT);
/// # Ok::<(), Error>(())
/// ```
impl Executor for ThreadPoolExecutor {
    fn submit<F, A, R>(&self, f: F, arg: A) -> Result<Future<R>, Error>
    where
        F: TaskFn<A, R>,
        A: Payload,
        R: Payload,
    {
        ThreadPoolExecutor::submit(self, move || f(arg))
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
        ThreadPoolExecutor::map_unordered(self, f, items, options)
    }

    fn shutdown(&self, how: Shutdown) {
        ThreadPoolExecutor::shutdown(self, how)
    }
}
