//! Where a future's allocation comes from and goes back to: the global allocator, behind a
//! small per-thread cache of recently freed blocks.
//!
//! # Why
//!
//! On the fork-join path a worker allocates a future, pushes its task, recurses, takes the
//! task back, runs it and frees the allocation, thousands of times a millisecond. rayon's
//! `join` keeps its job on the stack; a future must outlive the frame that made it, so it
//! lives on the heap. glibc's malloc and free together cost about 145 instructions there,
//! a quarter of the whole fork-join step (callgrind). A block freed on a thread is most often
//! wanted again by that same thread a few microseconds later, which a thread-local list
//! serves in about 25 (T3 with one worker: 611 -> 556 µs).
//!
//! # Protocol
//!
//! 1. Every future allocation is made by [`allocate`] and freed by [`free`], never by `Box`:
//!    both round a layout the same way ([`class_of`]), so a block is always given back to
//!    the global allocator with the layout it was taken with, whichever thread frees it.
//! 2. A layout of at most [`LARGEST`] bytes and an alignment of at most [`ALIGN`] belongs to
//!    a class: its size rounded up to a multiple of [`ALIGN`], allocated with alignment
//!    [`ALIGN`]. Any other layout goes to the global allocator unchanged.
//! 3. A freed block of a class goes on the freeing thread's list for that class (linked
//!    through the block's first word), unless [`KEPT_PER_CLASS`] are there already; an
//!    allocation of a class takes the newest block of its list, if any. The lists are
//!    thread-local, so no atomics: a block freed on another thread than the one that made
//!    it simply moves to that thread's list.
//! 4. A thread's lists are given back to the global allocator when the thread exits. During
//!    and after that (another thread-local's destructor dropping a future), blocks go
//!    straight to the global allocator.
//!
//! Loom builds allocate with the global allocator directly: the cache has no protocol between
//! threads to check, and loom's threads share one OS thread.

use std::alloc::Layout;
use std::ptr::NonNull;

/// The alignment of every cached block and the step between classes.
const ALIGN: usize = 16;

/// The largest size that is cached: bigger futures are rare on hot paths.
const LARGEST: usize = 256;

/// Classes: sizes 16, 32, ..., `LARGEST`.
const CLASSES: usize = LARGEST / ALIGN;

/// Free blocks a thread keeps per class: more than the deepest fork-join recursion holds live
/// at once on one thread, and at most 8 KiB of the largest class.
const KEPT_PER_CLASS: u32 = 32;

/// The class of `layout` and the layout its blocks are allocated with (rule 2).
#[inline]
fn class_of(layout: Layout) -> Option<(usize, Layout)> {
    if layout.size() > LARGEST || layout.align() > ALIGN || layout.size() == 0 {
        return None;
    }
    let class = (layout.size() - 1) / ALIGN;
    Some((class, class_layout(class)))
}

/// The layout every block of `class` is allocated with (rule 2).
#[inline]
fn class_layout(class: usize) -> Layout {
    debug_assert!(class < CLASSES);
    // SAFETY: the size is a nonzero multiple of the power of two `ALIGN`, at most `LARGEST`.
    unsafe { Layout::from_size_align_unchecked((class + 1) * ALIGN, ALIGN) }
}

/// Allocates a block for `layout` (rule 1). Aborts on allocation failure, as `Box::new`.
#[inline]
pub(crate) fn allocate(layout: Layout) -> NonNull<u8> {
    let Some((class, rounded)) = class_of(layout) else {
        return global_allocate(layout);
    };
    #[cfg(not(loom))]
    if let Some(block) = LISTS.try_with(|lists| lists.pop(class)).ok().flatten() {
        return block;
    }
    let _ = class;
    global_allocate(rounded)
}

/// Makes a value directly in a new block, as `Box::into_raw(Box::new(make()))` but from
/// [`allocate`]. The block is taken first and `make` runs after: a value made before a call
/// would wait on the stack and be copied in, 16 bytes at a time over fields just written
/// 8 or fewer at a time, and each such copy stalls until those stores have landed.
#[inline]
pub(crate) fn place_with<V>(make: impl FnOnce() -> V) -> NonNull<V> {
    let block = allocate(Layout::new::<V>()).cast::<V>();
    // SAFETY: a fresh block with `V`'s layout.
    unsafe { block.as_ptr().write(make()) };
    block
}

/// Frees a block that [`allocate`] returned for `layout` (its contents already dropped).
///
/// # Safety
/// `block` came from [`allocate`] with this `layout` and is not used again.
#[inline]
pub(crate) unsafe fn free(block: NonNull<u8>, layout: Layout) {
    let Some((class, rounded)) = class_of(layout) else {
        // SAFETY: allocated with exactly this layout (rules 1 and 2).
        unsafe { std::alloc::dealloc(block.as_ptr(), layout) };
        return;
    };
    #[cfg(not(loom))]
    if LISTS.try_with(|lists| lists.push(class, block)) == Ok(true) {
        return;
    }
    let _ = class;
    // SAFETY: allocated with the class layout (rules 1 and 2).
    unsafe { std::alloc::dealloc(block.as_ptr(), rounded) };
}

