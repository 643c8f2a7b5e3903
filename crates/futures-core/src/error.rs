//! The one error type of the whole workspace.

use std::fmt;
use std::sync::Arc;

/// Why a future did not produce a value, or why an executor refused work.
///
/// Every layer of cfutures reports faults with this one enum, so code that waits on futures from
/// several executors matches on one type. It is `Clone` because a finished future hands its
/// error to every caller of [`Future::result`](crate::Future::result), like Python re-raising
/// the same exception object.
///
/// The variants mirror Python's exception classes where there is one:
///
/// | Python | cfutures |
/// |---|---|
/// | `CancelledError` | [`Error::Cancelled`] |
/// | `TimeoutError` | [`Error::Timeout`] |
/// | an exception raised by the callable | [`Error::Panicked`] (or [`Error::Other`] set by hand) |
/// | `BrokenExecutor`, `BrokenThreadPool`, `BrokenProcessPool` | [`Error::Broken`] |
/// | `RuntimeError('cannot schedule new futures after shutdown')` | [`Error::ShutDown`] |
/// | `InvalidStateError` | [`Error::InvalidState`] |
/// | `ValueError` for a bad argument | [`Error::InvalidArgument`] |
/// | (Python breaks the whole pool instead) | [`Error::WorkerDied`] |
/// | `PicklingError` | [`Error::Serialization`] |
/// | (none; pebble's `TimeoutError` for `schedule(timeout=...)`) | [`Error::TaskTimedOut`] |
///
/// ```
/// use cfutures_core::{Error, Promise};
///
/// let (promise, future) = Promise::<u32>::new();
/// promise.set_error(Error::InvalidArgument("n must be odd".into())).unwrap();
/// let err = future.result().unwrap_err();
/// assert_eq!(err.to_string(), "invalid argument: n must be odd");
/// ```
///
/// # Display
/// Every error displays as **one line** (so `{e}`, anyhow's `{:#}` and `Error:` from `main` stay
/// readable): line breaks inside a carried message are shown as `\n`. A panic's backtrace is
/// never part of the `Display`; it is a field, shown by `{:?}` or read with
/// [`backtrace`](Error::backtrace).
///
/// ```
/// use cfutures_core::Error;
///
/// let err = Error::Panicked {
///     message: "bad input\nline 2".into(),
///     backtrace: Some("0: main\n1: start".into()),
/// };
/// assert_eq!(err.to_string(), r"task panicked: bad input\nline 2");
/// assert_eq!(err.backtrace(), Some("0: main\n1: start"));
/// assert!(format!("{err:?}").contains("0: main"));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// The future was cancelled before it started running.
    Cancelled,

    /// A timed wait ended before the future(s) finished.
    Timeout {
        /// How many of the awaited futures were still unfinished.
        unfinished: usize,
        /// How many futures were awaited in all.
        total: usize,
    },

    /// The task panicked; the future holds the panic message instead of a value. The
    /// `Display` is the message alone; the backtrace is shown by `{:?}` and
    /// [`Error::backtrace`].
    Panicked {
        /// The panic payload as text (`&str` and `String` payloads; others are described).
        message: String,
        /// The backtrace text, where it was captured (process-pool tasks send theirs home).
        backtrace: Option<String>,
    },

    /// The executor can no longer run tasks, for example because a worker initializer failed.
    Broken(String),

    /// Work was submitted after `shutdown`.
    ShutDown,

    /// An operation that the future's current state does not allow, such as setting a result
    /// twice.
    InvalidState(String),

    /// A bad argument to a constructor or call, such as `max_workers(0)`.
    InvalidArgument(String),

    /// A worker process died while it ran the task.
    WorkerDied {
        /// The operating-system process id of the worker.
        pid: u32,
        /// How it ended.
        reason: ExitReason,
    },

    /// A task's argument or result could not be encoded or decoded for another process.
    Serialization(String),

    /// The task's time limit passed: the worker running it was killed, or it never started.
    TaskTimedOut {
        /// The time limit it was given.
        after: std::time::Duration,
    },

    /// The producer of the future went away without completing it: its [`Promise`] or task was
    /// dropped.
    ///
    /// [`Promise`]: crate::Promise
    Abandoned,

    /// The wait could never end: a task waited on its own future, or the wait would have closed
    /// a cycle of tasks waiting on each other (a waits on b while b waits on a, or a longer
    /// chain; for waits on any of several futures, every one leads back). Exactly one waiter
    /// of a cycle is told, the one whose wait would close it; the others go on waiting, and
    /// usually finish once the told task returns. See the crate docs, "Deadlocks".
    Deadlock,

    /// Any other error, set by hand through [`Promise::set_error`](crate::Promise::set_error).
    /// Transparent: its `Display` and `source` are the wrapped error's (on one line).
    Other(Arc<dyn std::error::Error + Send + Sync + 'static>),
}

