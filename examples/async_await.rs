//! Awaiting futures from async code, with no async runtime: a dozen-line `block_on` drives an
//! `async` block, and pool futures wake it through its `Waker` when they complete.
//!
//! `(&future).await` borrows the value; `future.await` moves it out (or clones it if other
//! handles exist). `as_completed(..).next_async()` awaits the next one to finish.
//!
//! ```text
//! cargo run --example async_await
//! ```

use std::future::Future as StdFuture;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use cfutures::Error;
use cfutures::helpers::as_completed;
use cfutures::thread::ThreadPoolExecutor;

/// Wakes the thread that is blocked in `block_on`.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to completion on this thread, parking while it is pending.
fn block_on<F: StdFuture>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            // A wake before this park makes it return at once: no lost wake-up.
            Poll::Pending => thread::park(),
        }
    }
}

fn main() -> Result<(), Error> {
    let pool = ThreadPoolExecutor::new(4)?;
    let text = pool.submit(|| String::from("awaited from async code"))?;
    let numbers: Vec<_> = (1..=5u64)
        .map(|n| pool.submit(move || n * 10))
        .collect::<Result<_, _>>()?;

    block_on(async {
        let borrowed: &String = (&text).await?;
        println!("borrowed: {borrowed}");
        let owned: String = text.clone().await?;
        println!("owned: {owned}");

        let mut completed = as_completed(numbers, None);
        let mut sum = 0;
        while let Some(next) = completed.next_async().await {
            let future = next?;
            sum += (&future).await?;
        }
        println!("sum of 10..=50 by tens: {sum}");
        Ok(())
    })
}
