//! Wait-cycle detection: a blocking wait that would close a cycle of waits between running
//! tasks fails with [`Error::Deadlock`] instead of parking forever.
//!
//! # Protocol
//!
//! **Who publishes what.** Nothing is published on the hot path. A thread publishes an *entry*
//! only when it is about to park (after any spin) in a blocking wait, and only while it runs a
//! task of ours (`run_as` frames, see `inline.rs`; a wait outside any task publishes nothing and
//! is never told). The entry holds
//! - `running`: every future whose task this thread is running: the whole stack of inline runs,
//!   innermost first. None of them can complete before this thread returns from its wait;
//! - `awaited`: the futures it waits for, each with its state word, and whether it needs
//!   `All` of them (`result`, `map` in order) or `Any` (`as_completed`, `map_unordered`, a
//!   completion set's `next_timeout`, and each step of the helpers' `wait`, which waits
//!   through `as_completed`: so `wait(ALL_COMPLETED)` is told once the futures it still needs
//!   all lead back to it).
//!
//! A thread has at most one entry: a wait made while its entry is published (a `park` that
//! waits through cfutures again) publishes nothing.
//!
//! Entries live in one global graph behind one mutex. A thread publishes its entry and removes
//! it under that mutex; the removal happens when it stops waiting (woken, timed out, or
//! unwinding), before it runs anything else.
//!
//! **When a cycle is proven.** Under the mutex, before publishing, the waiter asks whether its
//! own entry would be *stuck*. A future is *free* if its state word is terminal, or if no entry
//! (the graph's or the new one) runs it: then its producer is a running thread, a `Promise` in
//! user code, another process, or a queued task, and nothing here says it will not complete. An
//! entry is *free* if all its awaited futures are free (`All`) or any of them is (`Any`), and a
//! future run by a free entry is free. The free set is the least fixed point of those rules
//! (computed by iterating to it); what is not free is stuck, and for `All`/`Any` entries that
//! is exactly a cycle / a knot of the AND-OR wait-for graph. If the new entry is stuck, the
//! waiter is told [`Error::Deadlock`], publishes nothing and does not park.
//!
//! **Why it is sound (no false reports).** Every entry in the graph passed this check when it
//! was published, so the graph never holds a stuck entry: only the new entry can be stuck, and
//! only through a path back to itself. Along that path every future is `Running` and run by a
//! thread whose entry is in the graph. Such a thread is parked or about to park, and a running
//! task's future is completed only by the thread running it, after its task returns (a running
//! future cannot be cancelled; only a pending one can be failed or abandoned). So none of those
//! futures can complete while its runner's entry is there, and the runner leaves the graph only
//! under the mutex: when one of its awaited futures completes (which, by the same argument, does
//! not happen), when a timed wait expires, or when it unwinds. A runner that left before the
//! check is not in the graph and its futures are free, so the check does not report; one that
//! leaves after it was part of a cycle that really existed at the check. The state-word test
//! is therefore only a guard: it never changes a verdict the argument above has proven, but it
//! lets a chain through a future completed by other means (a future of ours on a path we did
//! not foresee) count as free.
//!
//! **Why exactly one waiter of a cycle is told.** Checks and publications are serialised by the
//! mutex. The waiters of a cycle publish one after another; each check before the last finds
//! an open chain (the last waiter is not yet in the graph, so the futures it runs are free) and
//! publishes, and the last one finds the closed cycle and is told. A waiter told does not
//! publish, so the cycle never exists in the graph and nobody else is told about it.
//!
//! **A waiter that cannot be told.** A scope's end (`WaitHandle::wait`) waits for tasks that
//! borrow its caller's stack, so it cannot return before they finish, `Deadlock` or not. Such
//! a wait is published with [`OnCycle::TellAnother`]: if it would close a cycle, the check
//! instead tells one waiter of that cycle that can act on it, a blocking `result`-style wait
//! of the core published with [`OnCycle::TellMe`] and an *alarm* (a flag on its stack and its
//! thread). Under the mutex, the teller sets the flag, removes that entry, unparks its thread
//! (which then returns `Deadlock` from its wait) and checks again, until its own entry is
//! free; then it publishes and parks. The told entry was stuck, so it is on the cycle the new
//! wait closes: still exactly one waiter of the cycle is told, and it is one that can break it.
//! If no waiter of the cycle carries an alarm (every other wait in it is a helper's), the wait
//! that cannot be told is told after all, and its caller decides (a scope keeps waiting).
//! The flag is read by its owner only while its entry may be in the graph and written only
//! under the mutex while the entry is there; the owner removes its entry under the mutex
//! before the flag goes out of scope.
//!
//! **What is not seen.** Waits that do not go through cfutures (a channel, a lock, a
//! `Condvar`), waits inside another process (a process-pool task waiting on something: its
//! worker is another process with its own graph), and pool starvation (every worker blocked on
//! tasks still queued behind them; the thread pool runs a queued task inline when one of its
//! workers waits for it untimed, which resolves most of those). A wait on more than
//! [`MAX_AWAITED`] unfinished futures at once is not published (checking it would cost more
//! than a wait that large is worth); it never causes a report and is never reported.

