//! The outputs: the terminal table, `report.md` and `report.json`.

use serde::Serialize;

use super::machine::Machine;
use super::record::Record;
use super::spec::{self, Measure};

/// What `report.json` holds: where the numbers come from, then one record per cell.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    /// The machine and date.
    pub machine: &'a Machine,
    /// One record per scenario and implementation.
    pub records: &'a [Record],
}

/// `report.json`.
pub fn json(machine: &Machine, records: &[Record]) -> String {
    let mut text =
        serde_json::to_string_pretty(&Report { machine, records }).expect("records are plain data");
    text.push('\n');
    text
}

/// The table as rows of cells: a header row, then one row per scenario.
pub fn cells(records: &[Record]) -> Vec<Vec<String>> {
    let columns = columns(records);
    let mut rows = vec![
        std::iter::once("scenario".to_owned())
            .chain(columns.iter().map(|(_, title)| (*title).to_owned()))
            .collect::<Vec<_>>(),
    ];
    for scenario in scenarios(records) {
        let measure = spec::scenario(scenario).map_or(Measure::Time, |s| s.measure);
        let mut row = vec![scenario.to_owned()];
        for (implementation, _) in &columns {
            let record = records
                .iter()
                .find(|r| r.scenario == scenario && r.implementation == *implementation);
            row.push(record.map_or_else(String::new, |r| cell(r, measure)));
        }
        rows.push(row);
    }
    rows
}

/// The terminal table: columns padded to their widest cell.
pub fn text_table(records: &[Record]) -> String {
    let rows = cells(records);
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
        if i == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            out.push_str(&rule.join("  "));
            out.push('\n');
        }
    }
    out
}

/// The Markdown table alone (what the README section shows).
pub fn markdown_table(records: &[Record]) -> String {
    let rows = cells(records);
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        out.push_str(&format!("| {} |\n", row.join(" | ")));
        if i == 0 {
            out.push_str(&format!("|{}\n", "---|".repeat(row.len())));
        }
    }
    out
}

/// `report.md`: header, table, legend, scenario descriptions.
pub fn markdown(machine: &Machine, records: &[Record]) -> String {
    let mut out = String::from("# cfutures benchmarks\n\n");
    out.push_str(&format!("{}\n\n", machine.summary()));
    out.push_str(&markdown_table(records));
    out.push('\n');
    out.push_str(LEGEND);
    out.push_str("\n\n");
    for scenario in scenarios(records) {
        if let Some(s) = spec::scenario(scenario) {
            out.push_str(&format!("- **{}**: {}\n", s.id, s.what));
        }
    }
    out
}

/// How to read a cell.
pub const LEGEND: &str = "Each cell: the median (time per iteration; items per second for P2 and \
X2; resident bytes per pending task for M1; the fraction of the ideal speedup for X3/of-ideal; \
the share of one core for X4) and, for peers, in parentheses the ratio cfutures / peer (for P2, \
X2 and X3/of-ideal the inverse ratio), so below 1 means cfutures is faster, smaller or more \
efficient. Every pool has as many workers as the machine has cores, except M1 (one worker, \
blocked) and the MPI rows X1-X4 (`mpirun --oversubscribe -n 3`: 2 worker ranks).";

fn columns(records: &[Record]) -> Vec<(&'static str, &'static str)> {
    std::iter::once((spec::SUBJECT, spec::SUBJECT))
        .chain(spec::PEERS.iter().copied())
        .filter(|(implementation, _)| records.iter().any(|r| r.implementation == *implementation))
        .collect()
}

fn scenarios(records: &[Record]) -> Vec<&str> {
    let mut ids: Vec<&str> = Vec::new();
    for record in records {
        if !ids.contains(&record.scenario.as_str()) {
            ids.push(&record.scenario);
        }
    }
    ids
}

fn cell(record: &Record, measure: Measure) -> String {
    let value = match measure {
        Measure::Time => record.median_ns.map(format_ns),
        Measure::Throughput => record.items_per_s.map(format_rate),
        Measure::Memory => record.bytes_per_item.map(format_bytes),
        Measure::CpuShare | Measure::Efficiency => record.fraction.map(format_percent),
    };
    match (value, &record.note) {
        (Some(value), _) if record.implementation == spec::SUBJECT => value,
        (Some(value), _) => match record.ratio {
            Some(ratio) => format!("{value} ({})", format_ratio(ratio)),
            None => value,
        },
        (None, Some(note)) => note.clone(),
        (None, None) => "-".into(),
    }
}

