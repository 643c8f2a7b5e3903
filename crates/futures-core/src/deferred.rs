//! Completing a future now and running its done-callbacks later, elsewhere: for executors
//! whose completing thread must not run user code (the process pool's reply readers).
//!
//! # Protocol
//! `set_result_deferred` makes the same transitions as `set_result` (see `shared.rs`): the
//! outcome is published with `FINISHED`, and parked threads and async wakers are woken before
//! it returns. Only the done-callbacks wait: they are moved out of the waiter list into the
//! returned [`DeferredCallbacks`], and the `NOTIFYING` bit that `complete` sets when there are
//! waiters stays set until they have run (or been dropped, which runs them), so
//! `Future::into_inner` still tells their handles from a user's clone. A callback added after
//! the completion finds the future done and runs at once in the adding thread, possibly
//! before the deferred ones (Python runs such a callback at once too).

use std::fmt;

use crate::error::Error;
use crate::promise::Promise;
use crate::shared::{DoneCallback, Outcome};
use crate::shared_ref::SharedRef;

/// The done-callbacks of a future completed by [`Promise::set_result_deferred`] or
/// [`Promise::set_error_deferred`], still to run.
///
/// [`run`](Self::run) runs them in the current thread, in the order they were added, each
/// panic reported on stderr as `set_result` reports it; dropping it runs them too, so none is
/// lost. Until they have run, [`Future::into_inner`](crate::Future::into_inner) waits for them.
#[must_use = "the done-callbacks run when this is run or dropped"]
pub struct DeferredCallbacks<T> {
    shared: SharedRef<T>,
    callbacks: Vec<DoneCallback<T>>,
}

impl<T> DeferredCallbacks<T> {
    /// Runs the done-callbacks in the current thread.
    pub fn run(self) {
        drop(self);
    }

    /// How many done-callbacks are waiting to run.
    pub fn len(&self) -> usize {
        self.callbacks.len()
    }

    /// Always false: a future without done-callbacks returns `None` instead.
    pub fn is_empty(&self) -> bool {
        self.callbacks.is_empty()
    }
}

impl<T> Drop for DeferredCallbacks<T> {
    fn drop(&mut self) {
        self.shared
            .run_callbacks(std::mem::take(&mut self.callbacks));
    }
}

impl<T> fmt::Debug for DeferredCallbacks<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeferredCallbacks")
            .field("future", &self.shared.repr())
            .field("callbacks", &self.callbacks.len())
            .finish()
    }
}

/// For executors: completing without running user code.
impl<T> Promise<T> {
    /// Like [`set_result`](Self::set_result), but the done-callbacks are handed back instead
    /// of run: the future is finished and its blocked and async waiters are woken when this
    /// returns; the callbacks run when the returned value is run or dropped. `Ok(None)` (the
    /// usual case, one load of the state word) when the future has no done-callbacks.
    ///
    /// ```
    /// use cfutures_core::Promise;
    /// use std::sync::mpsc;
    ///
    /// let (promise, future) = Promise::new();
    /// let (tx, rx) = mpsc::channel();
    /// future.add_done_callback(move |f| tx.send(*f.result().unwrap()).unwrap());
    /// let callbacks = promise.set_result_deferred(7).unwrap().expect("one callback");
    /// assert_eq!(future.result(), Ok(&7)); // done already
    /// assert!(rx.try_recv().is_err()); // the callback has not run
    /// std::thread::spawn(move || callbacks.run()).join().unwrap();
    /// assert_eq!(rx.recv(), Ok(7));
    /// ```
    pub fn set_result_deferred(&self, value: T) -> Result<Option<DeferredCallbacks<T>>, Error> {
        self.complete_deferred(Outcome::Value(value))
    }

