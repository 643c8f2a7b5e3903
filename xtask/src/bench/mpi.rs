//! The MPI rows X1-X4 (issue 14): cfutures-mpi (`crates/pool-mpi/examples/mpi_bench.rs`)
//! beside mpi4py.futures (`benches/mpi_baseline.py`), each an `mpirun --oversubscribe -n 3`
//! job (rank 0 and two worker ranks) on the same Open MPI.
//!
//! - Without `mpirun` every MPI cell says so and the rest of the bench runs.
//! - The Python peer runs in a virtual environment, `target/xtask-bench/venv`, made here with
//!   `pip install mpi4py` (built against the system MPI) and reused while it imports
//!   `mpi4py.futures`; if that fails its cells say "mpi4py missing (why)".
//! - X4, the idle CPU per rank: each job ends with an executor alive and idle, rank 0 blocked
//!   on stdin after printing `IDLE`; meanwhile this module reads each rank's CPU time from
//!   `/proc/<pid>/stat` over a window, then closes the job's stdin to end it.
//!
//! The jobs write their records to `raw/mpi.json` (cfutures and sequential) and
//! `raw/mpi4py.json`; the X4 records are added to them here.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, ErrorKind};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::record::Record;
use super::run::{self, Build, Progress, TargetKind};
use super::spec::{MPI_PEER, MPI_SCENARIOS, SUBJECT};
use super::{Options, Paths};

/// Ranks per job: rank 0 and two workers, on the two cores (hence `--oversubscribe`).
pub const RANKS: usize = 3;

/// The cfutures side: an example of `cfutures-mpi` with its `mpi` feature.
const BENCH: Build<'static> = Build {
    package: "cfutures-mpi",
    features: &["mpi"],
    kind: TargetKind::Example,
    targets: &["mpi_bench"],
};

/// The implementations of the MPI rows; `sequential` comes from the cfutures job.
const IMPLS: &[&str] = &[SUBJECT, "sequential", MPI_PEER];

/// The (scenario, impl) cells the jobs produce.
fn cells() -> impl Iterator<Item = (&'static str, &'static str)> {
    MPI_SCENARIOS.iter().flat_map(|scenario| {
        IMPLS
            .iter()
            .filter(move |i| **i != "sequential" || *scenario == "X3")
            .map(move |i| (*scenario, *i))
    })
}

/// The cells `--filter` selects, of these implementations.
fn selected(options: &Options, impls: &[&str]) -> Vec<(&'static str, &'static str)> {
    cells()
        .filter(|(s, i)| impls.contains(i) && options.selects(s, i))
        .collect()
}

/// How many results the MPI jobs will report (for the progress display).
pub fn count(options: &Options) -> usize {
    selected(options, IMPLS).len()
}

/// Runs the selected MPI jobs, saving their records in `raw/`; returns what failed.
pub fn measure(options: &Options, paths: &Paths, progress: &mut Progress) -> Vec<String> {
    let ours = selected(options, &[SUBJECT, "sequential"]);
    let peer = selected(options, &[MPI_PEER]);
    if ours.is_empty() && peer.is_empty() {
        return Vec::new();
    }
    let out_ours = paths.raw().join("mpi.json");
    let out_peer = paths.raw().join("mpi4py.json");
    if let Err(why) = mpirun_version() {
        eprintln!("MPI rows: {why}");
        let mut failures = Vec::new();
        for (cells, out) in [(&ours, &out_ours), (&peer, &out_peer)] {
            if let Err(e) = save_notes(out, cells, &why) {
                failures.push(e);
            }
        }
        return failures;
    }
    let mut failures = Vec::new();
    if !ours.is_empty() {
        eprintln!("==> building the MPI benchmark (cfutures-mpi, feature mpi)");
        let job = run::build(paths, &BENCH).map(|exes| Job {
            program: vec![exes[0].1.display().to_string()],
            out: out_ours.clone(),
            implementation: SUBJECT,
        });
        if let Err(e) = job.and_then(|job| job.run(paths, options, &ours, progress)) {
            eprintln!("MPI rows (cfutures): {e}");
            failures.push(e.clone());
            let _ = save_notes(&out_ours, &ours, &format!("failed: {e}"));
        }
    }
    if !peer.is_empty() {
        let job = match venv_python(paths) {
            Ok(python) => Job {
                program: vec![
                    python.display().to_string(),
                    "-m".into(),
                    "mpi4py.futures".into(),
                    paths
                        .root
                        .join("benches/mpi_baseline.py")
                        .display()
                        .to_string(),
                ],
                out: out_peer.clone(),
                implementation: MPI_PEER,
            },
            Err(why) => {
                let why = format!("mpi4py missing ({why})");
                eprintln!("MPI rows: {why}");
                if let Err(e) = save_notes(&out_peer, &peer, &why) {
                    failures.push(e);
                }
                return failures;
            }
        };
        if let Err(e) = job.run(paths, options, &peer, progress) {
            eprintln!("MPI rows (mpi4py): {e}");
            failures.push(e.clone());
            let _ = save_notes(&out_peer, &peer, &format!("failed: {e}"));
        }
    }
    failures
}

