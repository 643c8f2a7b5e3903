//! Every block a future's allocation takes from the global allocator goes back to it with the
//! layout it was taken with (`block_cache.rs`, rule 1), whichever thread frees it and whether
//! or not it passed through a thread's cache. An allocator that records each block's layout
//! in a header checks every `dealloc` against it: a sized allocator (jemalloc's sized free,
//! a bump or pool allocator) would be corrupted by a mismatch that glibc's `free` ignores.
#![cfg(not(loom))] // real threads; under loom the cache is bypassed

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use cfutures_core::Promise;
use cfutures_core::executor::{
    Inline, LocalQueue, Task, TaskKey, register_waker, unregister_waker, with_local_queue,
};

/// The header in front of every block: its size and alignment.
const HEADER: usize = 16;

struct Checking;

static MISMATCHES: AtomicUsize = AtomicUsize::new(0);

/// Blocks allocated and not yet freed, over the whole process.
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// The tests of this file take turns, so that one's allocations do not move `LIVE` under the
/// other's feet.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn take_turn() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Checking {
    fn prefix(layout: Layout) -> usize {
        layout.align().max(HEADER)
    }

    fn outer(layout: Layout) -> Layout {
        let prefix = Self::prefix(layout);
        Layout::from_size_align(layout.size() + prefix, prefix).unwrap()
    }
}

// SAFETY: every block is System's, `prefix` bytes in; the header lies inside the prefix.
unsafe impl GlobalAlloc for Checking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let prefix = Self::prefix(layout);
        // SAFETY: a nonzero size (the prefix).
        let base = unsafe { System.alloc(Self::outer(layout)) };
        if base.is_null() {
            return base;
        }
        LIVE.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the block is at least `prefix` >= 16 bytes and aligned to 16.
        unsafe {
            let block = base.add(prefix);
            block.cast::<usize>().sub(2).write(layout.size());
            block.cast::<usize>().sub(1).write(layout.align());
            block
        }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        LIVE.fetch_sub(1, Ordering::Relaxed);
        // SAFETY: written by `alloc` for this block.
        let (size, align) = unsafe {
            (
                block.cast::<usize>().sub(2).read(),
                block.cast::<usize>().sub(1).read(),
            )
        };
        if size != layout.size() || align != layout.align() {
            MISMATCHES.fetch_add(1, Ordering::Relaxed);
            // Free it with what it was allocated with, so the test reports rather than crashes.
            let layout = Layout::from_size_align(size, align).unwrap();
            // SAFETY: as allocated.
            unsafe { System.dealloc(block.sub(Self::prefix(layout)), Self::outer(layout)) };
            return;
        }
        // SAFETY: as allocated.
        unsafe { System.dealloc(block.sub(Self::prefix(layout)), Self::outer(layout)) };
    }
}

#[global_allocator]
static ALLOCATOR: Checking = Checking;

/// A LIFO queue, so that waits take their task back (the path that frees without drop glue).
struct Stack(std::cell::RefCell<Vec<Task>>);

impl LocalQueue for Stack {
    fn take_if_next(&self, key: TaskKey) -> Option<Task> {
        let mut stack = self.0.borrow_mut();
        if stack.last()?.key() == key {
            stack.pop()
        } else {
            None
        }
    }
}

fn fork_join(stack: &Stack, depth: u32) -> u64 {
    if depth == 0 {
        return 1;
    }
    let (task, future) = Task::new(Inline::Anywhere, move || depth as u64);
    stack.0.borrow_mut().push(task);
    let right = fork_join(stack, depth - 1);
    future.into_result().unwrap() + right
}

#[test]
fn future_blocks_are_freed_with_the_layout_they_were_allocated_with() {
    let _turn = take_turn();
    // Taken back and run alone, on this thread.
    let stack = Stack(Default::default());
    with_local_queue(&stack, || {
        assert_eq!(fork_join(&stack, 10), 10 * 11 / 2 + 1)
    });

    // Values of several sizes (several classes, and one too large to be cached), made here
    // and freed on other threads, and the other way round.
    let (small, small_future) = Task::new(Inline::Never, || 1u8);
    let (large, large_future) = Task::new(Inline::Never, || [7u64; 64]);
    let promises: Vec<_> = (0..100).map(|_| Promise::<String>::new()).collect();
    thread::scope(|scope| {
        scope.spawn(move || {
            small.run();
            large.run();
        });
        for (promise, future) in promises {
            scope.spawn(move || {
                promise.set_result("done".to_string()).unwrap();
                drop(promise);
                future
            });
        }
    });
    assert_eq!(small_future.into_result(), Ok(1));
    assert_eq!(large_future.into_result().unwrap()[63], 7);

    // Futures made on threads that exit, freed here after their caches are gone.
    let made_elsewhere: Vec<_> = (0..4)
        .map(|i| {
            thread::spawn(move || {
                let (task, future) = Task::new(Inline::Never, move || i);
                task.run();
                future
            })
            .join()
            .unwrap()
        })
        .collect();
    for (i, future) in made_elsewhere.into_iter().enumerate() {
        assert_eq!(future.into_result(), Ok(i));
    }

    // More blocks of one class freed at once than a thread keeps: the rest go straight back.
    let burst: Vec<_> = (0..200).map(|_| Promise::<u32>::new()).collect();
    drop(burst);

    assert_eq!(MISMATCHES.load(Ordering::Relaxed), 0);
}

/// A future taken back after a waker was registered and removed again: its waiter list kept
/// storage (and its word the waiter flag, so it runs through the state machine, not alone),
/// and that storage is freed with the future.
#[test]
fn a_waiter_list_that_kept_storage_is_freed_with_its_future() {
    let _turn = take_turn();
    let stack = Stack(Default::default());
    let round = || {
        let (task, future) = Task::new(Inline::Anywhere, || 3u32);
        let key = register_waker(&future, std::task::Waker::noop()).unwrap();
        assert!(unregister_waker(&future, key));
        stack.0.borrow_mut().push(task);
        assert_eq!(future.into_result(), Ok(3));
    };
    with_local_queue(&stack, || {
        // Fill this thread's cache first, so that what follows measures leaks only.
        for _ in 0..100 {
            round();
        }
        let before = LIVE.load(Ordering::Relaxed);
        for _ in 0..1000 {
            round();
        }
        let after = LIVE.load(Ordering::Relaxed);
        assert!(
            after <= before + 8,
            "{} blocks leaked over 1000 rounds",
            after.saturating_sub(before)
        );
    });
    assert!(stack.0.borrow().is_empty());
}
