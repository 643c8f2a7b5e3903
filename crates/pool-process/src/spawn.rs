//! Starting a worker process: the executable re-executed with two private pipes.
//!
//! The pipes are made close-on-exec, so no other child of this process inherits them; only in
//! the worker, between `fork` and `exec`, are the worker's two ends made inheritable. Their
//! numbers travel in the environment variable that puts the child in worker mode, so no fixed
//! descriptor number can collide with one the process already uses. The worker's stdin is
//! `/dev/null`; its stdout and stderr are the parent's, so what a task prints shows up where
//! the parent's output goes, and never on the wire.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use cfutures_core::ExitReason;

use crate::identity::executable;
use crate::started::StartedCounter;
use crate::worker::WORKER_ENV;

/// Pipe buffers we ask the kernel for: large enough that many queued tasks fit, so a writer
/// never waits on a busy worker (see `dispatch.rs`, R3's byte bound).
const PIPE_BYTES: i32 = 1 << 20;

/// A started worker process: its identity and the parent's ends of its wire.
pub(crate) struct Spawned {
    pub(crate) pid: u32,
    /// Names exactly this process, even after it is reaped and its pid reused.
    pub(crate) pidfd: OwnedFd,
    /// Non-blocking: writers wait with `poll`, watching the pidfd too.
    pub(crate) to_worker: File,
    /// Non-blocking: the monitor waits with `poll`, watching the pidfd too.
    pub(crate) from_worker: File,
    /// How many bytes the pipe to the worker holds.
    pub(crate) capacity: usize,
    /// How many tasks the worker has started (see `started.rs`), where available.
    pub(crate) started: Option<StartedCounter>,
}

/// Moves a descriptor above the standard ones: a program that closed stdin (as daemons do)
/// would otherwise get a pipe end as fd 0, which the child's stdin redirection overwrites.
fn above_stdio(fd: OwnedFd) -> io::Result<OwnedFd> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    // SAFETY: duplicates a descriptor we own onto the lowest free number >= 3, close-on-exec.
    let moved = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
    if moved < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `moved` is a new descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(moved) })
}

/// A close-on-exec pipe whose ends are both above the standard descriptors.
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let (read, write) = io::pipe()?;
    Ok((above_stdio(read.into())?, above_stdio(write.into())?))
}

fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: F_GETFL/F_SETFL on a descriptor we own; no memory is passed.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A descriptor that names process `pid` (Linux 5.3).
fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) } as RawFd;
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a new descriptor nothing else owns (pidfds are close-on-exec).
    above_stdio(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Starts one worker. The calling thread becomes the one whose exit the worker's parent-death
/// signal follows (Linux ties `PR_SET_PDEATHSIG` to the thread that forked), so callers spawn
/// from a thread that outlives the worker.
pub(crate) fn spawn_worker(max_frame: usize) -> io::Result<Spawned> {
    let (task_read, task_write) = pipe()?;
    let (reply_read, reply_write) = pipe()?;
    let capacity = grow_pipe(task_write.as_fd());
    grow_pipe(reply_write.as_fd());

    let (started, started_fd) = match StartedCounter::create() {
        Ok((counter, fd)) => (Some(counter), Some(above_stdio(fd)?)),
        Err(_) => (None, None),
    };
    let child_in = task_read.as_raw_fd();
    let child_out = reply_write.as_raw_fd();
    let child_started = started_fd.as_ref().map_or(-1, |fd| fd.as_raw_fd());
    let parent_pid = std::process::id();
    let mut command = Command::new(executable()?);
    if let Some(arg0) = std::env::args_os().next() {
        command.arg0(arg0);
    }
    command
        .env(
            WORKER_ENV,
            format!("{child_in},{child_out},{child_started},{max_frame}"),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit());
    // SAFETY: the closure runs in the forked child before `exec` and calls only
    // async-signal-safe functions (fcntl, prctl, getppid), allocating nothing.
    unsafe {
        command.pre_exec(move || {
            for fd in [child_in, child_out, child_started] {
                if fd >= 0 && libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                    return Err(io::Error::last_os_error());
                }
            }
            set_parent_death_signal(parent_pid)
        });
    }
    let child = command.spawn()?;
    let pid = child.id();
    // Never waited through `Child`: the pidfd is how we learn the end and reap (`reap`).
    drop(child);
    // The worker holds its ends now; ours must go.
    drop(task_read);
    drop(reply_write);
    drop(started_fd);
    let pidfd = match pidfd_open(pid) {
        Ok(fd) => fd,
        Err(e) => {
            // Without a pidfd we cannot watch or signal it safely: it goes at once.
            // SAFETY: kill and waitpid on the child we just started and have not reaped.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
                libc::waitpid(pid as libc::pid_t, std::ptr::null_mut(), 0);
            }
            return Err(e);
        }
    };
    set_nonblocking(task_write.as_fd())?;
    set_nonblocking(reply_read.as_fd())?;
    Ok(Spawned {
        pid,
        pidfd,
        to_worker: File::from(task_write),
        from_worker: File::from(reply_read),
        capacity,
        started,
    })
}