/// `mpirun --version`, or why there is no MPI.
fn mpirun_version() -> Result<String, String> {
    match Command::new("mpirun").arg("--version").output() {
        Ok(output) if output.status.success() => Ok(String::from_utf8_lossy(&output.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .to_owned()),
        Ok(output) => Err(format!("MPI missing (mpirun --version: {})", output.status)),
        Err(e) if e.kind() == ErrorKind::NotFound => Err("MPI missing (no mpirun)".into()),
        Err(e) => Err(format!("MPI missing (mpirun: {e})")),
    }
}

/// Records with only `note` for these cells, saved to `out`.
fn save_notes(out: &Path, cells: &[(&str, &str)], note: &str) -> Result<(), String> {
    let records: Vec<Record> = cells
        .iter()
        .map(|(s, i)| Record::note(s, i, note))
        .collect();
    save(out, &records)
}

fn save(out: &Path, records: &[Record]) -> Result<(), String> {
    super::write(
        out,
        &serde_json::to_string_pretty(records).expect("plain data"),
    )
}

/// The virtual environment's python with mpi4py, made (`python3 -m venv`, `pip install
/// mpi4py`) when it is missing or broken; or why it cannot be.
fn venv_python(paths: &Paths) -> Result<PathBuf, String> {
    let venv = paths.out.join("venv");
    let python = venv.join("bin/python");
    let imports = |python: &Path| {
        Command::new(python)
            .args(["-c", "import mpi4py.futures"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if imports(&python) {
        return Ok(python);
    }
    eprintln!(
        "==> preparing mpi4py: python3 -m venv {} && pip install mpi4py",
        venv.display()
    );
    let step = |command: &mut Command, what: &str| -> Result<(), String> {
        let output = command.output().map_err(|e| format!("{what}: {e}"))?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        Err(format!("{what} failed: {}", last.trim()))
    };
    step(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "python3 -m venv",
    )?;
    step(
        Command::new(&python).args(["-m", "pip", "install", "--quiet", "mpi4py"]),
        "pip install mpi4py",
    )?;
    if imports(&python) {
        Ok(python)
    } else {
        Err("mpi4py.futures does not import after pip install".into())
    }
}

/// One `mpirun` job: its program (rank 0 and the workers run the same), where it writes its
/// records, and whose they are.
struct Job {
    program: Vec<String>,
    out: PathBuf,
    implementation: &'static str,
}

/// How long a job may take before it is ended: a hung job must not hang the bench.
fn deadline(quick: bool) -> Duration {
    Duration::from_secs(if quick { 240 } else { 600 })
}

/// The CPU sampling window of X4, after a settling pause.
fn idle_window(quick: bool) -> (Duration, Duration) {
    (
        Duration::from_millis(500),
        Duration::from_secs(if quick { 2 } else { 4 }),
    )
}

impl Job {
    fn run(
        &self,
        paths: &Paths,
        options: &Options,
        cells: &[(&str, &str)],
        progress: &mut Progress,
    ) -> Result<(), String> {
        let _ = fs::remove_file(&self.out);
        let idle = cells.iter().any(|(s, _)| s.starts_with("X4"));
        let mut command = Command::new("mpirun");
        command
            .current_dir(&paths.root)
            .args(["--oversubscribe", "-n", &RANKS.to_string()])
            .args(&self.program)
            .arg("--out")
            .arg(&self.out);
        if options.quick {
            command.arg("--quick");
        }
        if let Some(filter) = &options.filter {
            command.args(["--filter", filter]);
        }
        if idle {
            command.arg("--idle");
        }
        if running_as_root() {
            command.envs([
                ("OMPI_ALLOW_RUN_AS_ROOT", "1"),
                ("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1"),
            ]);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("running mpirun: {e}"))?;
        let watchdog = Watchdog::start(&child, deadline(options.quick));
        let mut stdin = child.stdin.take();
        let mut idle_cpu = None;
        let stdout = child.stdout.take().expect("piped");
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line == "IDLE" {
                idle_cpu = Some(idle_shares(child.id(), options.quick));
                // EOF on its stdin ends the idle phase of rank 0.
                stdin = None;
            } else {
                run::forward_line(&line, progress);
            }
        }
        drop(stdin);
        let status = child
            .wait()
            .map_err(|e| format!("waiting for mpirun: {e}"))?;
        let timed_out = watchdog.stop();
        if timed_out {
            return Err(format!(
                "the mpirun job exceeded {} s and was ended",
                deadline(options.quick).as_secs()
            ));
        }
        if !status.success() {
            return Err(format!("the mpirun job failed ({status})"));
        }
        let mut records = run::read_records(&self.out)?;
        if idle {
            let shares = idle_cpu.ok_or("the job never reached its idle phase")??;
            records.extend(self.idle_records(cells, &shares, progress));
        }
        save(&self.out, &records)
    }

    /// X4 from the ranks' CPU shares: the busiest worker, and rank 0.
    fn idle_records(
        &self,
        cells: &[(&str, &str)],
        shares: &BTreeMap<usize, f64>,
        progress: &mut Progress,
    ) -> Vec<Record> {
        let listing: Vec<String> = shares
            .iter()
            .map(|(rank, share)| format!("rank {rank}: {:.2} %", share * 100.0))
            .collect();
        let note = listing.join(", ");
        let worker = shares
            .iter()
            .filter(|(rank, _)| **rank != 0)
            .map(|(_, share)| *share)
            .fold(None, |max: Option<f64>, s| {
                Some(max.map_or(s, |m| m.max(s)))
            });
        let mut records = Vec::new();
        for (scenario, share) in [("X4/worker", worker), ("X4/rank0", shares.get(&0).copied())] {
            if !cells.contains(&(scenario, self.implementation)) {
                continue;
            }
            let key = format!("{scenario}/{}", self.implementation);
            match share {
                Some(share) => {
                    progress.finished(&key, &format!("{:.2} % of a core ({note})", share * 100.0));
                    records.push(Record {
                        fraction: Some(share),
                        note: Some(note.clone()),
                        ..Record::note(scenario, self.implementation, "")
                    });
                }
                None => {
                    progress.finished(&key, "no such rank found");
                    records.push(Record::note(
                        scenario,
                        self.implementation,
                        "rank not found",
                    ));
                }
            }
        }
        records
    }
}

/// Ends `mpirun` (SIGTERM, which makes it end every rank) if it outlives a deadline.
struct Watchdog {
    done: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<bool>,
}

impl Watchdog {
    fn start(child: &Child, deadline: Duration) -> Watchdog {
        let pid = child.id().to_string();
        let (done, finished) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            if finished.recv_timeout(deadline) == Err(mpsc::RecvTimeoutError::Timeout) {
                let _ = Command::new("kill").args(["-TERM", &pid]).status();
                true
            } else {
                false
            }
        });
        Watchdog { done, thread }
    }

    /// Stops watching; true if the deadline had passed and the job was ended.
    fn stop(self) -> bool {
        let _ = self.done.send(());
        self.thread.join().unwrap_or(false)
    }
}

fn running_as_root() -> bool {
    fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().next())
            == Some("0")
    })
}

