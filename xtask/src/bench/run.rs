//! Running the measurements: the bench executables cargo built, python3 for the CPython baseline,
//! with a progress line per benchmark.

use std::io::{BufRead, BufReader, ErrorKind};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use super::Paths;
use super::record::Record;

/// Counts finished benchmarks and the time since the run started.
pub struct Progress {
    done: usize,
    total: usize,
    started: Instant,
}

impl Progress {
    /// A progress display for `total` benchmarks.
    pub fn new(total: usize) -> Progress {
        Progress {
            done: 0,
            total,
            started: Instant::now(),
        }
    }

    /// Prints that a benchmark finished, with its result summary.
    pub fn finished(&mut self, name: &str, summary: &str) {
        self.done += 1;
        let elapsed = self.started.elapsed().as_secs();
        eprintln!(
            "[{:>2}/{:<2} {:>2}:{:02}] {name:<34} {summary}",
            self.done,
            self.total,
            elapsed / 60,
            elapsed % 60
        );
    }

    /// Seconds since the start.
    pub fn elapsed_secs(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// The bench executables, by target name.
pub type Executables = Vec<(String, PathBuf)>;

/// What to build: targets of one kind of one package, with its features.
pub struct Build<'a> {
    /// `-p <package>`.
    pub package: &'a str,
    /// `--features <a,b>`; empty for the default features.
    pub features: &'a [&'a str],
    /// Bench targets (`cargo bench --no-run`) or examples (`cargo build --release`).
    pub kind: TargetKind,
    /// The target names.
    pub targets: &'a [&'a str],
}

/// The kind of the targets of a [`Build`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    /// `[[bench]]` targets, built as `cargo bench` builds them.
    Bench,
    /// `[[example]]` targets, built in release mode.
    Example,
}

impl TargetKind {
    /// Cargo's name of the kind: the `--bench`/`--example` flag and the JSON `kind`.
    fn name(self) -> &'static str {
        match self {
            TargetKind::Bench => "bench",
            TargetKind::Example => "example",
        }
    }
}

/// The bench targets of the `cfutures` package.
pub fn cfutures_benches<'a>(targets: &'a [&'a str]) -> Build<'a> {
    Build {
        package: "cfutures",
        features: &[],
        kind: TargetKind::Bench,
        targets,
    }
}

/// One cargo build of these targets before any timing. Returns the executables, which are
/// then run directly: going through `cargo bench` for each would wait for cargo's build lock
/// whenever another cargo command runs.
pub fn build(paths: &Paths, build: &Build<'_>) -> Result<Executables, String> {
    let kind = build.kind.name();
    let mut command = cargo();
    command.current_dir(&paths.root);
    match build.kind {
        TargetKind::Bench => command.args(["bench", "--no-run"]),
        TargetKind::Example => command.args(["build", "--release"]),
    };
    command.args([
        "-p",
        build.package,
        "--message-format=json-render-diagnostics",
    ]);
    if !build.features.is_empty() {
        command.args(["--features", &build.features.join(",")]);
    }
    for target in build.targets {
        command.arg(format!("--{kind}")).arg(target);
    }
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("running cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "building the {kind}s {} failed ({})",
            build.targets.join(", "),
            output.status
        ));
    }
    let mut executables = Executables::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let kind_matches = message["target"]["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == kind));
        if let (true, Some(name), Some(exe)) = (
            kind_matches,
            message["target"]["name"].as_str(),
            message["executable"].as_str(),
        ) && build.targets.contains(&name)
        {
            executables.push((name.to_owned(), PathBuf::from(exe)));
        }
    }
    for target in build.targets {
        if !executables.iter().any(|(name, _)| name == target) {
            return Err(format!(
                "cargo built no executable for the `{target}` {kind}"
            ));
        }
    }
    Ok(executables)
}

/// `<bench executable> --bench <args>` with the benchmarks' environment, as `cargo bench`
/// would run it.
fn bench_command(paths: &Paths, exe: &Path, target: &str, args: &[String], quick: bool) -> Command {
    let mut command = Command::new(exe);
    command
        .current_dir(&paths.root)
        .arg("--bench")
        .args(args)
        .env("CRITERION_HOME", paths.criterion_home())
        .env(
            "XTASK_BENCH_OUT",
            paths.raw().join(format!("{target}.json")),
        );
    if quick {
        command.env("CFUTURES_BENCH_QUICK", "1");
    }
    command
}

/// The benchmarks of `target` that `filter` (a regex) selects: `--list` (criterion's, or a
/// plain target's own, in the same form).
pub fn list(
    paths: &Paths,
    exe: &Path,
    target: &str,
    filter: &[String],
) -> Result<Vec<String>, String> {
    let mut args = filter.to_vec();
    args.push("--list".into());
    let output = bench_command(paths, exe, target, &args, false)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("running {}: {e}", exe.display()))?;
    if !output.status.success() {
        return Err(format!("listing the `{target}` benchmarks failed"));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.strip_suffix(": benchmark"))
        .map(str::to_owned)
        .collect())
}

