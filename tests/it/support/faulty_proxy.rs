//! An HTTP-aware TCP proxy in front of a real registry that misbehaves on purpose: it answers 503
//! or 500, never answers, resets connections in the middle of blob uploads, turns cross-repository
//! mounts into plain upload sessions (so the registry answers `202`), slows responses down, or
//! trickles uploads through, or claims the referrers API; on blob downloads it resets the connection
//! or closes it at half the body, or trickles the body. Used to check retries, backoff, fallbacks,
//! resumes and timeouts against real HTTP clients; every request's line and `Range` are recorded. Proxies chain: a proxy in front of another proxy adds its fault to the other's.
//!
//! Every request gets its own upstream connection (`Connection: close` is forced on both sides),
//! so faults can be decided per request from its head alone; request bodies are forwarded by
//! `Content-Length`, responses are piped until the registry closes.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Request bodies above this size are blob uploads for [`Fault::ResetUploads`].
const UPLOAD_BYTES: usize = 64 * 1024;

/// How the proxy misbehaves.
#[derive(Clone, Copy)]
pub enum Fault {
    /// The first `n` requests get `503 Service Unavailable`, later ones pass through.
    First503(usize),
    /// Every request gets 503.
    Always503,
    /// The first `n` requests get `500 Internal Server Error`, later ones pass through.
    First500(usize),
    /// Connections are accepted and never answered.
    Silent,
    /// The first `n` blob uploads (requests with a body over 64 KiB) are cut off after the head
    /// and half the body: both connections are reset (RST). `usize::MAX` resets every upload.
    ResetUploads(usize),
    /// `POST .../blobs/uploads/?mount=D&from=R` loses its query, so the registry opens a plain
    /// upload session and answers `202` with a real `Location` instead of mounting.
    MountAccepted,
    /// Every response is held back this long before it is sent.
    Delay(Duration),
    /// Request bodies are forwarded at about this many bytes per second.
    SlowUploads(usize),
    /// `GET .../referrers/...` gets `200 OK`, as from a registry with the OCI 1.1 referrers API
    /// (distribution 2.8 answers 404).
    ReferrersApi,
    /// Blob downloads (a GET answered with a body over 64 KiB) are reset (RST) once half their
    /// body is sent.
    ResetDownloads(Downloads),
    /// Blob downloads end (an orderly close) once half their body is sent, short of their
    /// `Content-Length`.
    TruncateDownloads(Downloads),
    /// Blob download bodies are sent at this many bytes per second.
    TrickleDownloads(u64),
}

/// Which blob downloads a download fault meets.
#[derive(Clone, Copy, PartialEq)]
pub enum Downloads {
    /// Those without a `Range` header: the first GET of each blob, not its resumes.
    Whole,
    /// Every one.
    All,
}

/// One request the proxy received.
pub struct Seen {
    /// Its request line's method and path, e.g. `GET /v2/app/blobs/sha256:…`.
    pub line: String,
    /// Its `Range` header's value, if any.
    pub range: Option<String>,
}

/// A running proxy (its thread lives until the test process ends).
pub struct Proxy {
    /// `127.0.0.1:PORT` to point clients at.
    pub host: String,
    /// Requests that met the fault so far.
    pub faults: Arc<AtomicUsize>,
    /// Every request so far, in order.
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Proxy {
    /// The `Range` of every GET of the blob `digest` so far, in order (`None`: the whole blob).
    pub fn blob_gets(&self, digest: &str) -> Vec<Option<String>> {
        let wanted = format!("/blobs/{digest}");
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.line.starts_with("GET ") && s.line.ends_with(&wanted))
            .map(|s| s.range.clone())
            .collect()
    }
}

/// The head of one HTTP request, as the proxy needs it.
struct Head {
    /// The request line and headers, without the blank line.
    lines: Vec<String>,
    content_length: usize,
}

impl Head {
    fn method(&self) -> &str {
        self.lines[0].split(' ').next().unwrap_or("")
    }

    /// The value of header `name`, if present.
    fn header(&self, name: &str) -> Option<String> {
        self.lines[1..]
            .iter()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
    }

