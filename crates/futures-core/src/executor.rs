//! For executor authors: what it takes to build an executor on cfutures' futures. Users who
//! only submit work and wait need nothing from here.
//!
//! - [`Task`]: a closure bound to its future, the unit an executor queues; [`WaitHandle`] waits
//!   on a future of any type without counting as a handle.
//! - Inline waiting: [`Inline`] (which waiting threads may run a pending task themselves),
//!   [`ExecutorId`] and [`WorkerGuard`] (marking worker threads).
//! - Taking a task back: [`LocalQueue`] and [`with_local_queue`] let a worker's wait on a task
//!   still on top of its own deque run that entry instead of leaving it stale.
//! - Spinning: [`Searching`] counts an executor's awake, idle workers, so that a waiter on a
//!   pending task spins only while one of them can pick it up ([`searching_workers`]).
//! - Wakers: [`register_waker`] / [`unregister_waker`] with their [`WakerKey`] (what
//!   `as_completed` is built on).
//! - Deadlock detection for blocking waits that are not `Future::result`: [`while_blocked`]
//!   with [`WaitTarget`] and [`WaitsFor`], and [`in_task`] (see the crate docs, "Deadlocks").
//! - Plumbing every layer shares, so that each mechanism has one home: the panic functions
//!   ([`panic_message`], [`drop_payload`], [`catch_message`]; rayon-core's `unwind.rs` is the
//!   model), a poison-ignoring [`lock`] and [`deadline_after`].
//!
//! ```
//! use cfutures_core::executor::{ExecutorId, Inline, Task};
//! use std::thread;
//!
//! // A one-thread "executor": its worker is marked, so its waits may run tasks inline.
//! let id = ExecutorId::new();
//! let (task, future) = Task::new(Inline::FromWorkersOf(id), || 6 * 7);
//! let worker = thread::spawn(move || {
//!     let _worker = id.enter();
//!     task.run()
//! });
//! assert_eq!(future.result(), Ok(&42));
//! # worker.join().unwrap();
//! ```

use std::sync::{Mutex, MutexGuard};
use std::task::Waker;

use crate::future::Future;

pub use crate::future::WakerKey;
pub use crate::inline::{ExecutorId, Inline, WorkerGuard};
pub use crate::local_queue::{LocalQueue, with_local_queue};
pub use crate::searching::{Searching, searching_workers};
pub use crate::shared::deadline_after;
pub use crate::task::{Task, TaskKey, WaitHandle};
pub use crate::unwind::{catch_message, drop_payload, panic_message};
pub use crate::wait_graph::{MAX_AWAITED, WaitTarget, WaitsFor, in_task, while_blocked};

/// Registers `waker` to be woken once when `future` is done. `None` if it is already done
/// (nothing was registered). Unregister with [`unregister_waker`] if you stop waiting first;
/// each registration costs one list entry until then.
///
/// ```
/// use cfutures_core::Promise;
/// use cfutures_core::executor::register_waker;
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::task::{Wake, Waker};
///
/// struct Flag(AtomicBool);
/// impl Wake for Flag {
///     fn wake(self: Arc<Self>) { self.0.store(true, Ordering::SeqCst) }
/// }
///
/// let flag = Arc::new(Flag(AtomicBool::new(false)));
/// let (promise, future) = Promise::new();
/// let key = register_waker(&future, &Waker::from(flag.clone()));
/// assert!(key.is_some());
/// promise.set_result(()).unwrap();
/// assert!(flag.0.load(Ordering::SeqCst));
/// ```
pub fn register_waker<T>(future: &Future<T>, waker: &Waker) -> Option<WakerKey> {
    future.register_waker_entry(waker)
}

/// Removes a registration made by [`register_waker`]; true if it was still registered (false
/// once the future has completed and woken it).
///
/// ```
/// use cfutures_core::Promise;
/// use cfutures_core::executor::{register_waker, unregister_waker};
/// use std::task::Waker;
///
/// let (_promise, future) = Promise::<u8>::new();
/// let key = register_waker(&future, Waker::noop()).unwrap();
/// assert!(unregister_waker(&future, key));
/// assert!(!unregister_waker(&future, key));
/// ```
pub fn unregister_waker<T>(future: &Future<T>, key: WakerKey) -> bool {
    future.shared.unregister(key.0)
}

/// Locks `mutex`, ignoring poison. Right for the locks of an executor, which hold no user code
/// while locked (callbacks and tasks run after release), so a poisoned lock cannot hide a torn
/// update; a panic elsewhere must not turn every later lock into a second panic.
///
/// ```
/// use cfutures_core::executor::lock;
/// use std::sync::Mutex;
///
/// let m = Mutex::new(1);
/// let _ = std::panic::catch_unwind(|| {
///     let _guard = m.lock().unwrap();
///     panic!("poisons the lock");
/// });
/// assert!(m.is_poisoned());
/// *lock(&m) += 1;
/// assert_eq!(*lock(&m), 2);
/// ```
pub fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
