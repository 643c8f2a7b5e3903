//! Thread names: the current one, and (Linux) the threads of this process found by name in
//! `/proc/self/task`, to check that a pool's workers really exited.

/// The name of the current thread, owned.
///
/// ```
/// let name = std::thread::Builder::new()
///     .name("worker_0".into())
///     .spawn(cfutures_test_support::thread_name)
///     .unwrap()
///     .join()
///     .unwrap();
/// assert_eq!(name.as_deref(), Some("worker_0"));
/// ```
pub fn thread_name() -> Option<String> {
    std::thread::current().name().map(str::to_owned)
}

/// Threads of this process whose name starts with `prefix` (the kernel cuts names to 15
/// bytes).
///
/// ```
/// use cfutures_test_support::threads::threads_named;
///
/// use std::sync::mpsc::channel;
///
/// let (started_tx, started) = channel();
/// let (stop, stop_rx) = channel::<()>();
/// let probe = std::thread::Builder::new()
///     .name("docprobe_0".into())
///     .spawn(move || {
///         started_tx.send(()).unwrap(); // named by now: the thread names itself first
///         let _ = stop_rx.recv();
///     })
///     .unwrap();
/// started.recv().unwrap();
/// assert_eq!(threads_named("docprobe_"), 1);
/// drop(stop);
/// probe.join().unwrap();
/// ```
#[cfg(target_os = "linux")]
pub fn threads_named(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|comm| comm.trim_end().starts_with(prefix))
        })
        .count()
}

/// True once no thread named `prefix…` is left. A joined thread can linger in
/// `/proc/self/task` for a moment (the kernel wakes the joiner as the thread exits, before it
/// removes the task), and nothing can be awaited for that, so this looks again until
/// [`PATIENCE`](crate::PATIENCE) has passed.
///
/// ```
/// use cfutures_test_support::threads::threads_gone;
///
/// std::thread::Builder::new().name("docgone_0".into()).spawn(|| ()).unwrap().join().unwrap();
/// assert!(threads_gone("docgone_"));
/// ```
#[cfg(target_os = "linux")]
pub fn threads_gone(prefix: &str) -> bool {
    let deadline = std::time::Instant::now() + crate::PATIENCE;
    while threads_named(prefix) > 0 {
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::yield_now();
    }
    true
}
