//! `map`: Python's `Executor.map` for any executor.

use std::fmt;

use cfutures_core::{Error, Future};

use crate::options::MapOptions;
use crate::ordered::{Ordered, Step};
use crate::units::PerItem;

/// Submits every item of `items` through `submit` and yields the results in input order, like
/// Python's `Executor.map(fn, *iterables, timeout=, buffersize=)`. Executors build their `map`
/// on it; `submit` is "turn one item into a future" (typically `|x| pool.submit(move || f(x))`),
/// so any executor, or a hand-made one, can be used.
///
/// - **Several inputs** (Python's `map(fn, a, b)`): zip them, `a.into_iter().zip(b)`, and take
///   a tuple in `submit`; for three, `a.into_iter().zip(b).zip(c)` or
///   [`std::iter::zip`]. As with Python's `zip`, the shortest input ends the map.
/// - **Submission**: without a `buffersize`, every item is submitted during this call, as in
///   Python. With `buffersize(n)`, only the first `n` are submitted during the call and then
///   one more each time a result is taken, so at most `n` submitted results are waiting at
///   any time and an endless input runs in bounded memory. A submit error during this call is
///   returned from it (what was already submitted runs, as in Python); a later one surfaces
///   as the `Err` of its item, after which the input is no longer pulled and the iterator
///   ends (an executor that refused one item, being shut down or broken, would refuse the
///   rest).
/// - **Errors**: a failed task yields `Err` at its item's position and iteration continues
///   with the next item. This is CPython's behaviour after gh-108518 (its main branch, past
///   3.14), not 3.14's: in 3.14 the exception leaves `Executor.map`'s generator, whose
///   `finally` cancels every submission not started, so the iteration ends at the first
///   error. In Rust a failed item is a value, not an unwinding exception, so going on loses
///   nothing: a consumer that stops at the first `Err` (`collect::<Result<Vec<_>, _>>()`, `?`
///   in a `for` loop) drops the iterator, which cancels the rest: 3.14's outcome, one step
///   away, while the other results stay reachable for those who want them.
/// - **Timeout**: counted from this call. When the oldest result is not ready in time, the
///   iterator yields one `Err(Error::Timeout { unfinished, total })` (`unfinished` of the
///   `total` items submitted so far had not been yielded), cancels everything not yet started
///   and ends.
/// - **Deadlock**: inside a task, waiting for an item whose task waits, through blocked tasks,
///   on this one yields `Err(Error::Deadlock)` at that item (see `cfutures_core`'s
///   "Deadlocks"); iteration continues. [`map_unordered`](crate::map_unordered) ends on it as
///   on a timeout, with the deadlock as the error of every item still in flight.
/// - **Dropping** an iterator whose iteration has begun (`next` was called) cancels every
///   submitted future that has not started (Python's `close()`); running ones finish and their
///   results are dropped. Dropping one that was **never iterated** cancels nothing: every
///   submitted task runs, as in CPython, whose generator never started (bpo-11777,
///   `test_map_submits_without_iteration`). With a `buffersize` that is the first `buffersize`
///   items, and the rest of the input is never pulled.
/// - Values are moved out of the futures ([`Future::into_inner`]), so `T` need not be `Clone`;
///   `submit` must therefore not keep a clone of the future (the item would be an
///   [`Error::InvalidState`] instead). Waiting on a result may run its task in the waiting
///   thread when the executor allows it (see [`cfutures_core::Inline`]), so a `map` consumed
///   inside a pool's own worker does not deadlock.
/// - [`Map`] is `Send` when the input iterator, `submit` and `T` are, so a map built on one
///   thread can be consumed on another.
///
/// `MapOptions::chunksize` is ignored (items go one by one, as in Python's thread pool); a zero
/// `chunksize` or `buffersize` is an [`Error::InvalidArgument`] from this call, before any
/// input is pulled.
///
/// ```
/// use cfutures_core::{Inline, Task};
/// use cfutures_helpers::{MapOptions, map};
/// use std::thread;
///
/// // A minimal executor: one thread per task.
/// let submit = |(base, exp): (u64, u32)| {
///     let (task, future) = Task::new(Inline::Never, move || base.pow(exp));
///     thread::spawn(move || task.run());
///     Ok(future)
/// };
/// let bases = [2, 3, 4];
/// let exps = [10, 2, 0];
/// let powers: Vec<u64> = map(bases.into_iter().zip(exps), submit, MapOptions::new())?
///     .collect::<Result<_, _>>()?;
/// assert_eq!(powers, [1024, 9, 1]);
/// # Ok::<(), cfutures_core::Error>(())
/// ```
///
/// An endless input with a bound:
///
/// ```
/// use cfutures_core::Promise;
/// use cfutures_helpers::{MapOptions, map};
///
/// let squares = map(
///     0u64..,
///     |n| {
///         let (promise, future) = Promise::new();
///         promise.set_result(n * n)?;
///         Ok(future)
///     },
///     MapOptions::new().buffersize(4),
/// )?;
/// let first: Vec<u64> = squares.take(5).map(Result::unwrap).collect();
/// assert_eq!(first, [0, 1, 4, 9, 16]);
/// # Ok::<(), cfutures_core::Error>(())
/// ```
pub fn map<I, S, T>(
    items: I,
    submit: S,
    options: MapOptions,
) -> Result<Map<I::IntoIter, S, T>, Error>
where
    I: IntoIterator,
    S: FnMut(I::Item) -> Result<Future<T>, Error>,
{
    let source = PerItem {
        items: items.into_iter(),
        submit,
    };
    Ok(Map {
        engine: Ordered::start(source, options)?,
    })
}

/// The iterator returned by [`map`]: `Result<T, Error>` per input item, in input order.
///
/// Its type names its parts, as [`std::iter::Map`] does: the input iterator `I`, the `submit`
/// closure `S` and the result `T`; it is `Send` when they are. Executors return it as
/// `Map<I::IntoIter, impl FnMut(I::Item) -> Result<Future<T>, Error>, T>`.
#[must_use = "iterators are lazy; a Map never iterated lets every submitted task run"]
pub struct Map<I, S, T> {
    engine: Ordered<PerItem<I, S>, T>,
}

impl<I, S, T> Map<I, S, T> {
    /// How many submitted futures are waiting to be yielded (at most `buffersize`).
    pub fn in_flight(&self) -> usize {
        self.engine.in_flight()
    }
}

impl<I, S, T> Iterator for Map<I, S, T>
where
    I: Iterator,
    S: FnMut(I::Item) -> Result<Future<T>, Error>,
{
    type Item = Result<T, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.engine.next_step()? {
            Step::Value { outcome, .. } => Some(outcome),
            Step::TimedOut(error) => Some(Err(error)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.engine.size_hint()
    }
}

impl<I, S, T> std::iter::FusedIterator for Map<I, S, T>
where
    I: Iterator,
    S: FnMut(I::Item) -> Result<Future<T>, Error>,
{
}

impl<I, S, T> fmt::Debug for Map<I, S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("in_flight", &self.engine.in_flight())
            .field("ended", &self.engine.is_ended())
            .finish_non_exhaustive()
    }
}