/// Runs the criterion benchmarks of `target`, reporting each as it finishes.
pub fn criterion(
    paths: &Paths,
    exe: &Path,
    target: &str,
    args: &[String],
    quick: bool,
    progress: &mut Progress,
) -> Result<(), String> {
    let mut child = bench_command(paths, exe, target, args, quick)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("running {}: {e}", exe.display()))?;
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    // Criterion reports its phases (`Benchmarking <id>: Warming up`...) on stderr: the
    // progress line replaces them. It also warns when the short windows chosen for two
    // cores cannot hold its samples (it then measures longer, as intended): dropped too.
    let stderr = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let noise = line.is_empty()
                || line.starts_with("Benchmarking ")
                || line.starts_with("Warning: Unable to complete");
            if !noise {
                eprintln!("{line}");
            }
        }
    });
    let mut current: Option<String> = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| format!("reading the `{target}` output: {e}"))?;
        // Criterion prints `<id>  time: [low median high]`, the id alone on the line
        // before when it is long; the lines after it (`thrpt:`, outliers) are indented.
        if let Some((head, tail)) = line.split_once("time:") {
            let head = head.trim();
            let name = if head.is_empty() {
                current.clone().unwrap_or_default()
            } else {
                head.to_owned()
            };
            progress.finished(&name, tail.trim());
        } else if !line.is_empty() && !line.starts_with(char::is_whitespace) {
            current = Some(line.trim().to_owned());
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for {target}: {e}"))?;
    let _ = stderr.join();
    if !status.success() {
        return Err(format!("the `{target}` benchmarks failed ({status})"));
    }
    Ok(())
}

/// Runs a plain bench binary that writes its records to `XTASK_BENCH_OUT`, passing its
/// `RESULT <name> <summary>` lines to the progress display; returns its records.
pub fn plain(
    paths: &Paths,
    exe: &Path,
    target: &str,
    args: &[String],
    quick: bool,
    progress: &mut Progress,
) -> Result<Vec<Record>, String> {
    let out = paths.raw().join(format!("{target}.json"));
    let _ = std::fs::remove_file(&out);
    let mut child = bench_command(paths, exe, target, args, quick)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("running {}: {e}", exe.display()))?;
    forward_results(child.stdout.take().expect("piped"), progress);
    let status = child
        .wait()
        .map_err(|e| format!("waiting for {target}: {e}"))?;
    if !status.success() {
        return Err(format!("the `{target}` benchmark failed ({status})"));
    }
    read_records(&out)
}

fn forward_results(stdout: impl std::io::Read, progress: &mut Progress) {
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        forward_line(&line, progress);
    }
}

/// One line of a plain bench's output: a `RESULT <name> <summary>` line goes to the progress
/// display, any other line to stdout.
pub fn forward_line(line: &str, progress: &mut Progress) {
    match line.strip_prefix("RESULT ") {
        Some(rest) => {
            let (name, summary) = rest.split_once(' ').unwrap_or((rest, ""));
            progress.finished(name, summary.trim());
        }
        None => println!("{line}"),
    }
}

/// Records saved as a JSON array; a missing file is no records.
pub fn read_records(path: &Path) -> Result<Vec<Record>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            serde_json::from_str(&text).map_err(|e| format!("parsing {}: {e}", path.display()))
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("reading {}: {e}", path.display())),
    }
}

/// What became of the CPython baseline.
pub enum Python {
    /// It ran; its records are saved.
    Ran,
    /// It could not run; every selected scenario's CPython cell says why.
    Missing(String),
}

/// Runs `benches/python_baseline.py`, saving its records to `raw/python.json`.
pub fn python(
    paths: &Paths,
    workers: usize,
    quick: bool,
    filter: Option<&str>,
    progress: &mut Progress,
) -> Python {
    let out = paths.raw().join("python.json");
    let _ = std::fs::remove_file(&out);
    let mut command = Command::new("python3");
    command
        .current_dir(&paths.root)
        .arg(paths.root.join("benches/python_baseline.py"))
        .args(["--workers", &workers.to_string(), "--out"])
        .arg(&out);
    if quick {
        command.arg("--quick");
    }
    if let Some(filter) = filter {
        command.args(["--filter", filter]);
    }
    let mut child = match command.stdout(Stdio::piped()).spawn() {
        Ok(child) => child,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Python::Missing("python3 not found".into());
        }
        Err(e) => return Python::Missing(format!("python3 failed to start: {e}")),
    };
    forward_results(child.stdout.take().expect("piped"), progress);
    match child.wait() {
        Ok(status) if status.success() => Python::Ran,
        Ok(status) => Python::Missing(format!("CPython baseline failed ({status})")),
        Err(e) => Python::Missing(format!("CPython baseline failed: {e}")),
    }
}
