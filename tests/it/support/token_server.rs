//! The Docker token flow's other half, for a registry with distribution's `auth: token`: a tiny
//! HTTP server that checks basic-auth credentials and issues RS256 JWTs (signed with openssl)
//! whose `x5c` header carries a certificate from a test CA, the registry's `rootcertbundle`. It
//! grants every scope asked for (or, told to, only the first repository's of a token asked for
//! several, as a registry that refuses cross-repository grants) and records, per token request,
//! the scope set asked for and when. Tokens last 300 s, or as long as [`TokenServer::expire_after`]
//! says (`expires_in` and the JWT's `exp` alike).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

use super::pki::Pki;

/// The `service` the registry names in its challenge and the token's audience.
const SERVICE: &str = "strata-registry";
/// The tokens' issuer, as the registry expects it.
const ISSUER: &str = "strata-token-server";
/// How long a token lasts, in seconds, unless told otherwise.
const LIFETIME: u64 = 300;

/// A running token server (it stops with the test process).
pub struct TokenServer {
    /// `http://127.0.0.1:PORT/token`.
    pub realm: String,
    /// The CA the tokens' `x5c` chains to.
    bundle: PathBuf,
    /// The scope sets asked for, one entry per token request (each sorted, space-separated),
    /// with when it came.
    requests: Arc<Mutex<Vec<(String, Instant)>>>,
    /// Whether a token asked for several repositories grants only the first one's scope.
    one_repository: Arc<AtomicBool>,
    /// How long the tokens issued from now on last, in seconds.
    lifetime: Arc<AtomicU64>,
}

/// How the server answers, as the test set it.
struct Settings {
    one_repository: Arc<AtomicBool>,
    lifetime: Arc<AtomicU64>,
}

/// What signs tokens and who may have one.
struct Issuer {
    key: PathBuf,
    /// The signing certificate, DER, base64 (the `x5c` entry).
    x5c: String,
    /// The `Authorization` header a request must carry.
    expected: String,
    dir: PathBuf,
}

impl TokenServer {
    /// Starts a token server for `user` and `password`, signing with a certificate of `pki`.
    pub fn start(pki: &Pki, user: &str, password: &str) -> TokenServer {
        let (cert, key) = pki.signer();
        let der = super::sh(&format!(
            "openssl x509 -in {} -outform DER | base64 -w0",
            cert.display()
        ));
        let issuer = Issuer {
            key,
            x5c: der.trim().to_string(),
            expected: format!("Basic {}", STANDARD.encode(format!("{user}:{password}"))),
            dir: pki.path(""),
        };
        let listener = TcpListener::bind("127.0.0.1:0").expect("token server port");
        let realm = format!("http://{}/token", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let settings = Settings {
            one_repository: Arc::new(AtomicBool::new(false)),
            lifetime: Arc::new(AtomicU64::new(LIFETIME)),
        };
        let (one_repository, lifetime) =
            (settings.one_repository.clone(), settings.lifetime.clone());
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                if let Ok(stream) = stream {
                    let _ = answer(stream, &issuer, &seen, &settings, n);
                }
            }
        });
        TokenServer {
            realm,
            bundle: pki.ca(),
            requests,
            one_repository,
            lifetime,
        }
    }

    /// From now on, issues tokens that expire after `seconds` (`expires_in` and `exp`).
    pub fn expire_after(&self, seconds: u64) {
        self.lifetime.store(seconds, Ordering::SeqCst);
    }

    /// From now on, grants a token asked for several repositories only the first one's scope
    /// (in sorted order), so the registry refuses a mount from the others with 202.
    pub fn grant_one_repository(&self) {
        self.one_repository.store(true, Ordering::SeqCst);
    }

    /// The `auth:` block of the registry's config that trusts this server.
    pub fn registry_config(&self) -> String {
        format!(
            "auth:\n  token:\n    realm: {}\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {}\n",
            self.realm,
            self.bundle.display()
        )
    }

    /// The scope sets asked for so far, one per token request.
    pub fn requests(&self) -> Vec<String> {
        let requests = self.requests.lock().unwrap();
        requests.iter().map(|(scopes, _)| scopes.clone()).collect()
    }

    /// When `scopes` (sorted, space-separated) were asked for a token, in order.
    pub fn asked_at(&self, scopes: &str) -> Vec<Instant> {
        let requests = self.requests.lock().unwrap();
        requests
            .iter()
            .filter(|(s, _)| s == scopes)
            .map(|(_, at)| *at)
            .collect()
    }
}

/// Reads one request from `stream` and answers it with a token, or 401.
fn answer(
    stream: TcpStream,
    issuer: &Issuer,
    seen: &Mutex<Vec<(String, Instant)>>,
    settings: &Settings,
    n: usize,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut authorization = String::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("authorization") {
                authorization = value.trim().to_string();
            }
        }
    }
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let mut scopes: Vec<String> = query
        .split('&')
        .filter_map(|kv| kv.strip_prefix("scope="))
        .flat_map(|s| {
            percent_decode(s)
                .split(' ')
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    scopes.sort();
    seen.lock()
        .unwrap()
        .push((scopes.join(" "), Instant::now()));
    let mut stream = stream;
    if authorization != issuer.expected {
        let body = r#"{"details":"invalid credentials"}"#;
        return write!(
            stream,
            "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    }
    let granted = if settings.one_repository.load(Ordering::SeqCst) {
        &scopes[..scopes.len().min(1)]
    } else {
        &scopes[..]
    };
    let lifetime = settings.lifetime.load(Ordering::SeqCst);
    let token = issuer.sign(granted, n, lifetime);
    let body = format!(r#"{{"token":"{token}","expires_in":{lifetime}}}"#);
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

impl Issuer {
    /// A JWT granting `scopes` (`repository:NAME:ACTIONS`) for `lifetime` seconds, signed RS256
    /// with openssl.
    fn sign(&self, scopes: &[String], n: usize, lifetime: u64) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let access: Vec<serde_json::Value> = scopes
            .iter()
            .filter_map(|s| {
                let mut parts = s.splitn(3, ':');
                let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
                Some(serde_json::json!({
                    "type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()
                }))
            })
            .collect();
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5c": [self.x5c]});
        let claims = serde_json::json!({
            "iss": ISSUER, "sub": "strata", "aud": SERVICE, "exp": now + lifetime,
            "nbf": now - 10, "iat": now, "jti": format!("token-{n}"), "access": access,
        });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let file = self.dir.join(format!("token-{n}.txt"));
        std::fs::write(&file, &input).expect("token input");
        let signature = std::process::Command::new("openssl")
            .args(["dgst", "-sha256", "-binary", "-sign"])
            .arg(&self.key)
            .arg(&file)
            .output()
            .expect("openssl dgst");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.stdout))
    }
}

/// Decodes `%XX` escapes and `+` (a query's space).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
