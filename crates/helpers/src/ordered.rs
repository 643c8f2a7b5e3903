//! The engine of the ordered maps (`map`, `map_chunked`): Python's `Executor.map`. Submit
//! lazily or eagerly, wait on the oldest submission, hand its outcome over in input order.

use std::collections::VecDeque;
use std::time::Instant;

use cfutures_core::Error;

use crate::deadline::time_left;
use crate::options::MapOptions;
use crate::units::{Source, Unit, take_outcome};
use cfutures_core::executor::deadline_after;

/// What the engine hands over next.
pub(crate) enum Step<U> {
    /// The outcome of the oldest submission.
    Value {
        outcome: Result<U, Error>,
        items: usize,
    },
    /// The deadline passed; everything not yielded was cancelled and the iteration is over.
    TimedOut(Error),
}

pub(crate) struct Ordered<Src, U> {
    /// `None` once the input is exhausted, after a submit error, or at the end.
    source: Option<Src>,
    /// Submitted and not yet handed over, oldest first.
    in_flight: VecDeque<Unit<U>>,
    buffersize: Option<usize>,
    deadline: Option<Instant>,
    /// Input items submitted so far, and handed over so far.
    submitted: usize,
    yielded: usize,
    /// Whether iteration has begun: only a started iteration cancels on drop (CPython's
    /// generator runs its cancelling `finally` only once it has started; bpo-11777).
    started: bool,
    ended: bool,
}

impl<Src: Source<Output = U>, U> Ordered<Src, U> {
    /// Validates `options` and submits what the call must submit: everything (Python's
    /// eager list) or the first `buffersize` units.
    pub(crate) fn start(source: Src, options: MapOptions) -> Result<Self, Error> {
        options.validate()?;
        let mut this = Ordered {
            source: Some(source),
            in_flight: VecDeque::new(),
            buffersize: options.get_buffersize(),
            deadline: options.get_timeout().and_then(deadline_after),
            submitted: 0,
            yielded: 0,
            started: false,
            ended: false,
        };
        if this.buffersize.is_some() {
            this.refill();
            // As in Python, an error submitting the first window is raised from the call (and,
            // the iteration never having started, what was submitted runs).
            if matches!(this.in_flight.back(), Some(Unit { future: Err(_), .. })) {
                let refused = this.in_flight.pop_back().map(|unit| unit.future);
                if let Some(Err(error)) = refused {
                    return Err(error);
                }
            }
        } else {
            while let Some(unit) = this.pull() {
                // Without a bound, Python's `map` raises a submit error from the call itself
                // and leaves what was already submitted to run; so does dropping `this`.
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

    fn pull(&mut self) -> Option<Unit<U>> {
        let unit = self.source.as_mut()?.next_unit();
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
    pub(crate) fn next_step(&mut self) -> Option<Step<U>> {
        if self.ended {
            return None;
        }
        self.started = true;
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
        {
            // `exception_timeout` waits like `result_timeout`: a wait that would close a cycle
            // of waits between tasks fails with `Deadlock`, which becomes this item's outcome.
            let waited = match time_left(deadline) {
                Some(left) => future.exception_timeout(left).map(drop),
                None => Err(Error::Timeout {
                    unfinished: 1,
                    total: 1,
                }),
            };
            match waited {
                Err(Error::Timeout { .. }) => {
                    let error = Error::Timeout {
                        unfinished: self.submitted - self.yielded,
                        total: self.submitted,
                    };
                    future.cancel();
                    self.end();
                    return Some(Step::TimedOut(error));
                }
                Err(Error::Deadlock) => {
                    self.yielded += items;
                    return Some(Step::Value {
                        outcome: Err(Error::Deadlock),
                        items,
                    });
                }
                // Done (finished or cancelled): the outcome is read below.
                _ => {}
            }
        }
        self.yielded += items;
        Some(Step::Value {
            outcome: take_outcome(future),
            items,
        })
    }
}

impl<Src, U> Ordered<Src, U> {
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

impl<Src, U> Drop for Ordered<Src, U> {
    fn drop(&mut self) {
        // A map that was never iterated lets its submissions run (bpo-11777); its handles are
        // simply released.
        if self.started {
            self.end();
        }
    }
}
