//! Reads criterion's results: `<criterion home>/<benchmark>/new/{benchmark,estimates}.json`.
//!
//! `benchmark.json` names the benchmark (group and function, and the throughput the bench
//! declared); `estimates.json` holds the statistics, of which the median's point estimate (in
//! nanoseconds per iteration) is the number the report uses.

use std::fs;
use std::path::Path;

use serde::Deserialize;

use super::record::Record;

#[derive(Deserialize)]
struct BenchmarkJson {
    group_id: String,
    function_id: Option<String>,
    value_str: Option<String>,
    throughput: Option<ThroughputJson>,
}

/// Criterion's `Throughput`, as it writes it: only elements become items per second (the byte
/// throughputs of P4 are read for their medians alone).
#[derive(Deserialize)]
enum ThroughputJson {
    Elements(u64),
    ElementsAndBytes {
        elements: u64,
    },
    #[allow(dead_code)] // parsed so that a byte throughput is not an error
    Bytes(u64),
    #[allow(dead_code)]
    BytesDecimal(u64),
}

#[derive(Deserialize)]
struct EstimatesJson {
    median: EstimateJson,
}

#[derive(Deserialize)]
struct EstimateJson {
    point_estimate: f64,
}

/// Every benchmark result under `home` (criterion's output directory), as records:
/// `scenario` = the group, `impl` = the function. A missing directory is no results.
pub fn collect(home: &Path) -> Result<Vec<Record>, String> {
    let mut records = Vec::new();
    if home.is_dir() {
        walk(home, &mut records)?;
    }
    Ok(records)
}

fn walk(dir: &Path, records: &mut Vec<Record>) -> Result<(), String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("reading {}: {e}", dir.display()))?
            .path();
        if !path.is_dir() {
            continue;
        }
        // Only `new/` is this run's; `base/` and `change/` are comparisons with older runs.
        if path.file_name().is_some_and(|name| name == "new") {
            if let Some(record) = read_result(&path)? {
                records.push(record);
            }
        } else {
            walk(&path, records)?;
        }
    }
    Ok(())
}

fn read_result(new_dir: &Path) -> Result<Option<Record>, String> {
    let benchmark_file = new_dir.join("benchmark.json");
    let estimates_file = new_dir.join("estimates.json");
    if !benchmark_file.is_file() || !estimates_file.is_file() {
        return Ok(None);
    }
    let benchmark: BenchmarkJson = read_json(&benchmark_file)?;
    let estimates: EstimatesJson = read_json(&estimates_file)?;
    let median_ns = estimates.median.point_estimate;
    let (scenario, implementation) = match (benchmark.function_id, benchmark.value_str) {
        (Some(function), _) => (benchmark.group_id, function),
        (None, Some(value)) => (benchmark.group_id, value),
        (None, None) => return Ok(None),
    };
    let items_per_s =
        match benchmark.throughput {
            Some(
                ThroughputJson::Elements(n) | ThroughputJson::ElementsAndBytes { elements: n },
            ) if median_ns > 0.0 => Some(n as f64 * 1e9 / median_ns),
            _ => None,
        };
    Ok(Some(Record {
        median_ns: Some(median_ns),
        items_per_s,
        note: None,
        ..Record::note(&scenario, &implementation, "")
    }))
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("parsing {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("xtask-criterion-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn write_result(home: &Path, dir: &str, sub: &str, benchmark: &str, median: f64) {
        let dir = home.join(dir).join(sub);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("benchmark.json"), benchmark).unwrap();
        let estimate = |v: f64| {
            format!(
                r#"{{"confidence_interval":{{"confidence_level":0.95,"lower_bound":{v},"upper_bound":{v}}},"point_estimate":{v},"standard_error":0.1}}"#
            )
        };
        let estimates = format!(
            r#"{{"mean":{m},"median":{med},"median_abs_dev":{m},"slope":null,"std_dev":{m}}}"#,
            m = estimate(1.0),
            med = estimate(median)
        );
        fs::write(dir.join("estimates.json"), estimates).unwrap();
    }

    #[test]
    fn reads_new_results_with_median_and_throughput() {
        let home = scratch("read");
        write_result(
            &home,
            "T1/cfutures",
            "new",
            r#"{"group_id":"T1","function_id":"cfutures","value_str":null,"throughput":null,"full_id":"T1/cfutures","directory_name":"T1/cfutures","title":"T1/cfutures"}"#,
            1500.0,
        );
        write_result(
            &home,
            "T1/cfutures",
            "base",
            r#"{"group_id":"T1","function_id":"cfutures","value_str":null,"throughput":null,"full_id":"x","directory_name":"x","title":"x"}"#,
            9999.0,
        );
        write_result(
            &home,
            "P2_chunksize=1/cpython",
            "new",
            r#"{"group_id":"P2/chunksize=1","function_id":"cfutures","value_str":null,"throughput":{"Elements":1000},"full_id":"x","directory_name":"x","title":"x"}"#,
            2e6,
        );
        write_result(
            &home,
            "P4/floor",
            "new",
            r#"{"group_id":"P4","function_id":"floor","value_str":null,"throughput":{"Bytes":104857600},"full_id":"P4/floor","directory_name":"P4/floor","title":"P4/floor"}"#,
            6e7,
        );
        let mut records = collect(&home).unwrap();
        records.sort_by(|a, b| a.scenario.cmp(&b.scenario));
        assert_eq!(records.len(), 3, "base/ is ignored: {records:?}");
        let p4 = records.remove(1);
        assert_eq!((p4.scenario.as_str(), p4.median_ns), ("P4", Some(6e7)));
        assert_eq!(p4.items_per_s, None, "bytes are not items");
        assert_eq!(records[0].scenario, "P2/chunksize=1");
        assert_eq!(records[0].items_per_s, Some(500_000.0));
        assert_eq!(records[1].scenario, "T1");
        assert_eq!(records[1].implementation, "cfutures");
        assert_eq!(records[1].median_ns, Some(1500.0));
        assert_eq!(records[1].items_per_s, None);
        fs::remove_dir_all(&home).unwrap();
    }

    #[test]
    fn missing_home_is_no_results_and_garbage_is_an_error() {
        let home = scratch("missing");
        assert_eq!(collect(&home).unwrap(), vec![]);
        let dir = home.join("X/y/new");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("benchmark.json"), "{").unwrap();
        fs::write(dir.join("estimates.json"), "{}").unwrap();
        assert!(collect(&home).unwrap_err().contains("benchmark.json"));
        fs::remove_dir_all(&home).unwrap();
    }
}
