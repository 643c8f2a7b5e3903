//! What the demo binaries' `clap` parsers share: the help layout and the value parsers of
//! their options.
//!
//! A mistake on the command line is reported by `clap` on stderr (`error: ...`, the usage
//! line, a pointer to `--help`) with exit status 2, the convention of getopt-style tools;
//! `--help` and `--version` print on stdout and exit 0.

use std::time::Duration;

/// The help layout of the demos: usage first, as `man` pages and getopt tools print it.
pub const HELP_TEMPLATE: &str = "\
{usage-heading} {usage}

{about}

{all-args}{after-help}";

/// Parses `--workers`: a whole number, at least 1.
///
/// ```
/// use cfutures_demos::cli::at_least_one;
///
/// assert_eq!(at_least_one("3"), Ok(3));
/// assert_eq!(at_least_one("0").unwrap_err(), "must be at least 1");
/// assert!(at_least_one("many").is_err());
/// ```
pub fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// Parses `--timeout`: a positive number of seconds, fractions allowed.
///
/// ```
/// use cfutures_demos::cli::positive_secs;
/// use std::time::Duration;
///
/// assert_eq!(positive_secs("0.25"), Ok(Duration::from_millis(250)));
/// for bad in ["0", "-1", "nan", "inf", "soon"] {
///     assert!(positive_secs(bad).is_err(), "{bad}");
/// }
/// ```
pub fn positive_secs(text: &str) -> Result<Duration, String> {
    let secs: f64 = text.parse().map_err(|e| format!("{e}"))?;
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|t| !t.is_zero())
        .ok_or_else(|| "must be a positive number of seconds".into())
}
