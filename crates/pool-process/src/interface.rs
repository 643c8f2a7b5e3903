//! `cfutures_helpers::Executor` for `ProcessPoolExecutor`: Python's abstract interface, so code
//! written against it runs on threads, processes or MPI ranks unchanged.

use cfutures_core::{Error, Future, Shutdown};
use cfutures_helpers::{Executor, MapOptions, Payload, TaskFn};

use crate::executor::ProcessPoolExecutor;

/// Python's `Executor` interface on the process pool: the inherent `submit`, `map_with`,
/// `map_unordered` and `shutdown`. `chunksize` (in [`MapOptions`]) groups items into one
/// message and one task, as in Python's `ProcessPoolExecutor.map`.
///
/// ```
/// use cfutures_core::{Error, Shutdown};
/// use cfutures_helpers::{Executor, MapOptions};
/// use cfutures_process::ProcessPoolExecutor;
///
/// fn square(n: u64) -> u64 {
///     n * n
/// }
///
/// fn sum_of_squares(executor: &impl Executor, n: u64) -> Result<u64, Error> {
///     executor.map(square, 0..n, MapOptions::new().chunksize(2))?.sum()
/// }
///
/// let pool = ProcessPoolExecutor::new(2)?;
/// assert_eq!(sum_of_squares(&pool, 4)?, 14);
/// assert_eq!(Executor::submit(&pool, square, 9)?.into_result()?, 81);
/// Executor::shutdown(&pool, Shutdown::WAIT);
/// # cfutures_process::init();
/// # Ok::<(), Error>(())
/// ```
impl Executor for ProcessPoolExecutor {
    fn submit<F, A, R>(&self, f: F, arg: A) -> Result<Future<R>, Error>
    where
        F: TaskFn<A, R>,
        A: Payload,
        R: Payload,
    {
        ProcessPoolExecutor::submit(self, f, arg)
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
        ProcessPoolExecutor::map_unordered(self, f, items, options)
    }

    fn shutdown(&self, how: Shutdown) {
        ProcessPoolExecutor::shutdown(self, how)
    }
}
