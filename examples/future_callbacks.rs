//! A future with done-callbacks, completed by a hand-made producer.
//!
//! `Promise` is the completing side Python keeps for executors (`set_running_or_notify_cancel`,
//! `set_result`, `set_exception`); here a plain thread plays the executor. Callbacks run once
//! the future is done, in the thread that completes it, or at once if it is done already.
//!
//! ```text
//! cargo run --example future_callbacks
//! ```

use std::sync::mpsc;
use std::thread;

use cfutures::{Error, Future, Promise, State};

fn main() -> Result<(), Error> {
    let (promise, future) = Promise::<u64>::new();
    let (seen_tx, seen) = mpsc::channel();
    future.add_done_callback(move |f: &Future<u64>| {
        let _ = seen_tx.send(format!("callback saw {:?}", f.result()));
    });
    future.add_done_callback(|f| {
        // Runs in the thread that completed the future.
        let thread = thread::current();
        println!("callback on thread {:?}: {:?}", thread.name(), f.state());
    });
    println!("before: {:?}", future.state());
    assert_eq!(future.state(), State::Pending);

    // The hand-made completer: claim the future (unless it was cancelled), then set it.
    let producer = thread::Builder::new()
        .name("producer".into())
        .spawn(move || {
            if promise.set_running_or_notify_cancel() {
                let sum = (1..=100u64).sum();
                promise.set_result(sum).expect("set once");
            }
        })
        .expect("spawn the producer");

    println!("result: {}", future.result()?);
    println!("{}", seen.recv().expect("the callback ran"));
    producer.join().expect("the producer finished");

    // Added after completion: runs at once, here.
    future.add_done_callback(|f| println!("late callback: done = {}", f.done()));

    // A cancelled future: its producer learns it must not start.
    let (promise, cancelled) = Promise::<u64>::new();
    cancelled.add_done_callback(|f| println!("cancelled callback: {:?}", f.state()));
    assert!(cancelled.cancel());
    assert!(!promise.set_running_or_notify_cancel());
    println!("cancelled result: {:?}", cancelled.result());

    // A producer that goes away without an answer fails the future instead of hanging it.
    let (promise, abandoned) = Promise::<u64>::new();
    drop(promise);
    println!("abandoned result: {}", abandoned.result().unwrap_err());
    Ok(())
}
