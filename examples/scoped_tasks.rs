//! Scoped tasks: `pool.scope` runs tasks that borrow from the caller's stack (like
//! `std::thread::scope`, but on the pool's threads); the scope returns once every one of them
//! has finished, so the borrows cannot outlive the data.
//!
//! ```text
//! cargo run --example scoped_tasks
//! ```

use cfutures::Error;
use cfutures::thread::ThreadPoolExecutor;

fn main() -> Result<(), Error> {
    let pool = ThreadPoolExecutor::new(4)?;
    let words = vec!["futures", "in", "rust", "borrow", "the", "stack"];
    let mut lengths = vec![0usize; words.len()];

    let longest = pool.scope(|s| -> Result<&str, Error> {
        // Read-only borrows shared by several tasks...
        let longest = s.submit(|| words.iter().copied().max_by_key(|w| w.len()).unwrap_or(""))?;
        // ...and mutable borrows of disjoint parts, one per task.
        for (slot, word) in lengths.iter_mut().zip(&words) {
            drop(s.submit(move || *slot = word.len())?);
        }
        Ok(*longest.result()?)
    })?;

    println!("words: {words:?}");
    println!("lengths (written by the scope's tasks): {lengths:?}");
    println!("longest: {longest}");
    assert_eq!(lengths, [7, 2, 4, 6, 3, 5]);
    Ok(())
}
