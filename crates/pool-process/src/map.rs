//! `ProcessPoolExecutor::map`: items travel in chunks, one task per chunk, results in order.

use std::collections::VecDeque;
use std::fmt;

use cfutures_core::{Error, Future};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::entry;
use crate::executor::ProcessPoolExecutor;

impl ProcessPoolExecutor {
    /// Python's `map(fn, iterable, chunksize=...)`: applies `f` to every item in worker
    /// processes and yields the results in input order.
    ///
    /// The items are cut into chunks of `chunksize`; each chunk travels to a worker as one
    /// message and runs there as one task (so a large `chunksize` makes tiny functions cheap,
    /// as in Python). Every chunk is submitted before this returns. A chunk whose task fails
    /// (a panic, its worker died) yields that error at its first item, and the iterator ends
    /// there, as Python's `map` raises. Dropping the iterator cancels the chunks that have not
    /// started.
    ///
    /// `chunksize` 0 is [`Error::InvalidArgument`] (Python's `ValueError`); the other errors
    /// are [`submit`](Self::submit)'s.
    ///
    /// ```
    /// use cfutures_process::ProcessPoolExecutor;
    ///
    /// fn is_odd(n: u32) -> bool {
    ///     n % 2 == 1
    /// }
    ///
    /// let pool = ProcessPoolExecutor::builder().max_workers(2).build().unwrap();
    /// let odd: Vec<bool> = pool.map(is_odd, 0..5, 2).unwrap().collect::<Result<_, _>>().unwrap();
    /// assert_eq!(odd, [false, true, false, true, false]);
    /// # cfutures_process::init();
    /// ```
    pub fn map<F, A, R, I>(&self, f: F, items: I, chunksize: usize) -> Result<Map<R>, Error>
    where
        F: Fn(A) -> R + Copy + Send + 'static,
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        if chunksize < 1 {
            return Err(Error::InvalidArgument("chunksize must be >= 1".into()));
        }
        let call = entry::chunk_call::<F, A, R>(&f)?;
        let mut chunks = VecDeque::new();
        let mut items = items.into_iter();
        loop {
            let chunk: Vec<A> = items.by_ref().take(chunksize).collect();
            if chunk.is_empty() {
                break;
            }
            let submitted = self
                .inner()
                .submit_encoded::<Vec<R>, _>(call, |out| postcard::to_io(&chunk, out).map(drop));
            match submitted {
                Ok(future) => chunks.push_back(future),
                Err(error) => {
                    // Python raises from map() itself and the submitted calls keep running;
                    // here they are cancelled, since nothing can reach their results.
                    for future in chunks {
                        future.cancel();
                    }
                    return Err(error);
                }
            }
        }
        Ok(Map {
            chunks,
            current: Vec::new().into_iter(),
            failed: false,
        })
    }
}

/// The iterator [`ProcessPoolExecutor::map`] returns: each item's result, in input order.
pub struct Map<R> {
    chunks: VecDeque<Future<Vec<R>>>,
    current: std::vec::IntoIter<R>,
    failed: bool,
}

impl<R> Iterator for Map<R> {
    type Item = Result<R, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(value) = self.current.next() {
                return Some(Ok(value));
            }
            if self.failed {
                return None;
            }
            let future = self.chunks.pop_front()?;
            let outcome = future.into_inner().unwrap_or_else(|| {
                Err(Error::InvalidState("a map chunk's future has another handle".into()))
            });
            match outcome {
                Ok(values) => self.current = values.into_iter(),
                Err(error) => {
                    self.failed = true;
                    for rest in self.chunks.drain(..) {
                        rest.cancel();
                    }
                    return Some(Err(error));
                }
            }
        }
    }
}

impl<R> Drop for Map<R> {
    fn drop(&mut self) {
        for future in &self.chunks {
            future.cancel();
        }
    }
}

impl<R> fmt::Debug for Map<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("chunks_left", &self.chunks.len())
            .finish_non_exhaustive()
    }
}
