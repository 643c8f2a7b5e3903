//! What every map shares: one submission (a [`Unit`]) and where units come from (a
//! [`Source`]: item by item, or in chunks), moving a result out of its future, and spreading a
//! chunk's outcome over its items.

use cfutures_core::{Error, Future};

/// How a map submits one item: a function from the item to its task's future. Implemented by
/// every such closure; named so that executors can write the types of the maps they return
/// (`Map<I, impl SubmitItem<A, T>, T>`).
pub trait SubmitItem<A, T>: FnMut(A) -> Result<Future<T>, Error> {}

impl<A, T, S: FnMut(A) -> Result<Future<T>, Error>> SubmitItem<A, T> for S {}

/// How a chunked map submits one chunk: a function from the chunk's items to the future of
/// their results (one `Result` per item, in order). Named for the same reason as
/// [`SubmitItem`].
pub trait SubmitChunk<A, T>: FnMut(Vec<A>) -> Result<Future<Vec<Result<T, Error>>>, Error> {}

impl<A, T, S> SubmitChunk<A, T> for S where
    S: FnMut(Vec<A>) -> Result<Future<Vec<Result<T, Error>>>, Error>
{
}

/// One submission: its future (or the error `submit` returned) and how many input items it
/// covers (1 item by item, the chunk's length in chunks).
pub(crate) struct Unit<U> {
    pub(crate) future: Result<Future<U>, Error>,
    pub(crate) items: usize,
}

/// Pulls the next input and submits it; `None` when the input is exhausted.
pub(crate) trait Source {
    /// What one submission's future resolves to.
    type Output;

    fn next_unit(&mut self) -> Option<Unit<Self::Output>>;
}

/// Submits item by item.
pub(crate) struct PerItem<I, S> {
    pub(crate) items: I,
    pub(crate) submit: S,
}

impl<I, S, T> Source for PerItem<I, S>
where
    I: Iterator,
    S: FnMut(I::Item) -> Result<Future<T>, Error>,
{
    type Output = T;

    fn next_unit(&mut self) -> Option<Unit<T>> {
        let item = self.items.next()?;
        Some(Unit {
            future: (self.submit)(item),
            items: 1,
        })
    }
}

/// Submits up to `chunksize` consecutive items at a time.
pub(crate) struct Chunks<I, S> {
    pub(crate) items: I,
    pub(crate) submit: S,
    pub(crate) chunksize: usize,
}

impl<I, S, T> Source for Chunks<I, S>
where
    I: Iterator,
    S: FnMut(Vec<I::Item>) -> Result<Future<Vec<Result<T, Error>>>, Error>,
{
    type Output = Vec<Result<T, Error>>;

    fn next_unit(&mut self) -> Option<Unit<Self::Output>> {
        let chunk: Vec<I::Item> = self.items.by_ref().take(self.chunksize).collect();
        if chunk.is_empty() {
            return None;
        }
        let items = chunk.len();
        Some(Unit {
            future: (self.submit)(chunk),
            items,
        })
    }
}

/// Moves the value out of the future (waiting for it, and running its task inline where its
/// executor allows that). The map holds the only handle unless `submit` kept a clone.
pub(crate) fn take_outcome<T>(future: Future<T>) -> Result<T, Error> {
    future.into_inner().unwrap_or_else(|| {
        Err(Error::InvalidState(
            "map cannot move the result out: another handle to its future is alive".into(),
        ))
    })
}

/// One chunk's outcome, one result per item: the chunk's own results, or, when the chunk
/// failed as a whole or returned the wrong number of results, a copy of the error for each of
/// its items (so results stay aligned with inputs).
pub(crate) struct ChunkItems<T> {
    results: std::vec::IntoIter<Result<T, Error>>,
    /// A failed chunk's error, and how many of its items are still owed a copy.
    failed: Option<(Error, usize)>,
}

impl<T> ChunkItems<T> {
    pub(crate) fn empty() -> Self {
        ChunkItems {
            results: Vec::new().into_iter(),
            failed: None,
        }
    }

    pub(crate) fn new(outcome: Result<Vec<Result<T, Error>>, Error>, items: usize) -> Self {
        match outcome {
            Ok(results) if results.len() == items => ChunkItems {
                results: results.into_iter(),
                failed: None,
            },
            Ok(results) => {
                let error = Error::InvalidState(format!(
                    "a chunk of {items} items returned {} results",
                    results.len()
                ));
                Self::failed(error, items)
            }
            Err(error) => Self::failed(error, items),
        }
    }

    fn failed(error: Error, items: usize) -> Self {
        ChunkItems {
            results: Vec::new().into_iter(),
            failed: (items > 0).then_some((error, items)),
        }
    }
}

impl<T> Iterator for ChunkItems<T> {
    type Item = Result<T, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(result) = self.results.next() {
            return Some(result);
        }
        let (error, owed) = self.failed.take()?;
        if owed > 1 {
            self.failed = Some((error.clone(), owed - 1));
        }
        Some(Err(error))
    }
}