/// Reaps the process `pidfd` names, which has exited (its pidfd was readable), and says how it
/// ended. `Unknown` if someone else reaped it first (a `waitpid(-1)` elsewhere in the program,
/// or `SIGCHLD` ignored, which makes the kernel reap children itself).
pub(crate) fn reap(pidfd: BorrowedFd<'_>) -> ExitReason {
    let mut info = std::mem::MaybeUninit::<libc::siginfo_t>::zeroed();
    loop {
        // SAFETY: waitid writes one siginfo_t into `info`, which is valid for writes.
        let rc = unsafe {
            libc::waitid(
                libc::P_PIDFD,
                fd_id(pidfd),
                info.as_mut_ptr(),
                libc::WEXITED,
            )
        };
        if rc == 0 {
            break;
        }
        if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return ExitReason::Unknown;
        }
    }
    // SAFETY: waitid succeeded and filled in `info`.
    let info = unsafe { info.assume_init() };
    // SAFETY: for a WEXITED result, si_status is the valid union member.
    let status = unsafe { info.si_status() };
    match info.si_code {
        libc::CLD_EXITED => ExitReason::Code(status),
        libc::CLD_KILLED | libc::CLD_DUMPED => ExitReason::Signal(status),
        _ => ExitReason::Unknown,
    }
}

fn fd_id(fd: BorrowedFd<'_>) -> libc::id_t {
    fd.as_raw_fd() as libc::id_t
}

/// Sends `signal` to exactly the process `pidfd` names: never another process that reused
/// its pid.
pub(crate) fn signal(pidfd: BorrowedFd<'_>, signal: i32) {
    // SAFETY: pidfd_send_signal takes a descriptor, a signal number, a null info and flags.
    unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        );
    }
}

#[cfg(target_os = "linux")]
fn set_parent_death_signal(parent_pid: u32) -> io::Result<()> {
    // SAFETY: prctl(PR_SET_PDEATHSIG) takes a signal number and touches no memory.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) } == -1 {
        return Err(io::Error::last_os_error());
    }
    // The parent may have died before the prctl took effect: then no signal will come.
    // SAFETY: getppid cannot fail.
    if unsafe { libc::getppid() } as u32 != parent_pid {
        return Err(io::Error::other(
            "the parent exited while the worker started",
        ));
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn set_parent_death_signal(_parent_pid: u32) -> io::Result<()> {
    // Elsewhere the worker still exits at end of file on its pipe.
    Ok(())
}

/// Asks for a bigger pipe buffer (best effort) and returns the size it has.
#[cfg(target_os = "linux")]
fn grow_pipe(fd: BorrowedFd<'_>) -> usize {
    // SAFETY: F_SETPIPE_SZ / F_GETPIPE_SZ on a pipe descriptor we own; no memory is passed.
    unsafe {
        libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_BYTES);
        let size = libc::fcntl(fd.as_raw_fd(), libc::F_GETPIPE_SZ);
        if size > 0 { size as usize } else { 4096 }
    }
}

#[cfg(not(target_os = "linux"))]
fn grow_pipe(_fd: BorrowedFd<'_>) -> usize {
    // POSIX guarantees PIPE_BUF (512); common systems give far more.
    512
}
