//! The queue of tasks submitted from outside the pool: crossbeam-deque's `Injector` (its
//! push, steal, `is_empty` and `len`, same protocol) with two changes, both about memory:
//! blocks of 1023 slots instead of 63, and a block emptied by the workers is kept for the
//! submitter's next one (a small stash) instead of being freed.
//!
//! Why: the injector allocates a block per 63 pushes on the submitting thread and frees it on
//! the worker that read its last slot. In a burst of submissions those frees (about 1.6k per
//! 100k tasks) go to the submitter's malloc arena while the submitter allocates its futures
//! there, under the arena's lock. With the stash a steady stream allocates nothing, and a
//! backlog allocates one block per 1023 tasks.
//!
//! FIFO across submitters is the injector's: one tail index every push moves with a
//! compare-and-swap, one head index every steal moves the same way.
//!
//! # Slots and blocks (the injector's protocol)
//! The head and tail indices count in steps of `1 << SHIFT`; the low bit of the head says the
//! head block has a successor (`HAS_NEXT`), so a steal need not look at the tail. Index
//! `LAP - 1` of each lap is not a slot: it marks "the next block is being installed". A slot's
//! state gains `WRITE` once its task is written and `READ` once it is read. The reader of a
//! block's last slot destroys the block: it walks the earlier slots and, finding one not yet
//! read, sets its `DESTROY` bit and leaves the rest to that slot's reader, who sees the bit when
//! it sets `READ`. So a block is destroyed exactly once, after every reader is done with it.
//!
//! # Recycling
//! "Destroyed" now means: put in the stash if a stash slot is free, else freed. A push that
//! will install the next block takes one from the stash (or allocates) and clears its slot
//! states and next pointer before publishing it. Reuse is exactly as safe as the injector's
//! free followed by malloc returning the same address, which the protocol already survives: no
//! thread dereferences a block pointer unless the head or tail index it won by
//! compare-and-swap lies in that block, and a block is destroyed only once both indices have
//! left it and every reader is done.
//!
//! ORDERING: the stash's put is a `Release` compare-and-swap and its take an `Acquire` swap, so
//! everything that happened before the destruction (each reader's read of its task, published
//! to the destroyer by the `AcqRel` read-modify-writes on the slot states) happens before the
//! taker clears and reuses the block. The cleared states reach later readers the way a fresh
//! block's zeroes do: through the `Release` stores that install the block (`tail.block`, the
//! old block's `next`) and the readers' `Acquire` loads of them (`head.block`, `wait_next`).
//!
//! Checked by the loom models in `tests/loom_outside_queue.rs` (blocks of 3 slots there, so
//! that a handful of tasks crosses blocks, destroys, stashes and reuses them).

use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ptr;

use crossbeam_utils::CachePadded;

use crate::sync::{AtomicPtr, AtomicU64, AtomicUsize, Backoff, Ordering, UnsafeCell, fence};

/// What `steal` found (crossbeam-deque's `Steal`, so that callers read the same).
#[derive(Debug, PartialEq, Eq)]
pub enum Steal<T> {
    /// The queue was empty.
    Empty,
    /// The oldest task.
    Success(T),
    /// Lost a race with another steal; try again.
    Retry,
}

// Slot states.
const WRITE: usize = 1;
const READ: usize = 2;
const DESTROY: usize = 4;

/// Indices per block (one lap): `BLOCK_CAP` slots and the "next block coming" index.
#[cfg(not(loom))]
const LAP: u64 = 1024;
#[cfg(loom)]
const LAP: u64 = 4;
const BLOCK_CAP: usize = LAP as usize - 1;
/// Low index bits reserved for `HAS_NEXT`.
const SHIFT: u64 = 1;
/// Set in the head index when the head block is not the last one.
const HAS_NEXT: u64 = 1;
/// Emptied blocks kept for reuse (24 KiB each): enough for a backlog of a few thousand tasks
/// to come and go without malloc.
#[cfg(not(loom))]
const STASH: usize = 4;
#[cfg(loom)]
const STASH: usize = 1;

struct Slot<T> {
    task: UnsafeCell<MaybeUninit<T>>,
    state: AtomicUsize,
}

impl<T> Slot<T> {
    fn wait_write(&self) {
        let backoff = Backoff::new();
        while self.state.load(Ordering::Acquire) & WRITE == 0 {
            backoff.snooze();
        }
    }
}

struct Block<T> {
    next: AtomicPtr<Block<T>>,
    slots: [Slot<T>; BLOCK_CAP],
}

