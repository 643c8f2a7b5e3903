//! The MPI pool's tests, run by `cargo test -p cfutures-mpi --features mpi --test mpirun`.
//!
//! A `harness = false` test: started by cargo (not under MPI), it relaunches itself under
//! `mpirun --oversubscribe -n 4` to run the cases on rank 0 while ranks 1-3 serve, and under
//! small separate jobs for the cases that end a job (a dead rank, a panic on rank 0) or need
//! another world (one rank). Every launch has a hard deadline after which its whole process
//! group is killed and the case fails. Prints `N passed, N failed` and exits non-zero on any
//! failure. Without the `mpi` feature, or without `mpirun` on the PATH, it says it skipped.

#[cfg(not(feature = "mpi"))]
fn main() {
    println!("mpirun: skipped: cfutures-mpi was built without the `mpi` feature");
}

#[cfg(feature = "mpi")]
fn main() -> std::process::ExitCode {
    if std::env::var_os("OMPI_COMM_WORLD_SIZE").is_some() {
        ranks::main()
    } else {
        launcher::main()
    }
}

/// Outside MPI: starts the jobs and judges them.
#[cfg(feature = "mpi")]
mod launcher {
    use std::io::{Read, Write};
    use std::os::unix::process::CommandExt;
    use std::path::PathBuf;
    use std::process::{Command, ExitCode, ExitStatus, Stdio};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    /// The most a job may take before it counts as hung and is killed.
    const DEADLINE: Duration = Duration::from_secs(120);
    /// The most a job whose rank died may take to end: "within seconds", with room for a
    /// loaded machine.
    const DEATH_DEADLINE: Duration = Duration::from_secs(60);

    struct Outcome {
        /// `None` if the deadline passed and the job was killed.
        status: Option<ExitStatus>,
        stdout: String,
        stderr: String,
        took: Duration,
    }

    fn mpirun(ranks: usize, mode: &str, deadline: Duration) -> Outcome {
        let exe = std::env::current_exe().expect("the test's own path");
        mpirun_apps(&[(ranks, exe)], mode, deadline)
    }

