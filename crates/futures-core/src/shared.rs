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
//! - **finish claimed** `RUNNING -> FINISHED`, the worker's path: a task's future has no
//!   `Promise`, so once claimed nobody but its claimer can complete it (cancel and fail act only
//!   on `PENDING`, abandon only on a pending task). The claimer writes the cell while `RUNNING`
//!   and publishes it with the same `Release` compare-and-swap, one atomic operation fewer.
//! - **alone run**, no transition at all, the fork-join fast path (`Future::run_taken_back`):
//!   a worker waiting through its only handle on a task it took back off its own deque, when
//!   the allocation has no reference but those two (`SharedRef::is_unshared`, rule 4 of
//!   `shared_ref.rs`) and the word is `PENDING` with no flag. Then no other thread can reach
//!   the allocation, and none can get to it (only a reference makes references), so the
//!   waiter runs the closure, keeps the value and frees the allocation: no claim, no outcome
//!   cell, no wake-up, no reference-count traffic.
//!
//! The cells are accessed under these rules, which the `SAFETY` comments cite:
//!
//! 1. The outcome cell is written once, by the thread that won the move into `COMPLETING`, or
//!    by the claimer of a task's future (`finish claimed`), before the `Release` move into
//!    `FINISHED`.
//! 2. The outcome cell is read only after an `Acquire` load saw `FINISHED` and while a handle
//!    is alive, and never after the last handle moved it out (`TAKEN`).
//! 3. The task cell (the closure, stored in the future's own allocation) is touched only by the
//!    unique winner of a transition out of `PENDING` (claim, cancel, complete, fail, alone
//!    run), and after that by nobody but the allocation's drop.
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
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crossbeam_utils::Backoff;

use crate::error::Error;
use crate::future::Future;
use crate::inline::{
    CompactInline, Inline, NotifyingGuard, current_run, is_notifying_here, is_running_here, run_as,
};
use crate::lineage::{RunId, new_run_id};
use crate::local_queue::{steal_descendant, take_from_local_queue};
use crate::searching::searching_workers;
use crate::shared_ref::BORN_WITH;
use crate::state::{
    CANCELLED, COMPLETING, FINISHED, HAS_WAITERS, NOTIFYING, PENDING, PHASE_MASK, RUNNING, State,
    is_terminal, phase, public_state,
};
use crate::sync::{
    AtomicBool, AtomicUsize, Mutex, Ordering, Thread, UnsafeCell, current_thread, lock, park,
    park_timeout,
};
use crate::task::{Task, TaskKey};
use crate::unwind::{drop_payload, panic_message};
use crate::wait_graph::{Alarm, OnCycle, WaitTarget, WaitsFor, while_blocked_as};

/// Set in `handles` once the last handle moved the outcome out.
const TAKEN: usize = 1 << (usize::BITS - 1);

/// A waiter registration: keys count from 1 so that a handle's `Option<Key>` costs one word.
pub(crate) type Key = NonZeroU64;

/// A finished future's outcome. The error is boxed so that the cell costs `T` plus one word.
pub(crate) enum Outcome<T> {
    Value(T),
    Failed(Box<Error>),
}

/// A boxed closure: under loom, every task cell holds one.
#[cfg(loom)]
pub(crate) type TaskFn<T> = Box<dyn FnOnce() -> T + Send>;

/// The closure of a task's future, stored in the future's own allocation (one allocation per
/// task, as tokio's `RawTask`): `Shared<T, Closure<F>>` is made with the concrete closure type
/// and seen everywhere else through this trait, as `Shared<T>`.
pub(crate) trait TaskCell<T>: Send {
    /// Runs the closure; `None` if there is none (a promise's future, or one already taken).
    ///
    /// # Safety
    /// The caller has won a transition out of `PENDING` (rule 3).
    unsafe fn run(&self) -> Option<T>;

    /// Drops the closure (and what it captured) now, if it is still there.
    ///
    /// # Safety
    /// As for `run`.
    unsafe fn discard(&self);
}

/// A closure in its cell: `None` for a promise's future, and once taken.
pub(crate) struct Closure<F>(UnsafeCell<Option<F>>);

