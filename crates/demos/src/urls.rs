//! The seed's `load_url`, over `ureq`, and its output lines.

use std::fmt;
use std::io;
use std::path::Path;
use std::time::Duration;

use crate::repr::py_repr;

/// The seed's URLs, in its order.
pub const SEED_URLS: [&str; 5] = [
    "http://www.foxnews.com/",
    "http://www.cnn.com/",
    "http://europe.wsj.com/",
    "http://www.bbc.co.uk/",
    "http://some-made-up-domain.com/",
];

/// The seed's timeout: `load_url(url, 60)`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The seed's pool size: `ThreadPoolExecutor(max_workers=5)`.
pub const DEFAULT_WORKERS: usize = 5;

/// An HTTP agent whose every network step gives up after `timeout`, like the `timeout` of
/// Python's `urlopen` (which bounds each blocking socket operation, not the whole transfer).
///
/// Connecting, each read and each write get `timeout`; so does the name lookup (Python's
/// does not time out; here a stuck resolver cannot hang a worker). Redirects are followed,
/// and an HTTP error status (4xx, 5xx) is an error, both as in `urlopen`. Proxies set in the
/// environment (`http_proxy`, `NO_PROXY`, ...) are honoured, also as in `urlopen`.
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_resolve(Some(timeout))
        .timeout_connect(Some(timeout))
        .timeout_per_read(Some(timeout))
        .timeout_per_write(Some(timeout))
        .build()
        .new_agent()
}

/// Why a URL could not be loaded: the error `load_url` raises in the seed.
#[derive(Debug)]
pub struct LoadError(ureq::Error);

impl LoadError {
    /// The underlying `ureq` error.
    pub fn ureq(&self) -> &ureq::Error {
        &self.0
    }
}

impl From<ureq::Error> for LoadError {
    fn from(error: ureq::Error) -> Self {
        LoadError(error)
    }
}

/// An HTTP status reads as Python's `HTTPError` does (`HTTP Error 404: Not Found`); anything
/// else as `ureq` describes it (`io: failed to lookup address information: Name or service
/// not known`, `timeout: ...`, `io: Connection refused (os error 111)`).
impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            ureq::Error::StatusCode(code) => {
                let reason = ureq::http::StatusCode::from_u16(*code)
                    .ok()
                    .and_then(|status| status.canonical_reason())
                    .unwrap_or("unknown status");
                write!(f, "HTTP Error {code}: {reason}")
            }
            other => other.fmt(f),
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// The seed's `load_url(url, timeout)`: fetches `url` and returns the length of its body.
///
/// The body is counted as it streams, not kept: only its length is reported, so a large page
/// costs no memory.
pub fn load_url(agent: &ureq::Agent, url: &str) -> Result<u64, LoadError> {
    let mut response = agent.get(url).call()?;
    let mut body = response.body_mut().as_reader();
    io::copy(&mut body, &mut io::sink()).map_err(|e| LoadError(ureq::Error::from(e)))
}

/// The seed's success line: `'URL' page is N bytes`.
///
/// ```
/// assert_eq!(
///     cfutures_demos::urls::page_line("http://www.cnn.com/", 137387),
///     "'http://www.cnn.com/' page is 137387 bytes",
/// );
/// ```
pub fn page_line(url: &str, bytes: u64) -> String {
    format!("{} page is {bytes} bytes", py_repr(url))
}

/// The seed's failure line: `'URL' generated an exception: REASON`.
///
/// ```
/// assert_eq!(
///     cfutures_demos::urls::exception_line("http://x.invalid/", &"host not found"),
///     "'http://x.invalid/' generated an exception: host not found",
/// );
/// ```
pub fn exception_line(url: &str, reason: &dyn fmt::Display) -> String {
    format!("{} generated an exception: {reason}", py_repr(url))
}

/// The URLs listed in `text`: one per line; blank lines and lines starting with `#` are
/// skipped, surrounding whitespace is trimmed.
///
/// ```
/// let urls = cfutures_demos::urls::parse_url_list("# mine\nhttp://a/\n\n  http://b/  \n");
/// assert_eq!(urls, ["http://a/", "http://b/"]);
/// ```
pub fn parse_url_list(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// [`parse_url_list`] of a file, or of standard input if `path` is `-`.
pub fn read_url_file(path: &Path) -> io::Result<Vec<String>> {
    let text = if path == Path::new("-") {
        io::read_to_string(io::stdin())?
    } else {
        std::fs::read_to_string(path)?
    };
    Ok(parse_url_list(&text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::LocalServer;

    #[test]
    fn loads_pages_and_reports_statuses_like_python() {
        let server = LocalServer::start().unwrap();
        let agent = agent(Duration::from_secs(10));
        assert_eq!(load_url(&agent, &server.page_url(949327)).unwrap(), 949327);
        assert_eq!(load_url(&agent, &server.page_url(0)).unwrap(), 0);
        let err = load_url(&agent, &server.missing_url()).unwrap_err();
        assert_eq!(err.to_string(), "HTTP Error 404: Not Found");
        let err = load_url(&agent, &server.url("/status-500")).unwrap_err();
        assert_eq!(err.to_string(), "HTTP Error 500: Internal Server Error");
    }

    #[test]
    fn a_malformed_url_is_an_error_not_a_panic() {
        let agent = agent(Duration::from_secs(1));
        for url in ["", "not a url", "ftp://example.invalid/", "http://[::1/"] {
            assert!(load_url(&agent, url).is_err(), "{url:?}");
        }
    }
}
