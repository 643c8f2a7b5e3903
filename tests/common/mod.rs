//! The facade suite's own fixtures: CPython's task functions and the `Exec` trait that runs
//! a case on both pools. The shared fixtures (events, semaphores, the cross-process gate,
//! canned futures, process probes, helper programs, the RNG) live in
//! `cfutures-test-support` and are re-exported here so every file imports from one place.
#![allow(dead_code, unused_imports, unused_macros)]

use cfutures::Future;
use cfutures::process::ProcessPoolExecutor;
use cfutures::thread::ThreadPoolExecutor;

pub use cfutures_test_support::process::{
    no_core_dumps, pid, reaped, signal_own_child, wait_exit, zombie_children,
};
pub use cfutures_test_support::threads::{threads_gone, threads_named};
pub use cfutures_test_support::{
    Canned, Event, Gate, GateArg, HELPER_ENV, PATIENCE, Rng, Semaphore, count_from_env,
    gate_return, gate_wait, helper_active, helper_command, program_lines, quiet_expected_panics,
    run_helper, within,
};

/// CPython's `mul`.
pub fn mul((x, y): (i64, i64)) -> i64 {
    x * y
}

/// CPython's `divmod`, panicking on a zero divisor like Python's `ZeroDivisionError`.
pub fn divmod((a, b): (i64, i64)) -> (i64, i64) {
    if b == 0 {
        panic!("expected: integer division or modulo by zero");
    }
    (a / b, a % b)
}

/// CPython's `pow` on the tests' small numbers.
pub fn pow((base, exp): (u64, u32)) -> u64 {
    base.pow(exp)
}

// ---------------------------------------------------------------------------------------
// CPython runs most modules once per executor kind; so do we, through this trait. The tasks
// all yield `i32` so their futures mix with the canned ones in one `wait`/`as_completed`.

/// CPython's `mul`, for both kinds of pool.
pub fn mul_i32((x, y): (i32, i32)) -> i32 {
    x * y
}

/// CPython's `divmod` quotient, panicking on a zero divisor like `ZeroDivisionError`.
pub fn div_i32((a, b): (i32, i32)) -> i32 {
    if b == 0 {
        panic!("expected: integer division or modulo by zero");
    }
    a / b
}

/// `event.wait` as a task: blocks at the gate, then returns 0.
pub fn gated_i32(arg: GateArg) -> i32 {
    gate_wait(arg);
    0
}

/// CPython's `wait_and_raise`: blocks at the gate, then fails.
pub fn gated_raise_i32(arg: GateArg) -> i32 {
    gate_wait(arg);
    panic!("expected: this is an exception")
}

/// The executor under test: a thread pool or a process pool.
pub trait Exec {
    fn mul(&self, x: i32, y: i32) -> Future<i32>;
    fn div(&self, a: i32, b: i32) -> Future<i32>;
    fn gated(&self, gate: &Gate) -> Future<i32>;
    fn gated_raise(&self, gate: &Gate) -> Future<i32>;
}

impl Exec for ThreadPoolExecutor {
    fn mul(&self, x: i32, y: i32) -> Future<i32> {
        self.submit(move || mul_i32((x, y))).unwrap()
    }
    fn div(&self, a: i32, b: i32) -> Future<i32> {
        quiet_expected_panics();
        self.submit(move || div_i32((a, b))).unwrap()
    }
    fn gated(&self, gate: &Gate) -> Future<i32> {
        let arg = gate.arg();
        self.submit(move || gated_i32(arg)).unwrap()
    }
    fn gated_raise(&self, gate: &Gate) -> Future<i32> {
        quiet_expected_panics();
        let arg = gate.arg();
        self.submit(move || gated_raise_i32(arg)).unwrap()
    }
}

impl Exec for ProcessPoolExecutor {
    fn mul(&self, x: i32, y: i32) -> Future<i32> {
        self.submit(mul_i32, (x, y)).unwrap()
    }
    fn div(&self, a: i32, b: i32) -> Future<i32> {
        self.submit(div_i32, (a, b)).unwrap()
    }
    fn gated(&self, gate: &Gate) -> Future<i32> {
        self.submit(gated_i32, gate.arg()).unwrap()
    }
    fn gated_raise(&self, gate: &Gate) -> Future<i32> {
        self.submit(gated_raise_i32, gate.arg()).unwrap()
    }
}

/// CPython's `ExecutorMixin` with `worker_count` workers: a thread pool.
pub fn thread_pool(workers: usize) -> ThreadPoolExecutor {
    ThreadPoolExecutor::new(workers).unwrap()
}

/// CPython's `ExecutorMixin` with `worker_count` workers: a process pool.
pub fn process_pool(workers: usize) -> ProcessPoolExecutor {
    ProcessPoolExecutor::builder()
        .max_workers(workers)
        .build()
        .unwrap()
}

/// Runs each listed generic case `fn case(&impl Exec)` once per executor kind, as CPython's
/// `create_executor_tests` does: tests `case::thread` and `case::process`.
macro_rules! on_both_pools {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[test]
            fn thread() {
                super::$case(&crate::common::thread_pool(5));
            }
            #[test]
            fn process() {
                super::$case(&crate::common::process_pool(5));
            }
        }
    )*};
}
