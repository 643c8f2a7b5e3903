//! The catalogue: scenarios (DESIGN.md §4), implementations, bench targets, and the cells that
//! cannot be measured and why.

/// What a scenario's number is, which decides how values and ratios read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Median wall time of one iteration (lower is better).
    Time,
    /// Items per second (higher is better).
    Throughput,
    /// Bytes of resident memory per item (lower is better).
    Memory,
    /// Share of one core's time, a fraction (lower is better).
    CpuShare,
    /// Fraction of the ideal speedup over sequential (higher is better).
    Efficiency,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// The id: criterion's group name, the Python script's `scenario`.
    pub id: &'static str,
    /// How it is measured.
    pub measure: Measure,
    /// One line for the report.
    pub what: &'static str,
    /// Whether `benches/python_baseline.py` measures it (CPython has no peer of the others).
    pub cpython: bool,
}

/// Every scenario, in table order.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        id: "T1",
        measure: Measure::Time,
        what: "100k empty tasks submitted from outside, then all awaited (one result per task)",
        cpython: true,
    },
    Scenario {
        id: "T2",
        measure: Measure::Time,
        what: "one submit -> result round trip on an idle pool",
        cpython: true,
    },
    Scenario {
        id: "T2/back-to-back",
        measure: Measure::Time,
        what: "submit -> result in a tight loop, all pools alive, implementations in round robin \
               (median over rounds of block time / trips): the trips find the waiter and the \
               workers spinning or asleep as the previous trip left them",
        cpython: false,
    },
    Scenario {
        id: "T3",
        measure: Measure::Time,
        what: "recursive fork-join, a binary tree of depth 14 (16k leaves), waits inside tasks",
        cpython: true,
    },
    Scenario {
        id: "T4",
        measure: Measure::Time,
        what: "is_prime over the seed's six numbers, on the pool (CPU-bound)",
        cpython: true,
    },
    Scenario {
        id: "I1",
        measure: Measure::Time,
        what: "idle after a burst of 10k empty tasks: time from the last result to the end of \
               the last sampling interval (250 µs early on) in which the pool's threads used \
               over 1 % of one core",
        cpython: false,
    },
    Scenario {
        id: "I2",
        measure: Measure::Time,
        what: "the pool's threads' CPU time in the second after a burst's last result",
        cpython: false,
    },
    Scenario {
        id: "P1",
        measure: Measure::Time,
        what: "one empty process task round trip (submit -> result) on a warm pool",
        cpython: true,
    },
    Scenario {
        id: "P2/chunksize=1",
        measure: Measure::Throughput,
        what: "process map of an identity function over 5k integers, chunksize 1",
        cpython: true,
    },
    Scenario {
        id: "P2/chunksize=256",
        measure: Measure::Throughput,
        what: "process map of an identity function over 100k integers, chunksize 256",
        cpython: true,
    },
    Scenario {
        id: "P3",
        measure: Measure::Time,
        what: "the seed's primes program end to end: pool start, map(is_prime), print, shutdown",
        cpython: true,
    },
    Scenario {
        id: "P4",
        measure: Measure::Time,
        what: "a 100 MiB Vec<u8> (CPython: bytes) as one process task's argument and result, \
               round trip on a warm 1-worker pool; floor: 100 MiB through two native pipe hops \
               (head -c 104857600 /dev/zero | cat | cat) in the same run",
        cpython: true,
    },
    Scenario {
        id: "P5",
        measure: Measure::Time,
        what: "a Vec of 1M small serde structs {u32, f64, f64} (CPython: a list of tuples) as one \
               process task's argument and result, round trip on a warm 1-worker pool",
        cpython: true,
    },
    Scenario {
        id: "M1",
        measure: Measure::Memory,
        what: "resident memory per pending task with its handle, 1-worker pool blocked by a gate",
        cpython: true,
    },
    Scenario {
        id: "X1",
        measure: Measure::Time,
        what: "MPI: one no-op task's submit -> result round trip (mpirun -n 3: rank 0 and 2 worker ranks)",
        cpython: false,
    },
    Scenario {
        id: "X2/submit",
        measure: Measure::Throughput,
        what: "MPI: no-op tasks submitted one by one, then all awaited",
        cpython: false,
    },
    Scenario {
        id: "X2/chunksize=256",
        measure: Measure::Throughput,
        what: "MPI: map of a no-op function, chunksize 256",
        cpython: false,
    },
    Scenario {
        id: "X3",
        measure: Measure::Time,
        what: "MPI: the seed's primes inside the job (executor start, map(is_prime), print, shutdown); \
               sequential: the same loop on rank 0 alone, in the same job",
        cpython: false,
    },
    Scenario {
        id: "X3/of-ideal",
        measure: Measure::Efficiency,
        what: "MPI: X3's speedup over sequential in the same run, as a fraction of the ideal (2, the \
               worker ranks; six indivisible tasks, five of them equal, cap it near 0.83)",
        cpython: false,
    },
    Scenario {
        id: "X4/worker",
        measure: Measure::CpuShare,
        what: "MPI: CPU of the busiest idle worker rank, an executor alive and idle, from /proc/<pid>/stat",
        cpython: false,
    },
    Scenario {
        id: "X4/rank0",
        measure: Measure::CpuShare,
        what: "MPI: CPU of rank 0 over the same window, its main thread blocked reading stdin",
        cpython: false,
    },
];