    /// Like [`set_error`](Self::set_error), with the done-callbacks handed back as
    /// [`set_result_deferred`](Self::set_result_deferred) does.
    ///
    /// ```
    /// use cfutures_core::{Error, Promise};
    ///
    /// let (promise, future) = Promise::<u8>::new();
    /// assert!(promise.set_error_deferred(Error::Cancelled).unwrap().is_none());
    /// assert_eq!(future.result(), Err(Error::Cancelled));
    /// ```
    pub fn set_error_deferred(&self, error: Error) -> Result<Option<DeferredCallbacks<T>>, Error> {
        self.complete_deferred(Outcome::Failed(Box::new(error)))
    }

    fn complete_deferred(
        &self,
        outcome: Outcome<T>,
    ) -> Result<Option<DeferredCallbacks<T>>, Error> {
        match self.shared.complete_deferred(outcome) {
            Ok(Some(callbacks)) => Ok(Some(DeferredCallbacks {
                shared: self.shared.clone(),
                callbacks,
            })),
            Ok(None) => Ok(None),
            Err((error, _)) => Err(error),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, mpsc};

    use crate::{Error, Promise, State};

    #[test]
    fn without_callbacks_nothing_is_deferred() {
        let (promise, future) = Promise::new();
        let waiter = {
            let future = future.clone();
            std::thread::spawn(move || *future.result().unwrap())
        };
        assert!(promise.set_result_deferred(3).unwrap().is_none());
        assert_eq!(waiter.join().unwrap(), 3);
        assert_eq!(future.into_inner(), Some(Ok(3)));
    }

    #[test]
    fn callbacks_run_in_order_where_run_is_called() {
        let (promise, future) = Promise::new();
        let (tx, rx) = mpsc::channel();
        for i in 0..3 {
            let tx = tx.clone();
            future.add_done_callback(move |f| {
                tx.send((i, std::thread::current().id(), *f.result().unwrap()))
                    .unwrap()
            });
        }
        let deferred = promise.set_result_deferred(5).unwrap().unwrap();
        assert_eq!(deferred.len(), 3);
        assert_eq!(future.state(), State::Finished);
        assert!(rx.try_recv().is_err());
        let runner = std::thread::spawn(move || {
            deferred.run();
            std::thread::current().id()
        });
        let runner = runner.join().unwrap();
        let got: Vec<_> = rx.try_iter().collect();
        assert_eq!(got, (0..3).map(|i| (i, runner, 5)).collect::<Vec<_>>());
    }

    #[test]
    fn dropping_runs_them_and_a_panic_is_contained() {
        let (promise, future) = Promise::<u8>::new();
        let calls = Arc::new(AtomicUsize::new(0));
        future.add_done_callback(|_| panic!("a bad callback"));
        let c = Arc::clone(&calls);
        future.add_done_callback(move |f| {
            assert_eq!(f.result(), Err(Error::Abandoned));
            c.fetch_add(1, Ordering::SeqCst);
        });
        let deferred = promise.set_error_deferred(Error::Abandoned).unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        drop(deferred);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn into_inner_waits_for_deferred_callbacks() {
        let (promise, future) = Promise::new();
        let seen = Arc::new(AtomicUsize::new(0));
        let s = Arc::clone(&seen);
        future.add_done_callback(move |f| {
            s.store(*f.result().unwrap(), Ordering::SeqCst);
        });
        let deferred = promise.set_result_deferred(9usize).unwrap().unwrap();
        let runner = std::thread::spawn(move || deferred.run());
        // The callback's handle is gone once into_inner can move the value out.
        assert_eq!(future.into_inner(), Some(Ok(9)));
        assert_eq!(seen.load(Ordering::SeqCst), 9);
        runner.join().unwrap();
    }

    #[test]
    fn a_second_completion_is_refused() {
        let (promise, _future) = Promise::new();
        assert!(promise.set_result_deferred(1).unwrap().is_none());
        assert!(matches!(
            promise.set_result_deferred(2),
            Err(Error::InvalidState(_))
        ));
    }
}
