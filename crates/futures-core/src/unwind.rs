//! All of cfutures' panic plumbing, in one place (rayon-core's `unwind.rs` is the model): turning
//! a panic payload into the text a user sees, and getting rid of a payload without letting a
//! second panic escape into the library.
//!
//! Every crate of the workspace that catches a panic (a task, an initializer, a done-callback,
//! a `Deserialize` that panics) goes through these functions, so the fallback text and the
//! "leak rather than unwind" rule are the same everywhere.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The text of a panic payload, as the default panic hook prints it: the message of a
/// `panic!("...")` (a `&'static str` or a `String`), or a fixed note for any other payload
/// (`std::panic::panic_any(42)`).
///
/// ```
/// use cfutures_core::unwind::panic_message;
///
/// let payload = std::panic::catch_unwind(|| panic!("doh: {}", 42)).unwrap_err();
/// assert_eq!(panic_message(&*payload), "doh: 42");
/// let payload = std::panic::catch_unwind(|| std::panic::panic_any(7u8)).unwrap_err();
/// assert_eq!(panic_message(&*payload), "Box<dyn Any> (a non-string panic payload)");
/// ```
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&'static str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "Box<dyn Any> (a non-string panic payload)".to_owned()
    }
}

/// Drops a panic payload. A payload whose own `Drop` panics is leaked instead: a second panic
/// must never unwind out of the library (std's `thread::scope` and rayon do the same).
pub fn drop_payload(payload: Box<dyn Any + Send>) {
    if let Err(nested) = catch_unwind(AssertUnwindSafe(|| drop(payload))) {
        std::mem::forget(nested);
    }
}

/// Runs `f`, turning a panic into its [`panic_message`] (the payload is dropped with
/// [`drop_payload`]).
///
/// ```
/// use cfutures_core::unwind::catch_message;
///
/// assert_eq!(catch_message(|| 1 + 1), Ok(2));
/// assert_eq!(catch_message(|| -> i32 { panic!("no") }), Err("no".to_owned()));
/// ```
pub fn catch_message<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let message = panic_message(&*payload);
        drop_payload(payload);
        message
    })
}
