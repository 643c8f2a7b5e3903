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
//!
//! **Notifying.** When there were waiters, `FINISHED` is published together with `NOTIFYING`,
//! and the completer clears that bit, under the waiter lock, once every done-callback has run
//! (callbacks hold handles of their own while they run). A handle that wants to move the value
//! out waits for the bit to clear: it registers a *late* waiter under the lock only while the
//! bit is set, and the completer drains the list again, under the lock, as it clears the bit.
//! A late entry may be pushed before the completer's first drain, which then wakes it early;
//! a late waiter woken while the bit is still set therefore registers again (loom found this,
//! `into_inner_vs_running_callback`). Same argument as above: no late waiter is missed, and no
//! one polls.
//!
//! **Moving the value out.** `handles` counts the live `Future` handles. The last one moves the
//! outcome out by a compare-and-swap `1 -> TAKEN | 1` (`Acquire`, pairing with every handle's
//! `Release` decrement, as in `Arc::get_mut`). A handle made afterwards (only a `Promise` can
//! make one from nothing) increments a word that already holds `TAKEN`, so by coherence its
//! later reads of `handles` see the bit and it never touches the emptied cell.

use std::num::NonZeroU64;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crossbeam_utils::Backoff;

use crate::error::Error;
use crate::future::Future;
use crate::inline::{Inline, NotifyingGuard, is_notifying_here, is_running_here, run_as};
use crate::state::{
    CANCELLED, COMPLETING, FINISHED, HAS_WAITERS, NOTIFYING, PENDING, PHASE_MASK, RUNNING, State,
    is_terminal, phase, public_state,
};
use crate::sync::{
    AtomicUsize, Mutex, Ordering, Thread, UnsafeCell, current_thread, lock, park, park_timeout,
};
use crate::unwind::{drop_payload, panic_message};
use crate::wait_graph::{WaitTarget, WaitsFor, while_blocked};

/// Set in `handles` once the last handle moved the outcome out.
const TAKEN: usize = 1 << (usize::BITS - 1);

/// A waiter registration: keys count from 1 so that a handle's `Option<Key>` costs one word.
pub(crate) type Key = NonZeroU64;

/// A finished future's outcome. The error is boxed so that the cell costs `T` plus one word.
pub(crate) enum Outcome<T> {
    Value(T),
    Failed(Box<Error>),
}

pub(crate) type TaskFn<T> = Box<dyn FnOnce() -> T + Send>;
pub(crate) type Callback<T> = Box<dyn FnOnce(&Future<T>) + Send>;

/// Something to tell when the future is done.
pub(crate) enum Waiter<T> {
    /// A thread parked in a blocking wait.
    Thread(Thread),
    /// An async task (or a helper such as `as_completed`).
    Waker(Waker),
    /// A done-callback and a handle to pass it. The handle is taken at registration so that
    /// `Future::into_inner` can tell that someone may still read the value. Only registered
    /// for `T: Send + Sync` (the callback reads `&T` on the completing thread).
    Callback(Future<T>, Callback<T>),
}

struct WaitList<T> {
    next_key: Key,
    entries: Vec<(Key, Waiter<T>)>,
}

