//! A small HTTP/1.1 server on 127.0.0.1 that serves pages of chosen sizes, so that the seed's
//! run (`load-urls --serve-local`) and the tests need no network.
//!
//! Routes (`GET` and `HEAD`; one request per connection, answered with `Connection: close`):
//!
//! | path | answer |
//! |---|---|
//! | `/page-N` | `200 OK` with a body of exactly `N` bytes (`N` at most [`MAX_PAGE`]) |
//! | `/status-NNN` | that status (100..=599 excluded 1xx), with a one-line body |
//! | anything else | `404 Not Found` |
//!
//! ```
//! use cfutures_demos::server::LocalServer;
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//!
//! let server = LocalServer::start()?;
//! let mut conn = TcpStream::connect(server.addr())?;
//! conn.write_all(b"GET /page-5 HTTP/1.1\r\nHost: x\r\n\r\n")?;
//! let mut reply = String::new();
//! conn.read_to_string(&mut reply)?;
//! assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(reply.contains("Content-Length: 5\r\n"));
//! assert_eq!(reply.split("\r\n\r\n").nth(1), Some("<!-- "));
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io::Read as _;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// The page sizes the seed printed for its four real sites, in its order.
pub const SEED_PAGE_SIZES: [usize; 4] = [71014, 137387, 949327, 230981];

/// The largest page served (64 MiB): a mistyped size cannot make the server stream for long.
pub const MAX_PAGE: usize = 64 << 20;

/// The longest request head (request line and headers) read; longer ones get `431`.
const MAX_HEAD: usize = 16 * 1024;

/// How long a connection may stay silent before the server drops it.
const IDLE: Duration = Duration::from_secs(10);

/// How long a closing connection waits for the client to stop sending.
const LINGER: Duration = Duration::from_secs(1);

/// The most a closing connection reads from the client before giving up on it.
const MAX_DRAIN: u64 = 1 << 20;

/// What page bodies are made of (repeated and cut to size).
const FILLER: &[u8] = b"<!-- cfutures local page: the seed's sites, served offline. -->\n";

/// An HTTP server on an ephemeral port of 127.0.0.1, running until dropped.
///
/// Each connection is served on a thread of its own; a connection that stays idle for 10
/// seconds is dropped. Dropping the server stops accepting (connections being served finish
/// on their own).
#[derive(Debug)]
pub struct LocalServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl LocalServer {
    /// Binds 127.0.0.1 on a port the system picks and starts serving.
    pub fn start() -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let stop = Arc::clone(&stop);
            thread::Builder::new()
                .name("local-http-accept".into())
                .spawn(move || accept_loop(&listener, &stop))?
        };
        Ok(LocalServer {
            addr,
            stop,
            acceptor: Some(acceptor),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT{path}`; `path` should start with `/`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The URL of a page of exactly `bytes` bytes.
    pub fn page_url(&self, bytes: usize) -> String {
        self.url(&format!("/page-{bytes}"))
    }

    /// A URL that answers `404 Not Found`.
    pub fn missing_url(&self) -> String {
        self.url("/some-made-up-page/")
    }

    /// The seed's run, offline: pages of the four sizes the seed printed, then one URL that
    /// fails (it answers 404, standing in for the seed's made-up domain).
    ///
    /// ```
    /// let server = cfutures_demos::server::LocalServer::start()?;
    /// let urls = server.seed_urls();
    /// assert_eq!(urls.len(), 5);
    /// assert!(urls[0].ends_with("/page-71014"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn seed_urls(&self) -> Vec<String> {
        let mut urls: Vec<String> = SEED_PAGE_SIZES.iter().map(|&n| self.page_url(n)).collect();
        urls.push(self.missing_url());
        urls
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // `accept` blocks; a connection of our own wakes it to see the flag. If even that
        // fails, the acceptor is left blocked rather than risking a hang here.
        let woke = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok();
        if let Some(acceptor) = self.acceptor.take()
            && woke
        {
            let _ = acceptor.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, stop: &AtomicBool) {
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(conn) = conn else { continue };
        // A failed spawn drops the connection: the client sees it closed, the server lives on.
        let _ = thread::Builder::new()
            .name("local-http-conn".into())
            .spawn(move || {
                let _ = serve(conn);
            });
    }
}

/// What the server answers for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `200 OK` with a body of this many bytes.
    Page(usize),
    /// This status, with its reason phrase as a short body.
    Status(u16),
}

