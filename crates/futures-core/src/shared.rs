//! The state a future's handles share with its producer, and the protocols on its state word.
//!
//! # Protocol
//!
//! One atomic word holds the phase (see `state.rs`). Every transition is a compare-and-swap
//! that keeps the `HAS_WAITERS` bit, so exactly one thread wins each of them:
//!
//! - **claim** `PENDING -> RUNNING`: the only way a task starts. A worker, a waiter running the
//!   task inline and `cancel` all race on this one word, so a task runs at most once and a
//!   cancelled task never runs.
//! - **cancel** `PENDING -> CANCELLED`.
//! - **complete** `PENDING | RUNNING -> COMPLETING -> FINISHED`. Winning the move into
//!   `COMPLETING` is what gives a thread the right to write the outcome cell; the `Release` store
//!   of `FINISHED` publishes it, and readers that observe `FINISHED` with `Acquire` read the cell
//!   without a lock. The outcome is never written again.
//!
//! Waiters (parked threads, async wakers, done-callbacks) live in a list behind a mutex. A
//! registrant takes the lock, sets `HAS_WAITERS` with a read-modify-write and looks at the phase
//! it returned: already terminal means "do not wait"; otherwise it pushes its entry before
//! releasing the lock. The thread that makes the future terminal sees `HAS_WAITERS` in the
//! value its own compare-and-swap replaced (all read-modify-writes of one word are totally
//! ordered), and only then takes the lock and drains the list. Either the registrant saw the
//! terminal phase, or the completer saw the bit and, by taking the lock, the entry. No wake-up
//! is lost, and a future nobody waits on never touches the lock.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::task::Waker;

use crate::error::Error;
use crate::future::Future;
use crate::inline::{Inline, NotifyingGuard, run_as};
use crate::state::{
    CANCELLED, COMPLETING, FINISHED, HAS_WAITERS, NOTIFYING, PENDING, PHASE_MASK, RUNNING,
    is_terminal, phase, public_state,
};
use crate::sync::{AtomicUsize, Mutex, Ordering, Thread, UnsafeCell, lock};
use crate::unwind::{drop_payload, panic_message};

/// A finished future's outcome. The error is boxed so that the cell costs `T` plus one word.
pub(crate) enum Outcome<T> {
    Value(T),
    Failed(Box<Error>),
}

pub(crate) type TaskFn<T> = Box<dyn FnOnce() -> T + Send>;
pub(crate) type Callback<T> = Box<dyn FnOnce(&Future<T>) + Send>;
/// A refused completion: why, and the outcome handed back.
pub(crate) type Refused<T> = (Error, Outcome<T>);
/// A registered done-callback and the handle it is passed.
pub(crate) type DoneCallback<T> = (Future<T>, Callback<T>);

/// Something to tell when the future is done.
pub(crate) enum Waiter<T> {
    /// A thread parked in a blocking wait.
    Thread(Thread),
    /// An async task (or a helper such as `as_completed`).
    Waker(Waker),
    /// A done-callback and a handle to pass it. The handle is taken at registration so that
    /// `Future::into_inner` can tell that someone may still read the value.
    Callback(Future<T>, Callback<T>),
}

struct WaitList<T> {
    next_key: u64,
    entries: Vec<(u64, Waiter<T>)>,
}

/// What `claim` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claim {
    /// The caller moved the future from pending to running and must run (or complete) it.
    Won,
    /// The future had been cancelled.
    Cancelled,
    /// Someone else claimed or completed it first.
    Lost,
}

pub(crate) struct Shared<T> {
    state: AtomicUsize,
    /// The number of live `Future` handles (not producers). `into_inner` may move the value out
    /// only when it holds the last one.
    handles: AtomicUsize,
    inline: Inline,
    /// Written once, by the thread that moved the phase into `COMPLETING`.
    outcome: UnsafeCell<Option<Outcome<T>>>,
    /// The task's closure, for futures made by `Task`. Taken by whoever wins the claim, a
    /// successful cancel, or an abandon; each of those is a unique transition out of `PENDING`.
    task: UnsafeCell<Option<TaskFn<T>>>,
    waiters: Mutex<WaitList<T>>,
}

// SAFETY: the outcome cell is written by exactly one thread (the one that won the move into
// COMPLETING) before the Release store of FINISHED and only read after an Acquire load of
// FINISHED, or moved out by the last handle; the task cell is touched only by the unique winner
// of a transition out of PENDING. Everything else is atomics and a mutex. Values of `T` cross
// threads (written by a worker, read by handles on other threads), hence `T: Send + Sync`.
unsafe impl<T: Send + Sync> Send for Shared<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for Shared<T> {}

