//! Conformance: CPython's `Lib/test/test_concurrent_futures/test_deadlock.py` for the process
//! pool: tasks that crash, exit or fail while their argument or result is being encoded or
//! decoded, on either side of the wire.
//!
//! **Our documented behaviour differs from Python's on purpose**: Python marks the whole pool
//! broken (`BrokenProcessPool`) when a worker dies; here only the future(s) the dead worker
//! held fail, with `Error::WorkerDied` naming the pid and the exit code or signal, a
//! replacement starts and the pool keeps serving. What both promise, and what every case here
//! asserts, is the point of Python's module: every future resolves with a clear error within
//! a bound, and neither the pool nor its shutdown hangs. Python's pickling is `serde` here:
//! `__reduce__` hooks are `Serialize`/`Deserialize` impls that fail, panic, exit or crash.
//!
//! Not ported: `test_exit_during_result_unpickle_in_result_handler` as such: a `Deserialize`
//! that exits in the *parent* exits the program, which nothing can catch. A panic there is
//! the Rust counterpart (`panic_during_result_decoding_in_the_parent`).

use std::time::Duration;

use cfutures::process::ProcessPoolExecutor;
use cfutures::{Error, ExitReason, Future, Shutdown};
use cfutures_test_support::process::{no_core_dumps, pid};
use cfutures_test_support::{PATIENCE, quiet_expected_panics, within};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// CPython's `ExecutorDeadlockTest.TIMEOUT`: past it, a future that has not resolved is a
/// deadlock.
const TIMEOUT: Duration = PATIENCE;

fn executor() -> ProcessPoolExecutor {
    ProcessPoolExecutor::builder()
        .max_workers(2)
        .build()
        .unwrap()
}

/// CPython's `_check_error`: the future resolves with `expected` (not a timeout), the pool
/// still serves, and its shutdown does not hang.
fn check_error<R>(
    future: Future<R>,
    executor: ProcessPoolExecutor,
    expected: impl Fn(&Error) -> bool,
) where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    // A failed check leaks the pool instead of hanging the test in the pool's drop.
    let executor = std::mem::ManuallyDrop::new(executor);
    match future.result_timeout(TIMEOUT) {
        Err(Error::Timeout { .. }) => panic!("deadlock: the future did not resolve"),
        Err(error) => assert!(expected(&error), "unexpected error: {error:?}"),
        Ok(value) => panic!("expected an error, got {value:?}"),
    }
    let again = executor.submit(pid, ()).unwrap();
    assert!(
        again.result_timeout(TIMEOUT).is_ok(),
        "the pool stopped serving"
    );
    let executor = std::mem::ManuallyDrop::into_inner(executor);
    within("shutdown", move || drop(executor));
}

fn worker_died(reason: ExitReason) -> impl Fn(&Error) -> bool {
    move |e| matches!(e, Error::WorkerDied { reason: got, .. } if *got == reason)
}

fn serialization(text: &'static str) -> impl Fn(&Error) -> bool {
    move |e| matches!(e, Error::Serialization(m) if m.contains(text))
}

fn panicked(text: &'static str) -> impl Fn(&Error) -> bool {
    move |e| matches!(e, Error::Panicked { message, .. } if message.contains(text))
}

const SIGSEGV: ExitReason = ExitReason::Signal(libc::SIGSEGV);

// --- The bad objects -----------------------------------------------------------------------

/// CPython's `_crash`: a segmentation fault (without a core file).
fn crash() -> ! {
    no_core_dumps();
    // SAFETY: none; this deliberately crashes the (worker) process.
    unsafe { std::ptr::null_mut::<u8>().write_volatile(1) };
    unreachable!()
}

/// CPython's `_exit`: `sys.exit(1)`.
fn exit() -> ! {
    std::process::exit(1)
}

macro_rules! bad_object {
    ($name:ident, serialize: $ser:expr) => {
        #[derive(Debug, Deserialize)]
        struct $name;
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                $ser
            }
        }
    };
    ($name:ident, deserialize: $de:expr) => {
        #[derive(Debug, Serialize)]
        struct $name;
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
                $de
            }
        }
    };
}