    /// An MPMD job: `ranks` copies of each program in turn (rank 0 is the first's), each given
    /// `mode`.
    fn mpirun_apps(apps: &[(usize, PathBuf)], mode: &str, deadline: Duration) -> Outcome {
        let began = Instant::now();
        let mut command = Command::new("mpirun");
        command.arg("--oversubscribe");
        for (i, (ranks, exe)) in apps.iter().enumerate() {
            if i > 0 {
                command.arg(":");
            }
            command.args(["-n", &ranks.to_string()]).arg(exe).arg(mode);
        }
        let mut child = command
            .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
            .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("mpirun starts (checked on the PATH before)");
        let pid = child.id() as i32;
        let mut stdout = child.stdout.take().expect("piped");
        let mut stderr = child.stderr.take().expect("piped");
        let out = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stdout.read_to_string(&mut text);
            text
        });
        let err = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let (done, ended) = mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let status = child.wait();
            let _ = done.send(());
            status
        });
        let status = match ended.recv_timeout(deadline) {
            Ok(()) => waiter.join().expect("waiter").ok(),
            Err(_) => {
                // SAFETY: signals the process group this function created for mpirun.
                unsafe { libc::kill(-pid, libc::SIGKILL) };
                let _ = waiter.join();
                None
            }
        };
        Outcome {
            status,
            stdout: out.join().unwrap_or_default(),
            stderr: err.join().unwrap_or_default(),
            took: began.elapsed(),
        }
    }

    fn show(name: &str, outcome: &Outcome) {
        eprintln!(
            "--- {name}: {:?} after {:.1?}\n--- stdout:\n{}--- stderr:\n{}",
            outcome.status, outcome.took, outcome.stdout, outcome.stderr
        );
    }

    pub(crate) fn main() -> ExitCode {
        let found = Command::new("mpirun")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            println!(
                "mpirun: skipped: no `mpirun` on the PATH (see crates/pool-mpi/ci-install.sh)"
            );
            return ExitCode::SUCCESS;
        }
        let (mut passed, mut failed) = (0, 0);

        // The cases that share one job of four ranks.
        let cases = mpirun(4, "--cases", DEADLINE);
        print!("{}", cases.stdout);
        let summary = cases
            .stdout
            .lines()
            .filter_map(|line| {
                let (p, f) = line.split_once(" passed, ")?;
                Some((
                    p.parse::<usize>().ok()?,
                    f.strip_suffix(" failed")?.parse::<usize>().ok()?,
                ))
            })
            .next_back();
        match (summary, cases.status) {
            (Some((p, f)), Some(status)) if status.success() || f > 0 => {
                passed += p;
                failed += f;
            }
            _ => {
                failed += 1;
                println!("FAILED the job of cases did not finish cleanly");
                show("cases", &cases);
            }
        }

        let mut judge = |name: &str, ok: bool, outcome: &Outcome| {
            if ok {
                passed += 1;
                println!("ok {name} ({:.1?})", outcome.took);
            } else {
                failed += 1;
                println!("FAILED {name}");
                show(name, outcome);
            }
        };

        for mode in ["--dead-rank-abort", "--dead-rank-exit"] {
            let died = mpirun(3, mode, DEATH_DEADLINE);
            let ended_non_zero = died.status.is_some_and(|s| !s.success());
            judge(
                &format!("a_dead_rank_ends_the_job_non_zero{mode}"),
                ended_non_zero,
                &died,
            );
        }

        let panicked = mpirun(3, "--panic-on-rank-0", DEATH_DEADLINE);
        let aborted = panicked.status.is_some_and(|s| !s.success())
            && panicked.stderr.contains("the program panicked on rank 0");
        judge("a_panic_on_rank_0_aborts_the_job", aborted, &panicked);

        let single = mpirun(1, "--single-rank", DEADLINE);
        let refused = single.status.is_some_and(|s| s.success())
            && single.stdout.contains("single rank refused");
        judge("a_world_of_one_rank_is_a_typed_error", refused, &single);

        // The build identity is the executable's content: a byte-identical copy elsewhere (as
        // on another host of `--hostfile`) serves; a copy one byte longer is another build.
        let exe = std::env::current_exe().expect("the test's own path");
        let copy = exe.with_extension(format!("copy-{}", std::process::id()));
        std::fs::copy(&exe, &copy).expect("copy the test binary");
        let same = mpirun_apps(&[(1, exe.clone()), (2, copy.clone())], "--copy", DEADLINE);
        let served =
            same.status.is_some_and(|s| s.success()) && same.stdout.contains("copy served");
        judge("an_identical_copy_elsewhere_serves", served, &same);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&copy)
            .and_then(|mut f| f.write_all(b"\0"))
            .expect("lengthen the copy");
        let other = mpirun_apps(&[(1, exe), (1, copy.clone())], "--copy", DEATH_DEADLINE);
        let refused = other.status.is_some_and(|s| !s.success())
            && other
                .stderr
                .contains("every rank must run the same executable");
        judge("another_build_ends_the_job_with_a_message", refused, &other);
        let _ = std::fs::remove_file(&copy);

        println!("{passed} passed, {failed} failed");
        if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}

/// Under MPI: every rank enters `init`; rank 0 runs the mode's cases.
#[cfg(feature = "mpi")]
mod ranks {
    use std::process::ExitCode;
    use std::time::Duration;

    use cfutures_core::{Error, Future, Shutdown};
    use cfutures_helpers::{Executor, MapOptions, ReturnWhen, as_completed, wait};
    use cfutures_mpi::{MpiPoolExecutor, World};
    use cfutures_test_support::{PRIMES, PRIMES_EXPECTED, is_prime};
    use cfutures_thread::ThreadPoolExecutor;

    fn double(x: u64) -> u64 {
        x * 2
    }

    fn square(x: u64) -> u64 {
        x * x
    }

    fn boom(n: u32) -> u32 {
        if n.is_multiple_of(3) {
            panic!("boom {n}");
        }
        n
    }

    fn sleep_ms(ms: u64) -> u64 {
        std::thread::sleep(Duration::from_millis(ms));
        ms
    }

    fn abort(_: ()) {
        std::process::abort();
    }