use crate::error::Error;
use crate::inline::running_here;
use crate::state::is_terminal;
use crate::sync::{AtomicBool, AtomicUsize, Mutex, Ordering, Thread, lock};

/// The most unfinished futures one wait publishes. A larger wait proceeds unchecked (so that
/// `as_completed` over many futures stays O(n) in a task, too).
pub const MAX_AWAITED: usize = 256;

/// How a blocked waiter depends on the futures it awaits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaitsFor {
    /// It returns only when every one is done (`result`, `result_timeout`, `map` in order): one
    /// stuck future is enough to keep it waiting.
    All,
    /// It returns when any one is done (`as_completed`, each step of the helpers' `wait`,
    /// `map_unordered`, a completion set's `next_timeout`): it is stuck only if every one is.
    Any,
}

/// One awaited future as the wait graph sees it: its identity and its state word, borrowed
/// from a handle the waiter keeps for the whole wait. Made by [`WaitTarget::of`].
#[derive(Clone, Copy)]
pub struct WaitTarget<'a> {
    future: usize,
    state: &'a AtomicUsize,
}

impl<'a> WaitTarget<'a> {
    /// The target for `future`.
    pub fn of<T>(future: &'a crate::Future<T>) -> Self {
        future.shared.wait_target()
    }

    pub(crate) fn new(future: *const (), state: &'a AtomicUsize) -> Self {
        WaitTarget {
            future: future as usize,
            state,
        }
    }

    fn is_terminal(&self) -> bool {
        // ORDERING: Acquire, though any value read here would do: by the module's argument a
        // future on a proven cycle is not terminal whatever this reads; the load only lets a
        // chain through a future that is already done count as free sooner.
        is_terminal(self.state.load(Ordering::Acquire))
    }
}

impl std::fmt::Debug for WaitTarget<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitTarget")
            .field("future", &(self.future as *const ()))
            .finish_non_exhaustive()
    }
}

/// A published entry. The targets' and the alarm's lifetimes are erased; see the SAFETY notes
/// in `publish`.
struct Entry {
    id: u64,
    running: Vec<usize>,
    awaited: Vec<WaitTarget<'static>>,
    waits_for: WaitsFor,
    alarm: Option<Alarm<'static>>,
}

/// How a waiter that can act on `Deadlock` is told after it parked: a flag it checks on every
/// wake-up, and its thread to unpark.
#[derive(Clone)]
pub(crate) struct Alarm<'a> {
    pub(crate) told: &'a AtomicBool,
    pub(crate) thread: Thread,
}

/// What a blocking waiter does about a cycle its wait would close.
pub(crate) enum OnCycle<'a> {
    /// It is told (`Deadlock`, it does not park); once parked, a wait that cannot be told may
    /// tell it through its alarm.
    TellMe(Option<Alarm<'a>>),
    /// It cannot act on `Deadlock` (a scope's end): tell a waiter of the cycle that can.
    TellAnother,
}