impl<F> Closure<F> {
    pub(crate) fn new(f: Option<F>) -> Self {
        Closure(UnsafeCell::new(f))
    }
}

impl<T, F: FnOnce() -> T + Send> TaskCell<T> for Closure<F> {
    unsafe fn run(&self) -> Option<T> {
        // SAFETY: exclusive access is the caller's contract (rule 3).
        let f = self.0.with_mut(|cell| unsafe { (*cell).take() })?;
        Some(f())
    }

    unsafe fn discard(&self) {
        // SAFETY: as above.
        drop(self.0.with_mut(|cell| unsafe { (*cell).take() }));
    }
}

/// The task cell of a future made by a `Promise`: there is no closure. A type of its own (not
/// an empty `Closure`) so that it erases for every `T`, also one that is not `'static`.
#[cfg(not(loom))]
pub(crate) struct NoClosure;

#[cfg(not(loom))]
impl<T> TaskCell<T> for NoClosure {
    unsafe fn run(&self) -> Option<T> {
        None
    }

    unsafe fn discard(&self) {}
}

/// How the rest of the crate sees a future's task cell. Loom's `Arc` cannot be unsized, so
/// under loom every closure is boxed and the cell has one concrete type.
#[cfg(not(loom))]
pub(crate) type DynTask<T> = dyn TaskCell<T>;
#[cfg(loom)]
pub(crate) type DynTask<T> = Closure<TaskFn<T>>;
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

/// Who is told when a blocking wait would close a cycle of waits (`wait_graph.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Teller {
    /// The waiter itself (`result` and the other waits that return `Deadlock`).
    Told,
    /// Another waiter of the cycle: this one cannot act on it (a scope's end).
    TellsAnother,
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

// `repr(C)`: `me` first, at offset 0 whatever the task cell, so a thin pointer to the
// allocation finds it (`shared_ref.rs`).
#[repr(C)]
pub(crate) struct Shared<T, S: ?Sized = DynTask<T>> {
    /// This allocation, type-erased (fat): what a thin `SharedRef` reaches it through. Set once
    /// by `link`, before any reference to the allocation exists.
    me: Option<NonNull<Shared<T>>>,
    state: AtomicUsize,
    /// The references to this allocation (`shared_ref.rs`), not only the handles.
    refs: AtomicUsize,
    /// The number of live `Future` handles (not producers). `into_inner` may move the value out
    /// only when it holds the last one.
    handles: AtomicUsize,
    inline: CompactInline,
    /// The run this task was made in (`lineage.rs`; 0 outside any task): a waiter on that
    /// run's future may run this one.
    parent: u64,
    /// The id of this future's framed run, once it started (`lineage.rs`).
    run_id: RunId,
    /// Written once, by the thread that moved the phase into `COMPLETING`.
    outcome: UnsafeCell<Option<Outcome<T>>>,
    waiters: Mutex<WaitList<T>>,
    /// The task's closure, for futures made by `Task` (empty for a promise's). Taken by whoever
    /// wins the claim, a successful cancel, or an abandon; each of those is a unique transition
    /// out of `PENDING` (rule 3). Last, so that the closure's type can be erased.
    task: S,
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
//
// The closure only needs `Send`: it is moved to (and run or dropped on) the one thread that wins
// the transition out of PENDING (rule 3), as a `Mutex<F>` needs only `F: Send`.
unsafe impl<T: Send, S: ?Sized + Send> Send for Shared<T, S> {}
// SAFETY: as above.
unsafe impl<T: Send, S: ?Sized + Send> Sync for Shared<T, S> {}

impl<T, S> Shared<T, S> {
    /// A pending future's state, born with its maker's two references (a task or a promise,
    /// and the future; `shared_ref.rs`) and counting the one `Future` handle its maker adopts
    /// (`Future::adopt`): no read-modify-write for either.
    #[inline]
    pub(crate) fn new(inline: Inline, task: S) -> Self {
        Shared {
            me: None,
            state: AtomicUsize::new(PENDING),
            refs: AtomicUsize::new(BORN_WITH),
            handles: AtomicUsize::new(1),
            inline: CompactInline::new(inline),
            parent: current_run(),
            run_id: RunId::new(),
            outcome: UnsafeCell::new(None),
            waiters: Mutex::new(WaitList {
                next_key: Key::MIN,
                entries: Vec::new(),
            }),
            task,
        }
    }
}

impl<T> Shared<T> {
    /// Records the allocation's own type-erased address in it (`me`), so that thin references
    /// can reach it.
    ///
    /// # Safety
    /// `this` points at a new allocation that no reference has been made to yet.
    #[inline]
    pub(crate) unsafe fn link(this: *mut Shared<T>) {
        // SAFETY: nothing else can read or write the allocation yet (caller).
        unsafe { std::ptr::addr_of_mut!((*this).me).write(NonNull::new(this)) };
    }

