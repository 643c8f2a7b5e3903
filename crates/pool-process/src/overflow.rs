//! Stack overflows in a worker say so, as Rust says so in any other program.
//!
//! Rust's runtime installs a `SIGSEGV`/`SIGBUS` handler that recognises a fault in a thread's
//! guard page and prints "thread '...' has overflowed its stack" before aborting. A worker
//! entered from the ELF constructor runs before that runtime set-up, so it installs the same
//! kind of handler for the thread that runs tasks (the main thread): an alternate signal
//! stack, and a handler that prints the message for a fault just below the stack and
//! otherwise restores the default action (the fault then repeats and kills the worker as
//! before).

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::worker::WORKER_THREAD;

/// The guard range of the task thread.
static GUARD_START: AtomicUsize = AtomicUsize::new(0);
static GUARD_END: AtomicUsize = AtomicUsize::new(0);
/// Bytes of the alternate signal stack.
const ALT_STACK: usize = 64 * 1024;

/// Installs the handler for the calling thread, unless the program already handles
/// `SIGSEGV` (Rust's runtime ran: then its handler does this job).
pub(crate) fn install_on_this_thread() {
    // SAFETY: queries the current disposition into a zeroed struct.
    let current = unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGSEGV, std::ptr::null(), &mut old);
        old.sa_sigaction
    };
    if current != libc::SIG_DFL {
        return;
    }
    let Some((start, end)) = guard_range() else {
        return;
    };
    GUARD_START.store(start, Ordering::Relaxed);
    GUARD_END.store(end, Ordering::Relaxed);
    // SAFETY: maps a private anonymous region for the alternate stack (kept for the process's
    // life) and installs it and the handler; all structs are initialised.
    unsafe {
        let stack = libc::mmap(
            std::ptr::null_mut(),
            ALT_STACK,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if stack == libc::MAP_FAILED {
            return;
        }
        let alt = libc::stack_t {
            ss_sp: stack,
            ss_flags: 0,
            ss_size: ALT_STACK,
        };
        if libc::sigaltstack(&alt, std::ptr::null_mut()) != 0 {
            return;
        }
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_fault as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGSEGV, &action, std::ptr::null_mut());
        libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
    }
}

/// The kernel's gap below a main thread's stack (`stack_guard_gap`, 256 pages by default):
/// nothing is mapped there, so a fault in it is the stack growing past its limit.
const MAIN_GUARD_GAP: usize = 1 << 20;

/// The calling thread's guard area, as Rust's runtime computes it: for the main thread (whose
/// guard glibc reports as 0) the gap below the lowest address the stack may grow to; for
/// other glibc threads the guard page, on both sides of the reported start (glibc used to
/// count the guard inside the stack).
fn guard_range() -> Option<(usize, usize)> {
    // SAFETY: pthread_getattr_np fills an attribute object we destroy after reading it.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut addr = std::ptr::null_mut();
        let mut size = 0;
        let mut guard = 0;
        let ok = libc::pthread_attr_getstack(&attr, &mut addr, &mut size) == 0
            && libc::pthread_attr_getguardsize(&attr, &mut guard) == 0;
        libc::pthread_attr_destroy(&mut attr);
        if !ok {
            return None;
        }
        let guard = if guard == 0 { MAIN_GUARD_GAP } else { guard };
        let addr = addr as usize;
        Some((addr.saturating_sub(guard), addr + guard))
    }
}

extern "C" fn on_fault(signal: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for a SA_SIGINFO handler.
    let address = unsafe { (*info).si_addr() } as usize;
    let (start, end) = (
        GUARD_START.load(Ordering::Relaxed),
        GUARD_END.load(Ordering::Relaxed),
    );
    if (start..end).contains(&address) {
        let mut message = [0u8; 160];
        let mut len = 0;
        for part in [
            "\nthread '".as_bytes(),
            WORKER_THREAD.as_bytes(),
            b"' has overflowed its stack\nfatal runtime error: stack overflow, aborting\n",
        ] {
            message[len..len + part.len()].copy_from_slice(part);
            len += part.len();
        }
        // SAFETY: write and abort are async-signal-safe; the buffer is live.
        unsafe {
            libc::write(2, message.as_ptr().cast(), len);
            libc::abort();
        }
    }
    // Not an overflow: the default action, when the faulting instruction runs again.
    // SAFETY: resets one signal's disposition; async-signal-safe.
    unsafe { libc::signal(signal, libc::SIG_DFL) };
}
