//! The one reference count of a future's allocation, shared by its `Future` handles, its
//! `Promise` or `Task`, and the views the crate makes of it (`DeferredCallbacks`,
//! `WaitHandle`).
//!
//! # Why not `Arc`
//!
//! `Arc` would do everywhere but on the fork-join path, where a worker submits a task and then
//! takes it back off its own deque and waits on it. There `Arc` costs three read-modify-writes
//! that say nothing: the clone that gives the task its own reference, and the two drops. Here
//! an allocation is born holding its two references (the maker's two views: a task and its
//! future, or a promise and its future), and a thread that holds both and has proven nobody
//! else holds one ([`SharedRef::is_unshared`]) frees it without touching the count
//! ([`SharedRef::free_after_run_alone`]). Everything else follows `Arc`.
//!
//! # Protocol
//!
//! `refs` (in `Shared`) counts the live references: every `SharedRef` and the one `JobRef`.
//!
//! 1. An allocation starts at 2; [`SharedRef::from_raw`] and [`JobRef::from_raw`] each adopt
//!    one of them, and its maker adopts exactly two.
//! 2. A clone increments with `Relaxed` (its owner already holds a reference, so the
//!    allocation is alive, as in `Arc::clone`) and aborts past `isize::MAX`.
//! 3. A drop decrements with `Release`; the one that takes the count to 0 fences `Acquire`
//!    (so every other owner's use happened before) and frees the allocation.
//! 4. A thread holding two references that reads the count as 2 (`Relaxed`, then an `Acquire`
//!    fence pairing with rule 3's `Release` of every owner that left) holds the only ones, and
//!    nobody can make another (that takes a reference). It may free the allocation outright.
//!
//! The type-erased pointers are fat outside loom (the closure's type is erased, `Shared<T,
//! dyn TaskCell<T>>` and `dyn Job`), made by unsizing the one pointer the allocation came from
//! (`block_cache::place_with`), so their metadata gives the concrete type's layout and drop
//! glue, with which the last reference drops the value and gives the block back (`destroy`).
//! A `JobRef` holds its fat pointer. A `SharedRef` is thin: the allocation keeps its own fat
//! pointer in its first field (`Shared::link`, before any reference exists), and a
//! `SharedRef` reads it there. That costs a load per use and two words per allocation, and
//! makes a `Future` handle two words, which moves in registers: with a third word it was an
//! aggregate that every move copied through memory, stored in halves and reloaded whole,
//! and those stalls were an eighth of the fork-join step (T3).

use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;

use crate::shared::Shared;
use crate::sync::{AtomicUsize, Ordering, fence};
use crate::task::Job;

/// The count a new allocation starts with: its maker's two views (rule 1).
pub(crate) const BORN_WITH: usize = 2;

/// A counted reference to a future's allocation, as its handles and its promise hold it.
pub(crate) struct SharedRef<T> {
    /// Thin, so that a `Future` handle is two words and moves in registers: the type-erased
    /// pointer is read from the allocation itself (`Shared::from_thin`).
    ptr: NonNull<u8>,
    /// Owns a share of a `Shared<T>` (for drop checking and variance, as `Arc<Shared<T>>`).
    _owns: PhantomData<Shared<T>>,
}

// SAFETY: as `Arc<Shared<T>>`: a reference hands out `&Shared<T>` on any thread and the last
// one drops it on any thread, so it needs `Shared<T>: Send + Sync` (see `shared.rs` for when
// that holds).
unsafe impl<T> Send for SharedRef<T> where Shared<T>: Send + Sync {}
// SAFETY: as above.
unsafe impl<T> Sync for SharedRef<T> where Shared<T>: Send + Sync {}

impl<T> SharedRef<T> {
    /// Adopts one of the references a new allocation was born with (rule 1).
    ///
    /// # Safety
    /// `ptr` comes from `block_cache::allocate` (possibly unsized since) of a `Shared` whose count
    /// still includes the reference adopted here, and no other `SharedRef` or `JobRef` adopts
    /// the same one.
    #[inline]
    pub(crate) unsafe fn from_raw(ptr: *mut Shared<T>) -> Self {
        SharedRef {
            // SAFETY: `block_cache::allocate` never returns null (caller).
            ptr: unsafe { NonNull::new_unchecked(ptr.cast::<u8>()) },
            _owns: PhantomData,
        }
    }

    /// The allocation, type-erased.
    #[inline]
    fn erased(&self) -> NonNull<Shared<T>> {
        // SAFETY: this reference is counted, so the allocation is alive (rule 3), and it was
        // linked before any reference was made (`Shared::link`, rule 1).
        unsafe { Shared::from_thin(self.ptr) }
    }

    /// Whether both point at one allocation.
    pub(crate) fn ptr_eq(&self, other: &Self) -> bool {
        self.ptr == other.ptr
    }

    /// Rule 4: true if the count is 2, read so that every other owner's use of the allocation
    /// happened before what the caller does next. Means "the caller's two references are the
    /// only ones" when the caller holds two.
    #[inline]
    pub(crate) fn is_unshared(&self) -> bool {
        // ORDERING: Relaxed read, then an Acquire fence only when it says 2: pairs with the
        // Release decrement of every reference dropped before (rule 4), as `Arc::get_mut`.
        if self.refs().load(Ordering::Relaxed) != BORN_WITH {
            return false;
        }
        fence(Ordering::Acquire);
        true
    }

