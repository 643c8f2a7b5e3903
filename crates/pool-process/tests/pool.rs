//! The process pool's API, with real worker processes (ported from CPython's
//! `test_process_pool.py`, `test_init.py` and `test_shutdown.py` where they apply).
#![cfg(target_os = "linux")]

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

use cfutures_core::{Error, ExitReason, Shutdown};
use cfutures_process::ProcessPoolExecutor;
use cfutures_test_support::process::{no_core_dumps, pid, reaped};
use cfutures_test_support::{Gate, PATIENCE, block_on, gate_wait, helper_active, run_helper};
use serde::{Deserialize, Serialize};

fn pool(workers: usize) -> ProcessPoolExecutor {
    no_core_dumps();
    ProcessPoolExecutor::builder()
        .max_workers(workers)
        .build()
        .unwrap()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Point {
    x: i64,
    label: String,
    tags: Vec<u8>,
}

fn shift(p: Point) -> Point {
    Point {
        x: p.x + 1,
        label: p.label.to_uppercase(),
        tags: p.tags.into_iter().rev().collect(),
    }
}

#[test]
fn submit_runs_functions_closures_and_pointers_in_another_process() {
    let pool = pool(2);
    let p = Point {
        x: 41,
        label: "abc".into(),
        tags: vec![1, 2, 3],
    };
    let moved = pool.submit(shift, p).unwrap();
    let closure = pool
        .submit(|s: String| s.repeat(2), "ab".to_string())
        .unwrap();
    let pointer: fn(u8) -> Option<u8> = u8::checked_mul_two;
    let via_pointer = pool.submit(pointer, 200).unwrap();
    let where_ = pool.submit(pid, ()).unwrap();
    assert_eq!(
        moved.result(),
        Ok(&Point {
            x: 42,
            label: "ABC".into(),
            tags: vec![3, 2, 1]
        })
    );
    assert_eq!(closure.result(), Ok(&"abab".to_string()));
    assert_eq!(via_pointer.result(), Ok(&None));
    assert_ne!(*where_.result().unwrap(), std::process::id());
}

trait CheckedMulTwo {
    fn checked_mul_two(self) -> Option<u8>;
}
impl CheckedMulTwo for u8 {
    fn checked_mul_two(self) -> Option<u8> {
        self.checked_mul(2)
    }
}

#[test]
fn the_pool_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<ProcessPoolExecutor>();
    shareable::<cfutures_helpers::MapOptions>();
    let pool = pool(2);
    let pids: Vec<u32> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| *pool.submit(pid, ()).unwrap().result().unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(pids.iter().all(|&p| p != std::process::id()));
    assert!(format!("{pool:?}").starts_with("ProcessPoolExecutor"));
}

#[test]
fn capturing_closures_are_refused() {
    let pool = pool(1);
    let offset = 3u32;
    let refused = pool.submit(move |x: u32| x + offset, 1);
    assert!(matches!(refused, Err(Error::InvalidArgument(_))));
    assert_eq!(pool.worker_count(), 0, "nothing was started for it");
}

#[test]
fn bad_settings_are_typed_errors() {
    let err = ProcessPoolExecutor::builder()
        .max_workers(0)
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        Error::InvalidArgument("max_workers must be greater than 0".into())
    );
    let err = ProcessPoolExecutor::builder()
        .max_tasks_per_child(0)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)));
    let err = ProcessPoolExecutor::builder()
        .max_frame_size(10)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)));
    let pool = pool(1);
    let err = pool.map(pid, [(), ()], 0).unwrap_err();
    assert_eq!(
        err,
        Error::InvalidArgument("chunksize must be >= 1.".into())
    );
}

#[test]
fn default_max_workers_is_the_cpu_count() {
    let pool = ProcessPoolExecutor::builder().build().unwrap();
    assert_eq!(
        pool.max_workers(),
        std::thread::available_parallelism().unwrap().get()
    );
}

