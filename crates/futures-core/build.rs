//! Tells rustdoc that this is a loom build. `RUSTFLAGS="--cfg loom"` reaches rustc but not
//! rustdoc, so without this the doctests of a loom build would run the loom-built library
//! outside any loom model (and fail); see the crate attribute in `src/lib.rs`.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(cfutures_loom_build)");
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_CFG_LOOM").is_some() {
        println!("cargo::rustc-cfg=cfutures_loom_build");
    }
}
