//! A real registry for tests: Debian's `docker-registry` (distribution v2) on a free loopback port,
//! with its storage in a temp dir, optionally behind htpasswd basic auth. Stopped on drop.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use super::token_server::TokenServer;

/// The registry's binary.
const BIN: &str = "/usr/bin/docker-registry";
/// What a test lacks without it.
pub const WHAT: &str = "docker-registry (Debian package)";

/// Who a registry lets in.
enum Auth<'a> {
    /// Basic auth with this user and password (htpasswd).
    Htpasswd(&'a str, &'a str),
    /// Bearer tokens from this token server (distribution's `auth: token`).
    Token(&'a TokenServer),
}

/// A running registry.
pub struct Registry {
    child: Child,
    dir: tempfile::TempDir,
    /// `127.0.0.1:PORT`.
    pub host: String,
}

/// How a registry serves HTTPS: on `ip`, with this certificate and key (PEM files), asking
/// clients for a certificate from `client_ca` when set (mutual TLS).
pub struct Tls<'a> {
    /// The address to listen on.
    pub ip: &'a str,
    /// The server certificate.
    pub certificate: &'a Path,
    /// Its private key.
    pub key: &'a Path,
    /// The CA client certificates must chain to.
    pub client_ca: Option<&'a Path>,
}

impl Registry {
    /// Starts a registry (the test is skipped, or fails under CI, when it is not installed).
    /// With `credentials`, every request needs basic auth with that user and password.
    pub fn start(credentials: Option<(&str, &str)>) -> Registry {
        Registry::serve(credentials.map(|(u, p)| Auth::Htpasswd(u, p)), None)
    }

    /// Starts a registry serving HTTPS as `tls` says, without auth.
    pub fn start_tls(tls: &Tls) -> Registry {
        Registry::serve(None, Some(tls))
    }

    /// Starts a registry whose auth is distribution's `auth: token`, trusting the tokens
    /// `server` issues, serving HTTPS as `tls` says.
    pub fn start_token(server: &TokenServer, tls: &Tls) -> Registry {
        Registry::serve(Some(Auth::Token(server)), Some(tls))
    }

    /// Starts a registry whose auth is distribution's `auth: token`, trusting the tokens
    /// `server` issues, over plain HTTP (so an HTTP proxy can sit in front of it).
    pub fn start_token_plain(server: &TokenServer) -> Registry {
        Registry::serve(Some(Auth::Token(server)), None)
    }

    fn serve(auth: Option<Auth>, tls: Option<&Tls>) -> Registry {
        super::require(Registry::installed(), WHAT);
        let dir = tempfile::tempdir().expect("tempdir");
        let ip = tls.map_or("127.0.0.1", |t| t.ip);
        let port = TcpListener::bind((ip, 0))
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let host = format!("{ip}:{port}");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\n  formatter: text\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n",
            dir.path().join("data").display()
        );
        // Under `http:`, so before `auth:`.
        if let Some(tls) = tls {
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                tls.certificate.display(),
                tls.key.display()
            ));
            if let Some(ca) = tls.client_ca {
                config.push_str(&format!("    clientcas:\n      - {}\n", ca.display()));
            }
        }
        if let Some(Auth::Token(server)) = &auth {
            config.push_str(&server.registry_config());
        }
        if let Some(Auth::Htpasswd(user, password)) = auth {
            let line = super::sh(&format!("htpasswd -Bbn '{user}' '{password}'"));
            std::fs::write(dir.path().join("htpasswd"), line.trim()).expect("htpasswd");
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: strata-test\n    path: {}\n",
                dir.path().join("htpasswd").display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("config");
        let log = std::fs::File::create(dir.path().join("access.log")).expect("log");
        let child = Command::new(BIN)
            .arg("serve")
            .arg(&config_path)
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let registry = Registry { child, dir, host };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(&registry.host).is_err() {
            assert!(Instant::now() < deadline, "registry did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        registry
    }

    /// Whether the registry is installed (for [`super::optional`]; [`Registry::start`] checks).
    pub fn installed() -> bool {
        Path::new(BIN).exists()
    }

    /// Copies `src` (any skopeo reference) to `repo:tag` in this registry with skopeo.
    pub fn push(&self, src: &str, repo_tag: &str, creds: Option<(&str, &str)>) -> String {
        let creds = creds.map_or(String::new(), |(u, p)| format!("--dest-creds '{u}:{p}'"));
        super::sh(&format!(
            "skopeo copy --quiet --dest-tls-verify=false {creds} {src} docker://{}/{repo_tag}",
            self.host
        ));
        format!("{}/{repo_tag}", self.host)
    }
}

impl Registry {
    /// The registry's log so far (its access log and errors).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }

    /// Writes `dir/config.json` giving this registry's basic credentials `user` and `password`
    /// (`auths`), as `docker login` does: the `$DOCKER_CONFIG` strata then reads.
    pub fn docker_config(&self, dir: &Path, user: &str, password: &str) {
        use base64::Engine;
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        std::fs::write(
            dir.join("config.json"),
            format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, self.host),
        )
        .expect("config.json");
    }

    /// Lines of the access log that fetched a blob (`GET /v2/<repo>/blobs/...`) so far; HEAD
    /// requests and manifest fetches are not counted.
    pub fn blob_gets(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| l.contains("\"GET /v2/") && l.contains("/blobs/"))
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
