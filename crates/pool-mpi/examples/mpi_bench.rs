//! X1-X4 of issue 14 on `MpiPoolExecutor`: the cfutures side of the MPI rows of
//! `cargo xtask bench` (the mpi4py.futures side is `benches/mpi_baseline.py`, with the same
//! sizes of work where the peer's speed allows and the same command line). By hand:
//!
//! ```text
//! cargo build --release -p cfutures-mpi --features mpi --example mpi_bench
//! mpirun --oversubscribe -n 3 target/release/examples/mpi_bench [--quick] [--filter TEXT] [--idle] [--out FILE]
//! ```
//!
//! - **X1**: one no-op task's submit -> result round trip, one at a time.
//! - **X2/submit**: no-op tasks submitted one by one, then all awaited (tasks per second).
//! - **X2/chunksize=256**: `map` of a no-op function with chunksize 256 (items per second).
//! - **X3**: the seed's primes inside the job: executor start, `map(is_prime)`, print to a
//!   sink, shutdown; `X3/sequential` is the same loop on rank 0 alone, in the same run, and
//!   `X3/of-ideal` the speedup over it as a fraction of the ideal one (the worker ranks).
//! - **X4** (`--idle`): an executor stays alive and idle while rank 0 waits for a line (or
//!   EOF) on stdin, after printing `IDLE`; the xtask meanwhile reads every rank's CPU time
//!   from `/proc/<pid>/stat`.
//!
//! Every figure is the median over repeated rounds. Prints one `RESULT <scenario>/<impl>
//! <summary>` line per figure and, with `--out`, writes the records there as JSON.

use std::hint::black_box;
use std::io::{BufRead, Write};
use std::time::Instant;

use cfutures_core::{Error, Shutdown};
use cfutures_mpi::MpiPoolExecutor;
use cfutures_test_support::{PRIMES, PRIMES_EXPECTED as EXPECTED, is_prime};

fn noop(x: u64) -> u64 {
    x
}

/// The command line.
#[derive(Default)]
struct Options {
    out: Option<String>,
    quick: bool,
    filter: Option<String>,
    idle: bool,
}

impl Options {
    fn parse() -> Options {
        let mut options = Options::default();
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--out" => options.out = args.next(),
                "--quick" => options.quick = true,
                "--filter" => options.filter = args.next(),
                "--idle" => options.idle = true,
                // `cargo bench` style runners pass `--bench`.
                "--bench" => {}
                other => panic!("mpi_bench: unknown argument `{other}`"),
            }
        }
        options
    }

    fn selects(&self, key: &str) -> bool {
        self.filter.as_deref().is_none_or(|f| key.contains(f))
    }
}

/// How much work each scenario gets.
struct Sizes {
    rounds: usize,
    trips: u64,
    submits: u64,
    map_items: u64,
}

impl Sizes {
    fn new(quick: bool) -> Sizes {
        if quick {
            Sizes {
                rounds: 3,
                trips: 500,
                submits: 20_000,
                map_items: 500_000,
            }
        } else {
            Sizes {
                rounds: 7,
                trips: 2_000,
                submits: 100_000,
                map_items: 2_000_000,
            }
        }
    }
}

/// The records measured so far, as JSON objects.
struct Records {
    options: Options,
    json: Vec<String>,
}

impl Records {
    fn selects(&self, scenario: &str, implementation: &str) -> bool {
        self.options
            .selects(&format!("{scenario}/{implementation}"))
    }

    fn push(
        &mut self,
        scenario: &str,
        implementation: &str,
        field: &str,
        value: f64,
        shown: String,
    ) {
        println!("RESULT {scenario}/{implementation} {shown}");
        self.json.push(format!(
            r#"{{"scenario":"{scenario}","impl":"{implementation}","{field}":{value}}}"#
        ));
    }

    fn time(&mut self, scenario: &str, implementation: &str, ns: f64) {
        let shown = format!("median {:.3} µs", ns / 1e3);
        self.push(scenario, implementation, "median_ns", ns, shown);
    }

    fn rate(&mut self, scenario: &str, implementation: &str, per_s: f64) {
        let shown = format!("{per_s:.0} items/s");
        self.push(scenario, implementation, "items_per_s", per_s, shown);
    }

    fn fraction(&mut self, scenario: &str, implementation: &str, fraction: f64) {
        let shown = format!("{:.1} %", fraction * 100.0);
        self.push(scenario, implementation, "fraction", fraction, shown);
    }

    fn save(&self) {
        if let Some(path) = &self.options.out {
            std::fs::write(path, format!("[{}]\n", self.json.join(",\n")))
                .expect("writing records");
        }
    }
}

/// The median of `rounds` runs of `round`, each giving one number.
fn median_of(rounds: usize, mut round: impl FnMut() -> Result<f64, Error>) -> Result<f64, Error> {
    let mut values = (0..rounds)
        .map(|_| round())
        .collect::<Result<Vec<_>, _>>()?;
    values.sort_by(f64::total_cmp);
    Ok(values[values.len() / 2])
}

