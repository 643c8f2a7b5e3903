//! Loom models of the future's state-word protocols (see `src/shared.rs`). Run with
//! `RUSTFLAGS="--cfg loom" cargo test -p cfutures-core --release --test loom`.
#![cfg(loom)]

use std::sync::atomic::AtomicUsize as StdAtomicUsize;
use std::sync::atomic::Ordering::SeqCst;
use std::task::{Context, Poll, Wake, Waker};

use cfutures_core::executor::{Inline, Task};
use cfutures_core::{Error, Promise};
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

/// A worker running the task and a user cancelling it race on the claim: exactly one wins,
/// the closure runs at most once, and the future ends in the winner's state.
#[test]
fn cancel_vs_claim() {
    loom::model(|| {
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let (task, future) = Task::new(Inline::Never, move || {
            r.fetch_add(1, Ordering::SeqCst);
        });
        let canceller = {
            let future = future.clone();
            thread::spawn(move || future.cancel())
        };
        let ran = task.run();
        let cancelled = canceller.join().unwrap();
        assert_ne!(ran, cancelled);
        assert_eq!(runs.load(Ordering::SeqCst), usize::from(ran));
        assert!(future.done());
        assert_eq!(future.cancelled(), cancelled);
    });
}

/// A waiter running the task inline and a worker race on the claim: the task runs once.
#[test]
fn inline_waiter_vs_worker() {
    loom::model(|| {
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let (task, future) = Task::new(Inline::Anywhere, move || r.fetch_add(1, Ordering::SeqCst));
        let worker = thread::spawn(move || task.run());
        assert_eq!(future.result(), Ok(&0));
        worker.join().unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    });
}

/// A worker finishing its claimed task (RUNNING -> FINISHED in one step, no COMPLETING) while
/// a thread parks on the future: the waiter is woken (loom reports a deadlock if a wake-up can
/// be lost) and reads the value the worker wrote.
#[test]
fn finish_claimed_vs_waiter() {
    loom::model(|| {
        let (task, future) = Task::new(Inline::Never, || 5u8);
        let worker = thread::spawn(move || task.run());
        assert_eq!(future.result(), Ok(&5));
        assert!(worker.join().unwrap());
        assert_eq!(future.into_inner(), Some(Ok(5)));
    });
}

/// The same finish racing the registration of a done-callback: it runs exactly once, on
/// whichever side comes second, and sees the value.
#[test]
fn finish_claimed_vs_add_callback() {
    loom::model(|| {
        let (task, future) = Task::new(Inline::Never, || 5u8);
        let worker = thread::spawn(move || task.run());
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        future.add_done_callback(move |f| {
            assert_eq!(f.result(), Ok(&5));
            c.fetch_add(1, Ordering::SeqCst);
        });
        assert!(worker.join().unwrap());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    });
}

/// A callback added while the future completes runs exactly once, whichever side wins.
#[test]
fn complete_vs_add_callback() {
    loom::model(|| {
        let (promise, future) = Promise::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let setter = thread::spawn(move || promise.set_result(1).unwrap());
        let c = calls.clone();
        future.add_done_callback(move |f| {
            assert_eq!(f.result(), Ok(&1));
            c.fetch_add(1, Ordering::SeqCst);
        });
        setter.join().unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    });
}

/// A blocking waiter registering while the future completes is always woken (loom reports a
/// deadlock if a wake-up can be lost).
#[test]
fn complete_vs_waiter_registration() {
    loom::model(|| {
        let (promise, future) = Promise::new();
        let setter = thread::spawn(move || promise.set_result(7).unwrap());
        assert_eq!(future.result(), Ok(&7));
        setter.join().unwrap();
    });
}

/// A cancel racing a completion: one of them wins and a waiter sees that outcome.
#[test]
fn complete_vs_cancel_with_waiter() {
    loom::model(|| {
        let (promise, future) = Promise::new();
        let setter = thread::spawn(move || promise.set_result(7).is_ok());
        let cancelled = future.cancel();
        let set = setter.join().unwrap();
        assert_ne!(set, cancelled);
        match future.result() {
            Ok(v) => assert!(set && *v == 7),
            Err(e) => assert!(cancelled && e == Error::Cancelled),
        }
    });
}

