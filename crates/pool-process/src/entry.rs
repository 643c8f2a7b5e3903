//! How a worker finds the function to call, and why that is sound.
//!
//! A worker is the parent's own executable, re-executed (see `spawn.rs`). So every function of
//! the parent exists in the worker, at the same offset from any other function of the same
//! executable image: address-space layout randomisation moves the image as a whole. The
//! parent therefore sends, for each task, the offset of a *monomorphised entry point*
//! ([`task_entry::<F, A, R>`]) from a fixed *anchor* function of this crate; the worker adds
//! its own anchor's address back and calls it through the one non-generic signature
//! [`Entry`]. The entry point was instantiated for the user's function type `F`, so it
//! decodes exactly `A`, calls exactly `F` and encodes exactly `R`.
//!
//! Why this is sound (same build, same image, same function value) is set out in the crate
//! documentation (`lib.rs`, "How a worker finds the function"); the checks live here
//! ([`describe`], [`check_same_image`]) and in the handshake (`worker.rs`, `monitor.rs`).

use std::any::TypeId;
use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use cfutures_core::Error;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::body::Body;
use crate::codec::Encoded;
use crate::wire::{Call, Failure};

/// The one signature every entry point has: decode the argument from `arg`, call the user's
/// function, encode its value onto `out`, or return it as a [`Body`] if it is byte-like and
/// at least `body_min` bytes. `Err` carries a serialisation failure; a panic unwinds out to
/// the worker loop.
pub(crate) type Entry = fn(
    fn_word: usize,
    arg: Encoded<'_>,
    out: &mut Vec<u8>,
    body_min: usize,
) -> Result<Option<Body>, String>;

/// The fixed point offsets are measured from. Never inlined, so it has an address.
#[inline(never)]
pub(crate) fn anchor() -> usize {
    anchor as fn() -> usize as usize
}

/// A second fixed function: the distance to it fingerprints the code layout.
#[inline(never)]
fn layout_probe() -> usize {
    layout_probe as fn() -> usize as usize
}

/// The distance between two functions of this crate, part of the build identity.
pub(crate) fn layout_fingerprint() -> u64 {
    layout_probe().wrapping_sub(anchor()) as u64
}

/// Runs one task: the entry point for a task function `F: Fn(A) -> R`.
fn task_entry<F, A, R>(
    fn_word: usize,
    arg: Encoded<'_>,
    out: &mut Vec<u8>,
    body_min: usize,
) -> Result<Option<Body>, String>
where
    F: Fn(A) -> R + Copy + 'static,
    A: DeserializeOwned + 'static,
    R: Serialize + 'static,
{
    // SAFETY: this entry point was chosen by the parent for exactly this `F`, together with a
    // `fn_word` made by `describe::<F, ..>` from a value of `F` (crate docs, check 3).
    let f: F = unsafe { conjure::<F>(fn_word) };
    let arg: A =
        crate::codec::decode(arg).map_err(|e| format!("cannot decode the argument: {e}"))?;
    let value = f(arg);
    crate::codec::encode(value, out, body_min).map_err(|e| format!("cannot encode the result: {e}"))
}

/// Runs a chunk of `map`: the argument is a `Vec<A>`, the value a `Vec<Result<R, Failure>>`.
/// Each item's panic is caught on its own, so one bad item fails only itself.
fn chunk_entry<F, A, R>(
    fn_word: usize,
    arg: Encoded<'_>,
    out: &mut Vec<u8>,
    _body_min: usize,
) -> Result<Option<Body>, String>
where
    F: Fn(A) -> R + Copy + 'static,
    A: DeserializeOwned,
    R: Serialize,
{
    // SAFETY: as in `task_entry`.
    let f: F = unsafe { conjure::<F>(fn_word) };
    let items: Vec<A> = crate::serde_text::decode(inline(arg)?)
        .map_err(|e| format!("cannot decode the chunk: {e}"))?;
    let values: Vec<Result<R, Failure>> = items
        .into_iter()
        .map(|item| crate::worker::catch_task(|| f(item)))
        .collect();
    crate::serde_text::encode(&values, out)
        .map_err(|e| format!("cannot encode the results: {e}"))?;
    Ok(None)
}

/// Runs an initializer `F: Fn(A)`.
fn init_entry<F, A>(
    fn_word: usize,
    arg: Encoded<'_>,
    _out: &mut Vec<u8>,
    _body_min: usize,
) -> Result<Option<Body>, String>
where
    F: Fn(A) + Copy + 'static,
    A: DeserializeOwned,
{
    // SAFETY: as in `task_entry`.
    let f: F = unsafe { conjure::<F>(fn_word) };
    let arg: A = crate::serde_text::decode(inline(arg)?)
        .map_err(|e| format!("cannot decode the initializer's argument: {e}"))?;
    f(arg);
    Ok(None)
}

/// The encoded bytes of an argument only ever sent inline (a chunk, an initializer's).
fn inline(arg: Encoded<'_>) -> Result<&[u8], String> {
    match arg {
        Encoded::Inline(bytes) => Ok(bytes),
        Encoded::Body(_) => Err("a body frame for a call that takes encoded bytes".into()),
    }
}

/// Makes the worker's copy of the parent's `F`.
///
/// # Safety
/// `fn_word` must come from [`describe`] for this `F` in a process running the same build.
unsafe fn conjure<F: Copy + 'static>(fn_word: usize) -> F {
    if size_of::<F>() == 0 {
        // SAFETY: `F` is zero-sized, so it has a single value and no bytes to initialise;
        // it is `Copy` and the parent held a value of it (crate docs, check 3).
        unsafe { std::mem::zeroed() }
    } else {
        // `describe` accepted a sized `F` only if it is a function pointer, sent as an offset
        // from the anchor.
        let address = anchor().wrapping_add(fn_word);
        // SAFETY: `F` is a function pointer type (checked by `describe` through `TypeId` in the
        // parent, same build), hence the size of a `usize`, and `address` is the address of
        // the same function in this copy of the image (crate docs, checks 1 and 2).
        unsafe { std::mem::transmute_copy::<usize, F>(&address) }
    }
}

