//! A counter of started tasks that a worker shares with its parent, to blame a crash exactly.
//!
//! The parent keeps several tasks in flight per worker, so when a worker dies, the replies
//! tell only which tasks had *finished*, not which of the others it had begun. Before running
//! each task the worker stores how many it has started into one word of shared memory (a
//! `memfd` both map); the parent reads it after reaping the worker. Tasks past that count
//! were never started: they go back to the queue for another worker. The one it had started
//! and not answered (a worker writes each reply before starting its next task) fails with
//! `WorkerDied`. So no task runs twice, and no task that never ran fails.
//!
//! Where `memfd_create` is unavailable the counter is absent and every task in flight on a
//! dead worker fails, as before: still no task runs twice.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes mapped: one page, the smallest mapping.
const MAP_BYTES: usize = 4096;

/// The parent's view of a worker's started-task counter.
pub(crate) struct StartedCounter {
    word: NonNull<AtomicU64>,
}

// SAFETY: the mapping is plain shared memory accessed only through an atomic.
unsafe impl Send for StartedCounter {}
// SAFETY: as above.
unsafe impl Sync for StartedCounter {}

impl StartedCounter {
    /// A new zeroed counter and the descriptor the worker maps it through (close-on-exec;
    /// the spawner makes the worker's copy inheritable).
    #[cfg(target_os = "linux")]
    pub(crate) fn create() -> io::Result<(StartedCounter, OwnedFd)> {
        // SAFETY: a NUL-terminated name and flags; returns a new descriptor or -1.
        let fd = unsafe { libc::memfd_create(c"cfutures-started".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: sizes the memfd we own; no memory is passed.
        if unsafe { libc::ftruncate(fd.as_raw_fd(), MAP_BYTES as libc::off_t) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let word = map(fd.as_raw_fd())?;
        Ok((StartedCounter { word }, fd))
    }

    #[cfg(not(target_os = "linux"))]
    pub(crate) fn create() -> io::Result<(StartedCounter, OwnedFd)> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "no memfd here"))
    }

    /// How many tasks the worker has started.
    pub(crate) fn load(&self) -> u64 {
        // SAFETY: the mapping lives as long as `self`.
        unsafe { self.word.as_ref() }.load(Ordering::Acquire)
    }
}

impl Drop for StartedCounter {
    fn drop(&mut self) {
        // SAFETY: unmaps the page `map` mapped, which nothing uses after `self`.
        unsafe { libc::munmap(self.word.as_ptr().cast(), MAP_BYTES) };
    }
}

/// Maps the counter's page shared, read-write.
fn map(fd: RawFd) -> io::Result<NonNull<AtomicU64>> {
    // SAFETY: maps a fresh page of a memfd at an address of the kernel's choosing.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            MAP_BYTES,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    NonNull::new(ptr.cast::<AtomicU64>()).ok_or_else(|| io::Error::other("mmap returned null"))
}

/// The worker's side: maps the counter its parent passed (and closes the descriptor, the
/// mapping stays). The mapping lives until the worker exits.
pub(crate) fn worker_counter(fd: RawFd) -> Option<&'static AtomicU64> {
    if fd < 0 {
        return None;
    }
    let word = map(fd).ok();
    // SAFETY: the descriptor was handed to this process for this mapping alone.
    drop(unsafe { OwnedFd::from_raw_fd(fd) });
    // SAFETY: the page is mapped for the rest of the process's life and only accessed
    // atomically; a page-aligned address is aligned for an AtomicU64.
    word.map(|w| unsafe { &*w.as_ptr() })
}
