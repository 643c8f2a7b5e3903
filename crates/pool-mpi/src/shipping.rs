//! STAND-IN, to be deleted at merge: function shipping and build identity.
//!
//! The real home of this mechanism is `cfutures-process` (`entry.rs`, `identity.rs`,
//! `wire::{Call, Failure, BuildId}`), whose items are `pub(crate)` today and whose crate is
//! being rebuilt (issue 12). This file is the minimal surface the MPI pool needs from it,
//! with the same contract, so that the switch at merge is one line in `lib.rs`
//! (`use cfutures_process::shipping;`). The items the process crate must expose are listed
//! in the crate report; nothing here may grow beyond them.
//!
//! The contract (as in the process crate's docs, "How a worker finds the function"): every
//! rank runs the same executable, so a function's offset from a fixed anchor function is the
//! same in every rank. A task travels as the offset of a monomorphised entry point for its
//! `F: Fn(A) -> R` plus, for a function pointer, the pointer's offset. Sound because (1) the
//! handshake checks every rank runs the same build ([`build_id`]), (2) offsets are taken only
//! for code in the image holding the anchor (`dladdr`), (3) `F` is zero-sized or exactly
//! `fn(A) -> R`.

use std::any::TypeId;
use std::backtrace::{Backtrace, BacktraceStatus};
use std::cell::{Cell, RefCell};
use std::hash::Hasher;
use std::io::Read;
use std::panic::{self, AssertUnwindSafe};
use std::sync::OnceLock;

use cfutures_core::Error;
use cfutures_core::unwind::{drop_payload, panic_message};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The one signature of every entry point: decode the argument, call, encode the value.
pub(crate) type Entry = fn(fn_word: usize, arg: &[u8], out: &mut Vec<u8>) -> Result<(), String>;

/// A function to call on a worker rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Call {
    /// Offset of the monomorphised entry point from the anchor.
    pub(crate) entry: i64,
    /// A function pointer's offset from the anchor, or 0 for a zero-sized `F`.
    pub(crate) fn_word: u64,
}

/// Why a task produced no value (the process crate's `wire::Failure`, same encoding).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Failure {
    /// It panicked: the payload text, and where (rank, host, location, backtrace).
    Panicked { message: String, backtrace: String },
    /// Its argument could not be decoded or its value encoded.
    Serialization(String),
}

impl Failure {
    /// The error a future fails with.
    pub(crate) fn into_error(self) -> Error {
        match self {
            Failure::Panicked { message, backtrace } => Error::Panicked {
                message,
                backtrace: Some(backtrace),
            },
            Failure::Serialization(message) => Error::Serialization(message),
        }
    }
}

/// The identity of a build; every rank must compute the same.
///
/// Unlike the process crate's (device and inode of the executable), this one must also hold
/// across machines (`mpirun --hostfile`), where the same build is a copy with another inode:
/// it uses the executable's size and a hash of its bytes instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BuildId {
    pub(crate) exe_size: u64,
    pub(crate) exe_hash: u64,
    pub(crate) layout: u64,
    pub(crate) version: String,
}

#[inline(never)]
fn anchor() -> usize {
    anchor as fn() -> usize as usize
}

#[inline(never)]
fn layout_probe() -> usize {
    layout_probe as fn() -> usize as usize
}

/// This process's build identity, computed once.
pub(crate) fn build_id() -> &'static BuildId {
    static ID: OnceLock<BuildId> = OnceLock::new();
    ID.get_or_init(|| {
        let (exe_size, exe_hash) = hash_executable().unwrap_or((0, 0));
        BuildId {
            exe_size,
            exe_hash,
            layout: layout_probe().wrapping_sub(anchor()) as u64,
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    })
}

/// Size and a 64-bit hash of the running executable's bytes.
fn hash_executable() -> std::io::Result<(u64, u64)> {
    let mut file = std::fs::File::open("/proc/self/exe")?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok((size, hasher.finish()));
        }
        size += n as u64;
        hasher.write(&buf[..n]);
    }
}

fn task_entry<F, A, R>(fn_word: usize, arg: &[u8], out: &mut Vec<u8>) -> Result<(), String>
where
    F: Fn(A) -> R + Copy + 'static,
    A: DeserializeOwned,
    R: Serialize,
{
    // SAFETY: the dispatcher chose this entry point for exactly this `F`, with a `fn_word`
    // made by `describe::<F, _>` from a value of `F`, in the same build (module docs).
    let f: F = unsafe { conjure::<F>(fn_word) };
    let arg: A =
        postcard::from_bytes(arg).map_err(|e| format!("cannot decode the argument: {e}"))?;
    let value = f(arg);
    postcard::to_io(&value, out).map_err(|e| format!("cannot encode the result: {e}"))?;
    Ok(())
}

fn chunk_entry<F, A, R>(fn_word: usize, arg: &[u8], out: &mut Vec<u8>) -> Result<(), String>
where
    F: Fn(A) -> R + Copy + 'static,
    A: DeserializeOwned,
    R: Serialize,
{
    // SAFETY: as in `task_entry`.
    let f: F = unsafe { conjure::<F>(fn_word) };
    let items: Vec<A> =
        postcard::from_bytes(arg).map_err(|e| format!("cannot decode the chunk: {e}"))?;
    let values: Vec<Result<R, Failure>> = items
        .into_iter()
        .map(|item| catch_task(|| f(item)))
        .collect();
    postcard::to_io(&values, out).map_err(|e| format!("cannot encode the results: {e}"))?;
    Ok(())
}

