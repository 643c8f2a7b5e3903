//! The deadlock of Python's documentation, completing: with one worker, a task submits another
//! and waits for it.
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
//! Here the waiting worker finds `pow` not yet started and runs it itself (task inlining, as
//! in .NET), so this prints 25. Waiting on the very task one is running is the one wait that
//! can never finish; it returns `Error::Deadlock` instead of hanging.
//!
//! ```text
//! cargo run --example self_wait_deadlock
//! ```

use std::sync::{Arc, OnceLock};

use cfutures::thread::ThreadPoolExecutor;
use cfutures::{Error, Future};

fn main() -> Result<(), Error> {
    let executor = Arc::new(ThreadPoolExecutor::new(1)?);

    let pool = Arc::clone(&executor);
    let wait_on_future = move || -> Result<u32, Error> {
        let f = pool.submit(|| 5u32.pow(2))?;
        let value = *f.result()?;
        println!("{value}");
        Ok(value)
    };
    let outer = executor.submit(wait_on_future)?;
    assert_eq!(outer.into_result()??, 25);

    // A task that waits on its own future gets an error, not a hang.
    let own: Arc<OnceLock<Future<Result<(), Error>>>> = Arc::default();
    let slot = Arc::clone(&own);
    let selfish = executor.submit(move || -> Result<(), Error> {
        let me = slot.wait();
        me.result().map(|_| ())
    })?;
    let _ = own.set(selfish.clone());
    println!("waiting on itself: {}", selfish.into_result()?.unwrap_err());
    Ok(())
}
