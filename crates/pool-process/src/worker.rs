//! Worker mode: what the re-executed program does instead of its `main`.
//!
//! A process is a worker when it starts with [`WORKER_ENV`] set (by `spawn.rs`). On Linux an
//! ELF constructor ([`AUTO_INIT`]) checks for it before `main` runs, so binaries, examples,
//! doctests and `cargo test` harnesses all become workers without calling anything; `init()`
//! does the same check for programs where the constructor is not linked.
//!
//! The worker serves one task at a time, in arrival order, on its main thread: it reads a
//! frame (reading as many as have arrived at once), calls the entry point under
//! `catch_unwind`, and writes the reply before it starts the next task.

use std::backtrace::Backtrace;
use std::cell::{Cell, RefCell};
use std::fs::File;
use std::io::{IoSlice, Read, Write};
use std::mem::ManuallyDrop;
use std::os::fd::{FromRawFd, RawFd};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::time::Instant;

use cfutures_core::unwind::{drop_payload, panic_message};

use crate::body::{BODY_MIN, Body};
use crate::codec::Encoded;
use crate::entry;
use crate::identity::build_id;
use crate::started;
use crate::wire::{
    self, BuildId, Call, Failure, FrameReader, Hello, PROTOCOL_VERSION, REPLY_HEADER, Ready, kind,
};

/// The environment variable that puts a process in worker mode:
/// `"<read fd>,<write fd>,<started-counter fd or -1>,<frame limit>"`.
pub(crate) const WORKER_ENV: &str = "CFUTURES_PROCESS_WORKER";

/// The name of the thread that runs tasks in a worker.
/// The worker's thread name (as `ps`, `top -H` and `/proc/<pid>/comm` show it; at most 15
/// bytes). Rust's own name for the thread stays unset: the worker is entered before Rust's
/// runtime names the main thread.
pub(crate) const WORKER_THREAD: &str = "cfutures-worker";

/// Names the calling thread [`WORKER_THREAD`] for the operating system.
fn name_this_thread() {
    let name = std::ffi::CString::new(WORKER_THREAD).expect("no NUL in the name");
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes, which `name` is.
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
}

/// The wire's output descriptor, for the panic hook's last words under `panic = "abort"`.
static OUTPUT_FD: AtomicI32 = AtomicI32::new(-1);
/// The id of the task running now (for its last words).
static RUNNING_TASK: AtomicU64 = AtomicU64::new(0);

/// Exit code of a worker that refused or could not read its handshake.
const EXIT_HANDSHAKE: i32 = 70;
/// Exit code of a worker that received a malformed frame.
const EXIT_PROTOCOL: i32 = 71;

/// Runs the worker if this process was started as one; returns at once otherwise.
pub(crate) fn enter_if_worker() {
    let Some(value) = std::env::var_os(WORKER_ENV) else {
        return;
    };
    // SAFETY: worker mode is entered before `main` (from the ELF constructor) or first thing
    // in `main` (`init()`'s documented contract), when no other thread reads the environment.
    // Removing the variable keeps processes this worker starts from thinking they are workers.
    unsafe { std::env::remove_var(WORKER_ENV) };
    let fds = value.to_str().and_then(|v| {
        let mut parts = v.split(',');
        let mut fd = || parts.next()?.parse::<RawFd>().ok();
        let fds = (fd()?, fd()?, fd()?);
        let limit = parts.next()?.parse::<usize>().ok()?;
        parts.next().is_none().then_some((fds, limit))
    });
    let code = match fds {
        Some(((input, output, started), limit)) => {
            // Like Rust's runtime (which has not run yet when the ELF constructor enters
            // worker mode) and CPython's workers: a write to a closed pipe is an error, not
            // death by SIGPIPE.
            // SAFETY: sets this process's own disposition before any task runs.
            unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
            let started = started::worker_counter(started);
            // Tasks run on this, the main, thread: a second thread would make every malloc
            // and system call of the worker pay for multi-threading (measured: `map` with
            // chunksize 1 a quarter slower). The thread gets the name tools show instead.
            name_this_thread();
            crate::overflow::install_on_this_thread();
            let serving = || serve_fds(input, output, started, limit);
            match panic::catch_unwind(AssertUnwindSafe(serving)) {
                Ok(code) => code,
                Err(_) => EXIT_PROTOCOL,
            }
        }
        None => {
            eprintln!("cfutures-process: malformed {WORKER_ENV}={value:?}");
            EXIT_HANDSHAKE
        }
    };
    std::process::exit(code);
}