impl<T> Block<T> {
    /// A new block, all zeroes (an empty block), straight on the heap: built on the stack it
    /// would give every `push` a 24 KiB frame to probe.
    #[cold]
    #[inline(never)]
    #[cfg(not(loom))]
    fn allocate() -> *mut Block<T> {
        let layout = std::alloc::Layout::new::<Block<T>>();
        // SAFETY: the layout is not zero-sized (a block holds an `AtomicPtr`).
        let block = unsafe { std::alloc::alloc_zeroed(layout) };
        if block.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        // All zeroes is a valid block: a null `next`, and slots whose state is 0 (empty) and
        // whose task cell is uninitialised `MaybeUninit`. Freed as a `Box<Block<T>>`, which
        // has this layout.
        block.cast()
    }

    /// Under loom the atomics are loom's, which cannot be zeroed into existence.
    #[cfg(loom)]
    fn allocate() -> *mut Block<T> {
        Box::into_raw(Box::new(Block {
            next: AtomicPtr::new(ptr::null_mut()),
            slots: std::array::from_fn(|_| Slot {
                task: UnsafeCell::new(MaybeUninit::uninit()),
                state: AtomicUsize::new(0),
            }),
        }))
    }

    /// Makes a block from the stash look fresh. The caller owns it exclusively.
    fn clear(&self) {
        self.next.store(ptr::null_mut(), Ordering::Relaxed);
        for slot in &self.slots {
            slot.state.store(0, Ordering::Relaxed);
        }
    }

    fn wait_next(&self) -> *mut Block<T> {
        let backoff = Backoff::new();
        loop {
            let next = self.next.load(Ordering::Acquire);
            if !next.is_null() {
                return next;
            }
            backoff.snooze();
        }
    }
}

struct Position<T> {
    index: AtomicU64,
    block: AtomicPtr<Block<T>>,
}

/// An unbounded multi-producer multi-consumer FIFO queue (see the module docs).
pub struct OutsideQueue<T> {
    head: CachePadded<Position<T>>,
    tail: CachePadded<Position<T>>,
    stash: [AtomicPtr<Block<T>>; STASH],
    _owns: PhantomData<T>,
}

// SAFETY: as crossbeam-deque's `Injector<T>`: tasks move between threads (`T: Send`) and every
// shared access to a slot is ordered by the protocol above.
unsafe impl<T: Send> Send for OutsideQueue<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for OutsideQueue<T> {}

impl<T> Default for OutsideQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> OutsideQueue<T> {
    pub fn new() -> Self {
        let block = Block::allocate();
        OutsideQueue {
            head: CachePadded::new(Position {
                index: AtomicU64::new(0),
                block: AtomicPtr::new(block),
            }),
            tail: CachePadded::new(Position {
                index: AtomicU64::new(0),
                block: AtomicPtr::new(block),
            }),
            stash: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            _owns: PhantomData,
        }
    }

    /// A block for the tail to move to: a stashed one, cleared, or a new one.
    fn fresh_block(&self) -> *mut Block<T> {
        for spare in &self.stash {
            if spare.load(Ordering::Relaxed).is_null() {
                continue;
            }
            // ORDERING: Acquire pairs with the Release put in `recycle` (module docs).
            let block = spare.swap(ptr::null_mut(), Ordering::Acquire);
            if !block.is_null() {
                // SAFETY: the swap took the block out of the stash, so this thread owns it.
                unsafe { (*block).clear() };
                return block;
            }
        }
        Block::allocate()
    }

    /// Stashes a block nobody uses any more, or frees it if the stash is full.
    ///
    /// # Safety
    /// `block` came from `Block::allocate`, and no thread will touch it again.
    unsafe fn recycle(&self, block: *mut Block<T>) {
        for spare in &self.stash {
            // ORDERING: Release pairs with the Acquire swap in `fresh_block` (module docs).
            if spare.load(Ordering::Relaxed).is_null()
                && spare
                    .compare_exchange(ptr::null_mut(), block, Ordering::Release, Ordering::Relaxed)
                    .is_ok()
            {
                return;
            }
        }
        // SAFETY: from `Box::into_raw` in `Block::allocate`, and unused (caller).
        drop(unsafe { Box::from_raw(block) });
    }

    /// Marks `DESTROY` on the first `count` slots still being read, or recycles the block
    /// if none is (the injector's `Block::destroy`).
    ///
    /// # Safety
    /// The caller read slot `count` of `block` (or the block's last slot, with `count` its
    /// index), the step of the protocol that starts the destruction.
    unsafe fn destroy(&self, block: *mut Block<T>, count: usize) {
        for i in (0..count).rev() {
            // SAFETY: the block is not destroyed before its slots' readers are done (caller).
            let slot = unsafe { &(*block).slots[i] };
            if slot.state.load(Ordering::Acquire) & READ == 0
                && slot.state.fetch_or(DESTROY, Ordering::AcqRel) & READ == 0
            {
                // That slot's reader continues the destruction.
                return;
            }
        }
        // SAFETY: every reader is done with the block, and both indices have left it.
        unsafe { self.recycle(block) };
    }

