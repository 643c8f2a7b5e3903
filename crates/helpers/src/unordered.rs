//! The engine of the unordered maps (`map_unordered`, `map_unordered_chunked`): submit as
//! `map` does, hand each submission's outcome over as soon as it completes, tagged with the
//! input position of its first item.

use std::collections::VecDeque;
use std::time::Instant;

use cfutures_core::Error;

use crate::options::MapOptions;
use crate::units::{Source, take_outcome};
use crate::watch_set::WatchSet;
use cfutures_core::executor::deadline_after;

/// Which input items one submission covers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span {
    /// The input position of its first item.
    pub(crate) first: usize,
    pub(crate) items: usize,
}

/// One submission's outcome.
pub(crate) struct Done<U> {
    pub(crate) span: Span,
    pub(crate) outcome: Result<U, Error>,
}

pub(crate) struct Unordered<Src, U> {
    /// `None` once the input is exhausted, after a submit error, or at the end.
    source: Option<Src>,
    /// Submitted and not handed over, each tagged with its span.
    set: WatchSet<U, Span>,
    /// Submissions in `set`.
    in_flight: usize,
    /// The submission `submit` refused (the input stops there), handed over next.
    refused: Option<Done<U>>,
    /// After the deadline: what was in flight, in input order, handed over one by one.
    expired: VecDeque<Done<U>>,
    buffersize: Option<usize>,
    deadline: Option<Instant>,
    /// Input items pulled (submitted or refused) so far, and handed over so far.
    pulled: usize,
    yielded: usize,
    /// As in the ordered map: only a started iteration cancels on drop (bpo-11777).
    started: bool,
    ended: bool,
}

impl<Src: Source<Output = U>, U> Unordered<Src, U> {
    /// Validates `options` and submits what the call must submit: everything, or the first
    /// `buffersize` units. A submit error during the call is returned from it, as in Python
    /// (what was submitted runs: the iteration never started).
    pub(crate) fn start(source: Src, options: MapOptions) -> Result<Self, Error> {
        options.validate()?;
        let mut this = Unordered {
            source: Some(source),
            set: WatchSet::new(),
            in_flight: 0,
            refused: None,
            expired: VecDeque::new(),
            buffersize: options.get_buffersize(),
            deadline: options.get_timeout().and_then(deadline_after),
            pulled: 0,
            yielded: 0,
            started: false,
            ended: false,
        };
        this.refill();
        if let Some(Done {
            outcome: Err(error),
            ..
        }) = this.refused.take()
        {
            return Err(error);
        }
        Ok(this)
    }

    /// Tops the set up to `buffersize` submissions (all of the input without one). A submit
    /// error stops the input, as in the ordered map.
    fn refill(&mut self) {
        let limit = self.buffersize.unwrap_or(usize::MAX);
        while self.in_flight < limit {
            let Some(unit) = self.source.as_mut().and_then(|source| source.next_unit()) else {
                self.source = None;
                return;
            };
            let span = Span {
                first: self.pulled,
                items: unit.items,
            };
            self.pulled += unit.items;
            match unit.future {
                Ok(future) => {
                    // The set is closed only by `expire` and `Drop`, after the input is gone.
                    let inserted = self.set.insert(future, span);
                    debug_assert!(inserted.is_ok());
                    self.in_flight += 1;
                }
                Err(error) => {
                    self.refused = Some(Done {
                        span,
                        outcome: Err(error),
                    });
                    self.source = None;
                    return;
                }
            }
        }
    }

    /// Waits for any submission to complete and hands its outcome over.
    pub(crate) fn next_done(&mut self) -> Option<Done<U>> {
        if let Some(done) = self.expired.pop_front() {
            self.yielded += done.span.items;
            return Some(done);
        }
        if self.ended {
            return None;
        }
        self.started = true;
        self.refill();
        if let Some(done) = self.refused.take() {
            self.yielded += done.span.items;
            return Some(done);
        }
        loop {
            if let Some((future, span)) = self.set.try_next() {
                self.in_flight -= 1;
                self.yielded += span.items;
                return Some(Done {
                    span,
                    outcome: take_outcome(future),
                });
            }
            if self.in_flight == 0 {
                self.ended = true;
                return None;
            }
            match self.set.wait_until(self.deadline, true) {
                Ok(true) => {}
                Ok(false) => {
                    self.expire(self.timeout_error());
                    return self.next_done();
                }
                // Every submission in flight waits, through blocked tasks, on this thread: end
                // as on a timeout, with the deadlock as the error of what cannot finish.
                Err(error) => {
                    self.expire(error);
                    return self.next_done();
                }
            }
        }
    }

    /// The timeout error for what is not handed over yet.
    fn timeout_error(&self) -> Error {
        Error::Timeout {
            unfinished: self.pulled - self.yielded,
            total: self.pulled,
        }
    }

    /// The deadline passed with nothing completed (or waiting would never end: `error` is then
    /// the deadlock): stop the input, cancel what has not started, and queue every submission
    /// still in flight, in input order: its outcome if it is done by now, `error` otherwise
    /// (running ones finish, their values dropped).
    fn expire(&mut self, error: Error) {
        self.ended = true;
        self.source = None;
        self.in_flight = 0;
        let mut entries = self.set.close();
        entries.sort_unstable_by_key(|(_, span)| span.first);
        self.expired = entries
            .into_iter()
            .map(|(future, span)| {
                let outcome = if !future.cancel() && future.done() {
                    take_outcome(future)
                } else {
                    Err(error.clone())
                };
                Done { span, outcome }
            })
            .collect();
    }
}

impl<Src, U> Unordered<Src, U> {
    /// Submissions not handed over yet (in flight, refused, or expired).
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight + usize::from(self.refused.is_some()) + self.expired.len()
    }

    /// Whether the input may still yield more.
    pub(crate) fn input_exhausted(&self) -> bool {
        self.source.is_none()
    }

    pub(crate) fn is_ended(&self) -> bool {
        self.ended && self.expired.is_empty()
    }
}

impl<Src, U> Drop for Unordered<Src, U> {
    fn drop(&mut self) {
        // Never iterated: everything submitted runs (the set's own drop cancels nothing).
        if self.started && !self.ended {
            for (future, _) in self.set.close() {
                future.cancel();
            }
        }
    }
}
