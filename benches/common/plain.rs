//! What the plain bench targets (`memory`, `latency`: binaries that time themselves instead of
//! going through criterion) share: their command line, `--list`, the `RESULT` lines the xtask
//! shows as progress, and the records they hand it.
//!
//! `cargo xtask bench` runs a plain target as it runs a criterion one: first with
//! `<filter> --list` (one `<scenario>/<impl>: benchmark` line per selected benchmark, which
//! is how it counts them), then with `<filter>`; the filter is a regex-escaped substring of
//! `<scenario>/<impl>` (criterion's form). The records go to the file `XTASK_BENCH_OUT` names.

/// A plain target's run: what its command line selects, and the records made so far.
pub struct Plain {
    filter: Option<String>,
    list: bool,
    records: Vec<String>,
}

impl Plain {
    /// Reads the command line `cargo bench` or the xtask gave: `--bench` and other criterion
    /// flags are ignored, `--list` lists, the first other argument is the filter.
    pub fn from_args(args: &[String]) -> Plain {
        Plain {
            filter: args
                .iter()
                .find(|a| !a.starts_with('-'))
                .map(|f| unescape(f)),
            list: args.iter().any(|a| a == "--list"),
            records: Vec::new(),
        }
    }

    /// True if `scenario/implementation` is to be measured now; under `--list` it is printed
    /// instead (and the answer is false).
    pub fn wants(&self, scenario: &str, implementation: &str) -> bool {
        let key = format!("{scenario}/{implementation}");
        if self
            .filter
            .as_ref()
            .is_some_and(|f| !key.contains(f.as_str()))
        {
            return false;
        }
        if self.list {
            println!("{key}: benchmark");
            return false;
        }
        true
    }

    /// Records a result: `field` is the record's number (`median_ns`, `bytes_per_item`),
    /// `summary` the progress line's text.
    pub fn record(
        &mut self,
        scenario: &str,
        implementation: &str,
        (field, value): (&str, f64),
        note: &str,
        summary: &str,
    ) {
        println!("RESULT {scenario}/{implementation} {summary}");
        self.records.push(format!(
            r#"{{"scenario":"{}","impl":"{}","{field}":{value},"note":"{}"}}"#,
            json_escape(scenario),
            json_escape(implementation),
            json_escape(note)
        ));
    }

    /// Writes the records where the xtask wants them (nothing under `--list`).
    pub fn finish(self) {
        if self.list {
            return;
        }
        if let Some(path) = std::env::var_os("XTASK_BENCH_OUT") {
            std::fs::write(path, format!("[{}]\n", self.records.join(",\n")))
                .expect("writing records");
        }
    }
}

/// The xtask passes its filter as an escaped regex (criterion's form); undo the escaping.
fn unescape(filter: &str) -> String {
    let mut out = String::with_capacity(filter.len());
    let mut chars = filter.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn json_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}
