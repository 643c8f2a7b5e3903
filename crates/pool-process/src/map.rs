//! `ProcessPoolExecutor::map`: items travel in chunks, one task per chunk, results in order.
//!
//! Built on [`cfutures_helpers::map_chunked`], which owns the ordering, `timeout`,
//! `buffersize` and cancel-on-drop rules; this file only turns a chunk into one task.

use cfutures_core::Error;
use cfutures_helpers::{
    MapChunked, MapOptions, MapUnorderedChunked, SubmitChunk, map_chunked, map_unordered_chunked,
};
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
    /// let options = MapOptions::new().chunksize(4).buffersize(2);
    /// let first: Vec<u64> = pool
    ///     .map_with(|n: u64| n * 10, 0u64.., options)
    ///     .unwrap()
    ///     .take(6)
    ///     .map(Result::unwrap)
    ///     .collect();
    /// assert_eq!(first, [0, 10, 20, 30, 40, 50]);
    /// # cfutures_process::init();
    /// ```
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

    /// `map` in completion order (`multiprocessing`'s `imap_unordered`): yields
    /// `(index, result)` for each item as its chunk finishes, `index` being the item's
    /// position in the input; a chunk's items come out together, in input order. `options`
    /// as for [`map_with`](Self::map_with). See [`cfutures_helpers::map_unordered_chunked`].
    ///
    /// ```
    /// use cfutures_helpers::MapOptions;
    /// use cfutures_process::ProcessPoolExecutor;
    ///
    /// fn is_prime(n: u64) -> bool {
    ///     n > 1 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
    /// }
    ///
    /// let pool = ProcessPoolExecutor::builder().max_workers(2).build().unwrap();
    /// let numbers = [1_000_003u64, 15, 97, 1_000_000];
    /// let mut primes: Vec<u64> = pool
    ///     .map_unordered(is_prime, numbers, MapOptions::new())
    ///     .unwrap()
    ///     .filter(|(_, prime)| *prime.as_ref().unwrap())
    ///     .map(|(index, _)| numbers[index])
    ///     .collect();
    /// primes.sort();
    /// assert_eq!(primes, [97, 1_000_003]);
    /// # cfutures_process::init();
    /// ```
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

    /// The chunk submission both maps use: a chunk travels as one message and runs as one
    /// task. The iterator holds the pool's shared state, not a borrow of the pool.
    fn chunk_submitter<F, A, R>(&self, f: F) -> Result<impl SubmitChunk<A, R> + use<F, A, R>, Error>
    where
        F: Fn(A) -> R + Copy + Send + 'static,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        let call = entry::chunk_call::<F, A, R>(&f)?;
        let inner = self.inner().clone();
        Ok(move |chunk: Vec<A>| {
            inner.submit_encoded(
                call,
                inner.config.task_timeout,
                |out| crate::serde_text::encode(&chunk, out).map(|()| None),
                |promise| Box::new(ChunkPending::<R> { promise }),
            )
        })
    }
}
