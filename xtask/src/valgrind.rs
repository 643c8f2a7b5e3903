//! `cargo xtask valgrind`: the core and thread-pool tests under valgrind's memcheck.
//!
//! The unsafe code of cfutures lives in the future's shared state (`cfutures-core`) and the
//! thread pool's scheduler (`cfutures-thread`); their tests exercise it from many threads.
//! Memcheck catches what those tests cannot see: reads of freed or uninitialised memory,
//! invalid frees. Leaks are not checked (`--leak-check=no`): the test harness and
//! `std`'s thread-local destructors keep allocations alive at exit by design, and leak
//! freedom is asserted by the crates' own tests (drop counters), not here.
//!
//! 1. `cargo test --no-run --message-format=json` builds the test executables and names them.
//! 2. Each runs under `valgrind --tool=memcheck --error-exitcode=1`, one test at a time
//!    (`--test-threads=1`: memcheck serialises threads anyway, and the output of a failing
//!    test stays readable). Loom model binaries are skipped: without `--cfg loom` they are
//!    empty, and loom checks those protocols exhaustively elsewhere.
//! 3. Any memcheck error (or failing test) fails the command.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

const USAGE: &str = "\
usage: cargo xtask valgrind [-p PACKAGE]... [-- TEST-ARGS...]
  Runs the test executables of the packages (default: cfutures-core and cfutures-thread)
  under valgrind memcheck; fails on any memcheck error or failing test. TEST-ARGS go to
  every test harness (e.g. a name filter).";

/// The packages whose tests run under memcheck by default.
const DEFAULT_PACKAGES: [&str; 2] = ["cfutures-core", "cfutures-thread"];

/// Runs the command; returns the process exit code.
pub fn run(args: &[String]) -> i32 {
    let (packages, test_args) = match parse(args) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => {
            println!("{USAGE}");
            return 0;
        }
        Err(error) => {
            eprintln!("cargo xtask valgrind: {error}\n\n{USAGE}");
            return 2;
        }
    };
    match run_all(&packages, &test_args) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("cargo xtask valgrind: {error}");
            1
        }
    }
}

type Parsed = (Vec<String>, Vec<String>);

fn parse(args: &[String]) -> Result<Option<Parsed>, String> {
    let mut packages = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "-p" | "--package" => packages.push(
                rest.next()
                    .ok_or_else(|| format!("{arg} needs a package name"))?
                    .clone(),
            ),
            "--" => break,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if packages.is_empty() {
        packages = DEFAULT_PACKAGES.iter().map(|p| p.to_string()).collect();
    }
    Ok(Some((packages, rest.cloned().collect())))
}

fn run_all(packages: &[String], test_args: &[String]) -> Result<(), String> {
    let version = Command::new("valgrind")
        .arg("--version")
        .output()
        .map_err(|e| {
            format!("cannot run valgrind ({e}); install it (Debian: apt-get install valgrind)")
        })?;
    println!(
        "==> {} (memcheck)",
        String::from_utf8_lossy(&version.stdout).trim()
    );
    let executables = build(packages)?;
    if executables.is_empty() {
        return Err("cargo built no test executable".into());
    }
    let started = Instant::now();
    let mut failed = Vec::new();
    for (name, path) in &executables {
        let begun = Instant::now();
        println!("==> {name}: {}", path.display());
        let status = Command::new("valgrind")
            .args([
                "--tool=memcheck",
                "--error-exitcode=97",
                "--leak-check=no",
                "--track-origins=yes",
                "--quiet",
            ])
            .arg(path)
            .arg("--test-threads=1")
            .args(test_args)
            .stdin(Stdio::null())
            .status()
            .map_err(|e| format!("running valgrind: {e}"))?;
        let seconds = begun.elapsed().as_secs_f64();
        match status.code() {
            Some(0) => println!("==> {name}: clean ({seconds:.0} s)"),
            Some(97) => {
                println!("==> {name}: MEMCHECK ERRORS ({seconds:.0} s)");
                failed.push(format!("{name} (memcheck errors)"));
            }
            other => {
                println!("==> {name}: tests failed, status {other:?} ({seconds:.0} s)");
                failed.push(format!("{name} (test failures, status {other:?})"));
            }
        }
    }
    let total = started.elapsed().as_secs_f64();
    if failed.is_empty() {
        println!(
            "\nvalgrind: {} test executables clean in {total:.0} s",
            executables.len()
        );
        Ok(())
    } else {
        Err(format!(
            "{} of {} test executables failed under memcheck ({total:.0} s): {}",
            failed.len(),
            executables.len(),
            failed.join(", ")
        ))
    }
}