fn nanos_since(began: Instant) -> f64 {
    began.elapsed().as_nanos() as f64
}

/// The seed's `main` on the MPI pool, printing to `out`.
fn seed_main(out: &mut impl Write) -> Result<(), Error> {
    let pool = MpiPoolExecutor::builder().build()?;
    for ((number, prime), expected) in PRIMES
        .iter()
        .zip(pool.map(is_prime, PRIMES, 1)?)
        .zip(EXPECTED)
    {
        let prime = prime?;
        assert_eq!(prime, expected);
        writeln!(out, "{number} is prime: {prime}").expect("writing to a sink");
    }
    pool.shutdown(Shutdown::WAIT);
    Ok(())
}

fn sequential_main(out: &mut impl Write) {
    for (&number, expected) in PRIMES.iter().zip(EXPECTED) {
        let prime = is_prime(black_box(number));
        assert_eq!(prime, expected);
        writeln!(out, "{number} is prime: {prime}").expect("writing to a sink");
    }
}

fn main() -> Result<(), Error> {
    let world = cfutures_mpi::init()?;
    let mut records = Records {
        options: Options::parse(),
        json: Vec::new(),
    };
    let sizes = Sizes::new(records.options.quick);

    let pool = MpiPoolExecutor::builder().build()?;
    let workers = pool.max_workers();
    // Every rank's first task pays for its warm-up (the build check, first allocations).
    for f in (0..100)
        .map(|i| pool.submit(noop, i))
        .collect::<Result<Vec<_>, _>>()?
    {
        f.result()?;
    }
    if records.selects("X1", "cfutures") {
        let ns = median_of(sizes.rounds, || {
            let began = Instant::now();
            for i in 0..sizes.trips {
                pool.submit(noop, i)?.into_result()?;
            }
            Ok(nanos_since(began) / sizes.trips as f64)
        })?;
        records.time("X1", "cfutures", ns);
    }
    if records.selects("X2/submit", "cfutures") {
        let rate = median_of(sizes.rounds, || {
            let began = Instant::now();
            let futures = (0..sizes.submits)
                .map(|i| pool.submit(noop, i))
                .collect::<Result<Vec<_>, _>>()?;
            for f in &futures {
                f.result()?;
            }
            Ok(sizes.submits as f64 * 1e9 / nanos_since(began))
        })?;
        records.rate("X2/submit", "cfutures", rate);
    }
    if records.selects("X2/chunksize=256", "cfutures") {
        let rate = median_of(sizes.rounds, || {
            let began = Instant::now();
            let mut count = 0u64;
            for value in pool.map(noop, 0..sizes.map_items, 256)? {
                black_box(value?);
                count += 1;
            }
            assert_eq!(count, sizes.map_items);
            Ok(sizes.map_items as f64 * 1e9 / nanos_since(began))
        })?;
        records.rate("X2/chunksize=256", "cfutures", rate);
    }
    drop(pool);

    let parallel = records.selects("X3", "cfutures") || records.selects("X3/of-ideal", "cfutures");
    let sequential =
        records.selects("X3", "sequential") || records.selects("X3/of-ideal", "cfutures");
    let parallel_ns = if parallel {
        seed_main(&mut std::io::sink())?;
        Some(median_of(sizes.rounds, || {
            let began = Instant::now();
            seed_main(&mut std::io::sink())?;
            Ok(nanos_since(began))
        })?)
    } else {
        None
    };
    let sequential_ns = if sequential {
        Some(median_of(sizes.rounds, || {
            let began = Instant::now();
            sequential_main(&mut std::io::sink());
            Ok(nanos_since(began))
        })?)
    } else {
        None
    };
    if let Some(ns) = parallel_ns.filter(|_| records.selects("X3", "cfutures")) {
        records.time("X3", "cfutures", ns);
    }
    if let Some(ns) = sequential_ns.filter(|_| records.selects("X3", "sequential")) {
        records.time("X3", "sequential", ns);
    }
    if let (Some(parallel), Some(sequential)) = (parallel_ns, sequential_ns)
        && records.selects("X3/of-ideal", "cfutures")
    {
        records.fraction(
            "X3/of-ideal",
            "cfutures",
            sequential / parallel / workers as f64,
        );
    }

    if records.options.idle {
        let pool = MpiPoolExecutor::builder().build()?;
        for f in (0..100)
            .map(|i| pool.submit(noop, i))
            .collect::<Result<Vec<_>, _>>()?
        {
            f.result()?;
        }
        println!("IDLE");
        std::io::stdout().flush().expect("stdout");
        let mut line = String::new();
        // A line or EOF ends the idle phase; a read error does too.
        let _ = std::io::stdin().lock().read_line(&mut line);
        drop(pool);
    }
    records.save();
    drop(world);
    Ok(())
}