impl Error {
    /// Wraps any error as [`Error::Other`].
    ///
    /// ```
    /// let err = cfutures_core::Error::other(std::io::Error::other("disk full"));
    /// assert_eq!(err.to_string(), "disk full");
    /// ```
    pub fn other(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Other(Arc::new(error))
    }

    /// The backtrace of a panicked task, where one was captured (process-pool tasks send
    /// theirs home); `None` for every other error.
    pub fn backtrace(&self) -> Option<&str> {
        match self {
            Error::Panicked {
                backtrace: Some(text),
                ..
            } if !text.is_empty() => Some(text),
            _ => None,
        }
    }

    /// [`Error::Broken`] because of `cause`, without wrapping its text twice: a cause that is
    /// itself `Broken` keeps its reason as it is, any other is displayed once.
    ///
    /// ```
    /// use cfutures_core::Error;
    ///
    /// let first = Error::Broken("a worker initializer failed".into());
    /// assert_eq!(Error::broken_by(&first), first);
    /// let died = Error::broken_by(&Error::Deadlock);
    /// assert_eq!(died.to_string(), "the executor is broken: deadlock: a task waited on its own future or on a cycle of waits back to it");
    /// ```
    pub fn broken_by(cause: &Error) -> Error {
        match cause {
            Error::Broken(reason) => Error::Broken(reason.clone()),
            other => Error::Broken(other.to_string()),
        }
    }

    /// The timeout error for a single awaited future.
    pub(crate) fn single_timeout() -> Self {
        Error::Timeout {
            unfinished: 1,
            total: 1,
        }
    }

    /// A handle tried to move the value out while other handles can still read it.
    pub(crate) fn shared_handles() -> Self {
        Error::InvalidState(
            "other handles to this future are alive, so the value cannot be moved out (borrow it with `result()`)".into(),
        )
    }

    /// The variant's name, used by the future's `Debug` (`raised Panicked`, like Python's
    /// `raised ValueError`).
    pub(crate) fn kind_name(&self) -> &'static str {
        match self {
            Error::Cancelled => "Cancelled",
            Error::Timeout { .. } => "Timeout",
            Error::Panicked { .. } => "Panicked",
            Error::Broken(_) => "Broken",
            Error::ShutDown => "ShutDown",
            Error::InvalidState(_) => "InvalidState",
            Error::InvalidArgument(_) => "InvalidArgument",
            Error::WorkerDied { .. } => "WorkerDied",
            Error::Serialization(_) => "Serialization",
            Error::TaskTimedOut { .. } => "TaskTimedOut",
            Error::Abandoned => "Abandoned",
            Error::Deadlock => "Deadlock",
            Error::Other(_) => "Other",
        }
    }
}

