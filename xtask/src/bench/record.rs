//! One measured (or explained) cell of the table, and the ratios between cells.

use serde::{Deserialize, Serialize};

use super::spec::{self, Measure};

/// One scenario measured for one implementation: a row of `report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Scenario id (`T1`, `P2/chunksize=1`, ...).
    pub scenario: String,
    /// Implementation id (`cfutures`, `rayon`, `cpython`, ...).
    #[serde(rename = "impl")]
    pub implementation: String,
    /// Median wall time of one iteration, in nanoseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_ns: Option<f64>,
    /// Items per second (throughput scenarios).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_per_s: Option<f64>,
    /// Resident bytes per item (memory scenarios).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_per_item: Option<f64>,
    /// A fraction: of one core (CPU scenarios) or of the ideal speedup (efficiency scenarios).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraction: Option<f64>,
    /// cfutures' cost / this implementation's cost (time, memory or CPU; for throughput and
    /// efficiency the inverse ratio): below 1 means cfutures is better.
    #[serde(default)]
    pub ratio: Option<f64>,
    /// Why there is no number, or what to know about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Record {
    /// A record with no measurement, only a note.
    pub fn note(scenario: &str, implementation: &str, note: impl Into<String>) -> Record {
        Record {
            scenario: scenario.to_owned(),
            implementation: implementation.to_owned(),
            median_ns: None,
            items_per_s: None,
            bytes_per_item: None,
            fraction: None,
            ratio: None,
            note: Some(note.into()),
        }
    }

    /// The number the scenario compares, oriented so that lower is better.
    pub fn cost(&self, measure: Measure) -> Option<f64> {
        let cost = match measure {
            Measure::Time => self.median_ns,
            Measure::Throughput => self.items_per_s.filter(|v| *v > 0.0).map(|v| 1.0 / v),
            Measure::Memory => self.bytes_per_item,
            Measure::CpuShare => self.fraction,
            Measure::Efficiency => self.fraction.filter(|v| *v > 0.0).map(|v| 1.0 / v),
        };
        cost.filter(|v| v.is_finite() && *v > 0.0)
    }
}

/// Sets `ratio` on every record: cfutures' cost over the record's cost, in the same scenario.
/// Records without a number, or in a scenario without a cfutures number, get `None`.
pub fn compute_ratios(records: &mut [Record]) {
    let subject_costs: Vec<(String, f64)> = records
        .iter()
        .filter(|r| r.implementation == spec::SUBJECT)
        .filter_map(|r| {
            let measure = spec::scenario(&r.scenario)?.measure;
            Some((r.scenario.clone(), r.cost(measure)?))
        })
        .collect();
    for record in records.iter_mut() {
        let subject = subject_costs
            .iter()
            .find(|(scenario, _)| *scenario == record.scenario)
            .map(|(_, cost)| *cost);
        let measure = spec::scenario(&record.scenario).map(|s| s.measure);
        record.ratio = match (subject, measure.and_then(|m| record.cost(m))) {
            (Some(subject), Some(cost)) => Some(subject / cost),
            _ => None,
        };
    }
}

/// Orders records as the table reads: scenarios in catalogue order, cfutures first, then the
/// peers in column order; unknown names last, alphabetically.
pub fn sort(records: &mut [Record]) {
    fn scenario_rank(id: &str) -> usize {
        spec::SCENARIOS
            .iter()
            .position(|s| s.id == id)
            .unwrap_or(usize::MAX)
    }
    fn impl_rank(id: &str) -> usize {
        if id == spec::SUBJECT {
            return 0;
        }
        spec::PEERS
            .iter()
            .position(|(p, _)| *p == id)
            .map_or(usize::MAX, |i| i + 1)
    }
    records.sort_by(|a, b| {
        (
            scenario_rank(&a.scenario),
            &a.scenario,
            impl_rank(&a.implementation),
        )
            .cmp(&(
                scenario_rank(&b.scenario),
                &b.scenario,
                impl_rank(&b.implementation),
            ))
            .then_with(|| a.implementation.cmp(&b.implementation))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timed(scenario: &str, implementation: &str, ns: f64) -> Record {
        Record {
            median_ns: Some(ns),
            note: None,
            ..Record::note(scenario, implementation, "")
        }
    }

    #[test]
    fn time_ratio_is_cfutures_over_peer() {
        let mut records = vec![
            timed("T1", "rayon", 200.0),
            timed("T1", "cfutures", 100.0),
            timed("T2", "rayon", 50.0),
            Record::note("T1", "cpython", "python3 not found"),
        ];
        compute_ratios(&mut records);
        assert_eq!(records[0].ratio, Some(0.5));
        assert_eq!(records[1].ratio, Some(1.0));
        assert_eq!(records[2].ratio, None, "no cfutures number in T2");
        assert_eq!(records[3].ratio, None, "no number");
    }

    #[test]
    fn throughput_ratio_is_inverse_rate_and_memory_ratio_is_direct() {
        let rate = |implementation: &str, items_per_s: f64| Record {
            items_per_s: Some(items_per_s),
            note: None,
            ..Record::note("P2/chunksize=1", implementation, "")
        };
        let bytes = |implementation: &str, bytes: f64| Record {
            bytes_per_item: Some(bytes),
            note: None,
            ..Record::note("M1", implementation, "")
        };
        let mut records = vec![
            rate("cfutures", 1000.0),
            rate("cpython", 250.0),
            bytes("cfutures", 100.0),
            bytes("cpython", 400.0),
        ];
        let fraction = |scenario: &str, implementation: &str, fraction: f64| Record {
            fraction: Some(fraction),
            note: None,
            ..Record::note(scenario, implementation, "")
        };
        records.extend([
            fraction("X4/worker", "cfutures", 0.01),
            fraction("X4/worker", "mpi4py", 0.5),
            fraction("X3/of-ideal", "cfutures", 0.8),
            fraction("X3/of-ideal", "mpi4py", 0.4),
        ]);
        compute_ratios(&mut records);
        assert_eq!(records[1].ratio, Some(0.25), "4x the rate reads as 0.25");
        assert_eq!(records[5].ratio, Some(0.02), "a fiftieth of the CPU");
        assert_eq!(
            records[7].ratio,
            Some(0.5),
            "twice the efficiency reads as 0.5"
        );
        assert_eq!(
            records[3].ratio,
            Some(0.25),
            "a quarter of the memory reads as 0.25"
        );
    }

    #[test]
    fn sort_follows_catalogue_and_columns() {
        let mut records = vec![
            timed("T2", "cpython", 1.0),
            timed("T1", "rayon", 1.0),
            timed("T1", "zzz", 1.0),
            timed("T1", "cfutures", 1.0),
            timed("T1", "floor", 1.0),
        ];
        sort(&mut records);
        let order: Vec<String> = records
            .iter()
            .map(|r| format!("{}/{}", r.scenario, r.implementation))
            .collect();
        assert_eq!(
            order,
            [
                "T1/cfutures",
                "T1/floor",
                "T1/rayon",
                "T1/zzz",
                "T2/cpython"
            ]
        );
    }

    #[test]
    fn json_uses_impl_and_skips_missing_numbers() {
        let json = serde_json::to_string(&timed("T1", "rayon", 5.0)).unwrap();
        assert_eq!(
            json,
            r#"{"scenario":"T1","impl":"rayon","median_ns":5.0,"ratio":null}"#
        );
        let back: Record = serde_json::from_str(&json).unwrap();
        assert_eq!(back, timed("T1", "rayon", 5.0));
    }
}
