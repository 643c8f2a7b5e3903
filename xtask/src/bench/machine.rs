//! Where and when the numbers were taken: the report's header.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The machine and toolchain a report came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// UTC date and time of the run, `YYYY-MM-DD HH:MM UTC`.
    pub date: String,
    /// CPU model, from `/proc/cpuinfo`.
    pub cpu: String,
    /// Cores this process may use (what `nproc` prints); every pool gets this many workers.
    pub cores: usize,
    /// Operating system and kernel.
    pub os: String,
    /// `rustc --version`.
    pub rustc: String,
    /// `python3 --version`, or why there is none.
    pub python: String,
    /// Whether the run used `--quick`.
    pub quick: bool,
}

impl Machine {
    /// Describes this machine now.
    pub fn probe(quick: bool) -> Machine {
        Machine {
            date: utc_date(SystemTime::now()),
            cpu: cpu_model().unwrap_or_else(|| "unknown CPU".into()),
            cores: cores(),
            os: os(),
            rustc: version_of("rustc").unwrap_or_else(|| "rustc: unknown".into()),
            python: version_of("python3").unwrap_or_else(|| "python3 not found".into()),
            quick,
        }
    }

    /// Short: date, CPU, cores.
    pub fn short(&self) -> String {
        format!(
            "{}, {} ({} cores){}",
            self.date,
            self.cpu,
            self.cores,
            if self.quick { ", --quick" } else { "" }
        )
    }

    /// One line: date, CPU, cores, OS, toolchains.
    pub fn summary(&self) -> String {
        format!(
            "{}, {} ({} cores), {}, {}, {}{}",
            self.date,
            self.cpu,
            self.cores,
            self.os,
            self.rustc,
            self.python,
            if self.quick { ", --quick" } else { "" }
        )
    }
}

/// The parallelism this process may use: the worker count of every pool in the benchmarks.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|line| line.starts_with("model name"))
        .and_then(|line| line.split_once(':'))
        .map(|(_, model)| model.trim().to_owned())
}

fn os() -> String {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|r| format!(" {}", r.trim()))
        .unwrap_or_default();
    format!("{}{release}", std::env::consts::OS)
}

fn version_of(program: &str) -> Option<String> {
    let output = Command::new(program).arg("--version").output().ok()?;
    if !output.status.success() {
        return None;
    }
    // Old Pythons print their version on stderr.
    let text = if output.stdout.is_empty() {
        output.stderr
    } else {
        output.stdout
    };
    Some(String::from_utf8_lossy(&text).trim().to_owned())
}

/// `YYYY-MM-DD HH:MM UTC` for a point in time (no time-zone database needed for UTC).
pub fn utc_date(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60
    )
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn utc_dates() {
        assert_eq!(utc_date(UNIX_EPOCH), "1970-01-01 00:00 UTC");
        // 2000-02-29 12:34:56 UTC, a leap day in a century leap year.
        let t = UNIX_EPOCH + Duration::from_secs(951_827_696);
        assert_eq!(utc_date(t), "2000-02-29 12:34 UTC");
        // 2026-01-01 00:00:00 UTC.
        let t = UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        assert_eq!(utc_date(t), "2026-01-01 00:00 UTC");
    }

    #[test]
    fn probe_fills_every_field() {
        let machine = Machine::probe(true);
        assert!(machine.cores >= 1);
        assert!(machine.rustc.starts_with("rustc"), "{}", machine.rustc);
        assert!(machine.summary().ends_with("--quick"));
    }
}
