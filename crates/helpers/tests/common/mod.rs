//! The helpers' own fixture: a tiny executor of `Task`s on plain threads (the real pools
//! depend on this crate, so its tests cannot use them). The shared fixtures (events, canned
//! futures, quiet panics) come from `cfutures-test-support`.
#![allow(dead_code)]

use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use cfutures_core::{Future, Inline, Task};

/// A fixed pool of threads running `Task`s from a channel: enough of an executor to stand in
/// for the real pools, which do not depend on this crate's tests.
pub struct TestExecutor {
    sender: Option<Sender<Task>>,
    workers: Vec<JoinHandle<()>>,
}

impl TestExecutor {
    pub fn new(workers: usize) -> Self {
        let (sender, receiver) = mpsc::channel::<Task>();
        let receiver = Arc::new(Mutex::new(receiver));
        let workers = (0..workers)
            .map(|_| {
                let receiver = Arc::clone(&receiver);
                thread::spawn(move || {
                    loop {
                        let task = receiver.lock().unwrap().recv();
                        match task {
                            Ok(task) => {
                                task.run();
                            }
                            Err(_) => return,
                        }
                    }
                })
            })
            .collect();
        TestExecutor {
            sender: Some(sender),
            workers,
        }
    }

    pub fn submit<F, T>(&self, f: F) -> Future<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + Sync + 'static,
    {
        let (task, future) = Task::new(Inline::Never, f);
        self.sender.as_ref().unwrap().send(task).unwrap();
        future
    }
}

impl Drop for TestExecutor {
    fn drop(&mut self) {
        drop(self.sender.take());
        for worker in self.workers.drain(..) {
            worker.join().unwrap();
        }
    }
}

/// Runs `f` as a task on a thread of its own.
pub fn spawn_task<F, T>(f: F) -> Future<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + Sync + 'static,
{
    let (task, future) = Task::new(Inline::Never, f);
    thread::spawn(move || task.run());
    future
}
