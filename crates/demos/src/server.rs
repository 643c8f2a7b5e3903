//! A small HTTP server on 127.0.0.1 (over `tiny_http`) that serves pages of chosen sizes, so
//! that the seed's run (`load-urls --serve-local`) and the tests need no network.
//!
//! Routes (`GET` and `HEAD`; any other method gets `405 Method Not Allowed`):
//!
//! | path | answer |
//! |---|---|
//! | `/page-N` | `200 OK` with a body of exactly `N` bytes (`N` at most [`MAX_PAGE`]), sent with `Content-Length` |
//! | `/status-NNN` | that status (200..=599), with a one-line body |
//! | anything else | `404 Not Found` |
//!
//! A request `tiny_http` cannot parse gets `400 Bad Request` and its connection is closed.
//!
//! ```
//! use cfutures_demos::server::LocalServer;
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//!
//! let server = LocalServer::start()?;
//! let mut conn = TcpStream::connect(server.addr())?;
//! conn.write_all(b"GET /page-5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
//! let mut reply = String::new();
//! conn.read_to_string(&mut reply)?;
//! assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(reply.contains("Content-Length: 5\r\n"));
//! assert_eq!(reply.split("\r\n\r\n").nth(1), Some("<!-- "));
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};

use tiny_http::{Header, Method, Request, StatusCode};

/// The page sizes the seed printed for its four real sites, in its order.
pub const SEED_PAGE_SIZES: [usize; 4] = [71014, 137387, 949327, 230981];

/// The largest page served (64 MiB): a mistyped size cannot make the server stream for long.
pub const MAX_PAGE: usize = 64 << 20;

/// What page bodies are made of (repeated and cut to size).
const FILLER: &[u8] = b"<!-- cfutures local page: the seed's sites, served offline. -->\n";