/// The producer dropping its promise (without completing) while a waiter parks: the waiter
/// wakes with `Abandoned`.
#[test]
fn completer_drop_vs_waiter() {
    loom::model(|| {
        let (promise, future) = Promise::<u8>::new();
        let dropper = thread::spawn(move || drop(promise));
        assert_eq!(future.result(), Err(Error::Abandoned));
        dropper.join().unwrap();
    });
}

/// Completion racing the drop of the promise on another thread: the value wins if it was set.
#[test]
fn complete_vs_completer_drop() {
    loom::model(|| {
        let (promise, future) = Promise::<u8>::new();
        let promise = Arc::new(promise);
        let other = promise.clone();
        let dropper = thread::spawn(move || drop(other));
        let set = promise.set_result(3);
        drop(promise);
        dropper.join().unwrap();
        assert!(set.is_ok());
        assert_eq!(future.result(), Ok(&3));
    });
}

struct Flag {
    woken: AtomicUsize,
    wakes: StdAtomicUsize,
}

impl Wake for Flag {
    fn wake(self: std::sync::Arc<Self>) {
        self.wakes.fetch_add(1, SeqCst);
        self.woken.fetch_add(1, Ordering::SeqCst);
    }
}

/// An async task registering its waker while the future completes is woken (or sees it done
/// on the poll), never left pending.
#[test]
fn async_waker_registration_vs_complete() {
    loom::model(|| {
        let (promise, future) = Promise::new();
        let flag = std::sync::Arc::new(Flag {
            woken: AtomicUsize::new(0),
            wakes: StdAtomicUsize::new(0),
        });
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let setter = thread::spawn(move || promise.set_result(5).unwrap());
        let mut wait = std::pin::pin!(future.wait_async());
        let mut seen = 0;
        loop {
            match std::future::Future::poll(wait.as_mut(), &mut cx) {
                Poll::Ready(out) => {
                    assert_eq!(out, Ok(&5));
                    break;
                }
                Poll::Pending => {
                    // Pending is only legal if a wake-up is on its way: wait for it (a lost
                    // wake-up makes this spin forever, which loom reports).
                    while flag.woken.load(Ordering::SeqCst) == seen {
                        thread::yield_now();
                    }
                    seen = flag.woken.load(Ordering::SeqCst);
                }
            }
        }
        setter.join().unwrap();
        assert!(flag.wakes.load(SeqCst) <= 1);
    });
}

/// `into_inner` moving the value out while a done-callback (holding its own handle) may still
/// be reading it in the completing thread: loom reports any unsynchronised access to the cell.
#[test]
fn into_inner_vs_running_callback() {
    loom::model(|| {
        let (promise, future) = Promise::new();
        future.add_done_callback(|f| assert_eq!(f.result(), Ok(&9)));
        let setter = thread::spawn(move || promise.set_result(9).unwrap());
        assert_eq!(future.into_inner(), Some(Ok(9)));
        setter.join().unwrap();
    });
}

/// An owned `.await` of the last handle and a done-callback still running in the completing
/// thread: the await waits (woken by the completer) and then moves the value out.
#[test]
fn await_owned_vs_running_callback() {
    loom::model(|| {
        let (promise, future) = Promise::new();
        future.add_done_callback(|f| assert_eq!(f.result(), Ok(&5)));
        let setter = thread::spawn(move || promise.set_result(5).unwrap());
        assert_eq!(block_on(future), Ok(5));
        setter.join().unwrap();
    });
}

/// The last handle moving the value out races with the promise making a new handle: the take
/// refuses while the new handle lives, and a handle made after the take sees the value gone
/// (loom's cell tracking fails the model if a read ever overlaps the move).
#[test]
fn take_vs_promise_making_a_handle() {
    loom::model(|| {
        let (promise, future) = Promise::new();
        promise.set_result(String::from("v")).unwrap();
        let maker = thread::spawn(move || {
            let late = promise.future();
            late.result().cloned()
        });
        let taken = future.into_inner();
        let seen = maker.join().unwrap();
        match taken {
            Some(value) => {
                assert_eq!(value, Ok(String::from("v")));
                // The new handle came and went before the take, or came after it.
                assert!(
                    matches!(&seen, Ok(v) if v == "v")
                        || matches!(seen, Err(Error::InvalidState(_)))
                );
            }
            None => assert_eq!(seen, Ok(String::from("v"))),
        }
    });
}