#[test]
fn workers_start_lazily_and_idle_ones_are_reused() {
    let pool = pool(4);
    assert_eq!(pool.worker_count(), 0);
    let pids: Vec<u32> = (0..3)
        .map(|_| *pool.submit(pid, ()).unwrap().result().unwrap())
        .collect();
    assert_eq!(pids[0], pids[1]);
    assert_eq!(pids[1], pids[2]);
    assert_eq!(pool.worker_count(), 1);
}

#[test]
fn never_more_workers_than_max_workers() {
    let pool = pool(2);
    let futures: Vec<_> = (0..50).map(|_| pool.submit(pid, ()).unwrap()).collect();
    assert!(pool.worker_count() <= 2);
    let pids: HashSet<u32> = futures.iter().map(|f| *f.result().unwrap()).collect();
    assert!(!pids.is_empty() && pids.len() <= 2, "{pids:?}");
}

#[test]
fn map_yields_results_in_order_for_any_chunksize() {
    let pool = pool(2);
    for chunksize in [1, 3, 256, 1000] {
        let got: Vec<u64> = pool
            .map(|x: u64| x * x, 0..500u64, chunksize)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(got, (0..500u64).map(|x| x * x).collect::<Vec<_>>());
    }
    let empty: Vec<Result<u64, Error>> = pool.map(|x: u64| x, Vec::new(), 4).unwrap().collect();
    assert!(empty.is_empty());
}

fn fail_on_three(x: u32) -> u32 {
    assert_ne!(x, 3, "three is not allowed");
    x
}

#[test]
fn a_panicking_item_fails_only_itself_and_map_goes_on() {
    let pool = pool(2);
    let got: Vec<Result<u32, Error>> = pool.map(fail_on_three, 0..10, 2).unwrap().collect();
    assert_eq!(got.len(), 10);
    for (i, result) in got.iter().enumerate() {
        if i == 3 {
            assert!(
                matches!(result, Err(Error::Panicked { message, .. }) if message.contains("three")),
                "{result:?}"
            );
        } else {
            assert_eq!(result, &Ok(i as u32));
        }
    }
}

#[test]
fn map_with_a_buffersize_takes_an_endless_input() {
    let pool = pool(2);
    let options = cfutures_helpers::MapOptions::new()
        .chunksize(5)
        .buffersize(3);
    let got: Vec<u64> = pool
        .map_with(|x: u64| x + 1, 0u64.., options)
        .unwrap()
        .take(23)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(got, (1..=23).collect::<Vec<u64>>());
}

#[test]
fn map_results_work_with_the_helpers() {
    let pool = pool(2);
    let futures: Vec<_> = (0..8u64)
        .map(|i| pool.submit(|x: u64| x * 3, i).unwrap())
        .collect();
    let mut seen: Vec<u64> = cfutures_helpers::as_completed(futures, Some(PATIENCE))
        .map(|f| *f.unwrap().result().unwrap())
        .collect();
    seen.sort();
    assert_eq!(seen, (0..8u64).map(|x| x * 3).collect::<Vec<_>>());
}

static INIT_VALUE: AtomicU64 = AtomicU64::new(0);

fn remember(value: u64) {
    INIT_VALUE.fetch_add(value, Ordering::SeqCst);
}

fn recall(_: ()) -> u64 {
    INIT_VALUE.load(Ordering::SeqCst)
}

#[test]
fn the_initializer_runs_once_in_each_worker() {
    let pool = ProcessPoolExecutor::builder()
        .max_workers(2)
        .initializer(remember, 21)
        .build()
        .unwrap();
    let futures: Vec<_> = (0..20).map(|_| pool.submit(recall, ()).unwrap()).collect();
    for future in futures {
        assert_eq!(future.result(), Ok(&21), "once per worker, not per task");
    }
    assert_eq!(INIT_VALUE.load(Ordering::SeqCst), 0, "never in the parent");
}

static INIT_BYTES: AtomicU64 = AtomicU64::new(0);

