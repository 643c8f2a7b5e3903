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
///
/// ```
/// use cfutures_core::{Error, Promise};
///
/// let (promise, future) = Promise::<u32>::new();
/// promise.set_error(Error::InvalidArgument("n must be odd".into())).unwrap();
/// let err = future.result().unwrap_err();
/// assert_eq!(err.to_string(), "invalid argument: n must be odd");
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The future was cancelled before it started running.
    #[error("the future was cancelled")]
    Cancelled,

    /// A timed wait ended before the future(s) finished.
    #[error("{}", timeout_message(*.unfinished, *.total))]
    Timeout {
        /// How many of the awaited futures were still unfinished.
        unfinished: usize,
        /// How many futures were awaited in all.
        total: usize,
    },

    /// The task panicked; the future holds the panic message instead of a value.
    #[error("task panicked: {message}{}", backtrace_suffix(.backtrace.as_deref()))]
    Panicked {
        /// The panic payload as text (`&str` and `String` payloads; others are described).
        message: String,
        /// The backtrace text, where it was captured (process-pool tasks send theirs home).
        backtrace: Option<String>,
    },

    /// The executor can no longer run tasks, for example because a worker initializer failed.
    #[error("the executor is broken: {0}")]
    Broken(String),

    /// Work was submitted after `shutdown`.
    #[error("cannot schedule new futures after shutdown")]
    ShutDown,

    /// An operation that the future's current state does not allow, such as setting a result
    /// twice.
    #[error("invalid state: {0}")]
    InvalidState(String),

    /// A bad argument to a constructor or call, such as `max_workers(0)`.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A worker process died while it ran the task.
    #[error("worker process {pid} died ({reason}) while running the task")]
    WorkerDied {
        /// The operating-system process id of the worker.
        pid: u32,
        /// How it ended.
        reason: ExitReason,
    },

    /// A task's argument or result could not be encoded or decoded for another process.
    #[error("serialisation failed: {0}")]
    Serialization(String),

    /// The producer of the future went away without completing it: its [`Promise`] or task was
    /// dropped.
    ///
    /// [`Promise`]: crate::Promise
    #[error("the future was abandoned: its producer was dropped without setting a result")]
    Abandoned,

    /// A task waited on its own future, which can never finish.
    #[error("deadlock: a task waited on its own future")]
    Deadlock,

    /// Any other error, set by hand through [`Promise::set_error`](crate::Promise::set_error).
    #[error(transparent)]
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

fn backtrace_suffix(backtrace: Option<&str>) -> String {
    match backtrace {
        Some(text) if !text.is_empty() => format!("\n{text}"),
        _ => String::new(),
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
            (Other(a), Other(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}