/// An HTTP server on an ephemeral port of 127.0.0.1, running until dropped.
///
/// `tiny_http` reads requests on threads of its own; each request is answered on a thread of
/// its own, so a large page never holds up the others. Dropping the server stops it
/// (answers being sent finish on their own).
pub struct LocalServer {
    addr: SocketAddr,
    http: Arc<tiny_http::Server>,
    stopping: Arc<AtomicBool>,
    dispatcher: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for LocalServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl LocalServer {
    /// Binds 127.0.0.1 on a port the system picks and starts serving.
    pub fn start() -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = listener.local_addr()?;
        let http = tiny_http::Server::from_listener(listener, None).map_err(io::Error::other)?;
        let http = Arc::new(http);
        let stopping = Arc::new(AtomicBool::new(false));
        let dispatcher = {
            let (http, stopping) = (Arc::clone(&http), Arc::clone(&stopping));
            thread::Builder::new()
                .name("local-http".into())
                .spawn(move || dispatch(&http, &stopping))?
        };
        Ok(LocalServer {
            addr,
            http,
            stopping,
            dispatcher: Some(dispatcher),
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
        // The flag first: the dispatcher tells the wake-up below from an accept error by it.
        self.stopping.store(true, Ordering::SeqCst);
        self.http.unblock();
        if let Some(dispatcher) = self.dispatcher.take() {
            let _ = dispatcher.join();
        }
        // Dropping the last `Arc` drops the `tiny_http::Server`, which stops its listener.
    }
}

/// Hands each request to a thread of its own until the server is dropped.
fn dispatch(http: &tiny_http::Server, stopping: &AtomicBool) {
    loop {
        match http.recv() {
            Ok(request) => {
                // A failed spawn drops the request: the client sees its connection closed,
                // the server lives on.
                let _ = thread::Builder::new()
                    .name("local-http-answer".into())
                    .spawn(move || {
                        let _ = answer(request);
                    });
            }
            Err(_) if stopping.load(Ordering::SeqCst) => return,
            // A failed accept (out of descriptors, say) loses that connection only.
            Err(_) => continue,
        }
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

/// Answers one request (`tiny_http` leaves out the body of an answer to `HEAD`).
fn answer(request: Request) -> io::Result<()> {
    if !matches!(request.method(), Method::Get | Method::Head) {
        return request.respond(status_response(405));
    }
    match route(request.url()) {
        Response::Page(n) => {
            let page = tiny_http::Response::new(
                StatusCode(200),
                vec![html()],
                Filler::default().take(n as u64),
                Some(n),
                None,
            )
            // `Content-Length` whatever the size, as the seed's sites send it (tiny_http
            // would otherwise stream pages of 32 KiB and more in chunks).
            .with_chunked_threshold(usize::MAX);
            request.respond(page)
        }
        Response::Status(code) => request.respond(status_response(code)),
    }
}

/// A status answer whose body is `CODE REASON` on one line.
fn status_response(code: u16) -> tiny_http::Response<io::Cursor<Vec<u8>>> {
    let status = StatusCode(code);
    tiny_http::Response::from_string(format!("{code} {}\n", status.default_reason_phrase()))
        .with_status_code(status)
        .with_header(html())
}

fn html() -> Header {
    Header::from_bytes(&b"Content-Type"[..], &b"text/html; charset=utf-8"[..])
        .expect("a valid header")
}

/// [`FILLER`] repeated without end (cut to size with `take`).
#[derive(Debug, Default)]
struct Filler {
    at: usize,
}

impl Read for Filler {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        for byte in buf.iter_mut() {
            *byte = FILLER[self.at];
            self.at = (self.at + 1) % FILLER.len();
        }
        Ok(buf.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

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

    /// `request_line`, with the headers that end the connection after the answer.
    fn closing(request_line: &str) -> Vec<u8> {
        format!("{request_line}\r\nHost: x\r\nConnection: close\r\n\r\n").into_bytes()
    }

    #[test]
    fn pages_have_the_asked_length() {
        let server = LocalServer::start().unwrap();
        for n in [0, 1, FILLER.len(), 71014] {
            let reply = exchange(&server, &closing(&format!("GET /page-{n} HTTP/1.1")));
            assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply:.40}");
            assert!(reply.contains(&format!("\r\nContent-Length: {n}\r\n")));
            assert!(!reply.contains("Transfer-Encoding"), "{reply:.200}");
            assert_eq!(body(&reply).len(), n);
            assert!(FILLER.starts_with(&body(&reply).as_bytes()[..n.min(FILLER.len())]));
        }
    }

    #[test]
    fn head_gets_no_body_and_other_methods_are_refused() {
        let server = LocalServer::start().unwrap();
        let reply = exchange(&server, &closing("HEAD /page-10 HTTP/1.1"));
        assert!(reply.contains("Content-Length: 10\r\n"), "{reply}");
        assert_eq!(body(&reply), "");
        let reply = exchange(&server, &closing("POST /page-10 HTTP/1.1"));
        assert!(reply.starts_with("HTTP/1.1 405 "), "{reply}");
    }

    #[test]
    fn bad_requests_get_an_error_status_not_a_dead_server() {
        let server = LocalServer::start().unwrap();
        let reply = exchange(&server, b"nonsense\r\n\r\n");
        assert!(reply.starts_with("HTTP/1.1 400 "), "{reply}");
        // tiny_http sets no limit on the size of a request head (the server this replaced
        // answered 431 past 16 KiB): a long one is read and routed like any other.
        let huge = closing(&format!("GET /{} HTTP/1.1", "a".repeat(16 * 1024)));
        let reply = exchange(&server, &huge);
        assert!(reply.starts_with("HTTP/1.1 404 "), "{reply:.40}");
        let reply = exchange(&server, &closing("GET /status-503 HTTP/1.1"));
        assert!(reply.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
        assert_eq!(body(&reply), "503 Service Unavailable\n");
        // An HTTP/1.0 request ends its connection by itself; tiny_http answers in 1.0.
        let reply = exchange(
            &server,
            format!("GET /page-{} HTTP/1.0\r\n\r\n", MAX_PAGE + 1).as_bytes(),
        );
        assert!(reply.starts_with("HTTP/1.0 404 "), "{reply}");
        // Still serving after all that.
        let reply = exchange(&server, &closing("GET /page-3 HTTP/1.1"));
        assert_eq!(body(&reply), "<!-");
    }

    #[test]
    fn dropping_the_server_stops_it() {
        let server = LocalServer::start().unwrap();
        let addr = server.addr();
        drop(server);
        // tiny_http closes its listener on its own thread, just after the drop returns and
        // with nothing to wait on: look until it is gone, within a bound.
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).is_ok() {
            assert!(
                Instant::now() < deadline,
                "{addr} still accepts connections"
            );
            thread::sleep(Duration::from_millis(1));
        }
    }
}