/// Three significant digits, at least.
fn sig3(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// A duration in nanoseconds, in the unit that reads best.
pub fn format_ns(ns: f64) -> String {
    if ns < 1e3 {
        format!("{} ns", sig3(ns))
    } else if ns < 1e6 {
        format!("{} µs", sig3(ns / 1e3))
    } else if ns < 1e9 {
        format!("{} ms", sig3(ns / 1e6))
    } else {
        format!("{} s", sig3(ns / 1e9))
    }
}

/// A rate in items per second.
pub fn format_rate(per_s: f64) -> String {
    if per_s < 1e3 {
        format!("{} /s", sig3(per_s))
    } else if per_s < 1e6 {
        format!("{} k/s", sig3(per_s / 1e3))
    } else {
        format!("{} M/s", sig3(per_s / 1e6))
    }
}

/// A size in bytes.
pub fn format_bytes(bytes: f64) -> String {
    if bytes < 1024.0 {
        format!("{bytes:.0} B")
    } else {
        format!("{} KiB", sig3(bytes / 1024.0))
    }
}

/// A fraction as a percentage.
pub fn format_percent(fraction: f64) -> String {
    format!("{} %", sig3(fraction * 100.0))
}

/// A ratio: two decimals, more when it is small.
pub fn format_ratio(ratio: f64) -> String {
    if ratio >= 0.1 {
        format!("{ratio:.2}")
    } else {
        format!("{ratio:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::record::compute_ratios;

    fn sample() -> Vec<Record> {
        let timed = |s: &str, i: &str, ns: f64| Record {
            median_ns: Some(ns),
            note: None,
            ..Record::note(s, i, "")
        };
        let mut records = vec![
            timed("T1", "cfutures", 2.5e6),
            timed("T1", "rayon", 5e6),
            Record::note("T1", "cpython", "python3 not found"),
            timed("T2", "cfutures", 900.0),
            Record {
                bytes_per_item: Some(200.0),
                note: None,
                ..Record::note("M1", "cfutures", "")
            },
        ];
        compute_ratios(&mut records);
        records
    }

    #[test]
    fn units() {
        assert_eq!(format_ns(512.0), "512 ns");
        assert_eq!(format_ns(1234.0), "1.23 µs");
        assert_eq!(format_ns(45.6e6), "45.6 ms");
        assert_eq!(format_ns(2.0e9), "2.00 s");
        assert_eq!(format_rate(123_456.0), "123 k/s");
        assert_eq!(format_rate(2.5e6), "2.50 M/s");
        assert_eq!(format_bytes(96.0), "96 B");
        assert_eq!(format_bytes(2048.0), "2.00 KiB");
        assert_eq!(format_percent(0.004), "0.40 %");
        assert_eq!(format_percent(0.912), "91.2 %");
        assert_eq!(format_ratio(0.5), "0.50");
        assert_eq!(format_ratio(0.0123), "0.012");
    }

    #[test]
    fn table_has_subject_peers_ratios_and_notes() {
        let table = text_table(&sample());
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 5, "{table}");
        assert!(lines[0].starts_with("scenario"));
        let header: Vec<&str> = lines[0].split_whitespace().collect();
        assert_eq!(header, ["scenario", "cfutures", "rayon", "CPython"]);
        assert!(lines[2].contains("2.50 ms"), "{table}");
        assert!(lines[2].contains("5.00 ms (0.50)"), "{table}");
        assert!(lines[2].contains("python3 not found"), "{table}");
        assert!(
            lines[3].starts_with("T2") && lines[3].contains("900 ns"),
            "{table}"
        );
        assert!(
            lines[4].starts_with("M1") && lines[4].contains("200 B"),
            "{table}"
        );
    }

    #[test]
    fn markdown_and_json() {
        let machine = Machine {
            date: "2026-01-01 00:00 UTC".into(),
            cpu: "Test CPU".into(),
            cores: 2,
            os: "linux".into(),
            rustc: "rustc 1.95.0".into(),
            python: "Python 3.11.7".into(),
            quick: false,
        };
        let records = sample();
        let md = markdown(&machine, &records);
        assert!(md.contains("2026-01-01 00:00 UTC, Test CPU (2 cores)"));
        assert!(md.contains("| scenario | cfutures | rayon | CPython |\n|---|---|---|---|\n"));
        assert!(md.contains("- **T1**: 100k empty tasks"));
        let value: serde_json::Value = serde_json::from_str(&json(&machine, &records)).unwrap();
        assert_eq!(value["machine"]["cores"], 2);
        assert_eq!(value["records"][1]["impl"], "rayon");
        assert_eq!(value["records"][1]["ratio"], 0.5);
        assert_eq!(value["records"][2]["note"], "python3 not found");
    }
}