/// Builds the test executables of `packages`; returns (target name, path) of each, loom
/// models excluded.
fn build(packages: &[String]) -> Result<Vec<(String, PathBuf)>, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(["test", "--no-run", "--message-format=json", "--tests"]);
    for package in packages {
        command.args(["-p", package]);
    }
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("running cargo: {e}"))?;
    if !output.status.success() {
        return Err("building the tests failed".into());
    }
    let mut executables = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        if !line.contains(r#""reason":"compiler-artifact""#) {
            continue;
        }
        let (Some(path), Some(name)) = (
            json_string_field(line, "executable"),
            json_string_field(line, "name"),
        ) else {
            continue;
        };
        if name.contains("loom") {
            continue;
        }
        let label = match json_string_field(line, "package_id") {
            Some(id) if !id.is_empty() => format!("{}/{name}", package_of(&id)),
            _ => name,
        };
        executables.push((label, PathBuf::from(path)));
    }
    executables.sort();
    executables.dedup();
    Ok(executables)
}

/// The package name inside a cargo package id (`path+file:///…/crates/x#name@0.1.0` or
/// `name 0.1.0 (…)`).
fn package_of(id: &str) -> String {
    let tail = id.rsplit('#').next().unwrap_or(id);
    let tail = tail.split(['@', ' ']).next().unwrap_or(tail);
    tail.rsplit('/').next().unwrap_or(tail).to_owned()
}

/// The first string value of `"field":` in one line of JSON; `None` if absent or `null`.
///
/// Cargo's messages are flat enough for this, and it spares the xtask a JSON dependency.
/// The first `"name"` of an artifact message is the target's (it precedes the nested ones).
fn json_string_field(line: &str, field: &str) -> Option<String> {
    let key = format!("\"{field}\":");
    let start = line.find(&key)? + key.len();
    let rest = line[start..].trim_start();
    let mut chars = rest.strip_prefix('"')?.chars();
    let mut value = String::new();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(value),
            '\\' => match chars.next()? {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    value.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_string_fields_of_cargo_messages() {
        let line = r#"{"reason":"compiler-artifact","package_id":"path+file:///w/crates/futures-core#cfutures-core@0.1.0","target":{"kind":["test"],"name":"test_future"},"executable":"/w/target/debug/deps/test_future-1a2b","fresh":true}"#;
        assert_eq!(
            json_string_field(line, "executable").as_deref(),
            Some("/w/target/debug/deps/test_future-1a2b")
        );
        assert_eq!(
            json_string_field(line, "name").as_deref(),
            Some("test_future")
        );
        assert_eq!(
            package_of(&json_string_field(line, "package_id").unwrap()),
            "cfutures-core"
        );
        let none = r#"{"reason":"compiler-artifact","executable":null}"#;
        assert_eq!(json_string_field(none, "executable"), None);
        let escaped = r#"{"executable":"/a \"b\"\\c\u0041"}"#;
        assert_eq!(
            json_string_field(escaped, "executable").as_deref(),
            Some(r#"/a "b"\cA"#)
        );
        assert_eq!(
            package_of("cfutures-thread 0.1.0 (path+file:///w)"),
            "cfutures-thread"
        );
    }

    #[test]
    fn parses_packages_and_test_args() {
        let args: Vec<String> = ["-p", "x", "--", "--exact", "t"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (packages, rest) = parse(&args).unwrap().unwrap();
        assert_eq!(packages, ["x"]);
        assert_eq!(rest, ["--exact", "t"]);
        let (packages, rest) = parse(&[]).unwrap().unwrap();
        assert_eq!(packages, DEFAULT_PACKAGES);
        assert!(rest.is_empty());
        assert!(parse(&["--bogus".to_string()]).is_err());
    }
}
