//! Loom models of the outside queue (`src/outside_queue.rs`): every task pushed is stolen
//! exactly once, in push order, while blocks (3 slots under loom) are installed, destroyed,
//! stashed and reused under concurrent steals. loom's cells report a slot written while another
//! thread still reads it (a block reused too early) and its atomics an ordering too weak. Run with
//! `RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p cfutures-thread --release --test loom_outside_queue`.
#![cfg(loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

use cfutures_thread::outside_queue::{OutsideQueue, Steal};

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(f);
}

/// At most `attempts` steals; what they got, in order.
fn steal_some(queue: &OutsideQueue<usize>, attempts: usize) -> Vec<usize> {
    let mut got = Vec::new();
    for _ in 0..attempts {
        if let Steal::Success(task) = queue.steal() {
            got.push(task);
        }
    }
    got
}

/// Everything left, in order (on one thread, after the others are joined).
fn drain(queue: &OutsideQueue<usize>) -> Vec<usize> {
    let mut rest = Vec::new();
    loop {
        match queue.steal() {
            Steal::Success(task) => rest.push(task),
            Steal::Retry => {}
            Steal::Empty => return rest,
        }
    }
}

/// `n` workers, each making `attempts` steals.
fn stealers(
    queue: &Arc<OutsideQueue<usize>>,
    n: usize,
    attempts: usize,
) -> Vec<thread::JoinHandle<Vec<usize>>> {
    (0..n)
        .map(|_| {
            let queue = Arc::clone(queue);
            thread::spawn(move || steal_some(&queue, attempts))
        })
        .collect()
}

/// Joins the workers, checks that each got its tasks in push order, and returns every task
/// taken (theirs and what is left), sorted.
fn all_taken(
    workers: Vec<thread::JoinHandle<Vec<usize>>>,
    queue: &OutsideQueue<usize>,
) -> Vec<usize> {
    let mut all = Vec::new();
    for worker in workers {
        let got = worker.join().unwrap();
        assert!(got.windows(2).all(|pair| pair[0] < pair[1]), "{got:?}");
        all.extend(got);
    }
    all.extend(drain(queue));
    all.sort_unstable();
    all
}

/// One submitter, one worker: 4 tasks cross a block boundary (3 slots) while the worker
/// steals, so the first block may be destroyed while the next is installed. What the worker
/// got, followed by what is left, is every task once in push order.
#[test]
fn a_stealer_gets_tasks_once_and_in_push_order_across_blocks() {
    model(|| {
        let queue = Arc::new(OutsideQueue::new());
        let worker = {
            let queue = Arc::clone(&queue);
            thread::spawn(move || steal_some(&queue, 4))
        };
        for task in 0..4 {
            queue.push(task);
        }
        let mut order = worker.join().unwrap();
        order.extend(drain(&queue));
        assert_eq!(order, (0..4).collect::<Vec<_>>());
        assert!(queue.is_empty());
    });
}

/// The worker empties a block (into the stash) while the submitter needs a next block and may
/// take that very block back: loom's cells report the reuse if it overlaps the last read.
#[test]
fn a_block_is_reused_only_after_its_last_read() {
    model(|| {
        let queue = Arc::new(OutsideQueue::new());
        // Block 1 holds 0..3 and is emptied into the stash; block 2 (3..6) installs block 1
        // again as block 3, so the stash is empty when the threads start.
        for task in 0..3 {
            queue.push(task);
        }
        assert_eq!(drain(&queue), vec![0, 1, 2]);
        for task in 3..6 {
            queue.push(task);
        }
        let worker = {
            let queue = Arc::clone(&queue);
            thread::spawn(move || steal_some(&queue, 3))
        };
        // Task 8 takes block 3's last slot and needs a block 4: block 2 if the worker has
        // emptied it by then, and task 9 writes the slot task 3 was read from.
        for task in 6..10 {
            queue.push(task);
        }
        let mut order = worker.join().unwrap();
        order.extend(drain(&queue));
        assert_eq!(order, (3..10).collect::<Vec<_>>());
        assert_eq!(queue.len(), 0);
    });
}

/// Two workers race for 4 tasks over a block boundary: each task is taken once, each worker
/// sees its tasks in push order, and the destruction of the first block is handed to whichever
/// reader finishes last.
#[test]
fn two_stealers_take_each_task_once_each_in_order() {
    model(|| {
        let queue = Arc::new(OutsideQueue::new());
        for task in 0..4 {
            queue.push(task);
        }
        let workers = stealers(&queue, 2, 2);
        assert_eq!(all_taken(workers, &queue), (0..4).collect::<Vec<_>>());
    });
}

/// Two workers read the first block while the submitter fills the second and needs a third:
/// the block must not be stashed (and reused for task 6) before the slower reader is done,
/// which is what the `DESTROY` hand-off ensures.
#[test]
fn a_block_read_by_two_workers_is_reused_only_after_both_reads() {
    model(|| {
        let queue = Arc::new(OutsideQueue::new());
        for task in 0..3 {
            queue.push(task);
        }
        let workers = stealers(&queue, 2, 2);
        for task in 3..7 {
            queue.push(task);
        }
        assert_eq!(all_taken(workers, &queue), (0..7).collect::<Vec<_>>());
    });
}

/// Tasks left in the queue when it is dropped are dropped once (the queue's `Drop` walks the
/// live blocks and the stash).
#[test]
fn dropping_the_queue_drops_what_it_still_holds() {
    model(|| {
        let dropped = Arc::new(AtomicUsize::new(0));
        struct Counted(Arc<AtomicUsize>);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
        let queue = OutsideQueue::new();
        for _ in 0..5 {
            queue.push(Counted(Arc::clone(&dropped)));
        }
        let Steal::Success(first) = queue.steal() else {
            panic!("a task was pushed");
        };
        drop(first);
        assert_eq!(queue.len(), 4);
        drop(queue);
        assert_eq!(dropped.load(Ordering::Relaxed), 5);
    });
}