/// The ELF constructor: enters worker mode before `main` in a process started as a worker.
///
/// `#[used]` keeps it even though nothing refers to it, and rustc links every `#[used]` static
/// of every crate into the final executable.
#[cfg(all(target_os = "linux", not(miri)))]
#[used]
#[unsafe(link_section = ".init_array")]
static AUTO_INIT: extern "C" fn() = auto_init;

#[cfg(all(target_os = "linux", not(miri)))]
extern "C" fn auto_init() {
    // Nothing may unwind out of a constructor; `enter_if_worker` catches what it runs, and
    // this catch covers the rest.
    let _ = panic::catch_unwind(enter_if_worker);
}

thread_local! {
    /// Where and with which backtrace the current task panicked (set by the panic hook).
    static PANIC_TRACE: RefCell<Option<String>> = const { RefCell::new(None) };
    /// This thread is running a task under [`catch_task`], whose panics travel to the parent.
    static IN_TASK: Cell<bool> = const { Cell::new(false) };
}

/// Serves tasks on the two inherited pipe descriptors; returns the exit code.
fn serve_fds(input: RawFd, output: RawFd, started: Option<&AtomicU64>, limit: usize) -> i32 {
    for fd in [input, output] {
        // SAFETY: marks our own inherited descriptor close-on-exec, so processes a task starts
        // do not hold the wire open.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    OUTPUT_FD.store(output, Ordering::Relaxed);
    // SAFETY: the parent gave these two descriptors to this process for the wire alone;
    // nothing else in the process owns them.
    let (input, output) = unsafe { (File::from_raw_fd(input), File::from_raw_fd(output)) };
    // Never closed here: the process's exit closes them, and a task may have closed them
    // already (closing again would be an I/O-safety abort in place of a plain exit).
    let (input, output) = (ManuallyDrop::new(input), ManuallyDrop::new(output));
    serve(&*input, &*output, started, limit)
}

/// The worker's serve loop over any byte transport: handshake, then tasks until a STOP
/// frame or end of input; returns the exit code. `started` is the shared started-task
/// counter, where the shell provides one (R7 of `dispatch.rs`).
pub fn serve(
    input: impl Read,
    output: impl Write,
    started: Option<&AtomicU64>,
    limit: usize,
) -> i32 {
    let name = format!("worker process {}", std::process::id());
    serve_with(input, output, started, limit, build_id(), name, BODY_MIN)
}

/// [`serve`] for another shell: `identity` is the build identity to require of the parent
/// (the MPI shell uses [`content_build_id`](crate::identity::content_build_id), which holds
/// across machines), and `name` starts the text of a task's panic ("MPI rank 3 (host h, pid
/// 42)" in place of "worker process 42"). Replies are plain DONE frames (no DONE_BODY),
/// as a shell that reads whole messages expects.
pub fn serve_as(
    input: impl Read,
    output: impl Write,
    started: Option<&AtomicU64>,
    limit: usize,
    identity: &BuildId,
    name: String,
) -> i32 {
    serve_with(input, output, started, limit, identity, name, usize::MAX)
}

/// The serve loop; a byte-like result of at least `body_min` bytes goes back as a DONE_BODY
/// frame, written with one vectored write from the value's own buffer.
fn serve_with(
    input: impl Read,
    mut output: impl Write,
    started: Option<&AtomicU64>,
    limit: usize,
    identity: &BuildId,
    name: String,
    body_min: usize,
) -> i32 {
    install_panic_hook(name);

    // The limit comes with the worker variable, so even the hello (which carries the
    // initializer's argument) is held to it.
    let mut reader = FrameReader::new(input, limit);
    let hello = match reader.next_frame() {
        Ok(Some(frame)) if frame.kind == kind::HELLO => {
            match wire::decode::<Hello>(reader.bytes(frame.payload)) {
                Ok(hello) => hello,
                Err(e) => return refuse(&mut output, format!("unreadable handshake: {e}")),
            }
        }
        Ok(Some(frame)) => {
            return refuse(
                &mut output,
                format!("expected a handshake, got frame kind {}", frame.kind),
            );
        }
        // The parent went away before saying anything.
        Ok(None) | Err(_) => return EXIT_HANDSHAKE,
    };
    if hello.protocol != PROTOCOL_VERSION {
        return refuse(
            &mut output,
            format!(
                "protocol {} spoken, {} expected",
                hello.protocol, PROTOCOL_VERSION
            ),
        );
    }
    if &hello.build != identity {
        return refuse(
            &mut output,
            format!(
                "the worker is not the parent's build (parent {:?}, worker {:?})",
                hello.build, identity
            ),
        );
    }
    let limit = hello.max_frame as usize;
    reader.set_limit(limit);

    let mut out = Vec::with_capacity(64 * 1024);
    if let Some((call, arg)) = hello.initializer {
        let mut scratch = Vec::new();
        if let Err(failure) = run(call, Encoded::Inline(&arg), &mut scratch, usize::MAX) {
            let _ = wire::push_message(&mut out, kind::INIT_FAILED, &failure, limit);
            let _ = output.write_all(&out);
            return 0;
        }
    }
    let ready = Ready {
        protocol: PROTOCOL_VERSION,
        build: identity.clone(),
        pid: std::process::id(),
    };
    if wire::push_message(&mut out, kind::READY, &ready, limit).is_err()
        || output.write_all(&out).is_err()
    {
        return EXIT_HANDSHAKE;
    }
    out.clear();

    let mut tasks: u64 = 0;
    loop {
        let frame = match reader.parse() {
            Ok(Some(frame)) => frame,
            Ok(None) => {
                match reader.fill() {
                    Ok(true) => continue,
                    // End of file: the pool shut down, retired us, or died.
                    Ok(false) => return 0,
                    Err(wire::FrameError::Truncated) => return 0,
                    Err(e) => {
                        eprintln!("cfutures-process worker: {e}");
                        return EXIT_PROTOCOL;
                    }
                }
            }
            Err(e) => {
                eprintln!("cfutures-process worker: {e}");
                return EXIT_PROTOCOL;
            }
        };
        if frame.kind == kind::STOP {
            return 0;
        }
        if frame.kind != kind::TASK && frame.kind != kind::TASK_BODY {
            eprintln!(
                "cfutures-process worker: unexpected frame kind {}",
                frame.kind
            );
            return EXIT_PROTOCOL;
        }
        let payload = reader.bytes(frame.payload);
        let Some(([id, entry, fn_word], arg)) = wire::split_words::<3>(payload) else {
            eprintln!("cfutures-process worker: short task frame");
            return EXIT_PROTOCOL;
        };
        let arg = match frame.body {
            Some(body) => Encoded::Body(body),
            None => Encoded::Inline(arg),
        };
        let call = Call {
            entry: entry as i64,
            fn_word,
        };
        tasks += 1;
        RUNNING_TASK.store(id, Ordering::Relaxed);
        if let Some(started) = started {
            // Before any of the task's code runs: if we die from here on, the parent knows
            // this task started (see `started.rs`).
            started.store(tasks, Ordering::Release);
        }
        let start = wire::begin_frame(&mut out, kind::DONE);
        let header = out.len();
        out.extend_from_slice(&[0; REPLY_HEADER]);
        let began = Instant::now();
        let outcome = run(call, arg, &mut out, body_min);
        let elapsed = began.elapsed().as_nanos() as u64;
        let (mut failure, mut body) = match outcome {
            Ok(body) => (None, body),
            Err(failure) => (Some(failure), None),
        };
        if failure.is_none() {
            write_reply_header(&mut out, header, id, elapsed);
            let carried = body.as_ref().map(|body| (kind::DONE_BODY, body));
            if let Err(len) = wire::end_frame_carrying(&mut out, start, carried, limit) {
                failure = Some(Failure::Serialization(format!(
                    "the result takes {len} bytes, more than the frame limit of {limit}"
                )));
            }
        }
        if let Some(failure) = failure {
            // A failed reply carries no body.
            body = None;
            out.truncate(start);
            if !push_failed(&mut out, id, elapsed, &failure, limit) {
                // Even the failure does not fit (an enormous panic message): say less.
                let short =
                    Failure::Serialization("the task's failure was too large to send".into());
                push_failed(&mut out, id, elapsed, &short, usize::MAX);
            }
        }
        let mut slices = [
            IoSlice::new(&out),
            IoSlice::new(body.as_ref().map_or(&[][..], Body::as_bytes)),
        ];
        // Every reply leaves before the next task starts, as in Python: the next task may
        // run for ever (wait on an event this result releases), and a crash in it must not
        // take finished results along. The parent still reads replies in batches.
        if wire::write_all_vectored(&mut output, &mut slices).is_err() {
            return 0;
        }
        drop(body);
        out.clear();
        if out.capacity() > KEEP_BUFFER {
            // A huge result must not stay resident for the worker's life.
            out = Vec::with_capacity(64 * 1024);
        }
    }
}

/// An output buffer larger than this is not kept for the next task.
const KEEP_BUFFER: usize = 1 << 20;

fn write_reply_header(out: &mut [u8], at: usize, id: u64, elapsed: u64) {
    out[at..at + 8].copy_from_slice(&id.to_le_bytes());
    out[at + 8..at + 16].copy_from_slice(&elapsed.to_le_bytes());
}

/// Appends task `id`'s FAILED reply; false, with nothing appended, if `failure` does not
/// encode or the frame exceeds `limit`.
fn push_failed(out: &mut Vec<u8>, id: u64, elapsed: u64, failure: &Failure, limit: usize) -> bool {
    let start = wire::begin_frame(out, kind::FAILED);
    let header = out.len();
    out.extend_from_slice(&[0; REPLY_HEADER]);
    write_reply_header(out, header, id, elapsed);
    if postcard::to_io(failure, &mut *out).is_err() {
        out.truncate(start);
        return false;
    }
    wire::end_frame(out, start, limit).is_ok()
}

/// Tells the parent why we refuse to serve, and picks the exit code.
fn refuse(output: &mut impl Write, reason: String) -> i32 {
    let mut out = Vec::new();
    if wire::push_message(&mut out, kind::REJECTED, &reason, 1 << 20).is_ok() {
        let _ = output.write_all(&out);
    }
    EXIT_HANDSHAKE
}

/// Calls `call`'s entry point, turning a panic into a [`Failure`]; a value of at least
/// `body_min` bytes that is byte-like comes back as a body instead of in `out`.
fn run(
    call: Call,
    arg: Encoded<'_>,
    out: &mut Vec<u8>,
    body_min: usize,
) -> Result<Option<Body>, Failure> {
    // SAFETY: `call` comes from the parent, which passed the handshake's same-build check
    // (see `entry.rs` for the full argument).
    let (entry, fn_word) = unsafe { entry::resolve(call) };
    let mark = out.len();
    let outcome = catch_task(|| entry(fn_word, arg, out, body_min))
        .and_then(|r| r.map_err(Failure::Serialization));
    if outcome.is_err() {
        out.truncate(mark);
    }
    outcome
}

/// Runs `f`, turning a panic into [`Failure::Panicked`] with the message and, in a worker,
/// the location and backtrace the panic hook recorded.
pub(crate) fn catch_task<T>(f: impl FnOnce() -> T) -> Result<T, Failure> {
    let outer = IN_TASK.with(|t| t.replace(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(f));
    IN_TASK.with(|t| t.set(outer));
    match outcome {
        Ok(value) => Ok(value),
        Err(payload) => {
            let message = panic_message(&*payload);
            // Dropping a payload may itself panic; that must not take the worker down.
            drop_payload(payload);
            let backtrace = PANIC_TRACE
                .with(|t| t.borrow_mut().take())
                .unwrap_or_default();
            Err(Failure::Panicked { message, backtrace })
        }
    }
}

/// Records where a task panicked and its backtrace instead of printing them: like Python,
/// the error travels to the parent inside the future. Panics elsewhere (threads a task
/// started) are printed as usual.
fn install_panic_hook(name: String) {
    let default = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if !IN_TASK.with(Cell::get) {
            return default(info);
        }
        let location = info
            .location()
            .map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_default();
        let backtrace = Backtrace::force_capture();
        let text = format!("{name} panicked{location}\nstack backtrace:\n{backtrace}");
        if cfg!(panic = "abort") {
            // The process dies when the hook returns: say what happened first, on stderr
            // (as Rust's default hook would, naming the thread, which Rust cannot name
            // here) and on the wire, so the task's future fails with the message.
            let message = panic_message(info.payload());
            eprintln!(
                "\nthread '{WORKER_THREAD}' panicked{location}:\n{message}\nstack backtrace:\n{backtrace}"
            );
            last_words(Failure::Panicked {
                message,
                backtrace: format!("{text}\n(the worker process aborted: panic = \"abort\")"),
            });
            return;
        }
        PANIC_TRACE.with(|t| *t.borrow_mut() = Some(text));
    }));
}

/// Writes a LAST_WORDS frame for the running task straight to the wire. Only the task's own
/// thread calls it, while the serve loop is inside the task (so no reply is half-written).
fn last_words(failure: Failure) {
    let fd = OUTPUT_FD.load(Ordering::Relaxed);
    if fd < 0 {
        return;
    }
    let mut frame = Vec::new();
    let start = wire::begin_frame(&mut frame, kind::LAST_WORDS);
    frame.extend_from_slice(&RUNNING_TASK.load(Ordering::Relaxed).to_le_bytes());
    if postcard::to_io(&failure, &mut frame).is_err()
        || wire::end_frame(&mut frame, start, 1 << 20).is_err()
    {
        return;
    }
    // SAFETY: the wire's descriptor stays open for the worker's life; `ManuallyDrop` keeps
    // this temporary `File` from closing it.
    let mut out = std::mem::ManuallyDrop::new(unsafe { File::from_raw_fd(fd) });
    let _ = out.write_all(&frame);
}
