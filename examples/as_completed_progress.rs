//! `as_completed` with a progress bar: handle each result as soon as it is ready, and show a
//! person how far along the run is (the bar is drawn on stderr only when it is a terminal).
//!
//! ```text
//! cargo run --example as_completed_progress
//! ```

use std::collections::HashMap;
use std::io::IsTerminal;
use std::thread;
use std::time::Duration;

use cfutures::Error;
use cfutures::helpers::as_completed;
use cfutures::thread::ThreadPoolExecutor;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Stands in for real work (a download, a query) that takes a varying time.
fn job(id: u64) -> u64 {
    thread::sleep(Duration::from_millis(10 + (id * 37) % 60));
    id * id
}

fn main() -> Result<(), Error> {
    let pool = ThreadPoolExecutor::new(8)?;
    let mut future_to_id = HashMap::new();
    for id in 0..40 {
        future_to_id.insert(pool.submit(move || job(id))?, id);
    }

    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::with_draw_target(Some(40), ProgressDrawTarget::stderr());
        bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}").expect("valid"));
        bar
    } else {
        ProgressBar::hidden()
    };

    let mut total = 0;
    // No timeout: wait as long as it takes. With `Some(duration)`, an `Err(Timeout)` comes
    // instead of waiting past it.
    for future in as_completed(future_to_id.keys().cloned(), None) {
        let future = future?;
        let value = *future.result()?;
        total += value;
        bar.set_message(format!("job {} done", future_to_id[&future]));
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!("40 jobs done; sum of squares 0..40 = {total}");
    assert_eq!(total, (0..40).map(|n| n * n).sum::<u64>());
    Ok(())
}