/// Clock ticks per second of `/proc/<pid>/stat` times: `USER_HZ`, 100 in Linux's ABI.
const TICKS_PER_SECOND: f64 = 100.0;

/// Each rank's share of one core over the idle window: ranks are `mpirun`'s children, known
/// by `OMPI_COMM_WORLD_RANK` in their environment.
fn idle_shares(mpirun: u32, quick: bool) -> Result<BTreeMap<usize, f64>, String> {
    let (settle, window) = idle_window(quick);
    std::thread::sleep(settle);
    let ranks = ranks_of(mpirun)?;
    if ranks.len() != RANKS {
        return Err(format!(
            "found {} ranks under mpirun (pid {mpirun}), not {RANKS}",
            ranks.len()
        ));
    }
    let before: Vec<Option<u64>> = ranks.iter().map(|(_, pid)| cpu_ticks(*pid)).collect();
    let began = Instant::now();
    std::thread::sleep(window);
    let after: Vec<Option<u64>> = ranks.iter().map(|(_, pid)| cpu_ticks(*pid)).collect();
    let seconds = began.elapsed().as_secs_f64();
    let mut shares = BTreeMap::new();
    for (((rank, pid), before), after) in ranks.iter().zip(before).zip(after) {
        let (Some(before), Some(after)) = (before, after) else {
            return Err(format!("rank {rank} (pid {pid}) vanished while idle"));
        };
        shares.insert(*rank, (after - before) as f64 / TICKS_PER_SECOND / seconds);
    }
    Ok(shares)
}

