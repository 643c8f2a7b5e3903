//! `cargo xtask bench`: measure, collect, compare, report.
//!
//! 1. One build of the bench targets of the `cfutures` package (`cargo bench --no-run`);
//!    the executables are then run directly, as `cargo bench` runs them.
//! 2. The criterion targets (`core`, `thread`, `process`), writing their results to
//!    `target/xtask-bench/criterion` (`CRITERION_HOME`), emptied first so that only this
//!    run's numbers are read; the plain targets `memory` (M1) and `latency` (T2 back to
//!    back, I1, I2) and `benches/python_baseline.py` write records to `target/xtask-bench/raw/`,
//!    and so do the MPI jobs (X1-X4, `mpi.rs`): cfutures-mpi and mpi4py.futures under `mpirun`.
//! 3. The medians become records, ratios are taken against cfutures in each scenario, and
//!    the table is printed and written (`report.md`, `report.json`, `ratios.svg`, and
//!    `ratios.png` when `rsvg-convert` is installed).

mod criterion;
mod machine;
mod mpi;
mod options;
mod plot;
mod record;
mod report;
mod run;
mod spec;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

pub use options::Options;

use machine::Machine;
use record::Record;
use spec::BenchTarget;

/// Where things are.
pub struct Paths {
    /// The workspace root.
    pub root: PathBuf,
    /// `target/xtask-bench`.
    pub out: PathBuf,
}

impl Paths {
    fn discover() -> Result<Paths, String> {
        let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(["metadata", "--no-deps", "--format-version", "1"])
            .output()
            .map_err(|e| format!("running cargo metadata: {e}"))?;
        if !output.status.success() {
            return Err("cargo metadata failed".into());
        }
        let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
            .map_err(|e| format!("parsing cargo metadata: {e}"))?;
        let field = |name: &str| {
            metadata[name]
                .as_str()
                .map(PathBuf::from)
                .ok_or_else(|| format!("cargo metadata has no {name}"))
        };
        Ok(Paths {
            root: field("workspace_root")?,
            out: field("target_directory")?.join("xtask-bench"),
        })
    }

    /// Criterion's output directory for our runs.
    pub fn criterion_home(&self) -> PathBuf {
        self.out.join("criterion")
    }

    /// Records written by the plain benches and the Python script, and the machine.
    pub fn raw(&self) -> PathBuf {
        self.out.join("raw")
    }
}

/// Runs `cargo xtask bench`.
pub fn run(options: &Options) -> Result<(), String> {
    let paths = Paths::discover()?;
    let (machine, failures) = if options.report_only {
        (load_machine(&paths)?, Vec::new())
    } else {
        measure(options, &paths)?
    };
    let mut records = collect(options, &paths)?;
    record::compute_ratios(&mut records);
    record::sort(&mut records);
    if records.is_empty() && failures.is_empty() {
        return Err(match &options.filter {
            Some(filter) => format!("no benchmark matches --filter {filter:?}"),
            None => "no results".into(),
        });
    }

    println!("\n{}\n", machine.summary());
    print!("{}", report::text_table(&records));
    println!("\n{}", report::LEGEND);

    write(
        &paths.out.join("report.md"),
        &report::markdown(&machine, &records),
    )?;
    write(
        &paths.out.join("report.json"),
        &report::json(&machine, &records),
    )?;
    println!("\nwrote {}", paths.out.join("report.md").display());
    println!("wrote {}", paths.out.join("report.json").display());
    let svg_path = paths.out.join("ratios.svg");
    let png_path = paths.out.join("ratios.png");
    // A plot left from an earlier run would not match this report.
    let _ = fs::remove_file(&svg_path);
    let _ = fs::remove_file(&png_path);
    if let Some(svg) = plot::svg(&records, &machine.short()) {
        write(&svg_path, &svg)?;
        println!("wrote {}", svg_path.display());
        let converted = Command::new("rsvg-convert")
            .arg("-o")
            .arg(&png_path)
            .arg(&svg_path)
            .status();
        if converted.is_ok_and(|status| status.success()) {
            println!("wrote {}", png_path.display());
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the report lacks what failed: {}",
            failures.join("; ")
        ))
    }
}

