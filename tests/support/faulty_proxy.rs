//! A TCP proxy in front of a real registry that misbehaves on purpose: answers 503 to the first
//! connections, to every connection, or never answers at all. Used to check retries, backoff and
//! timeouts against real HTTP clients.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How the proxy misbehaves.
#[derive(Clone, Copy)]
pub enum Fault {
    /// The first `n` connections get `503 Service Unavailable`, later ones pass through.
    First503(usize),
    /// Every connection gets 503.
    Always503,
    /// Connections are accepted and never answered.
    Silent,
}

/// A running proxy (its thread lives until the test process ends).
pub struct Proxy {
    /// `127.0.0.1:PORT` to point clients at.
    pub host: String,
    /// Connections answered with a fault so far.
    pub faults: Arc<AtomicUsize>,
}

fn read_request_head(stream: &mut TcpStream) {
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\r\n\r\n") && seen.len() < 64 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => seen.push(byte[0]),
            _ => return,
        }
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = std::io::copy(&mut from, &mut to);
    let _ = to.shutdown(std::net::Shutdown::Write);
}

/// Starts a proxy to `upstream` (`host:port`) with `fault`.
pub fn start(upstream: &str, fault: Fault) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let host = listener.local_addr().expect("addr").to_string();
    let faults = Arc::new(AtomicUsize::new(0));
    let counter = faults.clone();
    let upstream = upstream.to_string();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut client) = stream else { continue };
            let faulty = match fault {
                Fault::First503(k) => n < k,
                Fault::Always503 => true,
                Fault::Silent => {
                    counter.fetch_add(1, Ordering::SeqCst);
                    std::thread::spawn(move || {
                        std::thread::sleep(Duration::from_secs(60));
                        drop(client);
                    });
                    continue;
                }
            };
            if faulty {
                counter.fetch_add(1, Ordering::SeqCst);
                read_request_head(&mut client);
                let _ = client.write_all(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                continue;
            }
            let Ok(server) = TcpStream::connect(&upstream) else {
                continue;
            };
            let (c2, s2) = (
                client.try_clone().expect("clone"),
                server.try_clone().expect("clone"),
            );
            std::thread::spawn(move || pipe(client, server));
            std::thread::spawn(move || pipe(s2, c2));
        }
    });
    Proxy { host, faults }
}