fn global_allocate(layout: Layout) -> NonNull<u8> {
    // SAFETY: every layout reaching here has a nonzero size (a `Shared` holds atomics).
    let block = unsafe { std::alloc::alloc(layout) };
    NonNull::new(block).unwrap_or_else(|| std::alloc::handle_alloc_error(layout))
}

/// One thread's lists (rule 3).
#[cfg(not(loom))]
struct Lists {
    /// The newest free block of each class, and how many the list holds.
    heads: [std::cell::Cell<(*mut u8, u32)>; CLASSES],
}

#[cfg(not(loom))]
thread_local! {
    static LISTS: Lists = const {
        Lists {
            heads: [const { std::cell::Cell::new((std::ptr::null_mut(), 0)) }; CLASSES],
        }
    };
}

#[cfg(not(loom))]
impl Lists {
    #[inline]
    fn pop(&self, class: usize) -> Option<NonNull<u8>> {
        let head = &self.heads[class];
        let (block, count) = head.get();
        let block = NonNull::new(block)?;
        // SAFETY: a block on the list is owned by it, and its first word holds the next one
        // (rule 3); blocks are aligned to `ALIGN`, so the word is aligned.
        let next = unsafe { block.cast::<*mut u8>().read() };
        head.set((next, count - 1));
        Some(block)
    }

    /// True if the list took the block.
    #[inline]
    fn push(&self, class: usize, block: NonNull<u8>) -> bool {
        let head = &self.heads[class];
        let (next, count) = head.get();
        if count == KEPT_PER_CLASS {
            return false;
        }
        // SAFETY: the block is at least `ALIGN` bytes, aligned to it, and now the list's.
        unsafe { block.cast::<*mut u8>().write(next) };
        head.set((block.as_ptr(), count + 1));
        true
    }
}

#[cfg(not(loom))]
impl Drop for Lists {
    fn drop(&mut self) {
        for (class, head) in self.heads.iter().enumerate() {
            let layout = class_layout(class);
            while let Some(block) = self.pop(class) {
                // SAFETY: every listed block was allocated with its class layout (rule 1).
                unsafe { std::alloc::dealloc(block.as_ptr(), layout) };
            }
            debug_assert_eq!(head.get().1, 0);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_freed_block_is_reused_by_the_next_allocation_of_its_class() {
        let layout = Layout::from_size_align(100, 8).unwrap();
        let first = allocate(layout);
        // SAFETY: from `allocate` with this layout, not used again.
        unsafe { free(first, layout) };
        let same_class = Layout::from_size_align(112, 16).unwrap();
        let second = allocate(same_class);
        assert_eq!(first, second, "the block came off this thread's list");
        // SAFETY: as above.
        unsafe { free(second, same_class) };
    }

    #[test]
    fn each_class_keeps_a_bounded_number_of_blocks() {
        let layout = Layout::from_size_align(48, 8).unwrap();
        let blocks: Vec<_> = (0..2 * KEPT_PER_CLASS).map(|_| allocate(layout)).collect();
        for &block in &blocks {
            // SAFETY: from `allocate` with this layout, not used again.
            unsafe { free(block, layout) };
        }
        let count = LISTS.with(|lists| lists.heads[class_of(layout).unwrap().0].get().1);
        assert_eq!(count, KEPT_PER_CLASS);
    }

    #[test]
    fn large_or_overaligned_layouts_bypass_the_lists() {
        for layout in [
            Layout::from_size_align(LARGEST + 1, 8).unwrap(),
            Layout::from_size_align(64, 64).unwrap(),
        ] {
            assert!(class_of(layout).is_none());
            let block = allocate(layout);
            assert_eq!(block.as_ptr() as usize % layout.align(), 0);
            // SAFETY: from `allocate` with this layout, not used again.
            unsafe { free(block, layout) };
        }
    }

    #[test]
    fn a_block_freed_on_another_thread_joins_that_threads_list() {
        let layout = Layout::from_size_align(200, 8).unwrap();
        let block = allocate(layout);
        let address = block.as_ptr() as usize;
        let reused = std::thread::spawn(move || {
            let block = NonNull::new(address as *mut u8).unwrap();
            // SAFETY: from `allocate` with this layout, handed to this thread, not used again.
            unsafe { free(block, layout) };
            let again = allocate(layout);
            // SAFETY: as above.
            unsafe { free(again, layout) };
            again.as_ptr() as usize
        })
        .join()
        .unwrap();
        assert_eq!(
            reused, address,
            "the other thread reused it; its exit gave it back"
        );
    }
}