    pub fn push(&self, task: T) {
        let backoff = Backoff::new();
        let mut tail = self.tail.index.load(Ordering::Acquire);
        let mut block = self.tail.block.load(Ordering::Acquire);
        let mut next_block: Option<*mut Block<T>> = None;

        loop {
            let offset = ((tail >> SHIFT) % LAP) as usize;
            // Another push is installing the next block: wait for it.
            if offset == BLOCK_CAP {
                backoff.snooze();
                tail = self.tail.index.load(Ordering::Acquire);
                block = self.tail.block.load(Ordering::Acquire);
                continue;
            }
            // Whoever takes the block's last slot installs the next block: get it ready before
            // the compare-and-swap, to keep other pushes' wait short.
            if offset + 1 == BLOCK_CAP && next_block.is_none() {
                next_block = Some(self.fresh_block());
            }
            let new_tail = tail + (1 << SHIFT);
            match self.tail.index.compare_exchange_weak(
                tail,
                new_tail,
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    if offset + 1 == BLOCK_CAP {
                        let next = next_block.take().expect("prepared above");
                        let next_index = new_tail.wrapping_add(1 << SHIFT);
                        self.tail.block.store(next, Ordering::Release);
                        self.tail.index.store(next_index, Ordering::Release);
                        // SAFETY: the tail index won above lies in `block`, which is not
                        // destroyed before the reader of its last slot saw this `next`.
                        unsafe { (*block).next.store(next, Ordering::Release) };
                    } else if let Some(unused) = next_block.take() {
                        // SAFETY: prepared by this push and never published.
                        unsafe { self.recycle(unused) };
                    }
                    // SAFETY: slot `offset` of `block` is this push's alone (the index won by
                    // compare-and-swap), and its reader waits for `WRITE`.
                    let slot = unsafe { &(*block).slots[offset] };
                    slot.task.with_mut(|cell| {
                        // SAFETY: as above; nobody reads the cell before `WRITE`.
                        unsafe { cell.write(MaybeUninit::new(task)) };
                    });
                    slot.state.fetch_or(WRITE, Ordering::Release);
                    return;
                }
                Err(current) => {
                    tail = current;
                    block = self.tail.block.load(Ordering::Acquire);
                    backoff.spin();
                }
            }
        }
    }

    /// The oldest task.
    pub fn steal(&self) -> Steal<T> {
        let backoff = Backoff::new();
        let (head, block, offset) = loop {
            let head = self.head.index.load(Ordering::Acquire);
            let block = self.head.block.load(Ordering::Acquire);
            let offset = ((head >> SHIFT) % LAP) as usize;
            if offset == BLOCK_CAP {
                // The head is moving to the next block.
                backoff.snooze();
            } else {
                break (head, block, offset);
            }
        };

        let mut new_head = head + (1 << SHIFT);
        if new_head & HAS_NEXT == 0 {
            fence(Ordering::SeqCst);
            let tail = self.tail.index.load(Ordering::Relaxed);
            if head >> SHIFT == tail >> SHIFT {
                return Steal::Empty;
            }
            if (head >> SHIFT) / LAP != (tail >> SHIFT) / LAP {
                new_head |= HAS_NEXT;
            }
        }
        if self
            .head
            .index
            .compare_exchange_weak(head, new_head, Ordering::SeqCst, Ordering::Acquire)
            .is_err()
        {
            return Steal::Retry;
        }

        if offset + 1 == BLOCK_CAP {
            // SAFETY: the head index won above lies in `block`, which is not destroyed before
            // this steal has read its slot (below).
            let next = unsafe { (*block).wait_next() };
            let mut next_index = (new_head & !HAS_NEXT).wrapping_add(1 << SHIFT);
            // SAFETY: `next` is the head block from here on, so it is not destroyed yet.
            if !unsafe { (*next).next.load(Ordering::Relaxed) }.is_null() {
                next_index |= HAS_NEXT;
            }
            self.head.block.store(next, Ordering::Release);
            self.head.index.store(next_index, Ordering::Release);
        }
        // SAFETY: as above.
        let slot = unsafe { &(*block).slots[offset] };
        slot.wait_write();
        // SAFETY: `WRITE` is set (Acquire), and this steal alone owns slot `offset`.
        let task = slot
            .task
            .with_mut(|cell| unsafe { cell.read().assume_init() });
        if offset + 1 == BLOCK_CAP || slot.state.fetch_or(READ, Ordering::AcqRel) & DESTROY != 0 {
            // SAFETY: this steal read slot `offset`, the step that starts or continues the
            // destruction.
            unsafe { self.destroy(block, offset) };
        }
        Steal::Success(task)
    }

    pub fn is_empty(&self) -> bool {
        let head = self.head.index.load(Ordering::SeqCst);
        let tail = self.tail.index.load(Ordering::SeqCst);
        head >> SHIFT == tail >> SHIFT
    }

    pub fn len(&self) -> usize {
        loop {
            let mut tail = self.tail.index.load(Ordering::SeqCst);
            let mut head = self.head.index.load(Ordering::SeqCst);
            // Consistent only if the tail did not move meanwhile.
            if self.tail.index.load(Ordering::SeqCst) != tail {
                continue;
            }
            tail &= !((1 << SHIFT) - 1);
            head &= !((1 << SHIFT) - 1);
            // An index on a block's end counts as the next block's first.
            if (tail >> SHIFT) & (LAP - 1) == LAP - 1 {
                tail = tail.wrapping_add(1 << SHIFT);
            }
            if (head >> SHIFT) & (LAP - 1) == LAP - 1 {
                head = head.wrapping_add(1 << SHIFT);
            }
            // Rotate both so that the head falls in the first lap.
            let lap = (head >> SHIFT) / LAP;
            tail = tail.wrapping_sub((lap * LAP) << SHIFT) >> SHIFT;
            head = head.wrapping_sub((lap * LAP) << SHIFT) >> SHIFT;
            // Minus the one non-slot index of each lap boundary in between.
            return (tail - head - tail / LAP) as usize;
        }
    }
}

