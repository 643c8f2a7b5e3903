//! `load-urls`: the seed's `ThreadPoolExecutor` program as a command-line tool.
//!
//! Loads URLs on a pool of 5 threads and prints, as each one completes (`as_completed`), the
//! seed's line for it: `'URL' page is N bytes` or `'URL' generated an exception: REASON`.
//! Without arguments it loads the seed's five URLs; `--serve-local` reproduces the seed's run
//! offline against a server inside the process. Run `load-urls --help` for the options.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use cfutures::helpers::as_completed;
use cfutures::thread::ThreadPoolExecutor;
use cfutures_demos::cli;
use cfutures_demos::server::LocalServer;
use cfutures_demos::urls::{self, DEFAULT_WORKERS, SEED_URLS};
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

const PROGRAM: &str = "load-urls";

/// More URLs than this get a progress bar (when stderr is a terminal).
const PROGRESS_ABOVE: usize = 5;

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = PROGRAM,
    version,
    help_template = cli::HELP_TEMPLATE,
    about = "\
Loads each URL on a thread pool and prints, as each completes, one line:
  'URL' page is N bytes
  'URL' generated an exception: REASON
With no URL (and no --file) it loads the seed's five URLs."
)]
struct Options {
    /// URLs to load
    #[arg(value_name = "URL")]
    urls: Vec<String>,
    /// Also load the URLs listed in PATH, one per line ('-': stdin;
    /// blank lines and lines starting with # are skipped)
    #[arg(short, long = "file", value_name = "PATH", verbatim_doc_comment)]
    files: Vec<PathBuf>,
    /// Threads in the pool
    #[arg(
        short,
        long,
        value_name = "N",
        default_value_t = DEFAULT_WORKERS,
        value_parser = cli::at_least_one
    )]
    workers: usize,
    /// Give up on a connection, read or write after SECS seconds
    #[arg(
        verbatim_doc_comment,
        short,
        long,
        value_name = "SECS",
        default_value = "60",
        value_parser = cli::positive_secs,
        allow_negative_numbers = true
    )]
    timeout: Duration,
    /// Serve pages of the seed's sizes (71014, 137387, 949327, 230981
    /// bytes) and one failing URL from 127.0.0.1 inside this process,
    /// and load those: the seed's run, offline
    #[arg(long, conflicts_with_all = ["urls", "files"], verbatim_doc_comment)]
    serve_local: bool,
    /// Never show the progress bar (it is shown on stderr when stderr
    /// is a terminal and there are more than 5 URLs)
    #[arg(long, verbatim_doc_comment)]
    no_progress: bool,
}

fn main() -> ExitCode {
    match run(Options::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{PROGRAM}: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(options: Options) -> Result<(), Box<dyn std::error::Error>> {
    // Kept alive until every URL is loaded: dropping it stops the server.
    let server = if options.serve_local {
        Some(LocalServer::start().map_err(|e| format!("cannot start the local server: {e}"))?)
    } else {
        None
    };
    let mut url_list = options.urls;
    for path in &options.files {
        let listed = urls::read_url_file(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        url_list.extend(listed);
    }
    if let Some(server) = &server {
        url_list = server.seed_urls();
    } else if url_list.is_empty() && options.files.is_empty() {
        url_list = SEED_URLS.map(String::from).to_vec();
    }

    let agent = urls::agent(options.timeout);
    let executor = ThreadPoolExecutor::new(options.workers)?;
    // Start the load operations and mark each future with its URL.
    let mut future_to_url = HashMap::with_capacity(url_list.len());
    for url in url_list {
        let agent = agent.clone();
        let target = url.clone();
        let future = executor.submit(move || urls::load_url(&agent, &target))?;
        future_to_url.insert(future, url);
    }

    let bar = progress_bar(future_to_url.len(), !options.no_progress);
    for future in as_completed(future_to_url.keys().cloned(), None) {
        let future = future?; // only a timeout is an error here, and none was given
        let url = &future_to_url[&future];
        let line = match future.result() {
            Ok(Ok(bytes)) => urls::page_line(url, *bytes),
            Ok(Err(error)) => urls::exception_line(url, error),
            Err(error) => urls::exception_line(url, &error), // the task panicked
        };
        bar.suspend(|| println!("{line}"));
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(())
}

/// A bar on stderr for a person watching many URLs load; hidden otherwise, so piped or
/// captured output holds only the seed's lines.
fn progress_bar(total: usize, wanted: bool) -> ProgressBar {
    if !wanted || total <= PROGRESS_ABOVE || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} loaded, {elapsed} [eta {eta}]")
            .expect("the template is valid"),
    );
    bar
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Options::command().debug_assert();
    }

    #[test]
    fn the_defaults_are_the_seeds() {
        let options = Options::try_parse_from([PROGRAM]).unwrap();
        assert_eq!(options.timeout, urls::DEFAULT_TIMEOUT);
        assert_eq!(options.workers, DEFAULT_WORKERS);
        assert!(options.urls.is_empty() && options.files.is_empty());
    }

    #[test]
    fn short_options_take_attached_values_and_files_repeat() {
        let options =
            Options::try_parse_from([PROGRAM, "-w2", "-t0.5", "-f", "a", "--file=b", "u"]).unwrap();
        assert_eq!(options.workers, 2);
        assert_eq!(options.timeout, Duration::from_millis(500));
        assert_eq!(options.files, [PathBuf::from("a"), PathBuf::from("b")]);
        assert_eq!(options.urls, ["u"]);
    }
}