struct Graph {
    next_id: u64,
    entries: Vec<Entry>,
}

#[cfg(not(loom))]
static GRAPH: Mutex<Graph> = Mutex::new(Graph {
    next_id: 0,
    entries: Vec::new(),
});

#[cfg(loom)]
loom::lazy_static! {
    static ref GRAPH: Mutex<Graph> = Mutex::new(Graph { next_id: 0, entries: Vec::new() });
}

/// Runs `park` (the caller's blocking wait for `awaited`) with this thread's entry published in
/// the wait graph, and removes the entry when `park` returns or unwinds. If waiting would close
/// a cycle of waits between running tasks, `park` is not called and the result is
/// [`Error::Deadlock`].
///
/// Call it only at the point where the thread is about to block (after any spinning). Outside
/// a task it only reads a thread-local and consumes nothing of `awaited`; inside one it takes
/// one global lock. `awaited` lists the futures not yet done (at most [`MAX_AWAITED`] are read;
/// a longer list publishes nothing); the borrow keeps them alive for the whole call. A wait
/// inside `park` that goes through cfutures again is neither published nor checked (the outer
/// entry stands for the thread).
///
/// ```
/// use cfutures_core::Promise;
/// use cfutures_core::executor::{WaitTarget, WaitsFor, while_blocked};
///
/// // Outside any task nothing is published or reported.
/// let (promise, future) = Promise::new();
/// promise.set_result(1).unwrap();
/// let waited = while_blocked([WaitTarget::of(&future)], WaitsFor::All, || future.done());
/// assert_eq!(waited, Ok(true));
/// ```
pub fn while_blocked<'a, R>(
    awaited: impl IntoIterator<Item = WaitTarget<'a>>,
    waits_for: WaitsFor,
    park: impl FnOnce() -> R,
) -> Result<R, Error> {
    let _published = publish(awaited, waits_for, OnCycle::TellMe(None))?;
    Ok(park())
}

/// [`while_blocked`] with a choice of what happens on a cycle (see the module docs).
pub(crate) fn while_blocked_as<'a, R>(
    awaited: impl IntoIterator<Item = WaitTarget<'a>>,
    waits_for: WaitsFor,
    on_cycle: OnCycle<'a>,
    park: impl FnOnce() -> R,
) -> Result<R, Error> {
    let _published = publish(awaited, waits_for, on_cycle)?;
    Ok(park())
}

/// Whether the current thread is running a task (of any executor built on [`Task`]), so that
/// its blocking waits take part in the wait graph. Helpers use it to skip gathering
/// [`WaitTarget`]s outside tasks.
///
/// [`Task`]: crate::executor::Task
///
/// ```
/// use cfutures_core::executor::{Inline, Task, in_task};
///
/// assert!(!in_task());
/// let (task, future) = Task::new(Inline::Never, in_task);
/// task.run();
/// assert_eq!(future.result(), Ok(&true));
/// ```
pub fn in_task() -> bool {
    crate::inline::in_task()
}

/// Removes the entry (if one was published) when dropped.
struct Published(Option<u64>);

impl Drop for Published {
    fn drop(&mut self) {
        if let Some(id) = self.0 {
            let mut graph = lock(&GRAPH);
            if let Some(index) = graph.entries.iter().position(|entry| entry.id == id) {
                graph.entries.swap_remove(index);
            }
        }
    }
}