impl<T> Shared<T> {
    pub(crate) fn new(inline: Inline, task: Option<TaskFn<T>>) -> Self {
        Shared {
            state: AtomicUsize::new(PENDING),
            handles: AtomicUsize::new(0),
            inline,
            outcome: UnsafeCell::new(None),
            task: UnsafeCell::new(task),
            waiters: Mutex::new(WaitList {
                next_key: 0,
                entries: Vec::new(),
            }),
        }
    }

    pub(crate) fn word(&self) -> usize {
        self.state.load(Ordering::Acquire)
    }

    pub(crate) fn inline(&self) -> Inline {
        self.inline
    }

    pub(crate) fn handles(&self) -> &AtomicUsize {
        &self.handles
    }

    /// Moves `from` (one of the `allowed` phases) to `to`, keeping the flag bits. Returns the
    /// replaced word, or the current word if its phase is not allowed.
    fn transition(&self, allowed: &[usize], to: usize) -> Result<usize, usize> {
        let mut current = self.state.load(Ordering::Acquire);
        loop {
            if !allowed.contains(&phase(current)) {
                return Err(current);
            }
            let next = (current & !PHASE_MASK) | to;
            match self.state.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(previous) => return Ok(previous),
                Err(actual) => current = actual,
            }
        }
    }

    /// Pending -> running: the only way a task starts.
    pub(crate) fn claim(&self) -> Claim {
        match self.transition(&[PENDING], RUNNING) {
            Ok(_) => Claim::Won,
            Err(word) if phase(word) == CANCELLED => Claim::Cancelled,
            Err(_) => Claim::Lost,
        }
    }

    /// Pending -> cancelled. True also when it was already cancelled, like Python.
    pub(crate) fn cancel(&self) -> bool {
        match self.transition(&[PENDING], CANCELLED) {
            Ok(previous) => {
                // The cancel won the only transition out of PENDING, so nobody else touches
                // the task cell: drop the closure (and what it captured) now rather than when
                // the executor gets round to discarding it.
                // SAFETY: exclusive access as the unique winner (see the module protocol).
                let task = self.task.with_mut(|cell| unsafe { (*cell).take() });
                drop(task);
                if previous & HAS_WAITERS != 0 {
                    self.notify();
                }
                true
            }
            Err(word) => phase(word) == CANCELLED,
        }
    }

    /// Takes the task closure after winning the claim.
    ///
    /// # Safety
    /// The caller must have won `claim` (so it is the only thread touching the task cell).
    pub(crate) unsafe fn take_task(&self) -> Option<TaskFn<T>> {
        // SAFETY: exclusivity is the caller's contract.
        self.task.with_mut(|cell| unsafe { (*cell).take() })
    }

    /// Completes the future with `outcome` if it is pending or running; an `InvalidState` error
    /// (carrying the outcome back) otherwise.
    pub(crate) fn complete(&self, outcome: Outcome<T>) -> Result<(), Refused<T>> {
        if let Some(callbacks) = self.complete_deferred(outcome)? {
            self.run_callbacks(callbacks);
        }
        Ok(())
    }

    /// [`complete`](Self::complete), except that the done-callbacks are returned instead of
    /// run (with `NOTIFYING` still set; [`run_callbacks`](Self::run_callbacks) clears it).
    /// Parked threads and wakers are woken before this returns.
    pub(crate) fn complete_deferred(
        &self,
        outcome: Outcome<T>,
    ) -> Result<Option<Vec<DoneCallback<T>>>, Refused<T>> {
        if let Err(word) = self.transition(&[PENDING, RUNNING], COMPLETING) {
            // Python's message: `InvalidStateError: FINISHED: <Future at 0x.. state=finished
            // returned int>`.
            let state = public_state(word).as_str().to_ascii_uppercase();
            let error = Error::InvalidState(format!("{state}: {}", self.repr()));
            return Err((error, outcome));
        }
        // A future completed without running its task (a promise set while pending, or an
        // abandoned task) still owns the closure; as the unique winner we may drop it.
        // SAFETY: we won the move into COMPLETING, so we are the only thread touching either
        // cell until the Release store below publishes the outcome.
        let leftover = self.task.with_mut(|cell| unsafe { (*cell).take() });
        drop(leftover);
        // SAFETY: as above.
        self.outcome
            .with_mut(|cell| unsafe { *cell = Some(outcome) });
        // Publish FINISHED. If someone registered waiters, mark NOTIFYING in the same step:
        // done-callbacks hold handles until they have run, and `Future::into_inner` uses the
        // bit to tell those short-lived handles from a user's clone.
        let mut current = self.state.load(Ordering::Acquire);
        loop {
            debug_assert_eq!(
                phase(current),
                COMPLETING,
                "only the completer leaves COMPLETING"
            );
            let notifying = if current & HAS_WAITERS != 0 {
                NOTIFYING
            } else {
                0
            };
            let next = (current & !PHASE_MASK) | FINISHED | notifying;
            match self.state.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        if current & HAS_WAITERS == 0 {
            return Ok(None);
        }
        let callbacks = self.wake();
        if callbacks.is_empty() {
            // Release: as in `run_callbacks`.
            self.state.fetch_and(!NOTIFYING, Ordering::Release);
            return Ok(None);
        }
        Ok(Some(callbacks))
    }

    /// Runs the done-callbacks `complete_deferred` returned, then clears `NOTIFYING`.
    pub(crate) fn run_callbacks(&self, callbacks: Vec<DoneCallback<T>>) {
        {
            let _notifying = NotifyingGuard::enter(self.address());
            for (handle, callback) in callbacks {
                run_callback(&handle, callback);
            }
        }
        // Release: the callbacks' handle drops happen-before an observer of the cleared bit.
        self.state.fetch_and(!NOTIFYING, Ordering::Release);
    }

    /// True while the completing thread is still waking waiters and running done-callbacks.
    pub(crate) fn is_notifying(&self) -> bool {
        self.word() & NOTIFYING != 0
    }

    /// Runs a claimed task in the current thread and completes the future with what it
    /// returned or the panic it raised.
    pub(crate) fn run_claimed(&self) {
        // SAFETY: callers call this only after winning `claim`.
        let Some(task) = (unsafe { self.take_task() }) else {
            // A future with no closure (made by a Promise) is never claimed through here.
            let _ = self.complete(Outcome::Failed(Box::new(Error::Abandoned)));
            return;
        };
        let outcome = run_as(self.address(), || catch_unwind(AssertUnwindSafe(task)));
        let outcome = match outcome {
            Ok(value) => Outcome::Value(value),
            Err(payload) => {
                let message = panic_message(&*payload);
                drop_payload(payload);
                Outcome::Failed(Box::new(Error::Panicked {
                    message,
                    backtrace: None,
                }))
            }
        };
        // We won the claim, so the future is RUNNING and this cannot fail.
        let _ = self.complete(outcome);
    }

    /// The outcome, if finished.
    pub(crate) fn outcome(&self) -> Option<&Outcome<T>> {
        if phase(self.word()) != FINISHED {
            return None;
        }
        // SAFETY: FINISHED was observed with Acquire, so the single write of the cell
        // happened-before this read, and the cell is never written again while a handle (our
        // `&self` comes from one) is alive.
        self.outcome.with(|cell| unsafe { (*cell).as_ref() })
    }

    /// Moves the outcome out.
    ///
    /// # Safety
    /// The future must be finished and the caller must hold the only handle, so no one can
    /// read the cell any more.
    pub(crate) unsafe fn take_outcome(&self) -> Option<Outcome<T>> {
        // SAFETY: the caller's contract.
        self.outcome.with_mut(|cell| unsafe { (*cell).take() })
    }

    /// Adds a waiter unless the future is already done, in which case it is handed back.
    pub(crate) fn register(&self, waiter: Waiter<T>) -> Result<u64, Waiter<T>> {
        let mut list = lock(&self.waiters);
        let previous = self.state.fetch_or(HAS_WAITERS, Ordering::AcqRel);
        if is_terminal(previous) {
            return Err(waiter);
        }
        let key = list.next_key;
        list.next_key += 1;
        list.entries.push((key, waiter));
        Ok(key)
    }

    /// Removes a waiter; false if it is gone already (the future completed and drained it).
    pub(crate) fn unregister(&self, key: u64) -> bool {
        let mut list = lock(&self.waiters);
        match list.entries.iter().position(|(k, _)| *k == key) {
            Some(index) => {
                list.entries.swap_remove(index);
                true
            }
            None => false,
        }
    }

    /// Replaces a registered waker (an async task polled again with a different waker); false
    /// if the entry is gone because the future completed.
    pub(crate) fn replace_waker(&self, key: u64, waker: &Waker) -> bool {
        let mut list = lock(&self.waiters);
        match list.entries.iter_mut().find(|(k, _)| *k == key) {
            Some((_, Waiter::Waker(current))) => {
                if !current.will_wake(waker) {
                    current.clone_from(waker);
                }
                true
            }
            _ => false,
        }
    }

    /// Wakes every waiter of a future that has just become terminal: threads and wakers
    /// first, then the done-callbacks (Python's order: `notify_all`, then the callbacks).
    fn notify(&self) {
        let callbacks = self.wake();
        let _notifying = NotifyingGuard::enter(self.address());
        for (handle, callback) in callbacks {
            run_callback(&handle, callback);
        }
    }

    /// Wakes the parked threads and wakers of a future that has just become terminal and
    /// returns its done-callbacks, in the order they were added.
    fn wake(&self) -> Vec<DoneCallback<T>> {
        let _notifying = NotifyingGuard::enter(self.address());
        let entries = std::mem::take(&mut lock(&self.waiters).entries);
        let mut callbacks = Vec::new();
        for (_, waiter) in entries {
            match waiter {
                Waiter::Thread(thread) => thread.unpark(),
                Waiter::Waker(waker) => waker.wake(),
                Waiter::Callback(handle, callback) => callbacks.push((handle, callback)),
            }
        }
        callbacks
    }

    /// Fails a future whose producer vanished, if it is not done yet.
    pub(crate) fn abandon(&self) {
        let word = self.word();
        if !is_terminal(word) && phase(word) != COMPLETING {
            let _ = self.complete(Outcome::Failed(Box::new(Error::Abandoned)));
        }
    }

    /// The identity of this future (shared by all its handles).
    pub(crate) fn address(&self) -> *const () {
        self as *const Self as *const ()
    }

    /// Python's repr: `<Future at 0x55d0c0a0 state=finished returned u32>`.
    pub(crate) fn repr(&self) -> String {
        let state = public_state(self.word());
        let mut out = format!("<Future at {:p} state={state}", self.address());
        if state == crate::State::Finished {
            match self.outcome() {
                Some(Outcome::Value(_)) => {
                    out.push_str(" returned ");
                    out.push_str(&short_type_name::<T>());
                }
                Some(Outcome::Failed(error)) => {
                    out.push_str(" raised ");
                    out.push_str(error.kind_name());
                }
                None => {}
            }
        }
        out.push('>');
        out
    }
}

