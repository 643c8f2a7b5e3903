//! A growable set of futures watched through one ready queue: the engine of
//! [`CompletionSet`](crate::CompletionSet) and of the unordered maps.
//!
//! Each future inserted takes a slot (a free one is reused, so a set that stays small stays
//! small however many futures pass through it) and gets one waker registration that pushes
//! the slot's index to the [`Ready`] queue when the future completes. The one consumer takes
//! indices off the queue and the futures out of their slots. Insert and completion are O(1);
//! nothing scans or polls.
//!
//! # Rules
//! 1. A slot is occupied from its insert until the consumer takes its future out, and only then
//!    is its index reused. Each occupied slot's index reaches the ready queue exactly once
//!    (from its waker, or pushed by `insert` when the future was already done), so an index
//!    taken off the queue always names the future that completed.
//! 2. [`WatchSet::close`] empties the table for good: an index pushed by a waker that was
//!    firing while it unregistered finds an empty slot and is skipped, never a reused one.
//! 3. Lock order: the table, then a future's own lock (`register_waker`, `unregister_waker`).
//!    The ready queue's lock is a leaf. Nothing that runs user code (a waker's `wake`, a
//!    cancellation's done-callbacks) is called while the table is locked.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Instant;

use cfutures_core::executor::{MAX_AWAITED, WaitTarget, in_task};
use cfutures_core::{Future, WakerKey};

use crate::ready::{Ready, slot_waker};
use cfutures_core::executor::lock;

/// The part of the set that inserters share with the consumer.
pub(crate) struct Shared<T, K> {
    ready: Arc<Ready>,
    table: Mutex<Table<T, K>>,
}

struct Table<T, K> {
    slots: Vec<Option<Entry<T, K>>>,
    free: Vec<usize>,
    /// Occupied slots: futures inserted and not yet taken out.
    len: usize,
    closed: bool,
}

struct Entry<T, K> {
    future: Future<T>,
    /// The registration, while it may still fire; `None` if the future was done at insert.
    key: Option<WakerKey>,
    tag: K,
}

impl<T, K> Shared<T, K> {
    fn table(&self) -> MutexGuard<'_, Table<T, K>> {
        lock(&self.table)
    }

    /// Adds `future` with its `tag`; gives it back if the set was closed.
    pub(crate) fn insert(&self, future: Future<T>, tag: K) -> Result<(), Future<T>> {
        let mut table = self.table();
        if table.closed {
            return Err(future);
        }
        let index = table.free.pop().unwrap_or_else(|| {
            table.slots.push(None);
            table.slots.len() - 1
        });
        // One atomic load spares a done future the registration.
        let key = if future.done() {
            None
        } else {
            future.register_waker(&slot_waker(&self.ready, index))
        };
        table.slots[index] = Some(Entry { future, key, tag });
        table.len += 1;
        drop(table);
        if key.is_none() {
            // Done already (or it completed between the two looks): it takes its place in the
            // completion order with the others (rule 1).
            self.ready.push(index);
        }
        Ok(())
    }

    pub(crate) fn len(&self) -> usize {
        self.table().len
    }
}

/// The consumer's side: the only one that takes futures out.
pub(crate) struct WatchSet<T, K> {
    shared: Arc<Shared<T, K>>,
    /// Indices taken off the ready queue, handed out from `cursor` on.
    batch: Vec<usize>,
    cursor: usize,
}

impl<T, K> WatchSet<T, K> {
    pub(crate) fn new() -> Self {
        WatchSet {
            shared: Arc::new(Shared {
                ready: Ready::new(),
                table: Mutex::new(Table {
                    slots: Vec::new(),
                    free: Vec::new(),
                    len: 0,
                    closed: false,
                }),
            }),
            batch: Vec::new(),
            cursor: 0,
        }
    }

    /// The handle inserters on other threads use.
    pub(crate) fn shared(&self) -> &Arc<Shared<T, K>> {
        &self.shared
    }

    pub(crate) fn insert(&self, future: Future<T>, tag: K) -> Result<(), Future<T>> {
        self.shared.insert(future, tag)
    }

    /// Futures inserted and not yet taken out (pending or completed).
    pub(crate) fn len(&self) -> usize {
        self.shared.len()
    }

