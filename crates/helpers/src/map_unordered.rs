//! `map_unordered` and `map_unordered_chunked`: results as they complete, each with its input
//! position (`multiprocessing.Pool.imap_unordered`, mpi4py's `map(..., unordered=True)`).

use std::fmt;

use cfutures_core::{Error, Future};

use crate::options::MapOptions;
use crate::units::{ChunkItems, Chunks, PerItem};
use crate::unordered::{Done, Unordered};

/// As [`map`](crate::map), but yields each result as soon as its task completes, not in input
/// order, as `(index, result)` where `index` is the item's position in the input (0 for the
/// first item). A slow first item no longer holds back the others.
///
/// Why the index and not the input: the input was moved into its task (possibly to another
/// process, as bytes), so giving it back would need `Clone` and a copy of every item in
/// flight; the index costs nothing, works for any input, and finds the item in the caller's
/// own copy when it has one (`inputs[index]`).
///
/// Everything else is `map`'s:
/// - **Submission** and `buffersize`: everything is submitted during the call, or with
///   `buffersize(n)` the first `n` and then one more per result yielded, so an endless input
///   runs in bounded memory. A submit error during the call is returned from it; a later one
///   is yielded at its item and ends the input.
/// - **Errors**: a failed task yields `(index, Err(..))` and iteration goes on.
/// - **Timeout**: counted from this call. When nothing completes before it, what has not
///   started is cancelled and every item still in flight is yielded once, in input order: its
///   result if it finished meanwhile, otherwise `Err(Error::Timeout { unfinished, total })`;
///   then the iterator ends. So each submitted index is yielded exactly once, timeout or not.
/// - **Dropping** an iterator whose iteration has begun cancels what has not started; one
///   never iterated lets every submitted task run (bpo-11777).
/// - Cost: one waker registration per submission, O(1) per completion, no polling; memory for
///   the submissions in flight only. `chunksize` is ignored (see
///   [`map_unordered_chunked`]). [`MapUnordered`] is `Send` when the input iterator, `submit`
///   and `T` are.
///
/// Primes, reported as each check finishes:
///
/// ```
/// use cfutures_core::{Inline, Task};
/// use cfutures_helpers::{MapOptions, map_unordered};
/// use std::thread;
///
/// fn is_prime(n: u64) -> bool {
///     n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
/// }
///
/// let numbers = [1_000_000_007, 15, 999_999_937, 1_000_000_011, 2_147_483_647];
/// // A minimal executor: one thread per task.
/// let submit = |n: u64| {
///     let (task, future) = Task::new(Inline::Never, move || is_prime(n));
///     thread::spawn(move || task.run());
///     Ok(future)
/// };
/// let mut verdicts = vec![None; numbers.len()];
/// for (index, prime) in map_unordered(numbers, submit, MapOptions::new())? {
///     println!("{} is prime: {}", numbers[index], prime.as_ref().unwrap());
///     verdicts[index] = Some(prime?);
/// }
/// assert_eq!(verdicts, [Some(true), Some(false), Some(true), Some(false), Some(true)]);
/// # Ok::<(), cfutures_core::Error>(())
/// ```
pub fn map_unordered<I, S, T>(
    items: I,
    submit: S,
    options: MapOptions,
) -> Result<MapUnordered<I::IntoIter, S, T>, Error>
where
    I: IntoIterator,
    S: FnMut(I::Item) -> Result<Future<T>, Error>,
{
    let source = PerItem {
        items: items.into_iter(),
        submit,
    };
    Ok(MapUnordered {
        engine: Unordered::start(source, options)?,
    })
}

/// The iterator returned by [`map_unordered`]: `(index, Result<T, Error>)` per input item, in
/// completion order.
#[must_use = "iterators are lazy; a MapUnordered never iterated lets every submitted task run"]
pub struct MapUnordered<I, S, T> {
    engine: Unordered<PerItem<I, S>, T>,
}

impl<I, S, T> MapUnordered<I, S, T> {
    /// How many submitted items have not been yielded (at most `buffersize`).
    pub fn in_flight(&self) -> usize {
        self.engine.in_flight()
    }
}

