//! `cargo xtask`: project automation.

mod valgrind;

fn main() {
    let task = std::env::args().nth(1);
    match task.as_deref() {
        Some("bench") => {
            eprintln!("cargo xtask bench: not built yet");
            std::process::exit(2);
        }
        Some("valgrind") => {
            let args: Vec<String> = std::env::args().skip(2).collect();
            std::process::exit(valgrind::run(&args));
        }
        _ => {
            eprintln!("usage: cargo xtask <bench|valgrind>");
            std::process::exit(2);
        }
    }
}