fn timeout_message(unfinished: usize, total: usize) -> String {
    if total == 1 {
        "timed out waiting for the future".to_owned()
    } else {
        format!("timed out: {unfinished} (of {total}) futures unfinished")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Cancelled => f.write_str("the future was cancelled"),
            Error::Timeout { unfinished, total } => {
                f.write_str(&timeout_message(*unfinished, *total))
            }
            Error::Panicked { message, .. } => write!(f, "task panicked: {}", OneLine(message)),
            Error::Broken(reason) => write!(f, "the executor is broken: {}", OneLine(reason)),
            Error::ShutDown => f.write_str("cannot schedule new futures after shutdown"),
            Error::InvalidState(what) => write!(f, "invalid state: {}", OneLine(what)),
            Error::InvalidArgument(what) => write!(f, "invalid argument: {}", OneLine(what)),
            Error::WorkerDied { pid, reason } => {
                write!(
                    f,
                    "worker process {pid} died ({reason}) while running the task"
                )
            }
            Error::Serialization(what) => write!(f, "serialisation failed: {}", OneLine(what)),
            Error::TaskTimedOut { after } => {
                write!(f, "the task exceeded its time limit of {after:?}")
            }
            Error::Abandoned => f.write_str(
                "the future was abandoned: its producer was dropped without setting a result",
            ),
            Error::Deadlock => f.write_str(
                "deadlock: a task waited on its own future or on a cycle of waits back to it",
            ),
            Error::Other(error) => write!(f, "{}", OneLine(&error.to_string())),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // Transparent: the wrapped error stands in for this one.
            Error::Other(error) => error.source(),
            _ => None,
        }
    }
}

/// Text shown on one line: line breaks are written as `\n` (and `\r`).
struct OneLine<'a>(&'a str);

impl fmt::Display for OneLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(['\n', '\r']) {
            f.write_str(&rest[..at])?;
            f.write_str(if rest.as_bytes()[at] == b'\n' {
                "\\n"
            } else {
                "\\r"
            })?;
            rest = &rest[at + 1..];
        }
        f.write_str(rest)
    }
}

/// How a worker process ended.
///
/// ```
/// use cfutures_core::ExitReason;
/// assert_eq!(ExitReason::Signal(9).to_string(), "killed by signal 9 (SIGKILL)");
/// assert_eq!(ExitReason::Code(3).to_string(), "exit code 3");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExitReason {
    /// It exited with this status code.
    Code(i32),
    /// It was killed by this signal number.
    Signal(i32),
    /// Its exit status could not be learned.
    Unknown,
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ExitReason::Code(code) => write!(f, "exit code {code}"),
            ExitReason::Signal(signal) => match signal_name(signal) {
                Some(name) => write!(f, "killed by signal {signal} ({name})"),
                None => write!(f, "killed by signal {signal}"),
            },
            ExitReason::Unknown => f.write_str("exit status unknown"),
        }
    }
}

fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        _ => return None,
    })
}

/// Structural equality; [`Error::Other`] compares by identity (the wrapped error may not be
/// comparable).
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        use Error::*;
        match (self, other) {
            (Cancelled, Cancelled)
            | (ShutDown, ShutDown)
            | (Abandoned, Abandoned)
            | (Deadlock, Deadlock) => true,
            (
                Timeout {
                    unfinished: a,
                    total: b,
                },
                Timeout {
                    unfinished: c,
                    total: d,
                },
            ) => a == c && b == d,
            (
                Panicked {
                    message: a,
                    backtrace: b,
                },
                Panicked {
                    message: c,
                    backtrace: d,
                },
            ) => a == c && b == d,
            (Broken(a), Broken(b))
            | (InvalidState(a), InvalidState(b))
            | (InvalidArgument(a), InvalidArgument(b))
            | (Serialization(a), Serialization(b)) => a == b,
            (WorkerDied { pid: a, reason: b }, WorkerDied { pid: c, reason: d }) => {
                a == c && b == d
            }
            (TaskTimedOut { after: a }, TaskTimedOut { after: b }) => a == b,
            (Other(a), Other(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}