impl<I, S, T> Iterator for MapUnordered<I, S, T>
where
    I: Iterator,
    S: FnMut(I::Item) -> Result<Future<T>, Error>,
{
    type Item = (usize, Result<T, Error>);

    fn next(&mut self) -> Option<Self::Item> {
        let Done { span, outcome } = self.engine.next_done()?;
        Some((span.first, outcome))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // Every submitted item is yielded exactly once, even past the deadline.
        let owed = self.engine.in_flight();
        (owed, self.engine.input_exhausted().then_some(owed))
    }
}

impl<I, S, T> std::iter::FusedIterator for MapUnordered<I, S, T>
where
    I: Iterator,
    S: FnMut(I::Item) -> Result<Future<T>, Error>,
{
}

impl<I, S, T> fmt::Debug for MapUnordered<I, S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapUnordered")
            .field("in_flight", &self.engine.in_flight())
            .field("ended", &self.engine.is_ended())
            .finish_non_exhaustive()
    }
}

/// As [`map_unordered`], but `submit` receives up to
/// [`options.get_chunksize()`](MapOptions::chunksize) consecutive items at a time and returns
/// one future for the chunk, resolving to one result per item, as for
/// [`map_chunked`](crate::map_chunked). When a chunk completes, its items are yielded one
/// after the other, each with its own input index; a chunk that failed as a whole yields its
/// error for each of its items. `buffersize` counts chunks. This is the process pool's
/// unordered map.
///
/// ```
/// use cfutures_core::Promise;
/// use cfutures_helpers::{MapOptions, map_unordered_chunked};
///
/// let mut chunks = Vec::new();
/// let squares = map_unordered_chunked(
///     0..5u32,
///     |chunk: Vec<u32>| {
///         chunks.push(chunk.clone());
///         let (promise, future) = Promise::new();
///         promise.set_result(chunk.into_iter().map(|n| Ok(n * n)).collect())?;
///         Ok(future)
///     },
///     MapOptions::new().chunksize(2),
/// )?;
/// let mut by_index: Vec<(usize, u32)> = squares.map(|(i, r)| (i, r.unwrap())).collect();
/// by_index.sort();
/// assert_eq!(by_index, [(0, 0), (1, 1), (2, 4), (3, 9), (4, 16)]);
/// assert_eq!(chunks, [vec![0, 1], vec![2, 3], vec![4]]);
/// # Ok::<(), cfutures_core::Error>(())
/// ```
pub fn map_unordered_chunked<I, S, T>(
    items: I,
    submit: S,
    options: MapOptions,
) -> Result<MapUnorderedChunked<I::IntoIter, S, T>, Error>
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
    Ok(MapUnorderedChunked {
        engine: Unordered::start(source, options)?,
        current: ChunkItems::empty(),
        next_index: 0,
    })
}

/// The iterator returned by [`map_unordered_chunked`]: `(index, Result<T, Error>)` per input
/// item, a chunk's items together as the chunk completes.
#[must_use = "iterators are lazy; a MapUnorderedChunked never iterated lets every submitted chunk run"]
pub struct MapUnorderedChunked<I, S, T> {
    engine: Unordered<Chunks<I, S>, Vec<Result<T, Error>>>,
    /// The chunk being handed out, and the input index of its next item.
    current: ChunkItems<T>,
    next_index: usize,
}

impl<I, S, T> MapUnorderedChunked<I, S, T> {
    /// How many submitted chunks have not been yielded (at most `buffersize`).
    pub fn in_flight(&self) -> usize {
        self.engine.in_flight()
    }
}

impl<I, S, T> Iterator for MapUnorderedChunked<I, S, T>
where
    I: Iterator,
    S: FnMut(Vec<I::Item>) -> Result<Future<Vec<Result<T, Error>>>, Error>,
{
    type Item = (usize, Result<T, Error>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(result) = self.current.next() {
                let index = self.next_index;
                self.next_index += 1;
                return Some((index, result));
            }
            let Done { span, outcome } = self.engine.next_done()?;
            self.current = ChunkItems::new(outcome, span.items);
            self.next_index = span.first;
        }
    }
}

impl<I, S, T> std::iter::FusedIterator for MapUnorderedChunked<I, S, T>
where
    I: Iterator,
    S: FnMut(Vec<I::Item>) -> Result<Future<Vec<Result<T, Error>>>, Error>,
{
}

impl<I, S, T> fmt::Debug for MapUnorderedChunked<I, S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapUnorderedChunked")
            .field("in_flight", &self.engine.in_flight())
            .field("ended", &self.engine.is_ended())
            .finish_non_exhaustive()
    }
}