impl<T> Drop for OutsideQueue<T> {
    fn drop(&mut self) {
        let mut head = self.head.index.load(Ordering::Relaxed) & !((1 << SHIFT) - 1);
        let tail = self.tail.index.load(Ordering::Relaxed) & !((1 << SHIFT) - 1);
        let mut block = self.head.block.load(Ordering::Relaxed);
        // SAFETY: `&mut self`: no other thread uses the queue. Slots from head to tail hold
        // written, unread tasks; every block from the head's on is live and allocated by
        // `Block::allocate`, as is every stashed one.
        unsafe {
            while head != tail {
                let offset = ((head >> SHIFT) % LAP) as usize;
                if offset < BLOCK_CAP {
                    (*block).slots[offset]
                        .task
                        .with_mut(|cell| (*cell).assume_init_drop());
                } else {
                    let next = (*block).next.load(Ordering::Relaxed);
                    drop(Box::from_raw(block));
                    block = next;
                }
                head = head.wrapping_add(1 << SHIFT);
            }
            drop(Box::from_raw(block));
            for spare in &self.stash {
                let spare = spare.load(Ordering::Relaxed);
                if !spare.is_null() {
                    drop(Box::from_raw(spare));
                }
            }
        }
    }
}

impl<T> std::fmt::Debug for OutsideQueue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutsideQueue")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::{BLOCK_CAP, OutsideQueue, Steal};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::thread;

    /// Real threads over many blocks (so the stash fills, empties and overflows): every task
    /// once, each submitter's tasks in its push order, and nothing left.
    #[test]
    fn concurrent_submitters_and_stealers_lose_and_reorder_nothing() {
        const SUBMITTERS: usize = 3;
        const EACH: usize = 8 * BLOCK_CAP;
        let queue = OutsideQueue::new();
        let taken = AtomicUsize::new(0);
        let got: Vec<Vec<(usize, usize)>> = thread::scope(|s| {
            for submitter in 0..SUBMITTERS {
                let queue = &queue;
                s.spawn(move || {
                    for n in 0..EACH {
                        queue.push((submitter, n));
                    }
                });
            }
            let stealers: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        let mut got = Vec::new();
                        while taken.load(Ordering::Relaxed) < SUBMITTERS * EACH {
                            match queue.steal() {
                                Steal::Success(task) => {
                                    got.push(task);
                                    taken.fetch_add(1, Ordering::Relaxed);
                                }
                                Steal::Empty | Steal::Retry => thread::yield_now(),
                            }
                        }
                        got
                    })
                })
                .collect();
            stealers.into_iter().map(|s| s.join().unwrap()).collect()
        });
        let mut seen = [0usize; SUBMITTERS];
        for stealer in &got {
            let mut last = [None; SUBMITTERS];
            for &(submitter, n) in stealer {
                assert!(last[submitter] < Some(n), "submitter {submitter}'s order");
                last[submitter] = Some(n);
                seen[submitter] += 1;
            }
        }
        assert_eq!(seen, [EACH; SUBMITTERS]);
        assert!(queue.is_empty());
        assert_eq!(queue.len(), 0);
        assert_eq!(queue.steal(), Steal::Empty);
    }

    #[test]
    fn len_counts_across_block_boundaries() {
        let queue = OutsideQueue::new();
        for n in 0..2 * BLOCK_CAP + 5 {
            assert_eq!(queue.len(), n);
            queue.push(n);
        }
        for n in 0..BLOCK_CAP + 1 {
            assert_eq!(queue.steal(), Steal::Success(n));
        }
        assert_eq!(queue.len(), BLOCK_CAP + 4);
    }
}