    fn exit(code: i32) {
        std::process::exit(code);
    }

    /// Refuses to be encoded, in its own words.
    #[derive(Debug, serde::Deserialize)]
    struct Unencodable;

    impl serde::Serialize for Unencodable {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("my text: no wire for me"))
        }
    }

    fn consume(_: Unencodable) -> u32 {
        1
    }

    type Case = fn(&World) -> Result<(), String>;

    /// Waits until rank 0's dispatcher has sent `future`'s task (it is then running). The
    /// state has no blocking wait, so this polls it, bounded.
    fn until_running<T>(future: &Future<T>) -> Result<(), String> {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !future.running() && !future.done() {
            if std::time::Instant::now() > deadline {
                return Err(format!("{future:?} never started"));
            }
            std::thread::yield_now();
        }
        Ok(())
    }

    fn check(condition: bool, what: impl FnOnce() -> String) -> Result<(), String> {
        if condition { Ok(()) } else { Err(what()) }
    }

    fn round_trip(_: &World) -> Result<(), String> {
        let pool = MpiPoolExecutor::builder()
            .build()
            .map_err(|e| e.to_string())?;
        let item = pool.submit(double, 21).unwrap();
        let closure = pool
            .submit(|s: String| s.len(), "four".to_string())
            .unwrap();
        let pointer = pool.submit(double as fn(u64) -> u64, 5).unwrap();
        check(item.result() == Ok(&42), || format!("{item:?}"))?;
        check(closure.result() == Ok(&4), || format!("{closure:?}"))?;
        check(pointer.result() == Ok(&10), || format!("{pointer:?}"))
    }

    fn capturing_closures_are_refused(_: &World) -> Result<(), String> {
        let pool = MpiPoolExecutor::builder().build().unwrap();
        let offset = 3u64;
        let err = pool.submit(move |x: u64| x + offset, 1).unwrap_err();
        check(matches!(err, Error::InvalidArgument(_)), || err.to_string())
    }

    fn an_unencodable_argument_fails_its_future_with_its_own_text(_: &World) -> Result<(), String> {
        let pool = MpiPoolExecutor::builder().build().unwrap();
        let future = pool
            .submit(consume, Unencodable)
            .map_err(|e| format!("submit refused: {e}"))?;
        check(
            matches!(future.result(), Err(Error::Serialization(m)) if m.contains("my text: no wire for me")),
            || format!("{future:?}"),
        )?;
        let after = pool.submit(double, 4).unwrap();
        check(after.result() == Ok(&8), || format!("{after:?}"))
    }

    fn max_workers_is_checked(world: &World) -> Result<(), String> {
        for bad in [0, world.workers() + 1] {
            let err = MpiPoolExecutor::new(bad).unwrap_err();
            check(matches!(err, Error::InvalidArgument(_)), || err.to_string())?;
        }
        let pool = MpiPoolExecutor::new(world.workers()).unwrap();
        check(pool.max_workers() == 3, || format!("{pool:?}"))
    }

    fn many_tasks(_: &World) -> Result<(), String> {
        let pool = MpiPoolExecutor::builder().build().unwrap();
        let futures: Vec<_> = (0..5000u64)
            .map(|i| pool.submit(double, i).unwrap())
            .collect();
        let sum: u64 = futures.iter().map(|f| *f.result().unwrap()).sum();
        check(sum == 5000 * 4999, || format!("sum {sum}"))
    }

    fn map_in_order_with_chunksize(_: &World) -> Result<(), String> {
        let pool = MpiPoolExecutor::builder().build().unwrap();
        for chunksize in [1, 7, 256, 5000] {
            let got: Vec<u64> = pool
                .map(square, 0..1000u64, chunksize)
                .unwrap()
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?;
            let want: Vec<u64> = (0..1000u64).map(square).collect();
            check(got == want, || format!("chunksize {chunksize}: {got:?}"))?;
        }
        let err = pool.map(square, 0..3u64, 0).unwrap_err();
        check(
            err == Error::InvalidArgument("chunksize must be >= 1.".into()),
            || err.to_string(),
        )?;
        let bounded: Vec<u64> = pool
            .map_with(square, 0u64.., MapOptions::new().chunksize(4).buffersize(2))
            .unwrap()
            .take(10)
            .collect::<Result<_, _>>()
            .unwrap();
        check(
            bounded == (0..10u64).map(square).collect::<Vec<_>>(),
            || format!("{bounded:?}"),
        )?;
        let mut timed = pool
            .map_with(
                sleep_ms,
                [0, 5_000],
                MapOptions::new().timeout(Duration::from_millis(200)),
            )
            .unwrap();
        check(timed.next() == Some(Ok(0)), || "first item".into())?;
        let second = timed.next();
        check(matches!(second, Some(Err(Error::Timeout { .. }))), || {
            format!("{second:?}")
        })
    }

    fn panics_name_rank_and_host(world: &World) -> Result<(), String> {
        let pool = MpiPoolExecutor::builder().build().unwrap();
        let future = pool.submit(boom, 3).unwrap();
        match future.result() {
            Err(Error::Panicked {
                message,
                backtrace: Some(trace),
            }) => {
                check(message == "boom 3", || message.clone())?;
                let host = world.host(1).unwrap();
                check(
                    trace.starts_with("MPI rank ")
                        && trace.contains(&format!("(host {host}, pid "))
                        && trace.contains("panicked at ")
                        && trace.contains("mpirun.rs"),
                    || trace.clone(),
                )?;
            }
            other => return Err(format!("{other:?}")),
        }
        let items: Vec<_> = pool.map(boom, 1..=6u32, 4).unwrap().collect();
        for (n, item) in (1..=6u32).zip(&items) {
            let ok = match item {
                Ok(v) => !n.is_multiple_of(3) && *v == n,
                Err(Error::Panicked { message, .. }) => {
                    n.is_multiple_of(3) && *message == format!("boom {n}")
                }
                Err(_) => false,
            };
            check(ok, || format!("item {n}: {item:?}"))?;
        }
        // The ranks still serve after their tasks panicked.
        check(pool.submit(double, 4).unwrap().result() == Ok(&8), || {
            "after panics".into()
        })
    }

    fn cancel_a_queued_task(_: &World) -> Result<(), String> {
        // One rank, whose pipeline holds two tasks before its first reply: the third stays
        // queued behind two long ones and can be cancelled.
        let pool = MpiPoolExecutor::new(1).unwrap();
        let long: Vec<_> = (0..2)
            .map(|_| pool.submit(sleep_ms, 500).unwrap())
            .collect();
        let queued = pool.submit(double, 1).unwrap();
        check(queued.cancel(), || format!("cancel() on {queued:?}"))?;
        check(queued.result() == Err(Error::Cancelled), || {
            format!("{queued:?}")
        })?;
        for f in &long {
            check(f.result() == Ok(&500), || format!("{f:?}"))?;
            check(!f.cancel(), || {
                "a finished future cannot be cancelled".into()
            })?;
        }
        Ok(())
    }

    fn shutdown_semantics(_: &World) -> Result<(), String> {
        let pool = MpiPoolExecutor::new(1).unwrap();
        let sent: Vec<_> = (0..2)
            .map(|_| pool.submit(sleep_ms, 300).unwrap())
            .collect();
        sent.iter().try_for_each(until_running)?;
        let queued: Vec<_> = (0..5u64).map(|i| pool.submit(double, i).unwrap()).collect();
        pool.shutdown(Shutdown::NO_WAIT.cancel_futures());
        check(
            pool.submit(double, 1).unwrap_err() == Error::ShutDown,
            || "submit after".into(),
        )?;
        check(
            pool.map(double, [1u64], 1)
                .and_then(|mut m| m.next().unwrap())
                == Err(Error::ShutDown),
            || "map after".into(),
        )?;
        for f in &queued {
            check(f.result() == Err(Error::Cancelled), || {
                format!("queued {f:?}")
            })?;
        }
        pool.shutdown(Shutdown::WAIT);
        for f in &sent {
            check(f.done() && f.result() == Ok(&300), || {
                format!("sent {f:?}: {:?}", f.result())
            })?;
        }
        // Another executor on the same ranks still works: shutdown is per executor.
        let other = MpiPoolExecutor::new(1).unwrap();
        check(other.submit(double, 2).unwrap().result() == Ok(&4), || {
            "other pool".into()
        })?;
        // shutdown(WAIT) without cancelling runs everything queued.
        let all: Vec<_> = (0..50u64)
            .map(|i| other.submit(double, i).unwrap())
            .collect();
        other.shutdown(Shutdown::WAIT);
        check(all.iter().all(|f| f.done()), || {
            "all done after WAIT".into()
        })
    }

    fn mixed_with_a_thread_pool(_: &World) -> Result<(), String> {
        let mpi = MpiPoolExecutor::builder().build().unwrap();
        let threads = ThreadPoolExecutor::new(2).unwrap();
        let mut futures: Vec<Future<u64>> =
            (0..20u64).map(|i| mpi.submit(double, i).unwrap()).collect();
        futures.extend((0..20u64).map(|i| threads.submit(move || i * 2).unwrap()));
        let mut total = 0;
        for done in as_completed(futures.clone(), Some(Duration::from_secs(60))) {
            total += *done.map_err(|e| e.to_string())?.result().unwrap();
        }
        check(total == 2 * 2 * (0..20).sum::<u64>(), || {
            format!("total {total}")
        })?;
        let outcome = wait(
            futures,
            Some(Duration::from_secs(60)),
            ReturnWhen::AllCompleted,
        );
        check(
            outcome.done.len() == 40 && outcome.not_done.is_empty(),
            || "wait".into(),
        )
    }

    /// The generic function, the seed's primes written once against the trait
    /// (submit, `as_completed`, `map` in order, shutdown): the local pools run it unchanged.
    fn primes_on<E: Executor>(executor: &E) -> Result<Vec<bool>, Error> {
        let futures: Vec<_> = PRIMES
            .iter()
            .map(|&n| executor.submit(is_prime, n))
            .collect::<Result<_, _>>()?;
        let completed = as_completed(futures.clone(), None).count();
        assert_eq!(completed, PRIMES.len());
        let mapped: Vec<bool> = executor
            .map(is_prime, PRIMES, MapOptions::new())?
            .collect::<Result<_, _>>()?;
        executor.shutdown(Shutdown::WAIT);
        let submitted: Vec<bool> = futures.iter().map(|f| *f.result().unwrap()).collect();
        assert_eq!(submitted, mapped);
        Ok(mapped)
    }

    fn the_executor_trait(_: &World) -> Result<(), String> {
        let pool = MpiPoolExecutor::builder().build().unwrap();
        let got = primes_on(&pool).map_err(|e| e.to_string())?;
        check(got == PRIMES_EXPECTED, || format!("{got:?}"))?;
        check(
            pool.submit(double, 1).unwrap_err() == Error::ShutDown,
            || "after shutdown".into(),
        )
    }

    fn map_unordered_yields_every_index_once(_: &World) -> Result<(), String> {
        let pool = MpiPoolExecutor::builder().build().unwrap();
        let items = (0..200u64).map(|i| if i == 0 { 50 } else { i % 3 });
        let mut got: Vec<(usize, u64)> = pool
            .map_unordered(sleep_ms, items, MapOptions::new().chunksize(8))
            .unwrap()
            .map(|(index, result)| result.map(|value| (index, value)))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        got.sort_unstable();
        let want: Vec<(usize, u64)> = (0..200u64)
            .map(|i| (i as usize, if i == 0 { 50 } else { i % 3 }))
            .collect();
        check(got == want, || format!("{got:?}"))?;
        let err = pool
            .map_unordered(square, 0..3u64, MapOptions::new().chunksize(0))
            .err();
        check(matches!(err, Some(Error::InvalidArgument(_))), || {
            format!("{err:?}")
        })
    }

    fn executors_share_the_ranks(_: &World) -> Result<(), String> {
        // Two executors on the same ranks at once: each rank's replies are split between them
        // by task id, and shutting one down leaves the other serving.
        let a = MpiPoolExecutor::builder().build().unwrap();
        let b = MpiPoolExecutor::new(2).unwrap();
        let fa: Vec<_> = (0..500u64).map(|i| a.submit(double, i).unwrap()).collect();
        let fb: Vec<_> = (0..500u64).map(|i| b.submit(square, i).unwrap()).collect();
        a.shutdown(Shutdown::WAIT);
        let after = b.submit(square, 9).unwrap();
        for (i, (x, y)) in fa.iter().zip(&fb).enumerate() {
            let i = i as u64;
            check(
                x.result() == Ok(&(2 * i)) && y.result() == Ok(&(i * i)),
                || format!("task {i}: {:?} {:?}", x.result(), y.result()),
            )?;
        }
        check(after.result() == Ok(&81), || {
            format!("{:?}", after.result())
        })
    }

    const CASES: &[(&str, Case)] = &[
        ("round_trip", round_trip),
        (
            "capturing_closures_are_refused",
            capturing_closures_are_refused,
        ),
        (
            "an_unencodable_argument_fails_its_future_with_its_own_text",
            an_unencodable_argument_fails_its_future_with_its_own_text,
        ),
        ("max_workers_is_checked", max_workers_is_checked),
        ("many_tasks", many_tasks),
        ("map_in_order_with_chunksize", map_in_order_with_chunksize),
        ("panics_name_rank_and_host", panics_name_rank_and_host),
        ("cancel_a_queued_task", cancel_a_queued_task),
        ("shutdown_semantics", shutdown_semantics),
        ("mixed_with_a_thread_pool", mixed_with_a_thread_pool),
        ("the_executor_trait", the_executor_trait),
        (
            "map_unordered_yields_every_index_once",
            map_unordered_yields_every_index_once,
        ),
        ("executors_share_the_ranks", executors_share_the_ranks),
    ];

    pub(crate) fn main() -> ExitCode {
        let mode = std::env::args().nth(1).unwrap_or_default();
        let world = cfutures_mpi::init().expect("MPI initialises"); // ranks != 0 stop here
        match mode.as_str() {
            "--cases" => {
                let (mut passed, mut failed) = (0, 0);
                for (name, case) in CASES {
                    let outcome = cfutures_core::unwind::catch_message(|| case(&world))
                        .unwrap_or_else(|panic| Err(format!("panicked: {panic}")));
                    match outcome {
                        Ok(()) => {
                            passed += 1;
                            println!("ok {name}");
                        }
                        Err(why) => {
                            failed += 1;
                            println!("FAILED {name}: {why}");
                        }
                    }
                }
                println!("{passed} passed, {failed} failed");
                drop(world);
                if failed == 0 {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            }
            "--dead-rank-abort" | "--dead-rank-exit" => {
                let pool = MpiPoolExecutor::new(1).unwrap();
                let dying = if mode == "--dead-rank-abort" {
                    pool.submit(abort, ()).unwrap()
                } else {
                    pool.submit(exit, 3).unwrap()
                };
                // Never returns: the dead rank takes this one down with the job.
                let _ = dying.result();
                println!("rank 0 outlived a dead rank: {dying:?}");
                ExitCode::SUCCESS
            }
            "--panic-on-rank-0" => {
                let pool = MpiPoolExecutor::new(1).unwrap();
                let _running = pool.submit(sleep_ms, 60_000).unwrap();
                std::mem::forget(pool);
                panic!("rank 0 fails while a task runs");
            }
            "--copy" => {
                let pool = MpiPoolExecutor::builder().build().unwrap();
                let got: Vec<u64> = pool
                    .map(double, 0..20u64, 3)
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                if got == (0..20u64).map(double).collect::<Vec<_>>() {
                    println!("copy served");
                }
                drop(pool);
                drop(world);
                ExitCode::SUCCESS
            }
            "--single-rank" => {
                match MpiPoolExecutor::builder().build() {
                    Err(Error::InvalidArgument(why)) if why.contains("single rank") => {
                        println!("single rank refused: {why}");
                    }
                    other => println!("unexpected: {other:?}"),
                }
                drop(world);
                ExitCode::SUCCESS
            }
            other => {
                eprintln!("unknown mode {other:?}");
                ExitCode::FAILURE
            }
        }
    }
}