fn remember_size(blob: Vec<u8>) {
    INIT_BYTES.store(blob.iter().map(|&b| b as u64).sum(), Ordering::SeqCst);
}

fn recall_size(_: ()) -> u64 {
    INIT_BYTES.load(Ordering::SeqCst)
}

#[test]
fn a_large_initializer_argument_arrives_whole() {
    let blob = vec![1u8; 3 << 20];
    let pool = ProcessPoolExecutor::builder()
        .max_workers(1)
        .initializer(remember_size, blob)
        .build()
        .unwrap();
    assert_eq!(
        pool.submit(recall_size, ()).unwrap().result(),
        Ok(&(3 << 20))
    );
}

fn failing_initializer(message: String) {
    panic!("{message}");
}

#[test]
fn a_failing_initializer_breaks_the_pool() {
    let pool = ProcessPoolExecutor::builder()
        .max_workers(2)
        .initializer(failing_initializer, "init says no".to_string())
        .build()
        .unwrap();
    let futures: Vec<_> = (0..5).map(|_| pool.submit(pid, ()).unwrap()).collect();
    for future in futures {
        match future.result() {
            Err(Error::Broken(why)) => assert!(why.contains("init says no"), "{why}"),
            other => panic!("expected Broken, got {other:?}"),
        }
    }
    assert!(matches!(pool.submit(pid, ()), Err(Error::Broken(_))));
}

fn exiting_initializer(code: i32) {
    std::process::exit(code);
}

#[test]
fn an_initializer_that_kills_its_worker_breaks_the_pool() {
    let pool = ProcessPoolExecutor::builder()
        .max_workers(1)
        .initializer(exiting_initializer, 5)
        .build()
        .unwrap();
    let future = pool.submit(pid, ()).unwrap();
    match future.result() {
        Err(Error::Broken(why)) => assert!(why.contains("exit code 5"), "{why}"),
        other => panic!("expected Broken, got {other:?}"),
    }
    assert!(matches!(pool.submit(pid, ()), Err(Error::Broken(_))));
}

#[test]
fn max_tasks_per_child_replaces_workers_and_keeps_the_size() {
    let pool = ProcessPoolExecutor::builder()
        .max_workers(1)
        .max_tasks_per_child(2)
        .build()
        .unwrap();
    let pids: Vec<u32> = (0..5)
        .map(|_| *pool.submit(pid, ()).unwrap().result().unwrap())
        .collect();
    assert_eq!(pids[0], pids[1]);
    assert_ne!(pids[1], pids[2]);
    assert_eq!(pids[2], pids[3]);
    assert_ne!(pids[3], pids[4]);
    assert!(pool.worker_count() <= 1);
    // Burst submissions respect the limit too.
    let burst: Vec<_> = (0..9).map(|_| pool.submit(pid, ()).unwrap()).collect();
    let mut per_pid = std::collections::HashMap::<u32, usize>::new();
    for future in &burst {
        *per_pid.entry(*future.result().unwrap()).or_default() += 1;
    }
    assert!(per_pid.values().all(|&n| n <= 2), "{per_pid:?}");
    drop(pool);
    for pid in pids.into_iter().chain(per_pid.into_keys()) {
        assert!(reaped(pid), "worker {pid} left a zombie");
    }
}

#[test]
fn max_tasks_per_child_with_an_early_shutdown() {
    // CPython's test_max_tasks_early_shutdown.
    let pool = ProcessPoolExecutor::builder()
        .max_workers(3)
        .max_tasks_per_child(1)
        .build()
        .unwrap();
    let futures: Vec<_> = (0..6u64)
        .map(|i| pool.submit(|x: u64| x * x, i).unwrap())
        .collect();
    pool.shutdown(Shutdown::WAIT);
    for (i, future) in futures.iter().enumerate() {
        assert_eq!(future.result(), Ok(&((i * i) as u64)));
    }
    assert_eq!(pool.worker_count(), 0);
}

