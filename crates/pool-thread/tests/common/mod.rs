//! Synchronisation helpers for the tests: Python's `threading.Event` and `Semaphore`.
#![allow(dead_code)]

use std::sync::{Arc, Condvar, Mutex};

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

    pub fn is_set(&self) -> bool {
        *self.0.0.lock().unwrap()
    }
}

/// Python's `threading.Semaphore`.
#[derive(Clone, Default)]
pub struct Semaphore(Arc<(Mutex<usize>, Condvar)>);

impl Semaphore {
    pub fn new(permits: usize) -> Self {
        Semaphore(Arc::new((Mutex::new(permits), Condvar::new())))
    }

    pub fn acquire(&self) {
        let mut permits = self.0.0.lock().unwrap();
        while *permits == 0 {
            permits = self.0.1.wait(permits).unwrap();
        }
        *permits -= 1;
    }

    pub fn release(&self, n: usize) {
        *self.0.0.lock().unwrap() += n;
        self.0.1.notify_all();
    }
}

/// The name of the current thread, owned.
pub fn thread_name() -> Option<String> {
    std::thread::current().name().map(str::to_owned)
}