    /// The head exactly as received, with its blank line.
    fn raw(&self) -> Vec<u8> {
        format!("{}\r\n\r\n", self.lines.join("\r\n")).into_bytes()
    }

    /// The head as sent upstream: `Connection: close` instead of keep-alive.
    fn bytes(&self) -> Vec<u8> {
        let mut out = String::new();
        for line in &self.lines {
            if !line.to_ascii_lowercase().starts_with("connection:") {
                out.push_str(line);
                out.push_str("\r\n");
            }
        }
        out.push_str("Connection: close\r\n\r\n");
        out.into_bytes()
    }
}

fn read_request_head(stream: &mut TcpStream) -> Option<Head> {
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\r\n\r\n") {
        if seen.len() > 64 * 1024 || stream.read(&mut byte).ok()? != 1 {
            return None;
        }
        seen.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&seen[..seen.len() - 4]).into_owned();
    let lines: Vec<String> = text.split("\r\n").map(str::to_string).collect();
    let mut head = Head {
        lines,
        content_length: 0,
    };
    head.content_length = head
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Some(head)
}

/// Copies exactly `n` bytes, at about `per_sec` bytes per second when given.
fn forward(from: &mut impl Read, to: &mut impl Write, n: usize, per_sec: Option<usize>) -> bool {
    let mut buf = vec![0u8; per_sec.map_or(64 * 1024, |r| (r / 10).max(1))];
    let mut left = n;
    while left > 0 {
        let want = left.min(buf.len());
        let Ok(got) = from.read(&mut buf[..want]) else {
            return false;
        };
        if got == 0 || to.write_all(&buf[..got]).is_err() {
            return false;
        }
        left -= got;
        if per_sec.is_some() {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    true
}

/// Closes the client's socket in the middle of its request body. Closing a socket with unread
/// bytes in its receive buffer (the rest of the body keeps arriving) makes the kernel answer with
/// a TCP reset rather than an orderly FIN, without `SO_LINGER` (which std cannot set).
fn reset(client: TcpStream) {
    std::thread::sleep(Duration::from_millis(20));
    drop(client);
}

fn answer(client: &mut TcpStream, status: &str) {
    let _ = client.write_all(
        format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes(),
    );
}

/// What happens to one request.
enum Action {
    Pass,
    Answer(&'static str),
    Reset,
}

/// Shared state of one proxy.
struct State {
    upstream: String,
    fault: Fault,
    requests: AtomicUsize,
    uploads: AtomicUsize,
    faults: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl State {
    /// Decides the fault for a request and rewrites its head when the fault says so.
    fn decide(&self, head: &mut Head) -> Action {
        let n = self.requests.fetch_add(1, Ordering::SeqCst);
        let action = match self.fault {
            Fault::First503(k) if n < k => Action::Answer("503 Service Unavailable"),
            Fault::Always503 => Action::Answer("503 Service Unavailable"),
            Fault::First500(k) if n < k => Action::Answer("500 Internal Server Error"),
            Fault::ResetUploads(k)
                if matches!(head.method(), "PUT" | "PATCH")
                    && head.content_length > UPLOAD_BYTES
                    && self.uploads.fetch_add(1, Ordering::SeqCst) < k =>
            {
                Action::Reset
            }
            Fault::MountAccepted if head.method() == "POST" && head.lines[0].contains("mount=") => {
                let line = &head.lines[0];
                let (path, rest) = line.split_once('?').expect("a query");
                let version = rest.rsplit(' ').next().unwrap_or("HTTP/1.1");
                head.lines[0] = format!("{path} {version}");
                self.faults.fetch_add(1, Ordering::SeqCst);
                return Action::Pass;
            }
            Fault::ReferrersApi if head.lines[0].contains("/referrers/") => {
                Action::Answer("200 OK")
            }
            Fault::Delay(_) | Fault::SlowUploads(_) => {
                self.faults.fetch_add(1, Ordering::SeqCst);
                return Action::Pass;
            }
            _ => return Action::Pass,
        };
        self.faults.fetch_add(1, Ordering::SeqCst);
        action
    }

    fn serve(&self, mut client: TcpStream) {
        let Some(mut head) = read_request_head(&mut client) else {
            return;
        };
        let line = head.lines[0]
            .rsplit_once(' ')
            .map_or("", |(l, _)| l)
            .to_string();
        let range = head.header("range");
        let whole = range.is_none();
        self.seen.lock().unwrap().push(Seen { line, range });
        let download = head.method() == "GET" && head.lines[0].contains("/blobs/");
        let action = self.decide(&mut head);
        if let Action::Answer(status) = action {
            // Drain the body so the client reads the answer rather than a broken pipe.
            forward(&mut client, &mut std::io::sink(), head.content_length, None);
            return answer(&mut client, status);
        }
        let Ok(mut server) = TcpStream::connect(&self.upstream) else {
            return;
        };
        if server.write_all(&head.bytes()).is_err() {
            return;
        }
        if let Action::Reset = action {
            forward(&mut client, &mut server, head.content_length / 2, None);
            drop(server);
            return reset(client);
        }
        let rate = match self.fault {
            Fault::SlowUploads(r) => Some(r),
            _ => None,
        };
        if !forward(&mut client, &mut server, head.content_length, rate) {
            return;
        }
        if download && self.download_fault(whole, &mut server, &mut client) {
            return;
        }
        let mut first = [0u8; 1];
        if server.read_exact(&mut first).is_err() {
            return;
        }
        if let Fault::Delay(d) = self.fault {
            std::thread::sleep(d);
        }
        if client.write_all(&first).is_ok() {
            let _ = std::io::copy(&mut server, &mut client);
        }
        let _ = client.shutdown(Shutdown::Write);
    }
}

impl State {
    /// Reads the answer to a blob GET and, when it is a blob download (`whole`: asked without
    /// `Range`) the fault meets, misbehaves with it; whether it did (the answer is then done).
    fn download_fault(&self, whole: bool, server: &mut TcpStream, client: &mut TcpStream) -> bool {
        let meets = |which: Downloads| which == Downloads::All || whole;
        let (cut, trickle) = match self.fault {
            Fault::ResetDownloads(which) if meets(which) => (true, None),
            Fault::TruncateDownloads(which) if meets(which) => (false, None),
            Fault::TrickleDownloads(rate) => (false, Some(rate)),
            _ => return false,
        };
        let Some(head) = read_request_head(server) else {
            return true;
        };
        if client.write_all(&head.raw()).is_err() {
            return true;
        }
        if head.content_length <= UPLOAD_BYTES {
            let _ = std::io::copy(server, client);
            return true;
        }
        self.faults.fetch_add(1, Ordering::SeqCst);
        if let Some(rate) = trickle {
            let pause = Duration::from_millis(1000 / rate.max(1));
            let mut byte = [0u8; 1];
            while server.read_exact(&mut byte).is_ok() && client.write_all(&byte).is_ok() {
                std::thread::sleep(pause);
            }
            return true;
        }
        forward(server, client, head.content_length / 2, None);
        let _ = client.flush();
        if cut {
            // Time for the client to read what was sent: a reset drops what it has not read.
            std::thread::sleep(Duration::from_millis(300));
            let socket = tokio::net::TcpSocket::from_std_stream(client.try_clone().expect("clone"));
            let _ = socket.set_zero_linger();
        } else {
            let _ = client.shutdown(Shutdown::Write);
        }
        true
    }
}

/// Starts a proxy to `upstream` (`host:port`) with `fault`.
pub fn start(upstream: &str, fault: Fault) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let host = listener.local_addr().expect("addr").to_string();
    let faults = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let state = Arc::new(State {
        seen: seen.clone(),
        upstream: upstream.to_string(),
        fault,
        requests: AtomicUsize::new(0),
        uploads: AtomicUsize::new(0),
        faults: faults.clone(),
    });
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(client) = stream else { continue };
            if let Fault::Silent = fault {
                state.faults.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_secs(60));
                    drop(client);
                });
                continue;
            }
            let state = state.clone();
            std::thread::spawn(move || state.serve(client));
        }
    });
    Proxy { host, faults, seen }
}
