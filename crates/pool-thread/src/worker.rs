//! A worker thread: its own deque, the search for work (crossbeam-deque's `find_task`
//! pattern), and the loop that runs tasks until the pool shuts down.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{Ordering, fence};

use cfutures_core::executor::{
    LocalQueue, Searching, Task, TaskKey, drop_payload, with_local_queue,
};
use crossbeam_deque::{Steal, Stealer, Worker};
use crossbeam_utils::Backoff;

use crate::outside_queue;
use crate::registry::Registry;

/// Searches a worker makes before it counts as idle (see `wait_for_work`).
const UNCOUNTED_ROUNDS: u32 = 4;

/// The smallest deque length that triggers a sweep (see `WorkerThread::sweep`).
const SWEEP_MIN: usize = 64;

/// A task and whether it was stolen from another worker's deque.
type Found = (Task, bool);

/// Adds one to a counter only this thread writes (no read-modify-write needed).
fn bump(counter: &std::sync::atomic::AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

thread_local! {
    /// The worker running on this thread, if any; set for the life of `main`.
    static CURRENT: Cell<*const WorkerThread> = const { Cell::new(ptr::null()) };
}

pub(crate) struct WorkerThread {
    registry: Arc<Registry>,
    index: usize,
    local: Worker<Task>,
    /// xorshift state: where to start looking among the other workers' deques.
    rng: Cell<u64>,
    /// The deque length at which the next push first sweeps out done tasks.
    sweep_at: Cell<usize>,
}

/// The thread's entry point.
pub(crate) fn main(registry: Arc<Registry>, index: usize) {
    let _exit = ExitGuard(Arc::clone(&registry));
    let _executor = registry.id.enter();
    let local = registry.take_deque(index);
    let worker = WorkerThread {
        registry,
        index,
        local,
        rng: Cell::new(0x9E37_79B9_7F4A_7C15 ^ (index as u64 + 1)),
        sweep_at: Cell::new(SWEEP_MIN),
    };
    let _current = CurrentGuard::set(&worker);
    if worker.registry.initialize_worker() {
        with_local_queue(&worker, || worker.run());
    }
}

/// Tells the registry the thread is done, even if something unwinds through `main`.
struct ExitGuard(Arc<Registry>);

impl Drop for ExitGuard {
    fn drop(&mut self) {
        self.0.worker_exited();
    }
}

struct CurrentGuard;

impl CurrentGuard {
    fn set(worker: &WorkerThread) -> CurrentGuard {
        CURRENT.with(|current| current.set(worker));
        CurrentGuard
    }
}

impl Drop for CurrentGuard {
    fn drop(&mut self) {
        CURRENT.with(|current| current.set(ptr::null()));
    }
}

/// A wait on this thread for the task this worker pushed last (a fork-join parent waiting on
/// the child it forked, not stolen meanwhile) takes it back off the top of the LIFO deque.
impl LocalQueue for WorkerThread {
    fn take_if_next(&self, key: TaskKey) -> Option<Task> {
        let top = self.local.pop()?;
        if top.key() == key {
            return Some(top);
        }
        // Not ours (the awaited task was stolen): put it back where it was. A worker that
        // searched while it was out may have gone to sleep without seeing it, so publish it
        // again, as `push` does.
        self.local.push(top);
        self.registry.sleep.new_job(|| self.local.len() > 1);
        None
    }

    /// Leapfrogging: the first task found on another worker's deque (those workers in the
    /// order a search visits them), if `accept` takes it. With two workers that deque is the
    /// thief's, whose oldest entries are what the awaited task submitted. A refused task (the
    /// thief was running the awaited task inline over another one) goes on this worker's own
    /// deque, published as any push: still stealable, and run by this worker at the latest
    /// once the current task returns. The search stops there, so a waiter moves at most one
    /// unrelated task per wait.
    fn steal_where(&self, accept: &dyn Fn(&Task) -> bool) -> Option<Task> {
        for stealer in self.other_deques() {
            loop {
                match stealer.steal() {
                    Steal::Success(task) if accept(&task) => return Some(task),
                    Steal::Success(task) => {
                        self.push(task);
                        return None;
                    }
                    Steal::Retry => {}
                    Steal::Empty => break,
                }
            }
        }
        None
    }
}

impl WorkerThread {
    /// The current thread's worker if it belongs to `registry`'s pool.
    #[inline]
    pub(crate) fn current_of(registry: &Registry) -> Option<&WorkerThread> {
        let current = CURRENT.with(Cell::get);
        if current.is_null() {
            return None;
        }
        // SAFETY: `CURRENT` points at the `WorkerThread` on this thread's `main` stack frame
        // and is reset before that frame ends (`CurrentGuard`); only this thread reads it, and
        // the returned borrow cannot leave the thread (`WorkerThread` is not `Sync`).
        let worker = unsafe { &*current };
        ptr::eq(Arc::as_ptr(&worker.registry), registry).then_some(worker)
    }

    /// A task submitted from inside a task goes on this worker's own deque.
    #[inline]
    pub(crate) fn push(&self, task: Task) {
        if self.local.len() >= self.sweep_at.get() {
            self.sweep();
        }
        self.local.push(task);
        self.registry.sleep.new_job(|| self.local.len() > 1);
    }

    /// Drops the tasks in this worker's deque that are already done, keeping the others in
    /// order. A task that submits and waits runs the submitted task inline, which leaves a
    /// done entry behind; a long-running task doing that in a loop on a pool with no idle
    /// worker to steal (and discard) them would otherwise grow the deque without bound. The
    /// threshold doubles with what survives a sweep, so the cost stays O(1) per push.
    #[cold]
    fn sweep(&self) {
        // The deque is LIFO: pop everything (newest first), then push the survivors back
        // oldest first.
        let mut survivors = Vec::with_capacity(self.local.len());
        while let Some(task) = self.local.pop() {
            if !task.is_done() {
                survivors.push(task);
            }
        }
        for task in survivors.into_iter().rev() {
            self.local.push(task);
        }
        self.sweep_at.set((2 * self.local.len()).max(SWEEP_MIN));
    }

    fn run(&self) {
        loop {
            let found = match self.find_task() {
                Some(found) => found,
                None => match self.wait_for_work() {
                    Some(found) => found,
                    None => return,
                },
            };
            self.execute(found);
        }
    }

    fn execute(&self, (task, stolen): Found) {
        // `Task::run` catches the task's own panic (and its callbacks'); this only keeps the
        // worker alive should anything else unwind.
        let ran = catch_unwind(AssertUnwindSafe(|| task.run())).unwrap_or_else(|payload| {
            drop_payload(payload);
            true
        });
        // A task a waiter already ran inline (or that was cancelled) is discarded uncounted.
        if ran {
            let counters = &self.registry.counters[self.index];
            bump(&counters.completed);
            if stolen {
                bump(&counters.stolen);
            }
        }
    }

    /// The idle loop: search, spin, sleep. `None` once the pool is closed and drained.
    fn wait_for_work(&self) -> Option<Found> {
        let registry = &*self.registry;
        // In a busy pool the queues are often empty only for a moment: look again a few times
        // (pausing 1, 2, 4, 8 `spin_loop` hints) before counting as idle, which writes the
        // counters word every publisher reads.
        // Counted as searching (so that a submitter waiting on its task spins rather than
        // parks, see `Searching`) until it announces itself sleepy.
        let mut searching = Some(Searching::enter());
        let backoff = Backoff::new();
        for _ in 0..UNCOUNTED_ROUNDS {
            backoff.spin();
            if let Some(task) = self.find_task() {
                return Some(task);
            }
        }
        let sleep = &registry.sleep;
        let mut idle = sleep.start_looking(self.index);
        loop {
            if let Some(task) = self.find_task() {
                sleep.work_found(idle, || registry.has_queued_work());
                return Some(task);
            }
            if registry.is_closed() {
                // Pairs with the fence in `publish` (see the registry's module docs).
                fence(Ordering::SeqCst);
                if let Some(task) = self.find_task() {
                    sleep.work_found(idle, || registry.has_queued_work());
                    return Some(task);
                }
                sleep.stop_looking(idle);
                return None;
            }
            sleep.no_work_found(&mut idle, || {
                registry.is_closed() || registry.has_queued_work()
            });
            if idle.is_sleepy() {
                searching = None;
            } else if searching.is_none() {
                searching = Some(Searching::enter());
            }
        }
    }

    fn find_task(&self) -> Option<Found> {
        match self.local.pop() {
            Some(task) => Some((task, false)),
            None => self.steal(),
        }
    }

    fn steal(&self) -> Option<Found> {
        let registry = &*self.registry;
        loop {
            let mut retry = false;
            // One task at a time, not a batch: a batch parked on this worker's deque would
            // start after newer submissions taken by the other workers, and outside
            // submissions start in FIFO order (DESIGN), as from Python's one queue.
            match registry.outside.steal() {
                outside_queue::Steal::Success(task) => return Some((task, false)),
                outside_queue::Steal::Retry => retry = true,
                outside_queue::Steal::Empty => {}
            }
            for stealer in self.other_deques() {
                match stealer.steal() {
                    Steal::Success(task) => return Some((task, true)),
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
            if !retry {
                return None;
            }
        }
    }

    /// The other started workers' deques, in the order a search visits them: from a random
    /// one on, wrapping around, so that thieves spread over their victims.
    fn other_deques(&self) -> impl Iterator<Item = &Stealer<Task>> + '_ {
        let registry = &*self.registry;
        let started = registry.started();
        let first = if started > 1 {
            (self.next_random() % started as u64) as usize
        } else {
            0
        };
        (first..started)
            .chain(0..first)
            .filter(move |&index| index != self.index)
            .filter_map(move |index| registry.stealer(index))
    }

    fn next_random(&self) -> u64 {
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.set(x);
        x
    }
}