    /// Frees the allocation without touching the count (rule 4), after `Shared::run_alone`:
    /// the contents usually hold nothing to drop, and then the block is given back as it is.
    ///
    /// # Safety
    /// [`is_unshared`](Self::is_unshared) returned true while the caller held this reference
    /// and one other, the other is forgotten (never used or dropped again), and
    /// `Shared::run_alone` ran on this allocation.
    #[inline]
    pub(crate) unsafe fn free_after_run_alone(self) {
        let block = self.erased();
        std::mem::forget(self);
        let ptr = block.as_ptr();
        #[cfg(not(loom))]
        // SAFETY: exclusive access (caller).
        if unsafe { Shared::holds_nothing_to_drop_after_run_alone(ptr) } {
            // SAFETY: the value is live; its metadata gives the layout it was allocated with.
            let layout = std::alloc::Layout::for_value(unsafe { &*ptr });
            // SAFETY: from `block_cache::allocate` with this layout (rule 1), never used again;
            // skipping the drop glue is sound as nothing in it owns anything (checked above).
            unsafe { crate::block_cache::free(block.cast(), layout) };
            return;
        }
        // SAFETY: no other reference is used again (caller), and the pointer came from
        // `block_cache::allocate` (rule 1).
        unsafe { destroy(ptr) };
    }
}

// A pointer: moving it never moves the allocation (as `Arc<T>: Unpin` for every `T`).
impl<T> Unpin for SharedRef<T> {}

impl<T> Deref for SharedRef<T> {
    type Target = Shared<T>;

    fn deref(&self) -> &Shared<T> {
        // SAFETY: this reference is counted, so the allocation is alive (rule 3).
        unsafe { self.erased().as_ref() }
    }
}

impl<T> Clone for SharedRef<T> {
    fn clone(&self) -> Self {
        retain(self.refs());
        SharedRef {
            ptr: self.ptr,
            _owns: PhantomData,
        }
    }
}

impl<T> Drop for SharedRef<T> {
    fn drop(&mut self) {
        if release(self.refs()) {
            // SAFETY: the last reference is gone (rule 3); the pointer came from
            // `block_cache::allocate` (rule 1).
            unsafe { destroy(self.erased().as_ptr()) };
        }
    }
}

/// A task's counted reference to its future's allocation, seen as the type-erased [`Job`].
/// Exactly one per task-made allocation.
pub(crate) struct JobRef {
    ptr: NonNull<dyn Job>,
}

// SAFETY: `Job: Send + Sync`, and the allocation is freed by whichever reference is last
// (rule 3), as for `Arc<dyn Job>`.
unsafe impl Send for JobRef {}
// SAFETY: as above.
unsafe impl Sync for JobRef {}

impl JobRef {
    /// Adopts one of the references a new allocation was born with (rule 1).
    ///
    /// # Safety
    /// As [`SharedRef::from_raw`].
    #[inline]
    pub(crate) unsafe fn from_raw(ptr: *mut dyn Job) -> Self {
        JobRef {
            // SAFETY: `block_cache::allocate` never returns null (caller).
            ptr: unsafe { NonNull::new_unchecked(ptr) },
        }
    }

    /// The allocation's address: the future's identity (`Shared::address`).
    pub(crate) fn address(&self) -> *const () {
        self.ptr.as_ptr() as *const ()
    }
}

impl Deref for JobRef {
    type Target = dyn Job + 'static;

    fn deref(&self) -> &(dyn Job + 'static) {
        // SAFETY: this reference is counted, so the allocation is alive (rule 3).
        unsafe { self.ptr.as_ref() }
    }
}

impl Drop for JobRef {
    fn drop(&mut self) {
        if release(self.refs()) {
            // SAFETY: the last reference is gone (rule 3); the pointer came from
            // `block_cache::allocate` (rule 1).
            unsafe { destroy(self.ptr.as_ptr()) };
        }
    }
}

/// Drops the allocation's contents and gives its block back (`block_cache.rs`).
///
/// # Safety
/// `ptr`, possibly unsized, points at a live value in a block from `block_cache::allocate`
/// made for the value's concrete type, and nothing uses it again.
#[inline]
unsafe fn destroy<U: ?Sized>(ptr: *mut U) {
    // SAFETY: the value is live (caller); its size and alignment come from the value's own
    // metadata, which is what it was allocated with.
    let layout = std::alloc::Layout::for_value(unsafe { &*ptr });
    // SAFETY: dropped once, here, and never used again (caller).
    unsafe { std::ptr::drop_in_place(ptr) };
    // SAFETY: the block came from `allocate` with this layout (caller).
    unsafe { crate::block_cache::free(NonNull::new_unchecked(ptr.cast()), layout) };
}

/// Rule 2: one more reference.
fn retain(refs: &AtomicUsize) {
    // ORDERING: Relaxed, as `Arc::clone`: the caller's own reference keeps the allocation
    // alive, and handing the new one to another thread synchronises by other means.
    let previous = refs.fetch_add(1, Ordering::Relaxed);
    if previous > isize::MAX as usize {
        // Billions of leaked clones: the count must not wrap (as `Arc`).
        std::process::abort();
    }
}

/// Rule 3: one reference fewer; true if it was the last, and then the caller frees.
fn release(refs: &AtomicUsize) -> bool {
    // ORDERING: Release publishes this owner's uses to the last one; that one's Acquire fence
    // makes them all happen before the free (as `Arc`'s drop).
    if refs.fetch_sub(1, Ordering::Release) != 1 {
        return false;
    }
    fence(Ordering::Acquire);
    true
}