impl<T> WaitList<T> {
    fn push(&mut self, waiter: Waiter<T>) -> Key {
        let key = self.next_key;
        self.next_key = key.checked_add(1).expect("waiter keys never wrap");
        self.entries.push((key, waiter));
        key
    }
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
// of a transition out of PENDING. Everything else is atomics and a mutex.
//
// Why `T: Send` suffices (as for a channel): a value of `T` is made on the thread that runs the
// task and later moved to, read on, or dropped on another, which is `Send`. The only way to get
// a `&T` (`outcome`) is through a `Future<T>` handle, and handles reach a second thread only when
// `T: Send + Sync`: `Future<T>` is `Send`/`Sync` exactly when `Arc<T>` is, a done-callback (a
// handle used on the completing thread) can be registered only for `T: Send + Sync`, and
// `Promise::future` (a handle made wherever the promise is) requires `T: Sync`. The type-erased
// faces (`Task`, `WaitHandle`) never touch the outcome cell. So for `T: !Sync` every `&T` is
// read on one thread.
unsafe impl<T: Send> Send for Shared<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T> Shared<T> {
    pub(crate) fn new(inline: Inline, task: Option<TaskFn<T>>) -> Self {
        Shared {
            state: AtomicUsize::new(PENDING),
            handles: AtomicUsize::new(0),
            inline,
            outcome: UnsafeCell::new(None),
            task: UnsafeCell::new(task),
            waiters: Mutex::new(WaitList {
                next_key: Key::MIN,
                entries: Vec::new(),
            }),
        }
    }