/// The MPI scenarios: measured by `mpirun` jobs, not by the bench targets or the CPython
/// baseline (see `mpi.rs`).
pub const MPI_SCENARIOS: &[&str] = &[
    "X1",
    "X2/submit",
    "X2/chunksize=256",
    "X3",
    "X3/of-ideal",
    "X4/worker",
    "X4/rank0",
];

/// The peer of the MPI scenarios.
pub const MPI_PEER: &str = "mpi4py";

/// The subject of the comparison.
pub const SUBJECT: &str = "cfutures";

/// The peers, in column order: (impl id, column title).
pub const PEERS: &[(&str, &str)] = &[
    ("floor", "floor"),
    ("sequential", "sequential"),
    ("rayon", "rayon"),
    ("rayon+oneshot", "rayon+oneshot"),
    ("chili", "chili"),
    ("threadpool", "threadpool"),
    ("tokio", "tokio"),
    ("cpython", "CPython"),
    ("procspawn", "procspawn"),
    ("mpi4py", "mpi4py.futures"),
];

/// A criterion bench target of the `cfutures` package and the scenarios it measures.
#[derive(Debug, Clone, Copy)]
pub struct BenchTarget {
    /// `cargo bench --bench <name>`.
    pub name: &'static str,
    /// Scenario ids it has benchmarks for.
    pub scenarios: &'static [&'static str],
    /// Criterion-driven (`true`), or a plain binary writing its own records (`false`; it lists
    /// its benchmarks under `--list` as criterion does, see `benches/common/plain.rs`).
    pub criterion: bool,
}

/// The bench targets, in run order.
pub const TARGETS: &[BenchTarget] = &[
    BenchTarget {
        name: "core",
        scenarios: &["T1", "T2"],
        criterion: true,
    },
    BenchTarget {
        name: "thread",
        scenarios: &["T1", "T2", "T3", "T4"],
        criterion: true,
    },
    BenchTarget {
        name: "latency",
        scenarios: &["T2/back-to-back", "I1", "I2"],
        criterion: false,
    },
    BenchTarget {
        name: "process",
        scenarios: &["P1", "P2/chunksize=1", "P2/chunksize=256", "P3", "P4", "P5"],
        criterion: true,
    },
    BenchTarget {
        name: "memory",
        scenarios: &["M1"],
        criterion: false,
    },
];

/// Cells with no measurement by design, and why: (scenario, impl, note).
pub const NOT_MEASURED: &[(&str, &str, &str)] = &[
    ("T3", "threadpool", "n/a (nested waits deadlock)"),
    (
        "T3",
        "tokio",
        "n/a (nested blocking waits deadlock a capped blocking pool)",
    ),
];

/// The scenario with this id.
pub fn scenario(id: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_scenario_is_in_the_catalogue() {
        for target in TARGETS {
            for id in target.scenarios {
                assert!(scenario(id).is_some(), "{} lists unknown {id}", target.name);
            }
        }
        for (id, implementation, _) in NOT_MEASURED {
            assert!(scenario(id).is_some(), "{id}");
            assert!(
                PEERS.iter().any(|(p, _)| p == implementation),
                "{implementation}"
            );
        }
    }

    #[test]
    fn cpython_flags_match_the_python_script() {
        let script = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/python_baseline.py"),
        )
        .unwrap();
        let table = script
            .split("\nSCENARIOS = [\n")
            .nth(1)
            .and_then(|rest| rest.split("\n]").next())
            .expect("the script's SCENARIOS table");
        let in_script: Vec<&str> = table
            .lines()
            .filter_map(|line| line.trim().strip_prefix("(\"")?.split('"').next())
            .collect();
        let flagged: Vec<&str> = SCENARIOS
            .iter()
            .filter(|s| s.cpython)
            .map(|s| s.id)
            .collect();
        assert_eq!(flagged, in_script);
    }

    #[test]
    fn mpi_scenarios_are_in_the_catalogue_and_in_no_target() {
        for id in MPI_SCENARIOS {
            assert!(scenario(id).is_some(), "{id}");
            assert!(TARGETS.iter().all(|t| !t.scenarios.contains(id)), "{id}");
        }
        assert!(PEERS.iter().any(|(p, _)| *p == MPI_PEER));
    }

    #[test]
    fn scenario_ids_are_unique() {
        for (i, a) in SCENARIOS.iter().enumerate() {
            assert!(SCENARIOS[i + 1..].iter().all(|b| b.id != a.id), "{}", a.id);
        }
    }
}