#[test]
fn shutdown_refuses_new_work_and_reaps_every_worker() {
    let pool = pool(2);
    let futures: Vec<_> = (0..10).map(|_| pool.submit(pid, ()).unwrap()).collect();
    pool.shutdown(Shutdown::WAIT);
    let pids: HashSet<u32> = futures.iter().map(|f| *f.result().unwrap()).collect();
    assert_eq!(pool.worker_count(), 0);
    for pid in pids {
        assert!(reaped(pid), "worker {pid} left a zombie");
    }
    assert_eq!(pool.submit(pid, ()).unwrap_err(), Error::ShutDown);
    assert!(matches!(pool.map(pid, [()], 1), Err(Error::ShutDown)));
    pool.shutdown(Shutdown::WAIT.cancel_futures()); // again: harmless
}

#[test]
fn shutdown_without_wait_still_runs_queued_work() {
    let pool = pool(1);
    let gate = Gate::new();
    let first = pool.submit(gate_wait, gate.arg()).unwrap();
    let queued: Vec<_> = (0..3).map(|_| pool.submit(pid, ()).unwrap()).collect();
    gate.wait_started();
    pool.shutdown(Shutdown::NO_WAIT);
    gate.release(1);
    first.result().unwrap();
    for future in queued {
        future.result().unwrap();
    }
}

#[test]
fn shutdown_with_cancel_futures_cancels_only_what_has_not_started() {
    let pool = pool(1);
    let gate = Gate::new();
    let running = pool.submit(gate_wait, gate.arg()).unwrap();
    let queued: Vec<_> = (0..4).map(|_| pool.submit(pid, ()).unwrap()).collect();
    gate.wait_started();
    assert!(running.running());
    pool.shutdown(Shutdown::NO_WAIT.cancel_futures());
    for future in &queued {
        assert!(future.cancelled());
    }
    gate.release(1);
    let pid = *running.result().unwrap();
    pool.shutdown(Shutdown::WAIT);
    assert!(reaped(pid));
}

#[test]
fn a_cancelled_future_is_never_sent() {
    let pool = pool(1);
    let gate = Gate::new();
    let running = pool.submit(gate_wait, gate.arg()).unwrap();
    let victim = pool.submit(pid, ()).unwrap();
    let after = pool.submit(pid, ()).unwrap();
    gate.wait_started();
    assert!(victim.cancel());
    gate.release(1);
    running.result().unwrap();
    after.result().unwrap();
    assert_eq!(victim.result(), Err(Error::Cancelled));
}

#[test]
fn terminate_workers_fails_running_and_cancels_queued() {
    let pool = pool(1);
    let gate = Gate::new();
    let running = pool.submit(gate_wait, gate.arg()).unwrap();
    let queued = pool.submit(pid, ()).unwrap();
    let worker = gate.wait_started();
    pool.terminate_workers();
    assert!(queued.cancelled());
    assert_eq!(
        running.result(),
        Err(Error::WorkerDied {
            pid: worker,
            reason: ExitReason::Signal(libc::SIGTERM)
        })
    );
    assert_eq!(pool.submit(pid, ()).unwrap_err(), Error::ShutDown);
    drop(pool);
    assert!(reaped(worker));
}

#[test]
fn kill_workers_kills() {
    let pool = pool(2);
    let gate = Gate::new();
    let running = pool.submit(gate_wait, gate.arg()).unwrap();
    let worker = gate.wait_started();
    pool.kill_workers();
    assert_eq!(
        running.result(),
        Err(Error::WorkerDied {
            pid: worker,
            reason: ExitReason::Signal(libc::SIGKILL)
        })
    );
    pool.shutdown(Shutdown::WAIT);
    assert_eq!(pool.worker_count(), 0);
    assert!(reaped(worker));
}

#[test]
fn terminate_on_a_pool_that_never_started_is_harmless() {
    let pool = pool(1);
    pool.terminate_workers();
    pool.kill_workers();
    assert_eq!(pool.submit(pid, ()).unwrap_err(), Error::ShutDown);
}