/// Measures everything selected; returns the machine and the bench targets that failed.
fn measure(options: &Options, paths: &Paths) -> Result<(Machine, Vec<String>), String> {
    let machine = Machine::probe(options.quick);
    let _ = fs::remove_dir_all(paths.criterion_home());
    let _ = fs::remove_dir_all(paths.raw());
    fs::create_dir_all(paths.raw())
        .map_err(|e| format!("creating {}: {e}", paths.raw().display()))?;
    write(
        &paths.raw().join("machine.json"),
        &serde_json::to_string_pretty(&machine).expect("plain data"),
    )?;

    let targets: Vec<&BenchTarget> = spec::TARGETS
        .iter()
        .filter(|t| {
            options.filter.is_none() || t.scenarios.iter().any(|s| selects_scenario(options, s))
        })
        .collect();
    let names: Vec<&str> = targets.iter().map(|t| t.name).collect();
    let executables = if names.is_empty() {
        run::Executables::new()
    } else {
        eprintln!("==> building the benchmarks ({})", names.join(", "));
        run::build(paths, &run::cfutures_benches(&names))?
    };
    let exe = |name: &str| {
        executables
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, path)| path.clone())
            .expect("built above")
    };
    let filter_args: Vec<String> = options.filter.iter().map(|f| regex_escape(f)).collect();

    // Count first, so progress can say "n of total".
    let mut total = 0;
    for target in &targets {
        total += run::list(paths, &exe(target.name), target.name, &filter_args)?.len();
    }
    let python_count = spec::SCENARIOS
        .iter()
        .filter(|s| s.cpython && options.selects(s.id, "cpython"))
        .count();
    total += python_count;
    total += mpi::count(options);

    eprintln!(
        "==> measuring{} ({total} benchmarks)",
        if options.quick { " (--quick)" } else { "" }
    );
    let mut progress = run::Progress::new(total);
    let mut failures = Vec::new();
    for target in &targets {
        // A failing target is reported at the end; the others still run and report.
        let exe = exe(target.name);
        let ran = if target.criterion {
            run::criterion(
                paths,
                &exe,
                target.name,
                &filter_args,
                options.quick,
                &mut progress,
            )
        } else {
            run::plain(
                paths,
                &exe,
                target.name,
                &filter_args,
                options.quick,
                &mut progress,
            )
            .map(drop)
        };
        if let Err(error) = ran {
            eprintln!("{error}");
            failures.push(error);
        }
    }
    if python_count > 0 {
        let workers = machine::cores();
        let filter = options.filter.as_deref();
        if let run::Python::Missing(why) =
            run::python(paths, workers, options.quick, filter, &mut progress)
        {
            eprintln!("CPython baseline: {why}");
            let records: Vec<Record> = spec::SCENARIOS
                .iter()
                .filter(|s| s.cpython && options.selects(s.id, "cpython"))
                .map(|s| Record::note(s.id, "cpython", why.clone()))
                .collect();
            write(
                &paths.raw().join("python.json"),
                &serde_json::to_string_pretty(&records).expect("plain data"),
            )?;
        }
    }
    failures.extend(mpi::measure(options, paths, &mut progress));
    eprintln!("==> measured in {:.0} s", progress.elapsed_secs());
    Ok((machine, failures))
}

/// True if a Rust bench target has work for `scenario` under the filter (the CPython rows
/// come from the Python script, never from a bench target).
fn selects_scenario(options: &Options, scenario: &str) -> bool {
    std::iter::once(spec::SUBJECT)
        .chain(spec::PEERS.iter().map(|(id, _)| *id))
        .filter(|implementation| *implementation != "cpython")
        .any(|implementation| options.selects(scenario, implementation))
}

fn collect(options: &Options, paths: &Paths) -> Result<Vec<Record>, String> {
    let mut records = criterion::collect(&paths.criterion_home())?;
    for target in spec::TARGETS.iter().filter(|t| !t.criterion) {
        records.extend(run::read_records(
            &paths.raw().join(format!("{}.json", target.name)),
        )?);
    }
    for file in ["python.json", "mpi.json", "mpi4py.json"] {
        records.extend(run::read_records(&paths.raw().join(file))?);
    }
    records.retain(|r| options.selects(&r.scenario, &r.implementation));
    // The cells that cannot be measured say so, in the scenarios this run measured.
    for (scenario, implementation, note) in spec::NOT_MEASURED {
        let measured = records.iter().any(|r| r.scenario == *scenario);
        let present = records
            .iter()
            .any(|r| r.scenario == *scenario && r.implementation == *implementation);
        if measured && !present && options.selects(scenario, implementation) {
            records.push(Record::note(scenario, implementation, *note));
        }
    }
    Ok(records)
}

fn load_machine(paths: &Paths) -> Result<Machine, String> {
    let path = paths.raw().join("machine.json");
    let text = fs::read_to_string(&path)
        .map_err(|e| format!("no previous run to report on ({}: {e})", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("parsing {}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))
}

/// `text` as a regex matching itself: criterion's filter is a regex, ours a substring.
fn regex_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_literal_regexes() {
        assert_eq!(regex_escape("T1"), "T1");
        assert_eq!(regex_escape("P2/chunksize=1"), "P2/chunksize=1");
        assert_eq!(regex_escape("a.b(c)*"), r"a\.b\(c\)\*");
    }
}