fn publish<'a>(
    awaited: impl IntoIterator<Item = WaitTarget<'a>>,
    waits_for: WaitsFor,
    on_cycle: OnCycle<'a>,
) -> Result<Published, Error> {
    let running = running_here();
    if running.is_empty() {
        return Ok(Published(None));
    }
    let awaited: Vec<WaitTarget<'static>> = awaited
        .into_iter()
        .take(MAX_AWAITED + 1)
        // SAFETY: only the lifetime changes. The entry is removed (under the graph's mutex) by
        // the returned guard, which `while_blocked` drops before it returns or unwinds, so
        // before the caller's borrow `'a` of the futures ends: no entry outlives the state
        // words it points to.
        .map(|target| unsafe { std::mem::transmute::<WaitTarget<'a>, WaitTarget<'static>>(target) })
        .collect();
    if awaited.is_empty() || awaited.len() > MAX_AWAITED {
        return Ok(Published(None));
    }
    let mut graph = lock(&GRAPH);
    // A `park` that itself waits through cfutures (a nested `while_blocked`) publishes nothing
    // more: the thread's outer entry stands for it. The innermost running task identifies the
    // thread (no two threads run one task), so each thread has at most one entry.
    if graph
        .entries
        .iter()
        .any(|entry| entry.running[0] == running[0])
    {
        return Ok(Published(None));
    }
    let (alarm, tell_another) = match on_cycle {
        // SAFETY: only the lifetime changes. The flag is touched through the entry only under
        // the graph's mutex while the entry is in the graph, and the guard returned here
        // removes the entry under that mutex before `while_blocked_as` returns or unwinds,
        // so before the caller's borrow `'a` of the flag ends.
        OnCycle::TellMe(alarm) => (
            alarm.map(|alarm| unsafe { std::mem::transmute::<Alarm<'a>, Alarm<'static>>(alarm) }),
            false,
        ),
        OnCycle::TellAnother => (None, true),
    };
    let entry = Entry {
        id: graph.next_id,
        running,
        awaited,
        waits_for,
        alarm,
    };
    while let Some(stuck) = graph.stuck_entries(&entry) {
        if !tell_another || !graph.tell_one(&stuck) {
            return Err(Error::Deadlock);
        }
    }
    graph.next_id += 1;
    let id = entry.id;
    graph.entries.push(entry);
    Ok(Published(Some(id)))
}

impl Graph {
    /// `None` if `new`, once published, could still be woken; otherwise the indices of the
    /// graph's entries that would be stuck with it (the rest of its cycle or knot).
    fn stuck_entries(&self, new: &Entry) -> Option<Vec<usize>> {
        let free = self.free_with(new);
        if free[self.entries.len()] {
            return None;
        }
        Some((0..self.entries.len()).filter(|&i| !free[i]).collect())
    }

    /// Tells the most recently published stuck entry that carries an alarm: sets its flag,
    /// unparks its thread and removes it (its thread returns `Deadlock`). False if none has one.
    fn tell_one(&mut self, stuck: &[usize]) -> bool {
        let Some(&index) = stuck
            .iter()
            .filter(|&&i| self.entries[i].alarm.is_some())
            .max_by_key(|&&i| self.entries[i].id)
        else {
            return false;
        };
        let told = self.entries.swap_remove(index);
        if let Some(alarm) = told.alarm {
            // ORDERING: Release; the owner reads it with Acquire after its unpark (or on a
            // spurious wake-up), and removes its entry under the mutex before the flag dies.
            alarm.told.store(true, Ordering::Release);
            alarm.thread.unpark();
        }
        true
    }

    /// The least fixed point of "free" (module docs) over the graph's entries and `new`, last.
    fn free_with(&self, new: &Entry) -> Vec<bool> {
        let entries: Vec<&Entry> = self.entries.iter().chain(std::iter::once(new)).collect();
        let new_index = entries.len() - 1;
        let mut free = vec![false; entries.len()];
        loop {
            let mut changed = false;
            for (index, entry) in entries.iter().enumerate() {
                if free[index] {
                    continue;
                }
                let target_free = |target: &WaitTarget<'_>| {
                    target.is_terminal()
                        || match entries
                            .iter()
                            .position(|e| e.running.contains(&target.future))
                        {
                            None => true,
                            Some(runner) => free[runner],
                        }
                };
                let entry_free = match entry.waits_for {
                    WaitsFor::All => entry.awaited.iter().all(target_free),
                    WaitsFor::Any => entry.awaited.iter().any(target_free),
                };
                if entry_free {
                    free[index] = true;
                    changed = true;
                }
            }
            if free[new_index] || !changed {
                return free;
            }
        }
    }
}
