//! Scoped submission: tasks that borrow from the caller's stack, as `std::thread::scope`.

use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, Thread};

use std::any::Any;

use cfutures_core::executor::{Task, WaitHandle, drop_payload, lock, panic_message};
use cfutures_core::{Error, Future};

use crate::pool::ThreadPoolExecutor;
use crate::registry::Registry;

/// A scope of a [`ThreadPoolExecutor`], made by [`ThreadPoolExecutor::scope`]: its tasks may
/// borrow anything that outlives the scope.
///
/// The scope returns only when every task submitted through it has finished running or was
/// cancelled (and its closure dropped), so no borrow can outlive the data it points at.
pub struct Scope<'scope, 'env: 'scope> {
    registry: &'scope Arc<Registry>,
    data: Arc<ScopeData>,
    /// Every submitted future, so that the end of the scope waits on each (running it inline
    /// where the pool's policy allows, as any waiter would). Wait-only handles: they do not
    /// count as handles, so the caller's own handle can still move the value out.
    futures: Mutex<Vec<WaitHandle>>,
    /// Invariance, as in `std::thread::Scope`.
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

/// What outlives the scope's stack frame: the count of closures still alive and who to tell
/// when it reaches zero.
struct ScopeData {
    alive: AtomicUsize,
    owner: Thread,
    /// The first panic of a scoped task, resumed by `scope` once every task is done.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

impl ScopeData {
    fn release(&self) {
        if self.alive.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.owner.unpark();
        }
    }
}

/// A scoped closure: dropping it (run or not) drops the user's closure first, then counts it
/// out, so the scope cannot end while anything the closure captured is alive.
struct ScopedFn<F> {
    f: Option<F>,
    data: Arc<ScopeData>,
}

impl<F> ScopedFn<F> {
    fn new(f: F, data: &Arc<ScopeData>) -> Self {
        data.alive.fetch_add(1, Ordering::AcqRel);
        ScopedFn {
            f: Some(f),
            data: Arc::clone(data),
        }
    }

    /// Runs the closure. A panic is kept for the scope to resume (the first one; later
    /// payloads are dropped) and goes on as a panic with the same message, so the task's
    /// future still fails with `Error::Panicked`.
    fn call<T>(mut self) -> T
    where
        F: FnOnce() -> T,
    {
        let f = self.f.take().expect("a scoped closure runs once");
        match catch_unwind(AssertUnwindSafe(f)) {
            Ok(value) => value,
            Err(payload) => {
                let message = panic_message(&*payload);
                let mut first = lock(&self.data.panic);
                if first.is_none() {
                    *first = Some(payload);
                } else {
                    drop(first);
                    drop_payload(payload);
                }
                // `resume_unwind` skips the panic hook, which already reported this panic.
                resume_unwind(Box::new(message))
            }
        }
    }
}

impl<F> Drop for ScopedFn<F> {
    fn drop(&mut self) {
        drop(self.f.take());
        self.data.release();
    }
}

