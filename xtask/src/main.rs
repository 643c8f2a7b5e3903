//! `cargo xtask`: project automation.

fn main() {
    let task = std::env::args().nth(1);
    match task.as_deref() {
        Some("bench") => {
            eprintln!("cargo xtask bench: not built yet");
            std::process::exit(2);
        }
        _ => {
            eprintln!("usage: cargo xtask <bench>");
            std::process::exit(2);
        }
    }
}