/// The route table: what `GET path` is answered with.
///
/// ```
/// use cfutures_demos::server::{Response, route};
///
/// assert_eq!(route("/page-71014"), Response::Page(71014));
/// assert_eq!(route("/page-71014?x=1"), Response::Page(71014));
/// assert_eq!(route("/status-500"), Response::Status(500));
/// assert_eq!(route("/page-x"), Response::Status(404));
/// assert_eq!(route("/status-99"), Response::Status(404));
/// ```
pub fn route(target: &str) -> Response {
    let path = target.split(['?', '#']).next().unwrap_or("");
    if let Some(n) = path.strip_prefix("/page-")
        && let Some(n) = parse_digits::<usize>(n)
        && n <= MAX_PAGE
    {
        return Response::Page(n);
    }
    if let Some(code) = path.strip_prefix("/status-")
        && let Some(code) = parse_digits::<u16>(code)
        && (200..=599).contains(&code)
    {
        return Response::Status(code);
    }
    Response::Status(404)
}

/// Plain decimal digits only (`str::parse` also takes a leading `+`).
fn parse_digits<T: std::str::FromStr>(text: &str) -> Option<T> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Serves one request on `conn`, then closes it gracefully.
fn serve(conn: TcpStream) -> io::Result<()> {
    conn.set_read_timeout(Some(IDLE))?;
    conn.set_write_timeout(Some(IDLE))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    answer(&mut reader, &conn)?;
    // Closing a socket with unread input makes the kernel send a reset, which can destroy the
    // answer before the client reads it (a refused oversized request, say). So: end our side,
    // then read what the client still sends, briefly, until it closes.
    conn.shutdown(Shutdown::Write)?;
    conn.set_read_timeout(Some(LINGER))?;
    let _ = io::copy(&mut reader.take(MAX_DRAIN), &mut io::sink());
    Ok(())
}

/// Reads one request from `reader` and writes the answer to `conn`.
fn answer(reader: &mut impl BufRead, conn: &TcpStream) -> io::Result<()> {
    let mut out = io::BufWriter::new(conn);
    let (method, target) = match read_head(reader)? {
        Head::Request { method, target } => (method, target),
        Head::TooLarge => return respond(&mut out, 431, false),
        Head::Malformed => return respond(&mut out, 400, false),
        Head::Closed => return Ok(()),
    };
    let head_only = method == "HEAD";
    if !head_only && method != "GET" {
        return respond(&mut out, 405, false);
    }
    match route(&target) {
        Response::Page(n) => {
            write_head(&mut out, 200, n)?;
            if !head_only {
                let mut left = n;
                while left > 0 {
                    let chunk = left.min(FILLER.len());
                    out.write_all(&FILLER[..chunk])?;
                    left -= chunk;
                }
            }
            out.flush()
        }
        Response::Status(code) => respond(&mut out, code, head_only),
    }
}

enum Head {
    Request { method: String, target: String },
    TooLarge,
    Malformed,
    Closed,
}

/// Reads the request line and the headers (which are ignored), up to [`MAX_HEAD`] bytes.
fn read_head(reader: &mut impl BufRead) -> io::Result<Head> {
    let mut total = 0;
    let mut request_line = None;
    loop {
        if total >= MAX_HEAD {
            return Ok(Head::TooLarge);
        }
        let mut line = Vec::new();
        let limit = (MAX_HEAD - total) as u64;
        let n = reader.by_ref().take(limit).read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(if total == 0 {
                Head::Closed
            } else {
                Head::Malformed
            });
        }
        total += n;
        if !line.ends_with(b"\n") {
            return Ok(if total >= MAX_HEAD {
                Head::TooLarge
            } else {
                Head::Malformed
            });
        }
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches(['\r', '\n']);
        if request_line.is_none() {
            request_line = Some(line.to_owned());
        } else if line.is_empty() {
            break;
        }
    }
    let request_line = request_line.unwrap_or_default();
    let mut parts = request_line.split(' ');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(method), Some(target), Some(version), None)
            if !method.is_empty() && target.starts_with('/') && version.starts_with("HTTP/1.") =>
        {
            Ok(Head::Request {
                method: method.to_owned(),
                target: target.to_owned(),
            })
        }
        _ => Ok(Head::Malformed),
    }
}