impl ThreadPoolExecutor {
    /// Runs `f` with a [`Scope`] whose tasks may borrow non-`'static` data, and returns what
    /// `f` returns once every task submitted through the scope has finished (or was
    /// cancelled). If `f` panics, the scope still waits for its tasks, then resumes the panic.
    ///
    /// A task's panic fails that task's future with [`Error::Panicked`], like any other task
    /// of the pool, and then, as with `std::thread::scope` and `rayon::scope`, re-panics from
    /// `scope` once every task is done: with the first task panic's payload (as rayon does), or
    /// with the body's own panic if `f` panicked too.
    ///
    /// ```
    /// use cfutures_thread::ThreadPoolExecutor;
    /// use std::panic::{AssertUnwindSafe, catch_unwind};
    ///
    /// let pool = ThreadPoolExecutor::new(2)?;
    /// let outcome = catch_unwind(AssertUnwindSafe(|| {
    ///     pool.scope(|s| drop(s.submit(|| panic!("in a task"))))
    /// }));
    /// assert_eq!(outcome.unwrap_err().downcast_ref::<&str>(), Some(&"in a task"));
    /// # Ok::<(), cfutures_core::Error>(())
    /// ```
    ///
    /// ```
    /// use cfutures_thread::ThreadPoolExecutor;
    ///
    /// let pool = ThreadPoolExecutor::new(2)?;
    /// let data = vec![1, 2, 3, 4, 5, 6];
    /// let mut label = String::from("sum");
    /// let total = pool.scope(|s| {
    ///     let (left, right) = data.split_at(3);
    ///     let a = s.submit(|| left.iter().sum::<i32>()).unwrap();
    ///     let b = s.submit(|| right.iter().sum::<i32>()).unwrap();
    ///     s.submit(|| label.push_str(" of six")).unwrap();
    ///     a.result().unwrap() + b.result().unwrap()
    /// });
    /// assert_eq!(total, 21);
    /// assert_eq!(label, "sum of six");
    /// # Ok::<(), cfutures_core::Error>(())
    /// ```
    ///
    /// A borrow cannot escape the scope:
    ///
    /// ```compile_fail
    /// use cfutures_thread::ThreadPoolExecutor;
    ///
    /// let pool = ThreadPoolExecutor::new(2).unwrap();
    /// pool.scope(|s| {
    ///     let local = vec![1, 2, 3];
    ///     // `local` dies at the end of this closure, but the task may run after that.
    ///     s.submit(|| local.len()).unwrap();
    /// });
    /// ```
    ///
    /// Nor can a plain [`submit`](Self::submit) borrow at all:
    ///
    /// ```compile_fail
    /// use cfutures_thread::ThreadPoolExecutor;
    ///
    /// let pool = ThreadPoolExecutor::new(2).unwrap();
    /// let local = vec![1, 2, 3];
    /// pool.submit(|| local.len()).unwrap();
    /// ```
    pub fn scope<'env, F, R>(&self, f: F) -> R
    where
        F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> R,
    {
        let scope = Scope {
            registry: self.registry(),
            data: Arc::new(ScopeData {
                alive: AtomicUsize::new(0),
                owner: thread::current(),
                panic: Mutex::new(None),
            }),
            futures: Mutex::new(Vec::new()),
            scope: PhantomData,
            env: PhantomData,
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| f(&scope)));
        scope.wait_all();
        let task_panic = lock(&scope.data.panic).take();
        match (outcome, task_panic) {
            (Err(payload), task_panic) => {
                if let Some(payload) = task_panic {
                    drop_payload(payload);
                }
                resume_unwind(payload)
            }
            (Ok(_), Some(payload)) => resume_unwind(payload),
            (Ok(value), None) => value,
        }
    }
}

impl<'scope, 'env> Scope<'scope, 'env> {
    /// Submits a task that may borrow anything living longer than the scope; as
    /// [`ThreadPoolExecutor::submit`] otherwise (the result type is still `'static`).
    pub fn submit<F, T>(&'scope self, f: F) -> Result<Future<T>, Error>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'static,
    {
        let scoped = ScopedFn::new(f, &self.data);
        let future = self.registry.submit(move |inline, outstanding| {
            // SAFETY: the closure borrows data living for 'scope. `Scope::wait_all` (run by
            // `ThreadPoolExecutor::scope` before 'scope ends, also when the scope's body
            // panics) returns only once `alive` is zero, and `ScopedFn` counts itself out only
            // after dropping the user's closure, whether that closure ran, was cancelled or
            // was dropped unrun with its task. After that nothing can run it: the core runs a
            // task's closure at most once and drops it when its future becomes terminal.
            unsafe {
                Task::new_unchecked(inline, move || {
                    let _counted_until_done = outstanding;
                    scoped.call()
                })
            }
        })?;
        lock(&self.futures).push(WaitHandle::new(&future));
        Ok(future)
    }

    /// Waits until every task of the scope is done and every closure is gone.
    fn wait_all(&self) {
        loop {
            let batch = std::mem::take(&mut *lock(&self.futures));
            if batch.is_empty() {
                break;
            }
            for future in batch {
                future.wait();
            }
        }
        // Futures are terminal; a cancelled task's closure may still be being dropped by the
        // thread that cancelled it, and tasks on other workers may have submitted more.
        while self.data.alive.load(Ordering::Acquire) != 0 {
            thread::park();
        }
    }
}

impl std::fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope")
            .field("alive", &self.data.alive.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}
