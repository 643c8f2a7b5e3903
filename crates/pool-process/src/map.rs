//! `ProcessPoolExecutor::map`: items travel in chunks, one task per chunk, results in order.
//!
//! Built on [`cfutures_helpers::map_chunked`], which owns the ordering, `timeout`,
//! `buffersize` and cancel-on-drop rules; this file only turns a chunk into one task.

use cfutures_core::Error;
use cfutures_helpers::{MapChunked, MapOptions, map_chunked};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::entry;
use crate::executor::ProcessPoolExecutor;
use crate::job::ChunkPending;

impl ProcessPoolExecutor {
    /// Python's `map(fn, iterable, chunksize=...)`: applies `f` to every item in worker
    /// processes and yields the results in input order.
    ///
    /// The items are cut into chunks of `chunksize`; each chunk travels to a worker as one
    /// message and runs there as one task (so a large `chunksize` makes tiny functions cheap,
    /// as in Python). Every chunk is submitted before this returns. Each item's panic is
    /// caught on its own and yielded at its position as [`Error::Panicked`], and iteration
    /// goes on (as CPython 3.14 does); an error of the whole chunk (its worker died, its
    /// results could not be decoded) is yielded once for each of its items. Dropping the
    /// iterator cancels the chunks that have not started.
    ///
    /// `chunksize` 0 is [`Error::InvalidArgument`] (Python's `ValueError`); the other errors
    /// are [`submit`](Self::submit)'s, returned from this call.
    ///
    /// ```
    /// use cfutures_process::ProcessPoolExecutor;
    ///
    /// fn is_odd(n: u32) -> bool {
    ///     n % 2 == 1
    /// }
    ///
    /// let pool = ProcessPoolExecutor::new(2).unwrap();
    /// let odd: Vec<bool> = pool.map(is_odd, 0..5, 2).unwrap().collect::<Result<_, _>>().unwrap();
    /// assert_eq!(odd, [false, true, false, true, false]);
    /// # cfutures_process::init();
    /// ```
    pub fn map<'a, F, A, R, I>(
        &self,
        f: F,
        items: I,
        chunksize: usize,
    ) -> Result<MapChunked<'a, R>, Error>
    where
        F: Fn(A) -> R + Copy + Send + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: 'a,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        self.map_with(f, items, chunksize, MapOptions::new())
    }

    /// [`map`](Self::map) with Python's other keyword arguments: `timeout` (counted from this
    /// call; past it the iterator yields one [`Error::Timeout`], cancels what has not started
    /// and ends) and `buffersize` (at most that many chunks submitted and not yet consumed, so
    /// an endless input runs in bounded memory).
    ///
    /// ```
    /// use cfutures_helpers::MapOptions;
    /// use cfutures_process::ProcessPoolExecutor;
    ///
    /// let pool = ProcessPoolExecutor::new(1).unwrap();
    /// let options = MapOptions::new().buffersize(2);
    /// let first: Vec<u64> = pool
    ///     .map_with(|n: u64| n * 10, 0u64.., 4, options)
    ///     .unwrap()
    ///     .take(6)
    ///     .map(Result::unwrap)
    ///     .collect();
    /// assert_eq!(first, [0, 10, 20, 30, 40, 50]);
    /// # cfutures_process::init();
    /// ```
    pub fn map_with<'a, F, A, R, I>(
        &self,
        f: F,
        items: I,
        chunksize: usize,
        options: MapOptions,
    ) -> Result<MapChunked<'a, R>, Error>
    where
        F: Fn(A) -> R + Copy + Send + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: 'a,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        if chunksize < 1 {
            return Err(Error::InvalidArgument("chunksize must be >= 1.".into()));
        }
        let call = entry::chunk_call::<F, A, R>(&f)?;
        let inner = self.inner().clone();
        map_chunked(
            items,
            chunksize,
            move |chunk: Vec<A>| {
                inner.submit_encoded(
                    call,
                    |out| postcard::to_io(&chunk, out).map(drop),
                    |promise| Box::new(ChunkPending::<R> { promise }),
                )
            },
            options,
        )
    }
}
