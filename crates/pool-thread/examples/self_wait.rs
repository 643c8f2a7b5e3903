//! The deadlock from Python's `concurrent.futures` documentation, completing.
//!
//! ```python
//! def wait_on_future():
//!     f = executor.submit(pow, 5, 2)
//!     # This will never complete because there is only one worker thread and
//!     # it is executing this function.
//!     print(f.result())
//!
//! executor = ThreadPoolExecutor(max_workers=1)
//! executor.submit(wait_on_future)
//! ```
//!
//! Here the only worker, waiting on a task of its own pool that has not started, runs it
//! itself. Run with `cargo run -p cfutures-thread --example self_wait`; it prints `25`.

#[cfg(not(loom))]
fn main() -> Result<(), cfutures_core::Error> {
    use cfutures_thread::ThreadPoolExecutor;
    use std::sync::Arc;

    let executor = Arc::new(ThreadPoolExecutor::new(1)?);
    let inner = Arc::clone(&executor);
    let wait_on_future = move || {
        let f = inner.submit(|| 5u64.pow(2)).expect("the pool is open");
        println!("{}", f.result().expect("pow does not fail"));
    };
    executor.submit(wait_on_future)?.result()?;
    Ok(())
}

#[cfg(loom)]
fn main() {}