/// Polls `future` on this loom thread, parking until its waker unparks it.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    struct Unpark(thread::Thread);
    impl Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(std::sync::Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
}

/// A deferred completion: the completer finishes the future and hands its callback to a third
/// thread, while the owner calls `into_inner`. The callback runs exactly once, reads the value
/// before it is moved out (loom checks the cell), and `NOTIFYING` is cleared only after it ran.
#[test]
fn deferred_callbacks_vs_into_inner() {
    loom::model(|| {
        let (promise, future) = Promise::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        future.add_done_callback(move |f| {
            assert_eq!(f.result(), Ok(&9));
            c.fetch_add(1, Ordering::SeqCst);
        });
        let completer = thread::spawn(move || {
            let deferred = promise.set_result_deferred(9).unwrap();
            thread::spawn(move || drop(deferred))
        });
        assert_eq!(future.into_inner(), Some(Ok(9)));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        completer.join().unwrap().join().unwrap();
    });
}

/// The allocation's one reference count (`src/shared_ref.rs`): a task, a future and its clone
/// dropped on three threads, in any order, free the allocation exactly once, after the last
/// reader is done. The value is a loom `Arc`: loom fails the model if it leaks (the
/// allocation was never freed) and the count check fails if it was dropped early or twice.
#[test]
fn the_last_of_three_references_frees_the_allocation() {
    loom::model(|| {
        let token = Arc::new(());
        let value = token.clone();
        let (task, future) = Task::new(Inline::Never, move || value);
        let clone = future.clone();
        let worker = thread::spawn(move || task.run());
        let reader = thread::spawn(move || {
            let seen = clone.result().map(|value| Arc::strong_count(value) >= 2);
            assert_eq!(seen, Ok(true), "the value is alive while a handle reads it");
        });
        drop(future);
        assert!(worker.join().unwrap());
        reader.join().unwrap();
        assert_eq!(
            Arc::strong_count(&token),
            1,
            "freed once, value dropped with it"
        );
    });
}

/// Leapfrogging's lineage (`src/lineage.rs`): a task run by another thread makes a child and
/// offers it, beside a task made outside any run, to a waiter's queue. Whether the waiter
/// claims the task itself or waits while it runs elsewhere, and whenever it reads the run's id,
/// it runs the child at most once and never the unrelated task; the child still runs exactly
/// once in the end.
#[test]
fn a_leapfrogging_waiter_runs_only_the_awaited_run_s_children() {
    use cfutures_core::executor::{LocalQueue, TaskKey, with_local_queue};
    use loom::sync::Mutex;

    struct Offers(Arc<Mutex<Vec<Task>>>);
    impl LocalQueue for Offers {
        fn take_if_next(&self, _key: TaskKey) -> Option<Task> {
            None
        }
        fn steal_where(&self, accept: &dyn Fn(&Task) -> bool) -> Option<Task> {
            let mut offers = self.0.lock().unwrap();
            let index = offers.iter().position(accept)?;
            Some(offers.remove(index))
        }
    }

    loom::model(|| {
        let offers = Arc::new(Mutex::new(Vec::new()));
        let (unrelated, unrelated_future) = Task::new(Inline::Anywhere, || ());
        offers.lock().unwrap().push(unrelated);
        let runs = Arc::new(AtomicUsize::new(0));
        let (task, future) = {
            let (offers, runs) = (offers.clone(), runs.clone());
            Task::new(Inline::Anywhere, move || {
                let (child, child_future) = Task::new(Inline::Anywhere, move || {
                    runs.fetch_add(1, Ordering::SeqCst);
                });
                offers.lock().unwrap().push(child);
                child_future
            })
        };
        let runner = thread::spawn(move || task.run());
        let child_future = with_local_queue(&Offers(offers.clone()), || future.into_result())
            .expect("the task's value");
        runner.join().unwrap();
        assert!(!unrelated_future.done(), "the unrelated task was never run");
        for task in offers.lock().unwrap().drain(..) {
            task.run();
        }
        assert!(child_future.done());
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    });
}
