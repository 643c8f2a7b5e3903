//! Awaiting futures from async code without an async runtime: `pollster::block_on` drives an
//! `async` block, and pool futures wake it through its `Waker` when they complete.
//!
//! `(&future).await` borrows the value; `future.await` moves it out (or clones it if other
//! handles exist). `as_completed(..).next_async()` awaits the next one to finish. For tokio,
//! see `examples/tokio_interop.rs`.
//!
//! ```text
//! cargo run --example async_await
//! ```

use cfutures::Error;
use cfutures::helpers::as_completed;
use cfutures::thread::ThreadPoolExecutor;

fn main() -> Result<(), Error> {
    let pool = ThreadPoolExecutor::new(4)?;
    let text = pool.submit(|| String::from("awaited from async code"))?;
    let numbers: Vec<_> = (1..=5u64)
        .map(|n| pool.submit(move || n * 10))
        .collect::<Result<_, _>>()?;

    pollster::block_on(async {
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
