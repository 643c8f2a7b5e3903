//! `map_chunked`: `map` with the input cut into chunks, one submission per chunk (Python's
//! `ProcessPoolExecutor.map(..., chunksize=n)`).

use std::fmt;

use cfutures_core::{Error, Future};

use crate::options::MapOptions;
use crate::ordered::{Ordered, Step};
use crate::units::{ChunkItems, Chunks};

/// As [`map`](crate::map), but `submit` receives up to
/// [`options.get_chunksize()`](MapOptions::chunksize) consecutive items at a time and returns
/// one future for the whole chunk, resolving to one result per item. The results are yielded
/// one per input item, in input order. This is what a process pool's `map` needs: one round
/// trip per chunk instead of per item.
///
/// - A chunk's future that fails as a whole (its worker died, it was cancelled) yields that
///   error once **for each item of the chunk**, so results stay aligned with inputs (zipping
///   inputs with results, as the primes demo does, stays correct). A per-item `Err` inside the
///   chunk's results is yielded at its item; iteration continues either way (see
///   [`map`](crate::map) for why, and for how CPython 3.14 differs).
/// - A chunk that resolves to the wrong number of results yields [`Error::InvalidState`] for
///   each of its items.
/// - `buffersize` and the deadline count chunks in flight and items, as in Python (which
///   passes the chunks to `Executor.map`). Drop rules are `map`'s: a map never iterated lets
///   its chunks run.
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
///     MapOptions::new().chunksize(2),
/// )?
/// .collect::<Vec<_>>();
/// assert_eq!(sizes, [2, 2, 1]);
/// assert_eq!(halves[..2], [Ok(2), Ok(4)]);
/// assert!(halves[2].is_err());
/// assert_eq!(halves[3..], [Ok(5), Ok(3)]);
///
/// type Chunk = Future<Vec<Result<i32, Error>>>;
/// let never_called = |_: Vec<i32>| -> Result<Chunk, Error> { unreachable!() };
/// let err = map_chunked(0..3, never_called, MapOptions::new().chunksize(0)).unwrap_err();
/// assert_eq!(err, Error::InvalidArgument("chunksize must be >= 1.".into()));
/// # Ok::<(), cfutures_core::Error>(())
/// ```
pub fn map_chunked<I, S, T>(
    items: I,
    submit: S,
    options: MapOptions,
) -> Result<MapChunked<I::IntoIter, S, T>, Error>
where
    I: IntoIterator,
    S: FnMut(Vec<I::Item>) -> Result<Future<Vec<Result<T, Error>>>, Error>,
{
    options.validate()?;
    let source = Chunks {
        items: items.into_iter(),
        submit,
        chunksize: options.get_chunksize(),
    };
    Ok(MapChunked {
        engine: Ordered::start(source, options)?,
        current: ChunkItems::empty(),
    })
}

/// The iterator returned by [`map_chunked`]: `Result<T, Error>` per input item, in input order.
/// `Send` when the input iterator `I`, `submit` (`S`) and `T` are.
#[must_use = "iterators are lazy; a MapChunked never iterated lets every submitted chunk run"]
pub struct MapChunked<I, S, T> {
    engine: Ordered<Chunks<I, S>, Vec<Result<T, Error>>>,
    /// The chunk being handed out.
    current: ChunkItems<T>,
}

impl<I, S, T> MapChunked<I, S, T> {
    /// How many submitted chunks are waiting to be yielded (at most `buffersize`).
    pub fn in_flight(&self) -> usize {
        self.engine.in_flight()
    }
}

impl<I, S, T> Iterator for MapChunked<I, S, T>
where
    I: Iterator,
    S: FnMut(Vec<I::Item>) -> Result<Future<Vec<Result<T, Error>>>, Error>,
{
    type Item = Result<T, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(result) = self.current.next() {
                return Some(result);
            }
            match self.engine.next_step()? {
                Step::TimedOut(error) => return Some(Err(error)),
                Step::Value { outcome, items } => self.current = ChunkItems::new(outcome, items),
            }
        }
    }
}

impl<I, S, T> std::iter::FusedIterator for MapChunked<I, S, T>
where
    I: Iterator,
    S: FnMut(Vec<I::Item>) -> Result<Future<Vec<Result<T, Error>>>, Error>,
{
}

impl<I, S, T> fmt::Debug for MapChunked<I, S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapChunked")
            .field("in_flight", &self.engine.in_flight())
            .field("ended", &self.engine.is_ended())
            .finish_non_exhaustive()
    }
}