bad_object!(ErrorAtPickle, serialize: Err(serde::ser::Error::custom("Error in pickle")));
bad_object!(CrashAtPickle, serialize: crash());
bad_object!(ExitAtPickle, serialize: exit());
bad_object!(PanicAtPickle, serialize: panic!("expected: panic in pickle"));
bad_object!(ErrorAtUnpickle, deserialize: Err(serde::de::Error::custom("Error in unpickle")));
bad_object!(CrashAtUnpickle, deserialize: crash());
bad_object!(ExitAtUnpickle, deserialize: exit());
bad_object!(PanicAtUnpickle, deserialize: panic!("expected: panic in unpickle"));

/// CPython's `id`: accepts anything.
fn id<A>(_: A) -> u32 {
    0
}

/// CPython's `_return_instance(cls)`.
fn return_instance<T: Default>(_: ()) -> T {
    T::default()
}

impl Default for CrashAtPickle {
    fn default() -> Self {
        CrashAtPickle
    }
}
impl Default for ExitAtPickle {
    fn default() -> Self {
        ExitAtPickle
    }
}
impl Default for ErrorAtPickle {
    fn default() -> Self {
        ErrorAtPickle
    }
}
impl Default for PanicAtPickle {
    fn default() -> Self {
        PanicAtPickle
    }
}
impl Default for ErrorAtUnpickle {
    fn default() -> Self {
        ErrorAtUnpickle
    }
}
impl Default for PanicAtUnpickle {
    fn default() -> Self {
        PanicAtUnpickle
    }
}

fn crash_in_task(_: ()) -> u32 {
    crash()
}

fn exit_in_task(_: ()) -> u32 {
    exit()
}

fn raise_error(_: ()) -> u32 {
    panic!("expected: RuntimeError")
}

// --- ExecutorDeadlockTest ------------------------------------------------------------------

#[test]
fn test_error_at_task_pickle() {
    // As in CPython, the future fails; nothing is sent, so no worker starts for it.
    let executor = executor();
    let f = executor.submit(id::<ErrorAtPickle>, ErrorAtPickle).unwrap();
    assert!(
        matches!(f.result_timeout(TIMEOUT), Err(Error::Serialization(m)) if m.contains("cannot encode the argument"))
    );
    assert_eq!(executor.worker_count(), 0);
}

#[test]
fn test_exit_at_task_unpickle() {
    let executor = executor();
    let f = executor
        .submit(id::<ExitAtUnpickle>, ExitAtUnpickle)
        .unwrap();
    check_error(f, executor, worker_died(ExitReason::Code(1)));
}

#[test]
fn test_error_at_task_unpickle() {
    let executor = executor();
    let f = executor
        .submit(id::<ErrorAtUnpickle>, ErrorAtUnpickle)
        .unwrap();
    check_error(f, executor, serialization("cannot decode the argument"));
}

#[test]
fn panic_at_task_unpickle() {
    let executor = executor();
    let f = executor
        .submit(id::<PanicAtUnpickle>, PanicAtUnpickle)
        .unwrap();
    check_error(f, executor, panicked("panic in unpickle"));
}

#[test]
fn test_crash_at_task_unpickle() {
    let executor = executor();
    let f = executor
        .submit(id::<CrashAtUnpickle>, CrashAtUnpickle)
        .unwrap();
    check_error(f, executor, worker_died(SIGSEGV));
}

#[test]
fn test_crash_during_func_exec_on_worker() {
    let executor = executor();
    let f = executor.submit(crash_in_task, ()).unwrap();
    check_error(f, executor, worker_died(SIGSEGV));
}

#[test]
fn test_exit_during_func_exec_on_worker() {
    let executor = executor();
    let f = executor.submit(exit_in_task, ()).unwrap();
    check_error(f, executor, worker_died(ExitReason::Code(1)));
}

#[test]
fn test_error_during_func_exec_on_worker() {
    let executor = executor();
    let f = executor.submit(raise_error, ()).unwrap();
    check_error(f, executor, panicked("RuntimeError"));
}

#[test]
fn test_crash_during_result_pickle_on_worker() {
    let executor = executor();
    let f = executor
        .submit(return_instance::<CrashAtPickle>, ())
        .unwrap();
    check_error(f, executor, worker_died(SIGSEGV));
}

