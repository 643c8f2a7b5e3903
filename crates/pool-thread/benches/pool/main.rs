//! T1-T4 of DESIGN §4 for the thread pool, side by side with rayon in one run (for tuning;
//! the cross-project table is `cargo xtask bench`). Every pool gets the machine's cores.
//!
//! `cargo bench -p cfutures-thread --bench pool` (add `-- --quick` for a short run).

#[cfg(not(loom))]
mod scenarios;

#[cfg(not(loom))]
criterion::criterion_main!(scenarios::benches);

// Under loom only the sleep protocol is built.
#[cfg(loom)]
fn main() {}
