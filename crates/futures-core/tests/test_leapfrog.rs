//! Leapfrogging (`src/lineage.rs`): a waiter whose awaited task runs on another thread runs the
//! tasks that task made, offered by its executor's queue ([`LocalQueue::steal_where`]), and
//! refuses every other task, so that a waiter never runs unrelated work (DESIGN).
#![cfg(not(loom))] // real threads; the loom models are in `loom.rs`

use std::cell::RefCell;
use std::sync::mpsc;
use std::thread;

use cfutures_core::executor::{Inline, LocalQueue, Task, TaskKey, with_local_queue};
use cfutures_test_support::PATIENCE;

/// A queue that offers its tasks to a leapfrogging waiter in order, keeping the ones refused.
struct Offers {
    offered: RefCell<Vec<Task>>,
    refused: RefCell<Vec<Task>>,
}

impl LocalQueue for Offers {
    fn take_if_next(&self, _key: TaskKey) -> Option<Task> {
        None
    }

    fn steal_where(&self, accept: &dyn Fn(&Task) -> bool) -> Option<Task> {
        let task = self.offered.borrow_mut().pop()?;
        if accept(&task) {
            return Some(task);
        }
        self.refused.borrow_mut().push(task);
        None
    }
}

/// The awaited task runs on another thread and submits a child there, then waits until the
/// child has run: the waiter, offered first the child and then a task made outside that run,
/// runs the child on its own thread and refuses the other.
#[test]
fn a_waiter_runs_what_its_running_task_made_and_refuses_the_rest() {
    let (unrelated, unrelated_future) = Task::new(Inline::Anywhere, || thread::current().id());
    let (child_tx, child_rx) = mpsc::channel();
    let (task, future) = Task::new(Inline::Anywhere, move || {
        let (ran_tx, ran_rx) = mpsc::channel();
        let (child, child_future) = Task::new(Inline::Anywhere, move || {
            ran_tx.send(()).unwrap();
            thread::current().id()
        });
        child_tx.send(child).unwrap();
        // Blocks in user code: only a waiter can run the child (or the timeout ends it).
        let ran = ran_rx.recv_timeout(PATIENCE).is_ok();
        (ran, child_future)
    });
    let runner = thread::spawn(move || task.run());
    let child = child_rx.recv().unwrap();
    let offers = Offers {
        // Popped from the end: the child first, then the unrelated task.
        offered: RefCell::new(vec![unrelated, child]),
        refused: RefCell::new(Vec::new()),
    };
    let (ran, child_future) = with_local_queue(&offers, || future.into_result().unwrap());
    assert!(runner.join().unwrap());
    assert!(ran, "the child ran while its parent waited for it");
    assert_eq!(
        child_future.into_result(),
        Ok(thread::current().id()),
        "the waiter ran the child on its own thread"
    );
    assert!(
        !unrelated_future.done(),
        "the unrelated task was not run by the waiter"
    );
    let left: Vec<Task> = offers
        .offered
        .into_inner()
        .into_iter()
        .chain(offers.refused.into_inner())
        .collect();
    assert_eq!(
        left.len(),
        1,
        "the unrelated task is still queued or refused"
    );
    left.into_iter().for_each(|task| assert!(task.run()));
    assert!(unrelated_future.done());
}