/// (rank, pid) of every child of `parent` that is an MPI rank.
fn ranks_of(parent: u32) -> Result<Vec<(usize, u32)>, String> {
    let mut ranks = Vec::new();
    let entries = fs::read_dir("/proc").map_err(|e| format!("reading /proc: {e}"))?;
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Some(stat) = fs::read_to_string(entry.path().join("stat")).ok() else {
            continue;
        };
        if stat_fields(&stat).and_then(|f| f.get(1)?.parse::<u32>().ok()) != Some(parent) {
            continue;
        }
        let environ = fs::read(entry.path().join("environ")).unwrap_or_default();
        let rank = environ
            .split(|b| *b == 0)
            .filter_map(|var| std::str::from_utf8(var).ok())
            .find_map(|var| var.strip_prefix("OMPI_COMM_WORLD_RANK="))
            .and_then(|r| r.parse::<usize>().ok());
        if let Some(rank) = rank {
            ranks.push((rank, pid));
        }
    }
    ranks.sort_unstable();
    Ok(ranks)
}

/// The fields of `/proc/<pid>/stat` after the command name (which may hold spaces and
/// parentheses, hence the last `)`): state, ppid, ...
fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().collect())
}

/// utime + stime of a process (all its threads), in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields = stat_fields(&stat)?;
    // Fields 14 and 15 of proc(5), counted from 1 with the pid and name as 1 and 2.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_survive_odd_command_names() {
        let stat = "4242 (a (b) c) S 17 4242 4242 0 -1 4194304 100 0 0 0 250 30 0 0 20 0 3";
        let fields = stat_fields(stat).unwrap();
        assert_eq!(fields[0], "S");
        assert_eq!(fields[1], "17");
        assert_eq!((fields[11], fields[12]), ("250", "30"));
    }

    #[test]
    fn this_process_has_cpu_time_and_a_parent() {
        let pid = std::process::id();
        let burn = Instant::now();
        while burn.elapsed() < Duration::from_millis(30) {
            std::hint::black_box(0u64);
        }
        assert!(cpu_ticks(pid).is_some());
        let parent = stat_fields(&fs::read_to_string("/proc/self/stat").unwrap())
            .and_then(|f| f[1].parse::<u32>().ok())
            .unwrap();
        assert!(parent > 0);
        assert!(ranks_of(parent).unwrap().is_empty(), "not an MPI job");
    }

    #[test]
    fn cells_pair_every_mpi_scenario_with_both_sides_and_sequential_only_in_x3() {
        let all: Vec<_> = cells().collect();
        assert_eq!(all.len(), MPI_SCENARIOS.len() * 2 + 1);
        assert!(all.contains(&("X3", "sequential")));
        assert!(
            all.iter()
                .all(|(s, _)| crate::bench::spec::MPI_SCENARIOS.contains(s))
        );
        let options = Options {
            filter: Some("X4".into()),
            ..Options::default()
        };
        assert_eq!(count(&options), 4);
    }
}
