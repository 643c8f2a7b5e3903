//! M1: resident memory per pending task, measured, not computed from `size_of`.
//!
//! Each implementation runs in a fresh child process (this binary re-executed), so that
//! memory freed by one measurement cannot be reused by the next. The child starts a
//! one-worker pool, blocks the worker with a gate task, reads its resident set size
//! (`VmRSS` in `/proc/self/status`), queues 1M empty tasks keeping one handle per task
//! (the future, or for the peers a channel receiver), reads the RSS again, then opens the
//! gate and checks that every task completes. Bytes per task = RSS growth / tasks, handles
//! included.
//!
//! Rows: `cfutures` (`ThreadPoolExecutor` futures), `floor` (the same futures bound to their
//! tasks with no pool: `Task::new`, the least a pool must keep), `rayon` (`spawn` + a
//! one-slot channel per task), `threadpool` (`execute` + a one-slot channel per task).
//!
//! Run by `cargo xtask bench` (`cargo bench --bench memory [-- FILTER]`), as every plain
//! target is (`common/plain.rs`).

mod common;

use std::process::Command;
use std::sync::mpsc;

use cfutures::Future;
use cfutures::executor::{Inline, Task};
use cfutures::thread::ThreadPoolExecutor;
use common::M1_TASKS;
use common::plain::Plain;

const IMPLS: [&str; 4] = ["cfutures", "floor", "rayon", "threadpool"];

/// Resident set size of this process, in bytes.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    kib * 1024
}

/// A gate task's two ends: `started` fires when the worker is inside it, `open` releases it.
struct Gate {
    started: mpsc::Receiver<()>,
    open: mpsc::Sender<()>,
}

fn gate() -> (Gate, impl FnOnce() + Send + 'static) {
    let (started_tx, started) = mpsc::channel();
    let (open, open_rx) = mpsc::channel::<()>();
    let task = move || {
        started_tx.send(()).unwrap();
        let _ = open_rx.recv();
    };
    (Gate { started, open }, task)
}

/// RSS growth per task while `tasks` tasks are queued behind a blocked worker.
fn measure(implementation: &str, tasks: usize) -> f64 {
    let (gate, blocker) = gate();
    let (before, after) = match implementation {
        "cfutures" => {
            let pool = ThreadPoolExecutor::new(1).unwrap();
            let first = pool.submit(blocker).unwrap();
            gate.started.recv().unwrap();
            let mut futures: Vec<Future<()>> = Vec::with_capacity(tasks);
            let before = rss_bytes();
            for _ in 0..tasks {
                futures.push(pool.submit(|| ()).unwrap());
            }
            let after = rss_bytes();
            assert!(futures.iter().all(|f| !f.done()), "the gate holds them");
            gate.open.send(()).unwrap();
            first.result().unwrap();
            for future in &futures {
                future.result().unwrap();
            }
            (before, after)
        }
        "floor" => {
            drop((gate, blocker));
            let mut queue: Vec<Task> = Vec::with_capacity(tasks);
            let mut futures: Vec<Future<()>> = Vec::with_capacity(tasks);
            let before = rss_bytes();
            for _ in 0..tasks {
                let (task, future) = Task::new(Inline::Never, || ());
                queue.push(task);
                futures.push(future);
            }
            let after = rss_bytes();
            for task in queue {
                task.run();
            }
            for future in &futures {
                future.result().unwrap();
            }
            (before, after)
        }
        "rayon" => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap();
            pool.spawn(blocker);
            gate.started.recv().unwrap();
            let mut handles: Vec<mpsc::Receiver<()>> = Vec::with_capacity(tasks);
            let before = rss_bytes();
            for _ in 0..tasks {
                let (tx, rx) = mpsc::sync_channel(1);
                pool.spawn(move || tx.send(()).unwrap());
                handles.push(rx);
            }
            let after = rss_bytes();
            assert!(
                handles.iter().all(|h| h.try_recv().is_err()),
                "the gate holds them"
            );
            gate.open.send(()).unwrap();
            for handle in &handles {
                handle.recv().unwrap();
            }
            (before, after)
        }
        "threadpool" => {
            let pool = threadpool::ThreadPool::new(1);
            pool.execute(blocker);
            gate.started.recv().unwrap();
            let mut handles: Vec<mpsc::Receiver<()>> = Vec::with_capacity(tasks);
            let before = rss_bytes();
            for _ in 0..tasks {
                let (tx, rx) = mpsc::sync_channel(1);
                pool.execute(move || tx.send(()).unwrap());
                handles.push(rx);
            }
            let after = rss_bytes();
            assert!(
                handles.iter().all(|h| h.try_recv().is_err()),
                "the gate holds them"
            );
            gate.open.send(()).unwrap();
            for handle in &handles {
                handle.recv().unwrap();
            }
            (before, after)
        }
        other => panic!("unknown implementation {other}"),
    };
    after.saturating_sub(before) as f64 / tasks as f64
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, implementation, tasks] = args.as_slice()
        && flag == "--m1-child"
    {
        let tasks = tasks.parse().expect("task count");
        println!("{}", measure(implementation, tasks));
        return;
    }
    let mut plain = Plain::from_args(&args);
    let exe = std::env::current_exe().expect("own executable");
    for implementation in IMPLS {
        if !plain.wants("M1", implementation) {
            continue;
        }
        let output = Command::new(&exe)
            .args(["--m1-child", implementation, &M1_TASKS.to_string()])
            .output()
            .expect("child process");
        assert!(
            output.status.success(),
            "M1 {implementation} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let bytes: f64 = String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .expect("bytes per task");
        plain.record(
            "M1",
            implementation,
            ("bytes_per_item", bytes),
            &format!("{M1_TASKS} pending tasks"),
            &format!("{bytes:.0} B per pending task ({M1_TASKS} tasks)"),
        );
    }
    plain.finish();
}
