//! Loom models of the sleep/wake protocol (`src/sleep/mod.rs`): no task is left unrun while a
//! worker sleeps, and shutdown wakes every sleeper. Run with
//! `RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p cfutures-thread --release --test loom_sleep`.
//!
//! The pool's queues are modelled by one counter of queued jobs, pushed with `Release` and
//! taken with `Acquire` like crossbeam-deque's operations, so only the protocol's own fences
//! order a push before a sleeper's last look. A lost wake-up shows as a deadlock (every thread
//! blocked), which loom reports.
#![cfg(loom)]

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;

use cfutures_thread::sleep::Sleep;

/// A latch a job sets and a test (or another job) waits on.
#[derive(Default)]
struct Latch {
    set: Mutex<bool>,
    cv: Condvar,
}

impl Latch {
    fn set(&self) {
        *self.set.lock().unwrap() = true;
        self.cv.notify_all();
    }

    fn wait(&self) {
        let mut set = self.set.lock().unwrap();
        while !*set {
            set = self.cv.wait(set).unwrap();
        }
    }
}

struct Pool {
    sleep: Sleep,
    queued: AtomicUsize,
    closed: AtomicBool,
    /// The order in which jobs were taken: the nth job taken plays role n.
    taken: AtomicUsize,
    done: Vec<Latch>,
    /// Job 0 waits for job 1 before finishing (a task blocked on another task).
    chained: bool,
}

impl Pool {
    fn new(workers: usize, jobs: usize, chained: bool) -> Arc<Self> {
        Arc::new(Pool {
            sleep: Sleep::new(workers),
            queued: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            taken: AtomicUsize::new(0),
            done: (0..jobs).map(|_| Latch::default()).collect(),
            chained,
        })
    }

    fn publish(&self) {
        self.queued.fetch_add(1, Ordering::Release);
        self.sleep
            .new_job(|| self.queued.load(Ordering::Acquire) > 1);
    }

    fn take(&self) -> bool {
        let mut n = self.queued.load(Ordering::Acquire);
        while n > 0 {
            match self
                .queued
                .compare_exchange(n, n - 1, Ordering::Acquire, Ordering::Acquire)
            {
                Ok(_) => return true,
                Err(actual) => n = actual,
            }
        }
        false
    }

    fn has_work(&self) -> bool {
        self.queued.load(Ordering::Acquire) > 0
    }

    fn run_job(&self) {
        let role = self.taken.fetch_add(1, Ordering::SeqCst);
        if self.chained && role == 0 {
            self.done[1].wait();
        }
        self.done[role].set();
    }

    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.sleep.wake_all();
    }

    /// The worker loop of `worker.rs`, over the modelled queue; with `quota`, the worker
    /// returns after that many jobs (keeps the models small where shutdown is not the point).
    fn worker(&self, index: usize, quota: Option<usize>) {
        let mut ran = 0;
        loop {
            if quota == Some(ran) {
                return;
            }
            ran += 1;
            if self.take() {
                self.run_job();
                continue;
            }
            let mut idle = self.sleep.start_looking(index);
            loop {
                if self.take() {
                    self.sleep.work_found(idle, || self.has_work());
                    self.run_job();
                    break;
                }
                if self.closed.load(Ordering::SeqCst) {
                    fence(Ordering::SeqCst);
                    if self.take() {
                        self.sleep.work_found(idle, || self.has_work());
                        self.run_job();
                        break;
                    }
                    self.sleep.stop_looking(idle);
                    return;
                }
                self.sleep.no_work_found(&mut idle, || {
                    self.closed.load(Ordering::SeqCst) || self.has_work()
                });
            }
        }
    }
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(f);
}

fn spawn_workers(pool: &Arc<Pool>, n: usize, quota: Option<usize>) -> Vec<thread::JoinHandle<()>> {
    (0..n)
        .map(|i| {
            let pool = Arc::clone(pool);
            thread::spawn(move || pool.worker(i, quota))
        })
        .collect()
}

#[test]
fn a_published_job_is_run_while_the_worker_goes_to_sleep() {
    model(|| {
        let pool = Pool::new(1, 1, false);
        let workers = spawn_workers(&pool, 1, None);
        pool.publish();
        // If the worker slept through the publication, this blocks forever: a deadlock.
        pool.done[0].wait();
        pool.close();
        for w in workers {
            w.join().unwrap();
        }
    });
}

#[test]
fn shutdown_wakes_a_sleeping_worker() {
    model(|| {
        let pool = Pool::new(1, 0, false);
        let workers = spawn_workers(&pool, 1, None);
        pool.close();
        for w in workers {
            w.join().unwrap();
        }
    });
}

#[test]
fn a_job_blocked_on_another_job_gets_a_second_worker() {
    // Job 0 blocks until job 1 ran, so both workers must end up awake: a publisher that skipped
    // waking the second worker (because the first still counted as idle) must have the first
    // pass the wake-up on when it found work.
    model(|| {
        let pool = Pool::new(2, 2, true);
        // Each worker runs exactly one of the two jobs and returns.
        let workers = spawn_workers(&pool, 2, Some(1));
        pool.publish();
        pool.publish();
        for w in workers {
            w.join().unwrap();
        }
    });
}

#[test]
fn jobs_published_from_two_threads_are_all_run() {
    model(|| {
        let pool = Pool::new(1, 2, false);
        let workers = spawn_workers(&pool, 1, None);
        let other = {
            let pool = Arc::clone(&pool);
            thread::spawn(move || pool.publish())
        };
        pool.publish();
        other.join().unwrap();
        pool.done[0].wait();
        pool.done[1].wait();
        pool.close();
        for w in workers {
            w.join().unwrap();
        }
    });
}