    pub(crate) fn word(&self) -> usize {
        self.state.load(Ordering::Acquire)
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
    pub(crate) fn complete(&self, outcome: Outcome<T>) -> Result<(), (Error, Outcome<T>)> {
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
        if current & HAS_WAITERS != 0 {
            self.notify();
            // Clear the bit under the lock, so that a late waiter either saw it clear or is in
            // the list drained here (see the module docs). Release: the callbacks' handle drops
            // happen-before an observer of the cleared bit.
            let late = {
                let mut list = lock(&self.waiters);
                self.state.fetch_and(!NOTIFYING, Ordering::Release);
                std::mem::take(&mut list.entries)
            };
            for (_, waiter) in late {
                waiter.wake();
            }
        }
        Ok(())
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
        // ORDERING: Relaxed suffices; a handle made after the take incremented a word holding
        // TAKEN, and coherence makes this thread's later loads see it (module docs).
        if self.handles.load(Ordering::Relaxed) & TAKEN != 0 {
            return None;
        }
        // SAFETY: FINISHED was observed with Acquire, so the single write of the cell
        // happened-before this read, and the cell is never written again while a handle (our
        // `&self` comes from one) is alive.
        self.outcome.with(|cell| unsafe { (*cell).as_ref() })
    }

    /// Moves the outcome out of a done future whose done-callbacks have all run, if the caller
    /// holds the last handle (`None` otherwise). A cancelled future yields `Cancelled`.
    ///
    /// The caller must hold a handle (it is counted in `handles`), must have seen the future
    /// terminal, and must have waited for `NOTIFYING` to clear (unless it is the thread running
    /// the callbacks).
    pub(crate) fn take_if_last(&self) -> Option<Result<T, Error>> {
        if phase(self.word()) == CANCELLED {
            return Some(Err(Error::Cancelled));
        }
        // ORDERING: Acquire pairs with the Release decrement of every dropped handle (as in
        // `Arc::get_mut`): their reads of the value happened before we move it.
        if self
            .handles
            .compare_exchange(1, TAKEN | 1, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return None;
        }
        // SAFETY: the future is finished and this thread won the only move of the handle count
        // from "one handle" to TAKEN: no other handle exists (callbacks hold handles of their
        // own until they have run), and any handle made later sees TAKEN before it reads.
        match self.outcome.with_mut(|cell| unsafe { (*cell).take() }) {
            Some(Outcome::Value(value)) => Some(Ok(value)),
            Some(Outcome::Failed(error)) => Some(Err(*error)),
            None => Some(Err(Error::InvalidState(
                "the value was already moved out".into(),
            ))),
        }
    }

    /// Adds a waiter unless the future is already done, in which case it is handed back.
    pub(crate) fn register(&self, waiter: Waiter<T>) -> Result<Key, Waiter<T>> {
        let mut list = lock(&self.waiters);
        let previous = self.state.fetch_or(HAS_WAITERS, Ordering::AcqRel);
        if is_terminal(previous) {
            return Err(waiter);
        }
        Ok(list.push(waiter))
    }

    /// Adds a late waiter (see the module docs) if the done-callbacks are still running; hands
    /// it back once they have finished.
    fn register_late(&self, waiter: Waiter<T>) -> Result<Key, Waiter<T>> {
        let mut list = lock(&self.waiters);
        if self.state.load(Ordering::Acquire) & NOTIFYING == 0 {
            return Err(waiter);
        }
        Ok(list.push(waiter))
    }

    /// Removes a waiter; false if it is gone already (the future completed and drained it).
    pub(crate) fn unregister(&self, key: Key) -> bool {
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
    pub(crate) fn replace_waker(&self, key: Key, waker: &Waker) -> bool {
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

    /// Wakes every waiter of a future that has just become terminal.
    fn notify(&self) {
        let _notifying = NotifyingGuard::enter(self.address());
        let entries = std::mem::take(&mut lock(&self.waiters).entries);
        for (_, waiter) in entries {
            waiter.wake();
        }
    }

    /// Blocks until the done-callbacks of a finished future have run (a real wait: the
    /// completer wakes this thread when it clears `NOTIFYING`). Returns at once on the thread
    /// running them, which would otherwise wait for itself.
    pub(crate) fn wait_callbacks(&self) {
        if is_notifying_here(self.address()) {
            return;
        }
        // A late entry pushed before the completer's first drain is taken (and woken) by that
        // drain, so each wake-up while the bit is still set registers afresh: the drain that
        // clears the bit then finds the new entry.
        while let Ok(key) = self.register_late(Waiter::Thread(current_thread())) {
            park();
            if !self.is_notifying() {
                return;
            }
            // Woken by the first drain, or spuriously: drop a stale entry before re-registering.
            self.unregister(key);
        }
    }

    /// As `wait_callbacks` for an async waiter: `Pending` with `cx`'s waker registered in `key`
    /// while callbacks run.
    pub(crate) fn poll_callbacks(&self, key: &mut Option<Key>, cx: &mut Context<'_>) -> Poll<()> {
        if !self.is_notifying() || is_notifying_here(self.address()) {
            return Poll::Ready(());
        }
        if let Some(k) = *key
            && self.replace_waker(k, cx.waker())
        {
            return Poll::Pending;
        }
        match self.register_late(Waiter::Waker(cx.waker().clone())) {
            Ok(k) => {
                *key = Some(k);
                Poll::Pending
            }
            Err(_) => {
                *key = None;
                Poll::Ready(())
            }
        }
    }

    /// Polls for completion, registering or refreshing `cx`'s waker in `key`; the building
    /// block of the async adapters.
    pub(crate) fn poll_done(&self, key: &mut Option<Key>, cx: &mut Context<'_>) -> Poll<()> {
        if is_terminal(self.word()) {
            *key = None;
            return Poll::Ready(());
        }
        let registered = match *key {
            Some(k) => self.replace_waker(k, cx.waker()),
            None => match self.register(Waiter::Waker(cx.waker().clone())) {
                Ok(k) => {
                    *key = Some(k);
                    true
                }
                Err(_) => false,
            },
        };
        if registered && !is_terminal(self.word()) {
            Poll::Pending
        } else {
            // A registration still in the list is drained (and woken, harmlessly) by the
            // completer.
            *key = None;
            Poll::Ready(())
        }
    }

    /// Blocks until done; `timeout` bounds the wait (`None`: as long as it takes). Runs the
    /// task inline when untimed and allowed; fails with `Deadlock` when the current thread is
    /// running this very task, and with `Timeout` when the timeout passes first.
    pub(crate) fn wait(&self, timeout: Option<Duration>) -> Result<(), Error> {
        let word = self.word();
        if is_terminal(word) {
            return Ok(());
        }
        // Only a running future can be one this thread is running (a pending one has not been
        // claimed by anyone), so the common inline case skips the walk up the running frames.
        if public_state(word) == State::Running && is_running_here(self.address()) {
            return Err(Error::Deadlock);
        }
        // A timed wait promises to return by its deadline, so only an untimed one runs the task.
        if timeout.is_none() && self.inline.admits_current_thread() && self.claim() == Claim::Won {
            self.run_claimed();
            return Ok(());
        }
        if self.park_until(timeout)? {
            Ok(())
        } else {
            Err(Error::single_timeout())
        }
    }

    /// Parks the current thread until the future is done or `timeout` passes (`None`: no
    /// timeout). True if it is done; `Deadlock` if parking would close a cycle of waits between
    /// running tasks. Never runs the task.
    pub(crate) fn park_until(&self, timeout: Option<Duration>) -> Result<bool, Error> {
        if is_terminal(self.word()) {
            return Ok(true);
        }
        let deadline = timeout.and_then(deadline_after);
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(false);
        }
        if self.spin_while_running() {
            return Ok(true);
        }
        // About to block: a wait that would close a cycle between running tasks is refused
        // here (`wait_graph.rs`); the entry stays published until this wait returns.
        while_blocked([self.wait_target()], WaitsFor::All, || {
            self.park_registered(deadline)
        })
    }

    /// The park loop of `park_until`, from registration to the end of the wait.
    pub(crate) fn park_registered(&self, deadline: Option<Instant>) -> bool {
        let Ok(key) = self.register(Waiter::Thread(current_thread())) else {
            return true;
        };
        loop {
            // Park may wake spuriously; the state word is the truth.
            if is_terminal(self.word()) {
                return true;
            }
            match deadline {
                None => park(),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        // If the entry is already gone the future completed meanwhile.
                        return !self.unregister(key);
                    }
                    park_timeout(deadline - now);
                }
            }
        }
    }

