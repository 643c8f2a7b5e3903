//! `wait` with `ReturnWhen::FirstCompleted`: return as soon as any future is done, and get the
//! futures split into done and not done (Python's `wait(fs, return_when=FIRST_COMPLETED)`).
//!
//! ```text
//! cargo run --example wait_first_completed
//! ```

use std::sync::mpsc;
use std::time::Duration;

use cfutures::Error;
use cfutures::helpers::{ReturnWhen, wait};
use cfutures::thread::ThreadPoolExecutor;

fn main() -> Result<(), Error> {
    let pool = ThreadPoolExecutor::new(3)?;
    // Two tasks that wait for a go-ahead, and one that answers at once.
    let (release_tx, release) = mpsc::channel::<()>();
    let release = std::sync::Arc::new(std::sync::Mutex::new(release));
    let slow = |name: &'static str| {
        let release = std::sync::Arc::clone(&release);
        move || {
            let _ = release.lock().expect("not poisoned").recv();
            name
        }
    };
    let a = pool.submit(slow("slow a"))?;
    let b = pool.submit(slow("slow b"))?;
    let fast = pool.submit(|| "fast")?;

    let split = wait(
        [a.clone(), b.clone(), fast.clone()],
        None,
        ReturnWhen::FirstCompleted,
    );
    println!(
        "done: {}, not done: {}",
        split.done.len(),
        split.not_done.len()
    );
    for future in &split.done {
        println!("first completed: {}", future.result()?);
    }
    assert!(split.done.contains(&fast));

    // A timeout is not an error for `wait`: it returns the split as it stands.
    let split = wait(
        [a.clone(), b.clone()],
        Some(Duration::from_millis(20)),
        ReturnWhen::AllCompleted,
    );
    println!(
        "after 20 ms: {} done, {} not done",
        split.done.len(),
        split.not_done.len()
    );

    // Let the slow ones finish, then wait for all.
    drop(release_tx); // their `recv` returns once the sender is gone
    let split = wait([a, b], None, ReturnWhen::AllCompleted);
    let mut names: Vec<&str> = split.done.iter().map(|f| *f.result().unwrap()).collect();
    names.sort_unstable();
    println!("all completed: {names:?}");
    Ok(())
}