#[test]
fn test_exit_during_result_pickle_on_worker() {
    let executor = executor();
    let f = executor
        .submit(return_instance::<ExitAtPickle>, ())
        .unwrap();
    check_error(f, executor, worker_died(ExitReason::Code(1)));
}

#[test]
fn test_error_during_result_pickle_on_worker() {
    let executor = executor();
    let f = executor
        .submit(return_instance::<ErrorAtPickle>, ())
        .unwrap();
    check_error(f, executor, serialization("cannot encode the result"));
}

#[test]
fn panic_during_result_pickle_on_worker() {
    let executor = executor();
    let f = executor
        .submit(return_instance::<PanicAtPickle>, ())
        .unwrap();
    check_error(f, executor, panicked("panic in pickle"));
}

#[test]
fn test_error_during_result_unpickle_in_result_handler() {
    let executor = executor();
    let f = executor
        .submit(return_instance::<ErrorAtUnpickle>, ())
        .unwrap();
    check_error(f, executor, serialization("cannot decode the result"));
}

/// The counterpart of `test_exit_during_result_unpickle_in_result_handler`: the result's
/// `Deserialize` panics in the parent, on the pool's thread that reads the worker's replies.
/// (A regression test: that panic once killed the thread, and shutdown hung.)
#[test]
fn panic_during_result_decoding_in_the_parent() {
    quiet_expected_panics();
    let executor = executor();
    let f = executor
        .submit(return_instance::<PanicAtUnpickle>, ())
        .unwrap();
    check_error(f, executor, |e| {
        matches!(e, Error::Panicked { message, .. }
            if message.contains("decoding the result panicked: expected: panic in unpickle"))
    });
}

fn crash_after_delay(millis: u64) -> u32 {
    std::thread::sleep(Duration::from_millis(millis));
    crash()
}

#[test]
fn test_shutdown_deadlock() {
    // A worker that fails after the shutdown call does not deadlock the shutdown.
    let executor = executor();
    let f = executor.submit(crash_after_delay, 100).unwrap();
    within("shutdown", move || executor.shutdown(Shutdown::WAIT));
    assert!(worker_died(SIGSEGV)(
        &f.result_timeout(TIMEOUT).unwrap_err()
    ));
}

#[test]
fn test_shutdown_deadlock_pickle() {
    // bpo-39104: a task failing to encode, then shutdown(wait=False), does not deadlock.
    let executor = executor();
    assert_eq!(
        executor
            .submit(id::<u32>, 42)
            .unwrap()
            .result_timeout(TIMEOUT),
        Ok(&0)
    );
    let f = executor.submit(id::<ErrorAtPickle>, ErrorAtPickle).unwrap();
    executor.shutdown(Shutdown::NO_WAIT);
    assert!(matches!(
        f.result_timeout(TIMEOUT),
        Err(Error::Serialization(_))
    ));
    // Dropping waits for the workers to exit: it must return.
    within("drop", move || drop(executor));
}

fn crash_with_data(_: String) -> u32 {
    crash()
}

#[test]
fn test_crash_big_data() {
    // gh-94777: a crash while a large argument is being written gives an error, not a hang.
    let data = "a".repeat(4 * 1024 * 1024 + 1); // support.PIPE_MAX_SIZE
    let executor = executor();
    let result = within("map", {
        let executor_ref = std::sync::Arc::new(executor);
        let inner = std::sync::Arc::clone(&executor_ref);
        move || {
            let outcome: Result<Vec<u32>, Error> = inner
                .map(crash_with_data, vec![data; 10], 1)
                .unwrap()
                .collect();
            drop(inner);
            (outcome, executor_ref)
        }
    });
    let (outcome, executor) = result;
    assert!(
        matches!(outcome, Err(Error::WorkerDied { .. })),
        "{outcome:?}"
    );
    within("shutdown", move || executor.shutdown(Shutdown::WAIT));
}

#[test]
fn test_gh105829_should_not_deadlock_if_wakeup_pipe_full() {
    // A burst of submissions before any worker is up must not block the submitter.
    let executor = executor();
    let job_num = 100;
    let got = within("map", move || {
        executor
            .map(|x: u32| x, 0..job_num, 1)
            .unwrap()
            .collect::<Result<Vec<u32>, Error>>()
    });
    assert_eq!(got.unwrap().len(), job_num as usize);
}