/// Runs one done-callback; a panic is reported on stderr with the future's `Debug`, as Python
/// logs "exception calling callback for <Future ...>", and does not stop the other callbacks.
pub(crate) fn run_callback<T>(handle: &Future<T>, callback: Callback<T>) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| callback(handle))) {
        eprintln!(
            "cfutures: exception calling callback for {handle:?}: {}",
            panic_message(&*payload)
        );
        drop_payload(payload);
    }
}

/// `alloc::string::String` -> `String`, `core::option::Option<u8>` -> `Option<u8>`.
fn short_type_name<T>() -> String {
    let full = std::any::type_name::<T>();
    let mut out = String::with_capacity(full.len());
    let mut segment = String::new();
    for ch in full.chars() {
        if ch.is_alphanumeric() || ch == '_' || ch == ':' {
            segment.push(ch);
        } else {
            out.push_str(segment.rsplit("::").next().unwrap_or(""));
            segment.clear();
            out.push(ch);
        }
    }
    out.push_str(segment.rsplit("::").next().unwrap_or(""));
    out
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// The per-future memory budget: one allocation (`Arc` counts + `Shared<T>`) of at most
    /// 128 bytes beyond the value itself (the closure box of a capturing task is extra and
    /// belongs to the task, not the future).
    #[test]
    fn shared_state_fits_the_budget() {
        let arc_counts = 2 * std::mem::size_of::<usize>();
        let unit = arc_counts + std::mem::size_of::<Shared<()>>();
        let word = arc_counts + std::mem::size_of::<Shared<u64>>();
        assert!(unit <= 128, "Shared<()> allocation is {unit} bytes");
        assert!(word <= 128 + 8, "Shared<u64> allocation is {word} bytes");
        eprintln!("heap bytes per future: {unit} (T = ()), {word} (T = u64)");
    }
}
