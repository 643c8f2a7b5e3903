//! The command line of `cargo xtask bench`.

/// What `cargo xtask bench` was asked to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Short measurements: fewer samples and shorter windows everywhere.
    pub quick: bool,
    /// Only the benchmarks whose `scenario/impl` key contains this text.
    pub filter: Option<String>,
    /// Do not measure; rebuild the report from the results of the last run.
    pub report_only: bool,
}

impl Options {
    /// Parses the arguments after `bench`; `Ok(None)` when help was asked for.
    pub fn parse(args: &[String]) -> Result<Option<Options>, String> {
        let mut options = Options::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => options.quick = true,
                "--report-only" => options.report_only = true,
                "--filter" => {
                    let name = args.next().ok_or("--filter needs a NAME")?;
                    options.filter = Some(name.clone());
                }
                "--help" | "-h" => return Ok(None),
                other => match other.strip_prefix("--filter=") {
                    Some(name) => options.filter = Some(name.to_owned()),
                    None => return Err(format!("unknown argument `{other}`")),
                },
            }
        }
        if options.filter.as_deref() == Some("") {
            return Err("--filter NAME must not be empty".into());
        }
        Ok(Some(options))
    }

    /// True if the benchmark `scenario/implementation` is selected by `--filter`.
    pub fn selects(&self, scenario: &str, implementation: &str) -> bool {
        match &self.filter {
            None => true,
            Some(name) => format!("{scenario}/{implementation}").contains(name.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Options>, String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        Options::parse(&args)
    }

    #[test]
    fn flags_and_filter_forms() {
        let options = parse(&["--quick", "--filter", "T1"]).unwrap().unwrap();
        assert!(options.quick);
        assert_eq!(options.filter.as_deref(), Some("T1"));
        let options = parse(&["--filter=P2/chunksize=1"]).unwrap().unwrap();
        assert_eq!(options.filter.as_deref(), Some("P2/chunksize=1"));
        assert!(!options.quick);
        assert_eq!(parse(&["--help"]).unwrap(), None);
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(parse(&["--filter"]).is_err());
        assert!(parse(&["--filter="]).is_err());
        assert!(parse(&["--fast"]).is_err());
    }

    #[test]
    fn filter_is_a_substring_of_scenario_slash_impl() {
        let options = parse(&["--filter", "T1"]).unwrap().unwrap();
        assert!(options.selects("T1", "rayon"));
        assert!(!options.selects("T2", "rayon"));
        let options = parse(&["--filter", "rayon"]).unwrap().unwrap();
        assert!(options.selects("T3", "rayon"));
        assert!(!options.selects("T3", "cfutures"));
        let options = parse(&["--filter", "P2/chunksize=1/"]).unwrap().unwrap();
        assert!(options.selects("P2/chunksize=1", "cpython"));
        assert!(!options.selects("P2/chunksize=256", "cpython"));
        assert!(Options::default().selects("M1", "cfutures"));
    }
}