/// The [`Call`] that makes a worker run `f` as a task.
pub fn task_call<F, A, R>(f: &F) -> Result<Call, Error>
where
    F: Fn(A) -> R + Copy + 'static,
    A: DeserializeOwned + 'static,
    R: Serialize + 'static,
{
    describe::<F, fn(A) -> R>(f, task_entry::<F, A, R>)
}

/// The [`Call`] that makes a worker run `f` over a chunk of items.
pub fn chunk_call<F, A, R>(f: &F) -> Result<Call, Error>
where
    F: Fn(A) -> R + Copy + 'static,
    A: DeserializeOwned + 'static,
    R: Serialize + 'static,
{
    describe::<F, fn(A) -> R>(f, chunk_entry::<F, A, R>)
}

/// The [`Call`] that makes a worker run `f` as its initializer.
pub fn init_call<F, A>(f: &F) -> Result<Call, Error>
where
    F: Fn(A) + Copy + 'static,
    A: DeserializeOwned + 'static,
{
    describe::<F, fn(A)>(f, init_entry::<F, A>)
}

/// Encodes `entry` and `f` as offsets; `P` is the function-pointer type `F` may be.
fn describe<F: Copy + 'static, P: 'static>(f: &F, entry: Entry) -> Result<Call, Error> {
    let entry_address = entry as usize;
    check_same_image(entry_address)?;
    let fn_word = if size_of::<F>() == 0 {
        0
    } else if TypeId::of::<F>() == TypeId::of::<P>() && size_of::<F>() == size_of::<usize>() {
        // SAFETY: `F` is the function pointer type `P`, which has the size of a `usize`.
        let address: usize = unsafe { std::mem::transmute_copy::<F, usize>(f) };
        check_same_image(address)?;
        address.wrapping_sub(anchor())
    } else {
        return Err(Error::InvalidArgument(format!(
            "a process-pool task must be a function or a closure that captures nothing \
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

/// Turns a received [`Call`] back into the entry point and its function word.
///
/// # Safety
/// `call` must have been made by [`describe`] in a process running the same build (the
/// handshake's guarantee).
pub(crate) unsafe fn resolve(call: Call) -> (Entry, usize) {
    let address = anchor().wrapping_add(call.entry as usize);
    // SAFETY: by the caller's contract `address` is the entry point `describe` measured, in
    // this copy of the same image (crate docs); `Entry` is the type it was measured as.
    let entry: Entry = unsafe { std::mem::transmute::<usize, Entry>(address) };
    (entry, call.fn_word as usize)
}

/// Refuses a code address outside the loaded object that holds the anchor.
fn check_same_image(address: usize) -> Result<(), Error> {
    static CHECKED: OnceLock<Mutex<HashSet<usize>>> = OnceLock::new();
    let checked = CHECKED.get_or_init(Default::default);
    if checked
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(&address)
    {
        return Ok(());
    }
    let anchor_base = object_base(anchor());
    let base = object_base(address);
    if anchor_base.is_none() || base != anchor_base {
        return Err(Error::InvalidArgument(format!(
            "the task function at {address:#x} is not in the executable image that holds \
             cfutures-process; a worker could not find it"
        )));
    }
    checked
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(address);
    Ok(())
}

/// The load address of the object (executable or shared library) containing `address`.
fn object_base(address: usize) -> Option<usize> {
    let mut info = std::mem::MaybeUninit::<libc::Dl_info>::zeroed();
    // SAFETY: `dladdr` only reads its address argument and writes `info`, which is valid for
    // writes; it returns 0 if it found no object.
    let found = unsafe { libc::dladdr(address as *const libc::c_void, info.as_mut_ptr()) };
    if found == 0 {
        return None;
    }
    // SAFETY: `dladdr` succeeded, so it filled in `info`.
    let info = unsafe { info.assume_init() };
    Some(info.dli_fbase as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn double(x: u32) -> u32 {
        x * 2
    }

    fn run(call: Call, arg: &[u8]) -> Result<Vec<u8>, String> {
        // SAFETY: made by `describe` in this very process.
        let (entry, word) = unsafe { resolve(call) };
        let mut out = Vec::new();
        entry(word, Encoded::Inline(arg), &mut out, usize::MAX)?;
        Ok(out)
    }

    #[test]
    fn function_items_closures_and_pointers_round_trip() {
        let arg = postcard::to_allocvec(&21u32).unwrap();
        let item = task_call(&double).unwrap();
        assert_eq!(item.fn_word, 0);
        let closure = task_call(&|x: u32| x + 1).unwrap();
        let pointer = task_call(&(double as fn(u32) -> u32)).unwrap();
        assert_ne!(pointer.fn_word, 0);
        for (call, want) in [(item, 42u32), (closure, 22), (pointer, 42)] {
            let out = run(call, &arg).unwrap();
            assert_eq!(postcard::from_bytes::<u32>(&out).unwrap(), want);
        }
    }

    #[test]
    fn capturing_closures_are_refused() {
        let offset = 5u32;
        let err = task_call(&move |x: u32| x + offset).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    }

    #[test]
    fn a_bad_argument_is_a_serialisation_error() {
        let call = task_call(&double).unwrap();
        let err = run(call, &[]).unwrap_err();
        assert!(err.contains("cannot decode the argument"), "{err}");
    }
}
