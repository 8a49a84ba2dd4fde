//! Whether a registry is spoken to over HTTPS or plain HTTP, as Docker decides it: HTTPS always,
//! except that a loopback registry (`localhost`, `127.*`, `[::1]`) that does not speak TLS is
//! spoken to over HTTP, and `--insecure` means HTTP everywhere. Whether a loopback port speaks
//! TLS is asked with a ClientHello before the first request: a TLS server answers with a
//! handshake or alert record, a plain HTTP server with text or nothing. The certificate is not
//! judged here; the real connection verifies it, so a loopback TLS registry with an unknown CA
//! fails as any other does rather than falling back to HTTP.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

/// Whether `registry` (`HOST[:PORT]`) is on this machine's loopback interface.
pub fn is_loopback(registry: &str) -> bool {
    let host = host_of(registry);
    matches!(host, "localhost" | "127.0.0.1" | "[::1]") || host.starts_with("127.")
}

/// `registry` without its port.
fn host_of(registry: &str) -> &str {
    match registry.rsplit_once(':') {
        // A bare IPv6 address's colons are not a port: it is bracketed when it has one.
        Some((host, port))
            if !port.contains(']') && (!host.contains(':') || host.ends_with(']')) =>
        {
            host
        }
        _ => registry,
    }
}

/// Whether `registry` is to be spoken to over plain HTTP: with `insecure`, or when it is a
/// loopback registry whose port does not answer a TLS ClientHello as a TLS server would.
pub fn plain_http(registry: &str, insecure: bool, timeout: Duration) -> bool {
    insecure || (is_loopback(registry) && !speaks_tls(registry, timeout))
}

/// The first byte of a TLS record carrying an alert or a handshake message.
const TLS_ALERT: u8 = 0x15;
const TLS_HANDSHAKE: u8 = 0x16;

/// Sends a ClientHello to `registry` (port 443 when it names none) and says whether the answer
/// is a TLS record; a refused connection or a silent port is not TLS.
fn speaks_tls(registry: &str, timeout: Duration) -> bool {
    let address = if host_of(registry) == registry {
        format!("{registry}:443")
    } else {
        registry.to_string()
    };
    let Some(address) = address.to_socket_addrs().ok().and_then(|mut a| a.next()) else {
        return false;
    };
    let Ok(mut stream) = TcpStream::connect_timeout(&address, timeout) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.set_write_timeout(Some(timeout));
    let Some(mut hello) = client_hello(host_of(registry)) else {
        return false;
    };
    if hello.write_tls(&mut stream).is_err() || stream.flush().is_err() {
        return false;
    }
    let mut first = [0u8; 1];
    matches!(stream.read(&mut first), Ok(1) if matches!(first[0], TLS_ALERT | TLS_HANDSHAKE))
}

/// A TLS client for `host` that has only its ClientHello to send: no certificate is checked,
/// since the handshake is never finished.
fn client_hello(host: &str) -> Option<rustls::ClientConnection> {
    let name = host.trim_start_matches('[').trim_end_matches(']');
    let name = rustls::pki_types::ServerName::try_from(name.to_string()).ok()?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    rustls::ClientConnection::new(Arc::new(config), name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_are_recognized_with_and_without_ports() {
        for loopback in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "127.1.2.3",
            "[::1]:5000",
            "[::1]",
        ] {
            assert!(is_loopback(loopback), "{loopback}");
        }
        for remote in [
            "registry.example:5000",
            "10.0.0.1:5000",
            "localhost.example",
            "ghcr.io",
        ] {
            assert!(!is_loopback(remote), "{remote}");
        }
    }

    /// A listener that answers whatever it is sent with `answer`, once.
    fn answering(answer: &'static [u8]) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let mut buf = [0u8; 512];
                let _ = s.read(&mut buf);
                let _ = s.write_all(answer);
            }
        });
        address
    }

    #[test]
    fn a_tls_answer_means_https_and_a_plain_one_http() {
        let second = Duration::from_secs(5);
        // A TLS alert record (handshake failure), as a server without a matching cipher sends.
        let tls = answering(&[TLS_ALERT, 3, 3, 0, 2, 2, 40]);
        assert!(!plain_http(&tls, false, second));
        let http = answering(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        assert!(plain_http(&http, false, second));
        // Nothing listening: plain HTTP, whose own connection then fails with the real error.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        assert!(plain_http(&closed.to_string(), false, second));
        // Not loopback: HTTPS without asking, unless --insecure.
        assert!(!plain_http("registry.example:5000", false, second));
        assert!(plain_http("registry.example:5000", true, second));
    }
}
