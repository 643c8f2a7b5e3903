//! `map_chunked`: `map` with the input cut into chunks, one submission per chunk (Python's
//! `ProcessPoolExecutor.map(..., chunksize=n)`).

use std::fmt;

use cfutures_core::{Error, Future};

use crate::options::MapOptions;
use crate::ordered::{Ordered, Source, Step, Unit};

/// As [`map`](crate::map), but `submit` receives up to `chunksize` consecutive items at a time
/// and returns one future for the whole chunk, resolving to one result per item. The results
/// are yielded one per input item, in input order. This is what a process pool's
/// `map(f, items, chunksize)` needs: one round trip per chunk instead of per item.
///
/// - A chunk's future that fails as a whole (its worker died, it was cancelled) yields that
///   error once **for each item of the chunk**, so results stay aligned with inputs (zipping
///   inputs with results, as the primes demo does, stays correct). A per-item `Err` inside the
///   chunk's results is yielded at its item; iteration continues either way.
/// - A chunk that resolves to the wrong number of results yields [`Error::InvalidState`] for
///   each of its items.
/// - `buffersize` and the deadline count chunks in flight and items, as in Python (which
///   passes the chunks to `Executor.map`).
/// - `chunksize` 0 is an [`Error::InvalidArgument`] from this call (Python's `ValueError`
///   "chunksize must be >= 1."), as is `buffersize` 0.
///
/// ```
/// use cfutures_core::{Error, Future, Promise};
/// use cfutures_helpers::{MapOptions, map_chunked};
///
/// let mut sizes = Vec::new();
/// let halves = map_chunked(
///     [4, 8, 3, 10, 6],
///     2,
///     |chunk: Vec<i32>| {
///         sizes.push(chunk.len());
///         let (promise, future) = Promise::new();
///         let results = chunk
///             .into_iter()
///             .map(|n| if n % 2 == 0 { Ok(n / 2) } else { Err(Error::InvalidArgument("odd".into())) })
///             .collect();
///         promise.set_result(results)?;
///         Ok(future)
///     },
///     MapOptions::new(),
/// )?
/// .collect::<Vec<_>>();
/// assert_eq!(sizes, [2, 2, 1]);
/// assert_eq!(halves[..2], [Ok(2), Ok(4)]);
/// assert!(halves[2].is_err());
/// assert_eq!(halves[3..], [Ok(5), Ok(3)]);
///
/// type Chunk = Future<Vec<Result<i32, Error>>>;
/// let never_called = |_: Vec<i32>| -> Result<Chunk, Error> { unreachable!() };
/// let err = map_chunked(0..3, 0, never_called, MapOptions::new()).unwrap_err();
/// assert_eq!(err, Error::InvalidArgument("chunksize must be >= 1.".into()));
/// # Ok::<(), cfutures_core::Error>(())
/// ```
pub fn map_chunked<'a, I, S, T>(
    items: I,
    chunksize: usize,
    mut submit: S,
    options: MapOptions,
) -> Result<MapChunked<'a, T>, Error>
where
    I: IntoIterator,
    I::IntoIter: 'a,
    S: FnMut(Vec<I::Item>) -> Result<Future<Vec<Result<T, Error>>>, Error> + 'a,
    T: 'a,
{
    if chunksize == 0 {
        return Err(Error::InvalidArgument("chunksize must be >= 1.".into()));
    }
    let mut items = items.into_iter();
    let source: Source<'a, Vec<Result<T, Error>>> = Box::new(move || {
        let chunk: Vec<I::Item> = items.by_ref().take(chunksize).collect();
        if chunk.is_empty() {
            return None;
        }
        let len = chunk.len();
        Some(Unit {
            future: submit(chunk),
            items: len,
        })
    });
    Ok(MapChunked {
        engine: Ordered::start(source, options)?,
        current: Vec::new().into_iter(),
        failed: None,
    })
}

/// The iterator returned by [`map_chunked`]: `Result<T, Error>` per input item, in input order.
#[must_use = "iterators are lazy; dropping a MapChunked cancels the work it has not started"]
pub struct MapChunked<'a, T> {
    engine: Ordered<'a, Vec<Result<T, Error>>>,
    /// The results of the chunk being handed out.
    current: std::vec::IntoIter<Result<T, Error>>,
    /// A failed chunk's error, and how many of its items are still owed a copy.
    failed: Option<(Error, usize)>,
}

impl<T> MapChunked<'_, T> {
    /// How many submitted chunks are waiting to be yielded (at most `buffersize`).
    pub fn in_flight(&self) -> usize {
        self.engine.in_flight()
    }
}

impl<T> Iterator for MapChunked<'_, T> {
    type Item = Result<T, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(result) = self.current.next() {
                return Some(result);
            }
            if let Some((error, owed)) = self.failed.take() {
                if owed > 1 {
                    self.failed = Some((error.clone(), owed - 1));
                }
                return Some(Err(error));
            }
            match self.engine.next_step()? {
                Step::TimedOut(error) => return Some(Err(error)),
                Step::Value {
                    outcome: Ok(results),
                    items,
                } if results.len() == items => self.current = results.into_iter(),
                Step::Value {
                    outcome: Ok(results),
                    items,
                } => {
                    let error = Error::InvalidState(format!(
                        "a chunk of {items} items returned {} results",
                        results.len()
                    ));
                    self.failed = Some((error, items));
                }
                Step::Value {
                    outcome: Err(error),
                    items,
                } => self.failed = Some((error, items)),
            }
        }
    }
}

impl<T> std::iter::FusedIterator for MapChunked<'_, T> {}

impl<T> fmt::Debug for MapChunked<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapChunked")
            .field("in_flight", &self.engine.in_flight())
            .field("ended", &self.engine.is_ended())
            .finish_non_exhaustive()
    }
}
