//! The engine of `map` and `map_chunked`: submit lazily or eagerly, wait on the oldest
//! submission, hand its outcome over in input order.

use std::collections::VecDeque;
use std::time::Instant;

use cfutures_core::{Error, Future};

use crate::deadline::{deadline_after, time_left};
use crate::options::MapOptions;

/// One submission: its future (or the error `submit` returned) and how many input items it
/// covers (1 for `map`, the chunk's length for `map_chunked`).
pub(crate) struct Unit<T> {
    pub(crate) future: Result<Future<T>, Error>,
    pub(crate) items: usize,
}

/// Pulls the next input and submits it; `None` when the input is exhausted.
pub(crate) type Source<'a, T> = Box<dyn FnMut() -> Option<Unit<T>> + 'a>;

/// What the engine hands over next.
pub(crate) enum Step<T> {
    /// The outcome of the oldest submission.
    Value {
        outcome: Result<T, Error>,
        items: usize,
    },
    /// The deadline passed; everything not yielded was cancelled and the iteration is over.
    TimedOut(Error),
}

pub(crate) struct Ordered<'a, T> {
    /// `None` once the input is exhausted, after a submit error, or at the end.
    source: Option<Source<'a, T>>,
    /// Submitted and not yet handed over, oldest first.
    in_flight: VecDeque<Unit<T>>,
    buffersize: Option<usize>,
    deadline: Option<Instant>,
    /// Input items submitted so far, and handed over so far.
    submitted: usize,
    yielded: usize,
    ended: bool,
}

impl<'a, T> Ordered<'a, T> {
    /// Validates `options` and submits what the call must submit: everything (Python's
    /// eager list) or the first `buffersize` units.
    pub(crate) fn start(source: Source<'a, T>, options: MapOptions) -> Result<Self, Error> {
        options.validate()?;
        let mut this = Ordered {
            source: Some(source),
            in_flight: VecDeque::new(),
            buffersize: options.get_buffersize(),
            deadline: deadline_after(options.get_timeout()),
            submitted: 0,
            yielded: 0,
            ended: false,
        };
        if this.buffersize.is_some() {
            this.refill();
            // As in Python, an error submitting the first window is raised from the call.
            if matches!(this.in_flight.back(), Some(Unit { future: Err(_), .. })) {
                let refused = this.in_flight.pop_back().map(|unit| unit.future);
                if let Some(Err(error)) = refused {
                    return Err(error);
                }
            }
        } else {
            while let Some(unit) = this.pull() {
                // Without a bound, Python's `map` raises a submit error from the call itself;
                // dropping `this` cancels what was already submitted (Python leaves it to run).
                let future = unit.future?;
                this.submitted += unit.items;
                this.in_flight.push_back(Unit {
                    future: Ok(future),
                    items: unit.items,
                });
            }
            this.source = None;
        }
        Ok(this)
    }

    fn pull(&mut self) -> Option<Unit<T>> {
        let unit = self.source.as_mut()?();
        if unit.is_none() {
            self.source = None;
        }
        unit
    }

    /// Tops the window up to `buffersize` units. A submit error takes its place in line and
    /// stops the input: an executor that refused one item (shut down, broken) would refuse
    /// the rest.
    fn refill(&mut self) {
        let Some(limit) = self.buffersize else { return };
        while self.in_flight.len() < limit {
            let Some(unit) = self.pull() else { return };
            let refused = unit.future.is_err();
            self.submitted += unit.items;
            self.in_flight.push_back(unit);
            if refused {
                self.source = None;
                return;
            }
        }
    }

    /// Waits for the oldest submission and hands its outcome over.
    pub(crate) fn next_step(&mut self) -> Option<Step<T>> {
        if self.ended {
            return None;
        }
        self.refill();
        let Some(unit) = self.in_flight.pop_front() else {
            self.end();
            return None;
        };
        let items = unit.items;
        let future = match unit.future {
            Ok(future) => future,
            Err(error) => {
                self.yielded += items;
                return Some(Step::Value {
                    outcome: Err(error),
                    items,
                });
            }
        };
        if let Some(deadline) = self.deadline
            && !future.done()
            && !time_left(deadline).is_some_and(|left| future.wait_timeout(left))
        {
            let error = Error::Timeout {
                unfinished: self.submitted - self.yielded,
                total: self.submitted,
            };
            future.cancel();
            self.end();
            return Some(Step::TimedOut(error));
        }
        self.yielded += items;
        Some(Step::Value {
            outcome: take_outcome(future),
            items,
        })
    }

    /// Submissions waiting to be handed over, and whether more input may follow.
    pub(crate) fn size_hint(&self) -> (usize, Option<usize>) {
        if self.ended {
            return (0, Some(0));
        }
        let queued = self.in_flight.len();
        let lower = if self.deadline.is_some() {
            queued.min(1)
        } else {
            queued
        };
        (lower, self.source.is_none().then_some(queued))
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    pub(crate) fn is_ended(&self) -> bool {
        self.ended
    }

    /// Stops: drops the input, cancels every submission not handed over.
    fn end(&mut self) {
        self.ended = true;
        self.source = None;
        for unit in self.in_flight.drain(..) {
            if let Ok(future) = unit.future {
                future.cancel();
            }
        }
    }
}

impl<T> Drop for Ordered<'_, T> {
    fn drop(&mut self) {
        self.end();
    }
}

/// Moves the value out of the future (waiting for it, and running its task inline where its
/// executor allows that). The engine holds the only handle unless `submit` kept a clone.
fn take_outcome<T>(future: Future<T>) -> Result<T, Error> {
    future.into_inner().unwrap_or_else(|| {
        Err(Error::InvalidState(
            "map cannot move the result out: another handle to its future is alive".into(),
        ))
    })
}
