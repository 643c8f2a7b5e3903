//! Starting a worker process: the executable re-executed with two private pipes.
//!
//! The pipes are made close-on-exec, so no other child of this process inherits them; only in
//! the worker, between `fork` and `exec`, are the worker's two ends made inheritable. Their
//! numbers travel in the environment variable that puts the child in worker mode, so no fixed
//! descriptor number can collide with one the process already uses. The worker's stdin is
//! `/dev/null`; its stdout and stderr are the parent's, so what a task prints shows up where
//! the parent's output goes, and never on the wire.

use std::io::{self, PipeReader, PipeWriter};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};

use cfutures_core::ExitReason;

use crate::identity::executable;
use crate::started::StartedCounter;
use crate::worker::WORKER_ENV;

/// Pipe buffers we ask the kernel for: large enough that many queued tasks fit, so a writer
/// never waits on a busy worker (see `pool.rs`, "the byte bound").
const PIPE_BYTES: i32 = 1 << 20;

/// A started worker process and the parent's ends of its pipes.
pub(crate) struct Spawned {
    pub(crate) child: Child,
    pub(crate) to_worker: PipeWriter,
    pub(crate) from_worker: PipeReader,
    /// How many bytes the pipe to the worker holds.
    pub(crate) capacity: usize,
    /// How many tasks the worker has started (see `started.rs`), where available.
    pub(crate) started: Option<StartedCounter>,
}

/// Starts one worker. The calling thread becomes the one whose exit the worker's parent-death
/// signal follows (Linux ties `PR_SET_PDEATHSIG` to the thread that forked), so callers spawn
/// from a thread that outlives the worker.
pub(crate) fn spawn_worker(max_frame: usize) -> io::Result<Spawned> {
    let (task_read, task_write) = io::pipe()?;
    let (reply_read, reply_write) = io::pipe()?;
    let capacity = grow_pipe(task_write.as_fd());
    grow_pipe(reply_write.as_fd());

    let (started, started_fd) = match StartedCounter::create() {
        Ok((counter, fd)) => (Some(counter), Some(fd)),
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
    // The worker holds its ends now; ours must go, or we would never see end of file.
    drop(task_read);
    drop(reply_write);
    drop(started_fd);
    Ok(Spawned {
        child,
        to_worker: task_write,
        from_worker: reply_read,
        capacity,
        started,
    })
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

/// How a reaped worker ended.
pub(crate) fn exit_reason(status: io::Result<ExitStatus>) -> ExitReason {
    match status {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(code), _) => ExitReason::Code(code),
            (None, Some(signal)) => ExitReason::Signal(signal),
            _ => ExitReason::Unknown,
        },
        Err(_) => ExitReason::Unknown,
    }
}

/// Sends `signal` to a worker that has not been reaped yet (so its pid cannot have been
/// reused): callers are the worker's own monitor before it reaps it, or hold the pool's lock
/// and find the pid in the worker's slot, which the monitor clears under that lock before
/// reaping.
pub(crate) fn signal(pid: u32, signal: i32) {
    // SAFETY: kill takes plain integers; callers only pass pids of children not yet reaped.
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}