    /// Spins briefly while the task is running (not while it is still queued): a running
    /// task, such as a fork-join child stolen by another worker, often finishes within a few
    /// microseconds, and parking would cost a lock, two futex calls and a context switch. The
    /// spin is bounded (`Backoff`'s spin phase, about a microsecond of `spin_loop` hints, then
    /// a few of its yields) so a long task still finds its waiter parked. True if the future
    /// finished meanwhile.
    fn spin_while_running(&self) -> bool {
        // Loom explores every load of a spin; the spin is only an optimisation, so skip it.
        if cfg!(loom) {
            return is_terminal(self.word());
        }
        let backoff = Backoff::new();
        while !backoff.is_completed() {
            let word = self.word();
            if is_terminal(word) {
                return true;
            }
            if public_state(word) != State::Running {
                return false;
            }
            backoff.snooze();
        }
        is_terminal(self.word())
    }

    /// Fails a future whose producer vanished, if it is not done yet.
    pub(crate) fn abandon(&self) {
        let word = self.word();
        if !is_terminal(word) && phase(word) != COMPLETING {
            let _ = self.complete(Outcome::Failed(Box::new(Error::Abandoned)));
        }
    }

    /// This future as the wait graph sees it.
    pub(crate) fn wait_target(&self) -> WaitTarget<'_> {
        WaitTarget::new(self.address(), &self.state)
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

impl<T> Waiter<T> {
    /// Tells this waiter the future is done (runs a callback).
    fn wake(self) {
        match self {
            Waiter::Thread(thread) => thread.unpark(),
            Waiter::Waker(waker) => waker.wake(),
            Waiter::Callback(handle, callback) => run_callback(&handle, callback),
        }
    }
}

/// The instant `timeout` from now; `None` if that is too far to represent (no wait outlasts
/// it, so it saturates to "no deadline").
///
/// ```
/// use cfutures_core::executor::deadline_after;
/// use std::time::{Duration, Instant};
///
/// assert!(deadline_after(Duration::from_secs(1)).unwrap() > Instant::now());
/// assert_eq!(deadline_after(Duration::MAX), None);
/// ```
pub fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
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
