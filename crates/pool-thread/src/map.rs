//! `map`: Python's `Executor.map`, through the helpers crate's ordered map.

use std::sync::Arc;

use cfutures_core::Error;
use cfutures_helpers::{Map, MapOptions};

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
    pub fn map<'a, F, I, T>(&'a self, f: F, items: I) -> Result<Map<'a, T>, Error>
    where
        F: Fn(I::Item) -> T + Send + Sync + 'static,
        I: IntoIterator,
        I::IntoIter: 'a,
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
    pub fn map_with<'a, F, I, T>(
        &'a self,
        f: F,
        items: I,
        options: MapOptions,
    ) -> Result<Map<'a, T>, Error>
    where
        F: Fn(I::Item) -> T + Send + Sync + 'static,
        I: IntoIterator,
        I::IntoIter: 'a,
        I::Item: Send + 'static,
        T: Send + 'static,
    {
        let f = Arc::new(f);
        cfutures_helpers::map(
            items,
            move |item| {
                let f = Arc::clone(&f);
                self.submit(move || f(item))
            },
            options,
        )
    }
}