    /// The allocation, type-erased, found from a thin pointer to it (see `link`).
    ///
    /// # Safety
    /// `thin` points at a live, linked allocation.
    #[inline]
    pub(crate) unsafe fn from_thin(thin: NonNull<u8>) -> NonNull<Shared<T>> {
        // SAFETY: `me` is at offset 0 (`repr(C)`) and was set by `link` (caller).
        unsafe {
            thin.cast::<Option<NonNull<Shared<T>>>>()
                .read()
                .unwrap_unchecked()
        }
    }
}

impl<T, S: ?Sized + TaskCell<T>> Shared<T, S> {
    #[inline]
    pub(crate) fn word(&self) -> usize {
        self.state.load(Ordering::Acquire)
    }

    pub(crate) fn handles(&self) -> &AtomicUsize {
        &self.handles
    }

    pub(crate) fn refs(&self) -> &AtomicUsize {
        &self.refs
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
                // SAFETY: rule 3, as the unique winner of the move out of PENDING.
                unsafe { self.task.discard() };
                if previous & HAS_WAITERS != 0 {
                    self.notify();
                }
                true
            }
            Err(word) => phase(word) == CANCELLED,
        }
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
        // SAFETY: rule 3; we won the move into COMPLETING, out of PENDING or after the claim.
        unsafe { self.task.discard() };
        // SAFETY: rule 1, as the winner of the move into COMPLETING.
        self.outcome
            .with_mut(|cell| unsafe { *cell = Some(outcome) });
        Ok(self.publish_finished(COMPLETING))
    }

    /// Completes a task's future that the current thread claimed and ran (`finish claimed` in
    /// the module docs): no move into COMPLETING, since nobody else can complete it.
    fn finish_claimed(&self, outcome: Outcome<T>) {
        debug_assert_eq!(phase(self.word()), RUNNING, "only a claimed task finishes");
        // SAFETY: rule 1, as the claimer of a task's future, before publishing FINISHED.
        self.outcome
            .with_mut(|cell| unsafe { *cell = Some(outcome) });
        if let Some(callbacks) = self.publish_finished(RUNNING) {
            self.run_callbacks(callbacks);
        }
    }

    /// Moves the phase from `from` (held by this thread, which wrote the outcome cell) to
    /// FINISHED and wakes the parked threads and wakers. If someone registered waiters,
    /// NOTIFYING is set in the same step: done-callbacks hold handles until they have run, and
    /// `Future::into_inner` uses the bit to tell those short-lived handles from a user's clone.
    /// Returns the done-callbacks, if any, with NOTIFYING still set: the caller runs them (now,
    /// or on another thread for a deferred completion) with [`run_callbacks`](Self::run_callbacks).
    #[must_use = "the done-callbacks must be run, or NOTIFYING is never cleared"]
    fn publish_finished(&self, from: usize) -> Option<Vec<DoneCallback<T>>> {
        // ORDERING: the successful compare-and-swap is Release (AcqRel), publishing the outcome
        // written before it to every thread that sees FINISHED with Acquire (rule 2). The loop
        // only retries when a registrant's `fetch_or(HAS_WAITERS)` got in between, and then
        // sees the bit: all read-modify-writes of the word are totally ordered.
        let mut current = self.state.load(Ordering::Acquire);
        loop {
            debug_assert_eq!(phase(current), from, "only the completer leaves {from}");
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
            return None;
        }
        let callbacks = self.wake();
        if callbacks.is_empty() {
            self.clear_notifying();
            return None;
        }
        Some(callbacks)
    }

    /// Runs the done-callbacks `complete_deferred` returned, then clears `NOTIFYING`.
    pub(crate) fn run_callbacks(&self, callbacks: Vec<DoneCallback<T>>) {
        {
            let _notifying = NotifyingGuard::enter(self.address());
            for (handle, callback) in callbacks {
                run_callback(&handle, callback);
            }
        }
        self.clear_notifying();
    }

    /// Clears `NOTIFYING` once the waiters are woken and the done-callbacks have run, and wakes
    /// the late waiters (`Future::into_inner`, an await racing the callbacks). The bit is
    /// cleared under the lock, so that a late waiter either saw it clear or is in the list
    /// drained here (see the module docs). Release: the callbacks' handle drops happen-before
    /// an observer of the cleared bit.
    fn clear_notifying(&self) {
        let late = {
            let mut list = lock(&self.waiters);
            self.state.fetch_and(!NOTIFYING, Ordering::Release);
            std::mem::take(&mut list.entries)
        };
        for (_, waiter) in late {
            waiter.wake();
        }
    }

    /// True while the completing thread is still waking waiters and running done-callbacks.
    pub(crate) fn is_notifying(&self) -> bool {
        self.word() & NOTIFYING != 0
    }

    /// Runs a claimed task in the current thread and completes the future with what it
    /// returned or the panic it raised.
    pub(crate) fn run_claimed(&self) {
        let run = new_run_id();
        self.run_id.set(run);
        let returned = run_as(self.address(), run, || {
            // SAFETY: rule 3; callers call this only after winning `claim`.
            catch_unwind(AssertUnwindSafe(|| unsafe { self.task.run() }))
        });
        self.finish_claimed(outcome_of(returned));
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

    /// Blocks until the done-callbacks of a finished future have run (a real wait: the
    /// completer wakes this thread when it clears `NOTIFYING`). Returns at once on the thread
    /// running them, which would otherwise wait for itself.
    pub(crate) fn wait_callbacks(&self) {
        // The common case first: no callbacks running, so no thread handle, lock or
        // thread-local look-up (this is on every `into_result`).
        if !self.is_notifying() || is_notifying_here(self.address()) {
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
        self.wait_as(timeout, Teller::Told)
    }

    /// As `wait` (untimed) for a waiter that cannot act on `Deadlock` (a scope's end, which
    /// must outwait its tasks): a cycle its wait would close is told to another of its waiters
    /// (`wait_graph.rs`, "A waiter that cannot be told").
    pub(crate) fn wait_telling_another(&self) -> Result<(), Error> {
        self.wait_as(None, Teller::TellsAnother)
    }

    fn wait_as(&self, timeout: Option<Duration>, teller: Teller) -> Result<(), Error> {
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
        if timeout.is_none() && self.inline.admits_current_thread() {
            // On top of this worker's own deque: take the entry back and run it, so that no
            // stale entry is left behind (it may still lose the claim to another waiter).
            if let Some(task) = take_from_local_queue(self.task_key()) {
                task.run();
                if is_terminal(self.word()) {
                    return Ok(());
                }
            } else if self.claim() == Claim::Won {
                self.run_claimed();
                return Ok(());
            }
            if self.leapfrog() {
                return Ok(());
            }
        }
        if self.park_as(timeout, teller)? {
            Ok(())
        } else {
            Err(Error::single_timeout())
        }
    }

    /// This future's task, if it is still pending, an untimed wait here may run it, and it is
    /// on top of this worker's own deque: taken off it (rayon's `take_local_job`).
    #[inline]
    pub(crate) fn take_back(&self) -> Option<Task> {
        if phase(self.word()) != PENDING || !self.inline.admits_current_thread() {
            return None;
        }
        take_from_local_queue(self.task_key())
    }

    /// Leapfrogging (`lineage.rs`): while this future's task runs on another worker, run the
    /// tasks it made that are still queued there, one at a time, until it is done or none is
    /// left. True if it is done.
    fn leapfrog(&self) -> bool {
        let run = self.run_id.get();
        if run == 0 {
            return is_terminal(self.word());
        }
        while !is_terminal(self.word()) {
            match steal_descendant(run) {
                Some(task) => {
                    task.run();
                }
                None => return false,
            }
        }
        true
    }

    /// The run this task was made in (`lineage.rs`).
    pub(crate) fn parent(&self) -> u64 {
        self.parent
    }

    fn task_key(&self) -> TaskKey {
        TaskKey(self.address() as usize)
    }

    /// Runs the task of a future nobody else can reach and returns what it gave, without the
    /// state machine: no claim, no outcome cell, no publication (the *alone* run; see
    /// `Future::run_taken_back`). The word stays `PENDING`: the caller frees the allocation
    /// next, and nobody else can read it.
    ///
    /// # Safety
    /// The caller holds the only `Future` handle and the future's `Task`, no other reference
    /// to this allocation exists (`SharedRef::is_unshared`), and the word is `PENDING` with no
    /// flag: nobody else can touch any field while this runs.
    #[inline(always)]
    pub(crate) unsafe fn run_alone(&self) -> Result<T, Box<Error>> {
        // SAFETY: rule 3 holds trivially: no other thread can reach the task cell (caller).
        let returned = catch_unwind(AssertUnwindSafe(|| unsafe { self.task.run() }));
        // The error is boxed, so a small value comes back in registers: a result passed
        // through memory would be stored in halves and reloaded whole, which stalls.
        match returned {
            Ok(Some(value)) => Ok(value),
            failed => Err(alone_failure(failed)),
        }
    }

    /// After [`run_alone`](Self::run_alone): whether dropping this allocation's contents would
    /// do nothing, so its block may be given back without drop glue. The run took the closure
    /// and stored no outcome; what remains is atomics, plain fields and the waiter list, which
    /// owns storage only once a waiter was registered. The alone run requires a word without
    /// the waiter flag, which a registration sets for good, so the list is empty and holds no
    /// storage; it is checked anyway, since a leak here would be silent.
    ///
    /// # Safety
    /// `this` points at a live allocation the caller has exclusive access to (no reference to
    /// it exists elsewhere: `SharedRef::is_unshared`, the other one forgotten).
    #[cfg(not(loom))]
    #[inline]
    pub(crate) unsafe fn holds_nothing_to_drop_after_run_alone(this: *mut Self) -> bool {
        // A platform whose mutex owns a resource needs its drop.
        if std::mem::needs_drop::<Mutex<()>>() {
            return false;
        }
        // SAFETY: exclusive access (caller), so no lock is needed to look at the list.
        let waiters = unsafe { &mut (*this).waiters };
        let list = waiters
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        list.entries.capacity() == 0
    }

    /// Parks the current thread until the future is done or `timeout` passes (`None`: no
    /// timeout). True if it is done; `Deadlock` if parking would close a cycle of waits between
    /// running tasks. Never runs the task.
    pub(crate) fn park_until(&self, timeout: Option<Duration>) -> Result<bool, Error> {
        self.park_as(timeout, Teller::Told)
    }

    fn park_as(&self, timeout: Option<Duration>, teller: Teller) -> Result<bool, Error> {
        if is_terminal(self.word()) {
            return Ok(true);
        }
        let deadline = timeout.and_then(deadline_after);
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(false);
        }
        if self.spin_before_parking() {
            return Ok(true);
        }
        // About to block: a wait that would close a cycle between running tasks is refused
        // here (`wait_graph.rs`), or told to another waiter of the cycle; the entry stays
        // published until this wait returns, and while it is, a waiter that cannot be told
        // may raise this one's alarm.
        let target = [self.wait_target()];
        if teller == Teller::TellsAnother {
            return while_blocked_as(target, WaitsFor::All, OnCycle::TellAnother, || {
                self.park_registered(deadline, None)
            })?;
        }
        let told = AtomicBool::new(false);
        let alarm = Alarm {
            told: &told,
            thread: current_thread(),
        };
        while_blocked_as(target, WaitsFor::All, OnCycle::TellMe(Some(alarm)), || {
            self.park_registered(deadline, Some(&told))
        })?
    }

    /// The park loop of `park_until`, from registration to the end of the wait. `Deadlock` if
    /// `told` (this wait's alarm in the wait graph) is raised first.
    pub(crate) fn park_registered(
        &self,
        deadline: Option<Instant>,
        told: Option<&AtomicBool>,
    ) -> Result<bool, Error> {
        let Ok(key) = self.register(Waiter::Thread(current_thread())) else {
            return Ok(true);
        };
        loop {
            // Park may wake spuriously; the state word is the truth.
            if is_terminal(self.word()) {
                return Ok(true);
            }
            // ORDERING: Acquire pairs with the teller's Release (`wait_graph.rs`).
            if told.is_some_and(|told| told.load(Ordering::Acquire)) {
                self.unregister(key);
                return Err(Error::Deadlock);
            }
            match deadline {
                None => park(),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        // If the entry is already gone the future completed meanwhile.
                        return Ok(!self.unregister(key));
                    }
                    park_timeout(deadline - now);
                }
            }
        }
    }

    /// Spins briefly before parking, while the wait is likely to end soon: while the task
    /// is running (a fork-join child stolen by another worker often finishes within a few
    /// microseconds), and while it is still pending but some worker is awake and searching
    /// (a submit-then-wait loop finds the worker that ran the previous task still looking, and
    /// parking would cost the waiter a context switch and that worker a lock and an unpark).
    /// A pending task with every worker busy or asleep gets only the first, shortest steps:
    /// spinning longer would take a core from the workers. The spin is bounded (`Backoff`'s
    /// spin phase, about a microsecond of `spin_loop` hints, then a few of its yields) so a
    /// long task still finds its waiter parked. True if the future finished meanwhile.
    ///
    /// This is the one place where a blocking waiter decides to park: `park_until` parks
    /// exactly when this returns false.
    fn spin_before_parking(&self) -> bool {
        // Loom explores every load of a spin; the spin is only an optimisation, so skip it.
        if cfg!(loom) {
            return is_terminal(self.word());
        }
        // Backoff's spin phase (its first steps pause the core with 1, 2, 4, ... hints): a
        // worker that is between two tasks picks a new one up within it, and such a worker
        // is not yet counted as searching.
        const UNCONDITIONAL_STEPS: u32 = 7;
        let backoff = Backoff::new();
        let mut step = 0;
        while !backoff.is_completed() {
            let word = self.word();
            if is_terminal(word) {
                return true;
            }
            if public_state(word) == State::Pending
                && step >= UNCONDITIONAL_STEPS
                && searching_workers() == 0
            {
                return false;
            }
            backoff.snooze();
            step += 1;
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

/// The error of an alone run that did not return a value (`Shared::run_alone`).
#[cold]
fn alone_failure<T>(returned: std::thread::Result<Option<T>>) -> Box<Error> {
    match outcome_of(returned) {
        Outcome::Failed(error) => error,
        Outcome::Value(_) => unreachable!("a returned value is handed over by run_alone"),
    }
}

/// The outcome of a task's run: its value, or the panic it raised as `Error::Panicked`.
#[inline]
fn outcome_of<T>(returned: std::thread::Result<Option<T>>) -> Outcome<T> {
    match returned {
        Ok(Some(value)) => Outcome::Value(value),
        // A future with no closure (made by a Promise) is never run through here.
        Ok(None) => Outcome::Failed(Box::new(Error::Abandoned)),
        Err(payload) => {
            let message = panic_message(&*payload);
            drop_payload(payload);
            Outcome::Failed(Box::new(Error::Panicked {
                message,
                backtrace: None,
            }))
        }
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

    /// The per-future memory budget: one allocation (`Shared<T>` with its reference count
    /// and the task's closure, stored inline) of at most 128 bytes beyond the value and the
    /// closure's captures themselves.
    #[test]
    fn shared_state_fits_the_budget() {
        let empty = || ();
        let unit = std::mem::size_of_val(&Shared::<(), _>::new(
            Inline::Never,
            Closure::new(Some(empty)),
        ));
        let empty = || 0u64;
        let word = std::mem::size_of_val(&Shared::<u64, _>::new(
            Inline::Never,
            Closure::new(Some(empty)),
        ));
        assert!(unit <= 128, "Shared<()> allocation is {unit} bytes");
        assert!(word <= 128 + 8, "Shared<u64> allocation is {word} bytes");
        eprintln!("heap bytes per future: {unit} (T = ()), {word} (T = u64)");
    }
}
