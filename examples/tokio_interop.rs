//! cfutures futures in a tokio program: the pool runs the blocking or CPU-bound work, tokio
//! tasks await its futures like any other.
//!
//! - a tokio task awaits a pool future (`future.await`, owned);
//! - `tokio::join!` awaits two at once (`(&future).await`, borrowed);
//! - `tokio::select!` races a future against a timer: the timer wins, and the pool task goes
//!   on running (as in Python, giving up waiting does not cancel a future), so the same
//!   future is awaited again later;
//! - `spawn_blocking` waits with the blocking `result()`, for code that is not async.
//!
//! ```text
//! cargo run --example tokio_interop
//! ```

use std::sync::mpsc;
use std::time::Duration;

use cfutures::Error;
use cfutures::thread::ThreadPoolExecutor;

fn sum_of_squares(n: u64) -> u64 {
    (1..=n).map(|i| i * i).sum()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Error> {
    let pool = ThreadPoolExecutor::new(4)?;

    // A pool future is a std future: tokio can run it as a task of its own, woken by the
    // pool's worker when the result is in.
    let future = pool.submit(|| sum_of_squares(1_000))?;
    let task = tokio::spawn(future);
    let total = task.await.expect("the tokio task did not panic")?;
    println!("tokio task: sum of squares to 1000 = {total}");

    // Two at once; each `(&f).await` borrows its future's value.
    let small = pool.submit(|| sum_of_squares(10))?;
    let large = pool.submit(|| sum_of_squares(100))?;
    let (small, large) = tokio::join!(&small, &large);
    println!("join!: {} and {}", small?, large?);

    // A task that runs until it is released, raced against a 50 ms timer.
    let (release, released) = mpsc::channel::<u64>();
    let slow = pool.submit(move || released.recv().unwrap_or(0))?;
    tokio::select! {
        value = &slow => println!("select!: the task won with {}", value?),
        () = tokio::time::sleep(Duration::from_millis(50)) => {
            // Not done: only the `send` below lets it finish.
            println!("select!: gave up waiting after 50 ms (done: {})", slow.done());
        }
    }
    release.send(42).expect("the task is waiting for this");
    println!("awaited again: {}", (&slow).await?);

    // Code that is not async waits with `result()`, off tokio's worker threads.
    let blocking = pool.submit(|| sum_of_squares(20))?;
    let value = tokio::task::spawn_blocking(move || blocking.result().copied())
        .await
        .expect("the blocking task did not panic")?;
    println!("spawn_blocking: {value}");
    Ok(())
}
