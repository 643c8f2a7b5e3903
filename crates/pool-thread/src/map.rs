//! `map` and `map_unordered`: Python's `Executor.map` (and `imap_unordered`), through the
//! helpers crate's maps.

use std::sync::Arc;

use cfutures_core::Error;
use cfutures_helpers::{Map, MapOptions, MapUnordered, SubmitItem};

use crate::pool::ThreadPoolExecutor;

impl ThreadPoolExecutor {
    /// Python's `executor.map(f, items)`: submits `f(item)` for every item during this call
    /// and yields the results in input order. See [`map_with`](Self::map_with) for a timeout
    /// and a bound on the items in flight, and [`cfutures_helpers::map`] for the details.
    ///
    /// A task's error (its panic) surfaces as the `Err` of its item and iteration goes on; a
    /// submit error (the pool was shut down) is returned from this call. Dropping the
    /// iterator cancels the tasks that have not started. Several inputs: zip them.
    ///
    /// ```
    /// use cfutures_thread::ThreadPoolExecutor;
    ///
    /// let pool = ThreadPoolExecutor::new(4)?;
    /// let powers: Vec<u64> = pool
    ///     .map(|(base, exp)| u64::pow(base, exp), (0..10).zip(0..10))?
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(powers, (0..10u64).map(|n| n.pow(n as u32)).collect::<Vec<_>>());
    /// # Ok::<(), cfutures_core::Error>(())
    /// ```
    pub fn map<F, I, T>(
        &self,
        f: F,
        items: I,
    ) -> Result<Map<I::IntoIter, impl SubmitItem<I::Item, T>, T>, Error>
    where
        F: Fn(I::Item) -> T + Send + Sync + 'static,
        I: IntoIterator,
        I::Item: Send + 'static,
        T: Send + 'static,
    {
        self.map_with(f, items, MapOptions::new())
    }

    /// [`map`](Self::map) with Python's keyword arguments: `timeout` (counted from this call;
    /// past it the iterator yields one [`Error::Timeout`], cancels what has not started and
    /// ends) and `buffersize` (at most that many results waiting; the input is pulled lazily,
    /// so an endless input runs in bounded memory).
    ///
    /// ```
    /// use cfutures_helpers::MapOptions;
    /// use cfutures_thread::ThreadPoolExecutor;
    ///
    /// let pool = ThreadPoolExecutor::new(2)?;
    /// let evens = pool.map_with(|n: u64| n * 2, 0.., MapOptions::new().buffersize(8))?;
    /// let first: Vec<u64> = evens.take(4).collect::<Result<_, _>>()?;
    /// assert_eq!(first, [0, 2, 4, 6]);
    /// # Ok::<(), cfutures_core::Error>(())
    /// ```
    pub fn map_with<F, I, T>(
        &self,
        f: F,
        items: I,
        options: MapOptions,
    ) -> Result<Map<I::IntoIter, impl SubmitItem<I::Item, T>, T>, Error>
    where
        F: Fn(I::Item) -> T + Send + Sync + 'static,
        I: IntoIterator,
        I::Item: Send + 'static,
        T: Send + 'static,
    {
        cfutures_helpers::map(items, self.submitter(f), options)
    }

    /// `map` in completion order (`multiprocessing`'s `imap_unordered`, mpi4py's
    /// `map(..., unordered=True)`): yields `(index, result)` for each item as its task
    /// finishes, `index` being the item's position in the input. `options` as for
    /// [`map_with`](Self::map_with): a timeout from the call, and `buffersize` bounding the
    /// tasks in flight, so an endless input runs in bounded memory. See
    /// [`cfutures_helpers::map_unordered`] for the details.
    ///
    /// ```
    /// use cfutures_helpers::MapOptions;
    /// use cfutures_thread::ThreadPoolExecutor;
    ///
    /// fn is_prime(n: u64) -> bool {
    ///     n > 1 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
    /// }
    ///
    /// let pool = ThreadPoolExecutor::new(2)?;
    /// let numbers = [1_000_003u64, 15, 97, 1_000_000];
    /// let mut primes = Vec::new();
    /// for (index, prime) in pool.map_unordered(is_prime, numbers, MapOptions::new())? {
    ///     if prime? {
    ///         primes.push(numbers[index]);
    ///     }
    /// }
    /// primes.sort();
    /// assert_eq!(primes, [97, 1_000_003]);
    /// # Ok::<(), cfutures_core::Error>(())
    /// ```
    pub fn map_unordered<F, I, T>(
        &self,
        f: F,
        items: I,
        options: MapOptions,
    ) -> Result<MapUnordered<I::IntoIter, impl SubmitItem<I::Item, T>, T>, Error>
    where
        F: Fn(I::Item) -> T + Send + Sync + 'static,
        I: IntoIterator,
        I::Item: Send + 'static,
        T: Send + 'static,
    {
        cfutures_helpers::map_unordered(items, self.submitter(f), options)
    }

    /// The submission function both maps use: one task per item, `f` shared by all.
    fn submitter<F, A, T>(&self, f: F) -> impl SubmitItem<A, T>
    where
        F: Fn(A) -> T + Send + Sync + 'static,
        A: Send + 'static,
        T: Send + 'static,
    {
        let f = Arc::new(f);
        move |item| {
            let f = Arc::clone(&f);
            self.submit(move || f(item))
        }
    }
}
