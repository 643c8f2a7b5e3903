//! The delivery threads: done-callbacks run off the threads that read replies (shared by the
//! pipe shell and the MPI shell).

use std::cell::Cell;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::job::Callbacks;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Only callback queues live under these locks; a panic elsewhere leaves them consistent.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Delivery threads run done-callbacks off the threads that read replies. Usually one thread, completing in order; when every delivery thread is busy (a
/// callback blocks, perhaps waiting for another future of this pool) a batch gets a new
/// thread, so a blocked callback never holds up other completions. Idle extra threads exit.
#[derive(Default)]
pub struct Delivery {
    shared: Arc<DeliveryShared>,
}

#[derive(Default)]
struct DeliveryShared {
    state: Mutex<DeliveryState>,
    /// Signals queued batches (to idle threads) and progress (to `fence`).
    changed: Condvar,
}

#[derive(Default)]
struct DeliveryState {
    queue: std::collections::VecDeque<Vec<Callbacks>>,
    idle: usize,
    running: usize,
    closed: bool,
}

/// How long an idle delivery thread waits for work before it exits.
const DELIVERY_IDLE: Duration = Duration::from_secs(5);

thread_local! {
    static IS_DELIVERY: Cell<bool> = const { Cell::new(false) };
}

impl Delivery {
    /// Runs `batch` on a delivery thread.
    pub fn deliver(&self, batch: Vec<Callbacks>) {
        if batch.is_empty() {
            return;
        }
        let spawn = {
            let mut st = lock(&self.shared.state);
            st.queue.push_back(batch);
            st.idle == 0
        };
        if spawn {
            let shared = Arc::clone(&self.shared);
            lock(&shared.state).running += 1;
            let started = std::thread::Builder::new()
                .name("cfutures-process-delivery".into())
                .spawn(move || deliver_loop(&shared));
            if started.is_err() {
                // No thread: complete here rather than lose anything.
                lock(&self.shared.state).running -= 1;
                loop {
                    let batch = lock(&self.shared.state).queue.pop_front();
                    let Some(batch) = batch else { break };
                    batch.into_iter().for_each(|run| run());
                }
            }
        } else {
            self.shared.changed.notify_all();
        }
    }

    /// Returns once every callback delivered before has run.
    pub fn fence(&self) {
        if IS_DELIVERY.with(Cell::get) {
            return;
        }
        let mut st = lock(&self.shared.state);
        while !st.queue.is_empty() || st.running > st.idle {
            st = self
                .shared
                .changed
                .wait(st)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        lock(&self.shared.state).closed = true;
        self.shared.changed.notify_all();
    }
}

fn deliver_loop(shared: &DeliveryShared) {
    IS_DELIVERY.with(|d| d.set(true));
    let mut st = lock(&shared.state);
    loop {
        if let Some(batch) = st.queue.pop_front() {
            drop(st);
            batch.into_iter().for_each(|run| run());
            st = lock(&shared.state);
            shared.changed.notify_all();
            continue;
        }
        if st.closed {
            break;
        }
        st.idle += 1;
        let (next, timeout) = shared
            .changed
            .wait_timeout(st, DELIVERY_IDLE)
            .unwrap_or_else(|e| e.into_inner());
        st = next;
        st.idle -= 1;
        if timeout.timed_out() && st.queue.is_empty() {
            break;
        }
    }
    st.running -= 1;
    shared.changed.notify_all();
}
