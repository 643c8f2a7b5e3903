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
use cfutures_demos::cli::{self, Arg, Args, UsageError};
use cfutures_demos::server::LocalServer;
use cfutures_demos::urls::{self, DEFAULT_WORKERS, SEED_URLS};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

const PROGRAM: &str = "load-urls";

const USAGE: &str = "\
Usage: load-urls [OPTIONS] [URL]...

Loads each URL on a thread pool and prints, as each completes, one line:
  'URL' page is N bytes
  'URL' generated an exception: REASON
With no URL (and no --file) it loads the seed's five URLs.

Options:
  -f, --file PATH     also load the URLs listed in PATH, one per line ('-': stdin;
                      blank lines and lines starting with # are skipped)
  -w, --workers N     threads in the pool (default 5)
  -t, --timeout SECS  give up on a connection, read or write after SECS seconds
                      (default 60)
      --serve-local   serve pages of the seed's sizes (71014, 137387, 949327, 230981
                      bytes) and one failing URL from 127.0.0.1 inside this process,
                      and load those: the seed's run, offline
      --no-progress   never show the progress bar (it is shown on stderr when stderr
                      is a terminal and there are more than 5 URLs)
  -h, --help          print this help";

/// More URLs than this get a progress bar (when stderr is a terminal).
const PROGRESS_ABOVE: usize = 5;

#[derive(Debug)]
struct Options {
    urls: Vec<String>,
    files: Vec<PathBuf>,
    workers: usize,
    timeout: Duration,
    serve_local: bool,
    progress: bool,
}

enum Command {
    Run(Options),
    Help,
}

fn parse(mut args: Args) -> Result<Command, UsageError> {
    let mut options = Options {
        urls: Vec::new(),
        files: Vec::new(),
        workers: DEFAULT_WORKERS,
        timeout: urls::DEFAULT_TIMEOUT,
        serve_local: false,
        progress: true,
    };
    while let Some(arg) = args.next_arg() {
        let (name, inline) = match arg {
            Arg::Positional(url) => {
                options.urls.push(url);
                continue;
            }
            Arg::Option { name, inline } => (name, inline),
        };
        match name.as_str() {
            "--help" => return Ok(Command::Help),
            "-f" | "--file" => options.files.push(args.value(&name, inline)?.into()),
            "-w" | "--workers" => {
                options.workers = args.parsed(&name, inline)?;
                if options.workers == 0 {
                    return Err(UsageError(format!("{name} must be at least 1")));
                }
            }
            "-t" | "--timeout" => {
                let secs: f64 = args.parsed(&name, inline)?;
                options.timeout = Duration::try_from_secs_f64(secs)
                    .ok()
                    .filter(|t| !t.is_zero())
                    .ok_or_else(|| {
                        UsageError(format!("{name} must be a positive number of seconds"))
                    })?;
            }
            "--serve-local" => {
                cli::no_value(&name, inline)?;
                options.serve_local = true;
            }
            "--no-progress" => {
                cli::no_value(&name, inline)?;
                options.progress = false;
            }
            _ => return Err(cli::unknown(&name)),
        }
    }
    if options.serve_local && !(options.urls.is_empty() && options.files.is_empty()) {
        return Err(UsageError(
            "--serve-local loads its own URLs; give no URL or --file with it".into(),
        ));
    }
    Ok(Command::Run(options))
}

fn main() -> ExitCode {
    let options = match Args::from_env().and_then(parse) {
        Ok(Command::Run(options)) => options,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => cli::usage_exit(PROGRAM, &error, USAGE),
    };
    match run(options) {
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

    let bar = progress_bar(future_to_url.len(), options.progress);
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
