//! `submit` needs only `T: Send + 'static`, as `std::thread::spawn`, rayon and tokio do.
#![cfg(not(loom))] // under loom only the sleep protocol is built

use std::cell::Cell;
use std::error::Error as StdError;
use std::sync::mpsc;

use cfutures_core::Error;
use cfutures_thread::ThreadPoolExecutor;

#[test]
fn a_task_may_return_a_receiver() -> Result<(), Error> {
    let pool = ThreadPoolExecutor::new(2)?;
    let rx = pool
        .submit(|| {
            let (tx, rx) = mpsc::channel();
            tx.send(String::from("from the worker")).unwrap();
            rx
        })?
        .into_result()?;
    assert_eq!(rx.recv().unwrap(), "from the worker");
    Ok(())
}

#[test]
fn a_task_may_return_a_cell() -> Result<(), Error> {
    let pool = ThreadPoolExecutor::new(2)?;
    let future = pool.submit(|| Cell::new(41u32))?;
    let cell = future.result()?;
    cell.set(cell.get() + 1);
    assert_eq!(future.into_result()?.get(), 42);
    Ok(())
}

#[test]
fn a_task_may_return_a_boxed_send_error() -> Result<(), Error> {
    let pool = ThreadPoolExecutor::new(2)?;
    let outcome = pool
        .submit(|| -> Result<(), Box<dyn StdError + Send>> {
            Err(Box::new(std::io::Error::other("disk on fire")))
        })?
        .into_result()?;
    assert_eq!(outcome.unwrap_err().to_string(), "disk on fire");
    Ok(())
}

#[test]
fn a_scoped_task_may_return_a_non_sync_value_moved_out_in_the_scope() -> Result<(), Error> {
    let pool = ThreadPoolExecutor::new(2)?;
    let base = 10;
    let got = pool.scope(|s| -> Result<u32, Error> {
        let future = s.submit(|| Cell::new(base + 1))?;
        // The scope keeps only a wait-only handle, so this one is the last.
        Ok(future.into_result()?.into_inner())
    })?;
    assert_eq!(got, 11);
    Ok(())
}

#[test]
fn map_needs_no_sync_result() -> Result<(), Error> {
    let pool = ThreadPoolExecutor::new(2)?;
    let cells: Vec<u32> = pool
        .map(Cell::new, 0..5u32)?
        .map(|cell| cell.map(Cell::into_inner))
        .collect::<Result<_, _>>()?;
    assert_eq!(cells, [0, 1, 2, 3, 4]);
    Ok(())
}