    /// A completed future and its tag, without waiting.
    pub(crate) fn try_next(&mut self) -> Option<(Future<T>, K)> {
        loop {
            if let Some(taken) = self.pop_batch() {
                return Some(taken);
            }
            if !self.shared.ready.take(&mut self.batch) {
                return None;
            }
        }
    }

    /// Blocks until a future completes (true) or `deadline` passes (false); then
    /// [`try_next`](Self::try_next) hands it out.
    ///
    /// With `checked`, a wait inside a task that would close a cycle of waits fails with
    /// `Deadlock` instead (see [`Ready::wait_until`]). Only a set nobody else can insert into
    /// (no [`Inserter`](crate::Inserter) alive) is checked: an insert can wake the consumer,
    /// so a set that may grow is never provably stuck.
    pub(crate) fn wait_until(
        &mut self,
        deadline: Option<Instant>,
        checked: bool,
    ) -> Result<bool, cfutures_core::Error> {
        if self.batch_remains() {
            return Ok(true);
        }
        let watched = if checked && in_task() && Arc::strong_count(&self.shared) == 1 {
            self.futures_up_to(MAX_AWAITED)
        } else {
            Vec::new()
        };
        let targets = watched
            .iter()
            .filter(|future| !future.done())
            .map(WaitTarget::of);
        self.shared
            .ready
            .wait_until(&mut self.batch, deadline, targets)
    }

    /// Clones of the futures in the set if there are at most `limit`; none otherwise.
    fn futures_up_to(&self, limit: usize) -> Vec<Future<T>> {
        let table = self.shared.table();
        if table.len > limit {
            return Vec::new();
        }
        table
            .slots
            .iter()
            .flatten()
            .map(|entry| entry.future.clone())
            .collect()
    }

    /// As [`wait_until`](Self::wait_until) for an async consumer: `Ready` once something
    /// completed, or `Pending` with `cx`'s waker recorded for the next completion.
    pub(crate) fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.batch_remains()
            || self
                .shared
                .ready
                .take_or_wake_me(&mut self.batch, cx.waker())
        {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Forgets an async consumer's waker (its wait was abandoned).
    pub(crate) fn forget_waiter(&self) {
        self.shared.ready.forget_consumer();
    }

    /// Clones of the futures in the set (for cancelling them outside the lock, rule 3).
    pub(crate) fn futures(&self) -> Vec<Future<T>> {
        let table = self.shared.table();
        table
            .slots
            .iter()
            .flatten()
            .map(|entry| entry.future.clone())
            .collect()
    }

    /// Empties the set for good (rule 2) and hands back every future still in it, with its
    /// registration removed. Later inserts give their future back.
    pub(crate) fn close(&mut self) -> Vec<(Future<T>, K)> {
        let entries: Vec<Entry<T, K>> = {
            let mut table = self.shared.table();
            table.closed = true;
            table.len = 0;
            table.free = Vec::new();
            std::mem::take(&mut table.slots)
                .into_iter()
                .flatten()
                .collect()
        };
        self.batch = Vec::new();
        self.cursor = 0;
        entries
            .into_iter()
            .map(|entry| {
                if let Some(key) = entry.key {
                    entry.future.unregister_waker(key);
                }
                (entry.future, entry.tag)
            })
            .collect()
    }

    /// True if indices remain in the batch; otherwise empties it for the next take.
    fn batch_remains(&mut self) -> bool {
        if self.cursor < self.batch.len() {
            return true;
        }
        self.batch.clear();
        self.cursor = 0;
        false
    }

    fn pop_batch(&mut self) -> Option<(Future<T>, K)> {
        while let Some(&index) = self.batch.get(self.cursor) {
            self.cursor += 1;
            let mut table = self.shared.table();
            // Empty only after `close` (rule 2).
            if let Some(entry) = table.slots.get_mut(index).and_then(Option::take) {
                table.free.push(index);
                table.len -= 1;
                return Some((entry.future, entry.tag));
            }
        }
        self.batch.clear();
        self.cursor = 0;
        None
    }
}

impl<T, K> Drop for WatchSet<T, K> {
    fn drop(&mut self) {
        // Cancels nothing: the registrations go, the futures run on.
        drop(self.close());
    }
}

impl<T, K> fmt::Debug for WatchSet<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchSet")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}
