//! Process probes for the process-pool suites (Linux: `/proc`, pidfds): zombie scans,
//! reaping checks, waiting for an exit without polling, signalling only our own workers, and
//! turning core dumps off before deliberate crashes.
//!
//! ```
//! use cfutures_test_support::process::{reaped, wait_exit, zombie_children};
//! use cfutures_test_support::PATIENCE;
//!
//! let mut child = std::process::Command::new("true").spawn().unwrap();
//! let pid = child.id();
//! assert!(wait_exit(pid, PATIENCE));
//! child.wait().unwrap();
//! assert!(reaped(pid));
//! assert!(!zombie_children().contains(&pid));
//! ```

use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::Once;
use std::time::Duration;

/// Children of this process that are zombies (exited, not reaped), by pid.
pub fn zombie_children() -> Vec<u32> {
    let me = std::process::id();
    let mut zombies = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let mut fields = after.split_whitespace();
        let (Some(state), Some(ppid)) = (fields.next(), fields.next()) else {
            continue;
        };
        if ppid.parse::<u32>() == Ok(me) && state == "Z" {
            zombies.push(pid);
        }
    }
    zombies
}

/// Waits (without polling) until process `pid`, not necessarily our child, has exited.
/// False if it is still alive after `timeout`.
pub fn wait_exit(pid: u32, timeout: Duration) -> bool {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) } as i32;
    if fd < 0 {
        // Already gone (ESRCH).
        return std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
    }
    // SAFETY: pidfd_open returned a descriptor we now own.
    let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = unsafe {
        libc::poll(
            &mut pfd,
            1,
            timeout.as_millis().min(i32::MAX as u128) as i32,
        )
    };
    n == 1
}

/// True if `pid` is not a child of ours awaiting reaping (it was reaped, or never was ours).
/// Reaps it if it was a zombie, so call it only for pids the pool should have reaped.
pub fn reaped(pid: u32) -> bool {
    let mut status = 0;
    // SAFETY: waitpid with WNOHANG only writes `status`.
    let rc = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, libc::WNOHANG) };
    rc == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD)
}

/// Sends `signal` to `pid` only if it is, at this instant, a child of this process (a worker
/// of one of our pools). A pidfd pins the process, so a pid reused by another process after
/// its reaping cannot be hit. True if the signal was sent.
pub fn signal_own_child(pid: u32, signal: i32) -> bool {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) } as i32;
    if fd < 0 {
        return false;
    }
    // SAFETY: pidfd_open returned a descriptor we now own.
    let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    // The pidfd names one process for good; check that *it* is ours. (If it died and the pid
    // was reused since, /proc shows the new process and the check may pass or fail, but the
    // signal below goes to the dead one and is refused.)
    let ours = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let after = &stat[stat.rfind(')')? + 1..];
            after.split_whitespace().nth(1)?.parse::<u32>().ok()
        })
        == Some(std::process::id());
    if !ours {
        return false;
    }
    // SAFETY: pidfd_send_signal with a valid pidfd, a signal number, no siginfo, no flags.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    rc == 0
}

/// Turns core dumps off for this process and the workers it starts from now on (or for a
/// worker about to crash on purpose), so a thousand deliberate crashes write no thousand core
/// files. Once per process.
pub fn no_core_dumps() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: setrlimit reads one valid rlimit.
        unsafe { libc::setrlimit(libc::RLIMIT_CORE, &limit) };
    });
}

/// A process task: the pid of the worker that runs it.
pub fn pid(_: ()) -> u32 {
    std::process::id()
}