fn write_head(out: &mut impl Write, code: u16, length: usize) -> io::Result<()> {
    write!(
        out,
        "HTTP/1.1 {code} {}\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {length}\r\nConnection: close\r\n\r\n",
        reason(code)
    )
}

/// A status answer whose body is its reason phrase.
fn respond(out: &mut impl Write, code: u16, head_only: bool) -> io::Result<()> {
    let body = format!("{code} {}\n", reason(code));
    write_head(out, code, body.len())?;
    if !head_only {
        out.write_all(body.as_bytes())?;
    }
    out.flush()
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn exchange(server: &LocalServer, request: &[u8]) -> String {
        let mut conn = TcpStream::connect(server.addr()).unwrap();
        conn.write_all(request).unwrap();
        let mut reply = Vec::new();
        conn.read_to_end(&mut reply).unwrap();
        String::from_utf8(reply).unwrap()
    }

    fn body(reply: &str) -> &str {
        reply.split_once("\r\n\r\n").unwrap().1
    }

    #[test]
    fn pages_have_the_asked_length() {
        let server = LocalServer::start().unwrap();
        for n in [0, 1, FILLER.len(), 71014] {
            let reply = exchange(
                &server,
                format!("GET /page-{n} HTTP/1.1\r\n\r\n").as_bytes(),
            );
            assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply:.40}");
            assert!(reply.contains(&format!("\r\nContent-Length: {n}\r\n")));
            assert_eq!(body(&reply).len(), n);
        }
    }

    #[test]
    fn head_gets_no_body_and_other_methods_are_refused() {
        let server = LocalServer::start().unwrap();
        let reply = exchange(&server, b"HEAD /page-10 HTTP/1.1\r\n\r\n");
        assert!(reply.contains("Content-Length: 10\r\n"));
        assert_eq!(body(&reply), "");
        let reply = exchange(&server, b"POST /page-10 HTTP/1.1\r\n\r\n");
        assert!(reply.starts_with("HTTP/1.1 405 "), "{reply}");
    }

    #[test]
    fn bad_requests_get_an_error_status_not_a_dead_server() {
        let server = LocalServer::start().unwrap();
        let reply = exchange(&server, b"nonsense\r\n\r\n");
        assert!(reply.starts_with("HTTP/1.1 400 "), "{reply}");
        let huge = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_HEAD));
        let reply = exchange(&server, huge.as_bytes());
        assert!(reply.starts_with("HTTP/1.1 431 "), "{reply:.40}");
        // Many short header lines add up to the limit just the same.
        let many = format!(
            "GET / HTTP/1.1\r\n{}\r\n",
            "X-Pad: 0123456789\r\n".repeat(1000)
        );
        let reply = exchange(&server, many.as_bytes());
        assert!(reply.starts_with("HTTP/1.1 431 "), "{reply:.40}");
        let reply = exchange(&server, b"GET /status-503 HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(reply.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
        assert_eq!(body(&reply), "503 Service Unavailable\n");
        let reply = exchange(
            &server,
            format!("GET /page-{} HTTP/1.0\r\n\r\n", MAX_PAGE + 1).as_bytes(),
        );
        assert!(reply.starts_with("HTTP/1.1 404 "), "{reply}");
    }

    #[test]
    fn dropping_the_server_stops_it() {
        let server = LocalServer::start().unwrap();
        let addr = server.addr();
        drop(server);
        assert!(TcpStream::connect(addr).is_err());
    }
}
