//! `map`: Python's `Executor.map` for any executor.

use std::fmt;

use cfutures_core::{Error, Future};

use crate::options::MapOptions;
use crate::ordered::{Ordered, Source, Step, Unit};

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
///   returned from it (after cancelling what was already submitted; Python leaves those
///   running); a later one surfaces as the `Err` of its item, after which the input is no
///   longer pulled and the iterator ends (an executor that refused one item, being shut down
///   or broken, would refuse the rest).
/// - **Errors**: a failed task yields `Err` at its item's position and iteration continues
///   with the next item (CPython's main branch does the same since 3.14: the exception is
///   raised at its item and `next` goes on).
/// - **Timeout**: counted from this call. When the oldest result is not ready in time, the
///   iterator yields one `Err(Error::Timeout { unfinished, total })` (`unfinished` of the
///   `total` items submitted so far had not been yielded), cancels everything not yet started
///   and ends.
/// - **Dropping** the iterator cancels every submitted future that has not started (Python's
///   `close()`); running ones finish and their results are dropped.
/// - Values are moved out of the futures ([`Future::into_inner`]), so `T` need not be `Clone`;
///   `submit` must therefore not keep a clone of the future (the item would be an
///   [`Error::InvalidState`] instead). Waiting on a result may run its task in the waiting
///   thread when the executor allows it (see [`cfutures_core::Inline`]), so a `map` consumed
///   inside a pool's own worker does not deadlock.
///
/// A zero `buffersize` is an [`Error::InvalidArgument`] from this call, before any input is
/// pulled.
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
pub fn map<'a, I, S, T>(items: I, mut submit: S, options: MapOptions) -> Result<Map<'a, T>, Error>
where
    I: IntoIterator,
    I::IntoIter: 'a,
    S: FnMut(I::Item) -> Result<Future<T>, Error> + 'a,
    T: 'a,
{
    let mut items = items.into_iter();
    let source: Source<'a, T> = Box::new(move || {
        let item = items.next()?;
        Some(Unit {
            future: submit(item),
            items: 1,
        })
    });
    Ok(Map {
        engine: Ordered::start(source, options)?,
    })
}

/// The iterator returned by [`map`]: `Result<T, Error>` per input item, in input order.
///
/// It owns the input iterator and the `submit` closure, which need not be `Send`, so a `Map`
/// stays on the thread that made it.
#[must_use = "iterators are lazy; dropping a Map cancels the work it has not started"]
pub struct Map<'a, T> {
    engine: Ordered<'a, T>,
}

impl<T> Map<'_, T> {
    /// How many submitted futures are waiting to be yielded (at most `buffersize`).
    pub fn in_flight(&self) -> usize {
        self.engine.in_flight()
    }
}

impl<T> Iterator for Map<'_, T> {
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

impl<T> std::iter::FusedIterator for Map<'_, T> {}

impl<T> fmt::Debug for Map<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("in_flight", &self.engine.in_flight())
            .field("ended", &self.engine.is_ended())
            .finish_non_exhaustive()
    }
}
