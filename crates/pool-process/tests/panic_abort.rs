//! A program built with `panic = "abort"`: a panicking task kills its worker, yet the panic's
//! message reaches the parent, on stderr and in the future's `Panicked` error, and the pool
//! keeps serving. The program is the fixture crate `tests/fixtures/abort_worker` (a panic
//! strategy is per build, so it needs a build of its own), built here into this test's
//! target directory: a few seconds once its dependencies are compiled.
#![cfg(target_os = "linux")]

use std::path::Path;
use std::process::Command;

#[test]
fn a_panic_under_panic_abort_reaches_the_parent() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/abort_worker");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("abort-fixture");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let build = Command::new(cargo)
        .args(["build", "--offline", "--quiet", "--manifest-path"])
        .arg(fixture.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        // The fixture's own profile decides the panic strategy; flags meant for this
        // workspace's build (a `--cfg loom`, say) are not for it.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "building the fixture failed:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );

    let run = Command::new(target.join("debug/abort-worker-fixture"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("panicked: the task gave up on 7\n"),
        "{stdout}"
    );
    assert!(stdout.contains("backtrace says abort: true\n"), "{stdout}");
    assert!(stdout.contains("then: Ok(42)\n"), "{stdout}");
    assert!(
        stderr.contains("thread 'cfutures-worker' panicked at ")
            && stderr.contains("the task gave up on 7"),
        "{stderr}"
    );
}