#[test]
fn dropping_the_pool_waits_for_its_work() {
    let pool = pool(2);
    let futures: Vec<_> = (0..20)
        .map(|i| pool.submit(|x: u32| x + 1, i).unwrap())
        .collect();
    drop(pool);
    for (i, future) in futures.iter().enumerate() {
        assert!(future.done());
        assert_eq!(future.result(), Ok(&(i as u32 + 1)));
    }
}

#[test]
fn a_done_callback_may_drop_the_last_handle_to_the_pool() {
    // The callback runs on the pool's monitor thread; dropping the pool there must not wait
    // for that very thread.
    let pool = std::sync::Arc::new(pool(1));
    let future = pool.submit(pid, ()).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let held = std::sync::Arc::clone(&pool);
    drop(pool);
    future.add_done_callback(move |_| {
        drop(held);
        tx.send(()).unwrap();
    });
    rx.recv_timeout(PATIENCE).unwrap();
}

#[test]
fn futures_work_with_await() {
    let pool = pool(1);
    let future = pool.submit(|x: u8| x as u32 * 1000, 7).unwrap();
    // A minimal executor: park until woken.
    let value = block_on(future);
    assert_eq!(value, Ok(7000));
}

fn shout(line: String) {
    println!("worker says: {line}");
    eprintln!("worker complains: {line}");
    // A panic on a thread of the task's own is not the task's failure: printed as usual.
    let thread = std::thread::spawn(move || panic!("side thread fails: {line}"));
    assert!(thread.join().is_err());
}

/// Run by `task_output_reaches_the_parents_streams` in a child process whose output it reads.
#[test]
#[ignore = "helper: run by task_output_reaches_the_parents_streams"]
fn helper_print_from_a_worker() {
    if !helper_active("helper_print_from_a_worker") {
        return;
    }
    let pool = pool(1);
    pool.submit(shout, "hello".to_string())
        .unwrap()
        .result()
        .unwrap();
}

#[test]
fn task_output_reaches_the_parents_streams() {
    let output = run_helper("helper_print_from_a_worker");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stdout.contains("worker says: hello"), "{stdout}");
    assert!(stderr.contains("worker complains: hello"), "{stderr}");
    assert!(stderr.contains("side thread fails: hello"), "{stderr}");
}

/// The descriptors of a child process that are pipes, as `ls -l /proc/self/fd` shows them.
fn pipes_of_a_child_process() -> usize {
    let output = std::process::Command::new("ls")
        .args(["-l", "/proc/self/fd"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| l.contains("pipe:"))
        .count()
}

fn pipes_in_a_grandchild(_: ()) -> usize {
    pipes_of_a_child_process()
}

#[test]
fn the_wire_is_inherited_by_no_other_process() {
    // Pipes the test process itself may have inherited (a job server, a harness) show up in
    // every child; ours must not add any.
    let baseline = pipes_of_a_child_process();
    let pool = pool(2);
    let in_worker = pool.submit(pipes_in_a_grandchild, ()).unwrap();
    let _more: Vec<_> = (0..4).map(|_| pool.submit(pid, ()).unwrap()).collect();
    // Neither a worker's ends of its pipes reach the processes it starts, nor the parent's
    // ends the parent's other children.
    assert_eq!(in_worker.result(), Ok(&baseline));
    assert_eq!(pipes_of_a_child_process(), baseline);
}

fn nested_pool(n: u64) -> u64 {
    let inner = ProcessPoolExecutor::builder()
        .max_workers(1)
        .build()
        .unwrap();
    *inner.submit(|x: u64| x + 1, n).unwrap().result().unwrap()
}

#[test]
fn a_task_may_use_a_process_pool_of_its_own() {
    let pool = pool(1);
    assert_eq!(pool.submit(nested_pool, 41).unwrap().result(), Ok(&42));
}
