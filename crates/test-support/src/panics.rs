//! The panics a test causes on purpose, kept off stderr.

use std::sync::Once;

/// Keeps the panics the tests cause on purpose off stderr: those whose message starts with
/// `expected:`, contains `expected panic`, or is the arithmetic's own `attempt to divide by
/// zero`. Every other panic is printed by the default hook as usual. Installs the hook once
/// per process; call it at the start of every test that panics on purpose.
///
/// ```
/// cfutures_test_support::quiet_expected_panics();
/// let caught = std::panic::catch_unwind(|| panic!("expected: quiet"));
/// assert!(caught.is_err());
/// ```
pub fn quiet_expected_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = cfutures_core::unwind::panic_message(info.payload());
            if !is_expected(&message) {
                default(info);
            }
        }));
    });
}

fn is_expected(message: &str) -> bool {
    message.starts_with("expected:")
        || message.contains("expected panic")
        || message.contains("attempt to divide by zero")
}
