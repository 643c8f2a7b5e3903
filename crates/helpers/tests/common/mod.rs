//! Test fixtures: a tiny executor of `Task`s on plain threads, a gate, and CPython's canned
//! futures from `test_concurrent_futures/util.py`.
#![allow(dead_code)]

use std::io;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};

use cfutures_core::{Error, Future, Inline, Promise, Task};

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

/// Python's `threading.Event`.
#[derive(Clone, Default)]
pub struct Event(Arc<(Mutex<bool>, Condvar)>);

impl Event {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(&self) {
        *self.0.0.lock().unwrap() = true;
        self.0.1.notify_all();
    }

    pub fn wait(&self) {
        let mut set = self.0.0.lock().unwrap();
        while !*set {
            set = self.0.1.wait(set).unwrap();
        }
    }
}

/// CPython's module-level canned futures (`util.py`), with the promises that keep the
/// unfinished ones alive (dropping a promise would fail its future with `Abandoned`).
pub struct Canned {
    pub pending: Future<i32>,
    pub running: Future<i32>,
    /// `CANCELLED_AND_NOTIFIED_FUTURE`, and also our stand-in for `CANCELLED_FUTURE`: a
    /// cancelled cfutures future has already notified its waiters.
    pub cancelled: Future<i32>,
    pub exception: Future<i32>,
    pub successful: Future<i32>,
    _promises: Vec<Promise<i32>>,
}

impl Canned {
    pub fn new() -> Self {
        let (pending_promise, pending) = Promise::new();
        let (running_promise, running) = Promise::new();
        assert!(running_promise.set_running_or_notify_cancel());
        let (_cancelled_promise, cancelled) = Promise::new();
        assert!(cancelled.cancel());
        let (exception_promise, exception) = Promise::new();
        exception_promise
            .set_error(Error::other(io::Error::other("OSError")))
            .unwrap();
        let (successful_promise, successful) = Promise::new();
        successful_promise.set_result(42).unwrap();
        Canned {
            pending,
            running,
            cancelled,
            exception,
            successful,
            _promises: vec![pending_promise, running_promise],
        }
    }
}

/// A future that finished with a value.
pub fn finished<T>(value: T) -> Future<T> {
    let (promise, future) = Promise::new();
    promise.set_result(value).map_err(|_| ()).unwrap();
    future
}

/// Silences the default panic message of tasks that are meant to panic (the outcome is
/// asserted through their futures).
pub fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = cfutures_core::unwind::panic_message(info.payload());
            if !message.contains("divide by zero") && !message.contains("expected panic") {
                default(info);
            }
        }));
    });
}
