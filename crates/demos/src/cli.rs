//! The few lines of argument parsing the demo binaries share (no parser dependency: each binary
//! has a handful of options).
//!
//! Options are `--name`, `--name VALUE` or `--name=VALUE`; `-h` is `--help`; `--` ends the
//! options. A mistake is a [`UsageError`], which [`usage_exit`] reports with the usage text and
//! exit status 2, the convention of getopt-style tools.
//!
//! ```
//! use cfutures_demos::cli::{Arg, Args};
//!
//! let mut args = Args::new(["--workers=3", "url", "--", "--not-an-option"].map(String::from));
//! let Some(Arg::Option { name, inline }) = args.next_arg() else { panic!() };
//! assert_eq!(name, "--workers");
//! assert_eq!(args.value(&name, inline).unwrap(), "3");
//! assert!(matches!(args.next_arg(), Some(Arg::Positional(url)) if url == "url"));
//! assert!(matches!(args.next_arg(), Some(Arg::Positional(s)) if s == "--not-an-option"));
//! assert!(args.next_arg().is_none());
//! ```

use std::fmt;
use std::str::FromStr;

/// A mistake on the command line, with a message for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// One command-line argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// An option: its name with the dashes (`--workers`; `-h` is reported as `--help`) and the
    /// value given after `=`, if any.
    Option {
        /// `--name`.
        name: String,
        /// The `VALUE` of `--name=VALUE`.
        inline: Option<String>,
    },
    /// Anything else, and everything after `--`.
    Positional(String),
}

/// The arguments, handed out one at a time.
#[derive(Debug)]
pub struct Args {
    rest: std::vec::IntoIter<String>,
    options_ended: bool,
}

impl Args {
    /// The given arguments (without the program name).
    pub fn new(args: impl IntoIterator<Item = String>) -> Self {
        Args {
            rest: args.into_iter().collect::<Vec<_>>().into_iter(),
            options_ended: false,
        }
    }

    /// The process's arguments, without the program name; an argument that is not UTF-8 is a
    /// [`UsageError`].
    pub fn from_env() -> Result<Self, UsageError> {
        let args = std::env::args_os()
            .skip(1)
            .map(|arg| {
                arg.into_string().map_err(|arg| {
                    UsageError(format!("argument is not valid UTF-8: {}", arg.display()))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(args))
    }

    /// The next argument, or `None` at the end.
    pub fn next_arg(&mut self) -> Option<Arg> {
        let arg = self.rest.next()?;
        if self.options_ended {
            return Some(Arg::Positional(arg));
        }
        if arg == "--" {
            self.options_ended = true;
            return self.next_arg();
        }
        if arg == "-h" {
            return Some(Arg::Option {
                name: "--help".into(),
                inline: None,
            });
        }
        if arg.starts_with('-') && arg.len() > 1 {
            return Some(match arg.split_once('=') {
                Some((name, value)) if name.starts_with("--") => Arg::Option {
                    name: name.to_owned(),
                    inline: Some(value.to_owned()),
                },
                _ => Arg::Option {
                    name: arg,
                    inline: None,
                },
            });
        }
        Some(Arg::Positional(arg))
    }

    /// The value of option `name`: the `inline` one from `--name=VALUE`, or the next
    /// argument.
    pub fn value(&mut self, name: &str, inline: Option<String>) -> Result<String, UsageError> {
        match inline {
            Some(value) => Ok(value),
            None => self
                .rest
                .next()
                .ok_or_else(|| UsageError(format!("{name} needs a value"))),
        }
    }

    /// The value of option `name`, parsed as a `T`.
    pub fn parsed<T>(&mut self, name: &str, inline: Option<String>) -> Result<T, UsageError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        let text = self.value(name, inline)?;
        text.parse()
            .map_err(|e| UsageError(format!("{name} {text:?}: {e}")))
    }
}

/// Checks that a flag (an option without a value) was not given one with `=`.
///
/// ```
/// use cfutures_demos::cli::no_value;
///
/// assert!(no_value("--threads", None).is_ok());
/// assert!(no_value("--threads", Some("yes".into())).is_err());
/// ```
pub fn no_value(name: &str, inline: Option<String>) -> Result<(), UsageError> {
    match inline {
        None => Ok(()),
        Some(_) => Err(UsageError(format!("{name} takes no value"))),
    }
}

/// The error for an option the program does not know.
pub fn unknown(name: &str) -> UsageError {
    UsageError(format!("unknown option {name}"))
}

/// Prints `error` and `usage` on stderr and exits with status 2.
pub fn usage_exit(program: &str, error: &UsageError, usage: &str) -> ! {
    eprintln!("{program}: {error}\n\n{usage}");
    std::process::exit(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Args {
        Args::new(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn a_separate_value_is_taken_from_the_next_argument() {
        let mut a = args(&["--timeout", "2.5"]);
        let Some(Arg::Option { name, inline }) = a.next_arg() else {
            panic!("expected an option")
        };
        assert_eq!(a.parsed::<f64>(&name, inline), Ok(2.5));
        assert_eq!(a.next_arg(), None);
    }

    #[test]
    fn a_missing_or_bad_value_is_a_usage_error() {
        let mut a = args(&["--workers"]);
        let Some(Arg::Option { name, inline }) = a.next_arg() else {
            panic!("expected an option")
        };
        assert_eq!(
            a.parsed::<usize>(&name, inline),
            Err(UsageError("--workers needs a value".into()))
        );
        let mut a = args(&["--workers=many"]);
        let Some(Arg::Option { name, inline }) = a.next_arg() else {
            panic!("expected an option")
        };
        let err = a.parsed::<usize>(&name, inline).unwrap_err();
        assert!(err.0.starts_with("--workers \"many\": "), "{err}");
    }

    #[test]
    fn a_lone_dash_and_short_help_are_recognised() {
        let mut a = args(&["-", "-h", "-x"]);
        assert_eq!(a.next_arg(), Some(Arg::Positional("-".into())));
        assert_eq!(
            a.next_arg(),
            Some(Arg::Option {
                name: "--help".into(),
                inline: None
            })
        );
        assert_eq!(
            a.next_arg(),
            Some(Arg::Option {
                name: "-x".into(),
                inline: None
            })
        );
    }
}