/// # Safety
/// `fn_word` must come from [`describe`] for this `F` in a process of the same build.
unsafe fn conjure<F: Copy + 'static>(fn_word: usize) -> F {
    if size_of::<F>() == 0 {
        // SAFETY: a zero-sized `Copy` type has one value and no bytes (module docs, check 3).
        unsafe { std::mem::zeroed() }
    } else {
        let address = anchor().wrapping_add(fn_word);
        // SAFETY: `describe` accepted a sized `F` only as the function pointer type, of the
        // size of a `usize`; `address` is that function in this copy of the image.
        unsafe { std::mem::transmute_copy::<usize, F>(&address) }
    }
}

/// The [`Call`] that runs `f` as a task.
pub(crate) fn task_call<F, A, R>(f: &F) -> Result<Call, Error>
where
    F: Fn(A) -> R + Copy + 'static,
    A: DeserializeOwned + 'static,
    R: Serialize + 'static,
{
    describe::<F, fn(A) -> R>(f, task_entry::<F, A, R>)
}

/// The [`Call`] that runs `f` over a chunk (`Vec<A>` in, `Vec<Result<R, Failure>>` out).
pub(crate) fn chunk_call<F, A, R>(f: &F) -> Result<Call, Error>
where
    F: Fn(A) -> R + Copy + 'static,
    A: DeserializeOwned + 'static,
    R: Serialize + 'static,
{
    describe::<F, fn(A) -> R>(f, chunk_entry::<F, A, R>)
}

fn describe<F: Copy + 'static, P: 'static>(f: &F, entry: Entry) -> Result<Call, Error> {
    let entry_address = entry as usize;
    check_same_image(entry_address)?;
    let fn_word = if size_of::<F>() == 0 {
        0
    } else if TypeId::of::<F>() == TypeId::of::<P>() && size_of::<F>() == size_of::<usize>() {
        // SAFETY: `F` is the function pointer type `P`, the size of a `usize`.
        let address: usize = unsafe { std::mem::transmute_copy::<F, usize>(f) };
        check_same_image(address)?;
        address.wrapping_sub(anchor())
    } else {
        return Err(Error::InvalidArgument(format!(
            "an MPI-pool task must be a function or a closure that captures nothing \
             (`{}` has {} bytes of captured state); pass the data as the argument instead",
            std::any::type_name::<F>(),
            size_of::<F>()
        )));
    };
    Ok(Call {
        entry: entry_address.wrapping_sub(anchor()) as i64,
        fn_word: fn_word as u64,
    })
}

/// The entry point and function word of a received [`Call`].
///
/// # Safety
/// `call` must come from [`task_call`] or [`chunk_call`] in a process of the same build.
pub(crate) unsafe fn resolve(call: Call) -> (Entry, usize) {
    let address = anchor().wrapping_add(call.entry as usize);
    // SAFETY: by the caller's contract `address` is an entry point of type `Entry` measured
    // in the same image.
    let entry: Entry = unsafe { std::mem::transmute::<usize, Entry>(address) };
    (entry, call.fn_word as usize)
}

fn check_same_image(address: usize) -> Result<(), Error> {
    let anchor_base = object_base(anchor());
    if anchor_base.is_none() || object_base(address) != anchor_base {
        return Err(Error::InvalidArgument(format!(
            "the task function at {address:#x} is not in the executable image that holds \
             cfutures-mpi; another rank could not find it"
        )));
    }
    Ok(())
}

fn object_base(address: usize) -> Option<usize> {
    let mut info = std::mem::MaybeUninit::<libc::Dl_info>::zeroed();
    // SAFETY: `dladdr` reads its address argument and writes `info`, valid for writes.
    let found = unsafe { libc::dladdr(address as *const libc::c_void, info.as_mut_ptr()) };
    // SAFETY: `dladdr` succeeded, so it filled in `info`.
    (found != 0).then(|| unsafe { info.assume_init() }.dli_fbase as usize)
}

thread_local! {
    static IN_TASK: Cell<bool> = const { Cell::new(false) };
    static PANIC_TRACE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `call` on `arg`, appending the value's bytes to `out`.
///
/// # Safety
/// As [`resolve`].
pub(crate) unsafe fn run(call: Call, arg: &[u8], out: &mut Vec<u8>) -> Result<(), Failure> {
    // SAFETY: the caller's contract.
    let (entry, fn_word) = unsafe { resolve(call) };
    let mark = out.len();
    let outcome =
        catch_task(|| entry(fn_word, arg, out)).and_then(|r| r.map_err(Failure::Serialization));
    if outcome.is_err() {
        out.truncate(mark);
    }
    outcome
}

/// Runs `f`, turning a panic into [`Failure::Panicked`] with what the hook recorded.
fn catch_task<T>(f: impl FnOnce() -> T) -> Result<T, Failure> {
    let outer = IN_TASK.with(|t| t.replace(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(f));
    IN_TASK.with(|t| t.set(outer));
    outcome.map_err(|payload| {
        let message = panic_message(&*payload);
        drop_payload(payload);
        let backtrace = PANIC_TRACE
            .with(|t| t.borrow_mut().take())
            .unwrap_or_default();
        Failure::Panicked { message, backtrace }
    })
}

/// Makes task panics record `"<whoami> panicked at <location>"` (and the backtrace when
/// `RUST_BACKTRACE` asks for one) instead of printing: the text travels home in the error.
/// Other panics print as usual.
pub(crate) fn install_panic_hook(whoami: String) {
    let default = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if !IN_TASK.with(Cell::get) {
            return default(info);
        }
        let location = info
            .location()
            .map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_default();
        let backtrace = Backtrace::capture();
        let text = match backtrace.status() {
            BacktraceStatus::Captured => {
                format!("{whoami} panicked{location}\nstack backtrace:\n{backtrace}")
            }
            _ => format!("{whoami} panicked{location}"),
        };
        PANIC_TRACE.with(|t| *t.borrow_mut() = Some(text));
    }));
}
