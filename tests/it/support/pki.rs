//! A private certificate authority for tests, made with openssl: a CA, server certificates for an
//! IP address, client certificates, and the certs.d directory Docker and podman read them from.

use std::path::{Path, PathBuf};

use super::{have, require, sh};

/// A CA in a temp dir (`ca.crt`, `ca.key`), and what it signed there.
pub struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    /// Makes a new CA (the test is skipped, or fails under CI, without openssl).
    pub fn new() -> Pki {
        require(have("openssl"), "openssl");
        let dir = tempfile::tempdir().expect("tempdir");
        sh(&format!(
            "cd {} && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 \
             -subj '/CN=strata test CA' 2>/dev/null",
            dir.path().display()
        ));
        Pki { dir }
    }

    /// The CA's certificate (PEM).
    pub fn ca(&self) -> PathBuf {
        self.path("ca.crt")
    }

    /// `name` in the CA's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Signs `NAME.cert` and `NAME.key` (a PEM certificate and its key) for `subject`, with the
    /// openssl `extensions` (its names and usage).
    fn sign(&self, name: &str, subject: &str, extensions: &str) -> (PathBuf, PathBuf) {
        sh(&format!(
            "cd {d} && openssl req -newkey rsa:2048 -nodes -keyout {name}.key -out {name}.csr \
             -subj '/CN={subject}' 2>/dev/null && printf '{extensions}' > {name}.cnf && \
             openssl x509 -req -in {name}.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
             -out {name}.cert -days 2 -extfile {name}.cnf 2>/dev/null",
            d = self.dir.path().display()
        ));
        (
            self.path(&format!("{name}.cert")),
            self.path(&format!("{name}.key")),
        )
    }

    /// A server certificate and key for the IP address `ip`.
    pub fn server(&self, ip: &str) -> (PathBuf, PathBuf) {
        self.sign(
            "server",
            ip,
            &format!("subjectAltName=IP:{ip}\\nextendedKeyUsage=serverAuth\\n"),
        )
    }

    /// A certificate and key for signing tokens (a JWT's `x5c` chain ends at the CA).
    pub fn signer(&self) -> (PathBuf, PathBuf) {
        self.sign(
            "signer",
            "strata token signer",
            "keyUsage=digitalSignature\\n",
        )
    }

    /// A client certificate and key (for mutual TLS).
    pub fn client(&self) -> (PathBuf, PathBuf) {
        self.sign(
            "client",
            "strata test client",
            "extendedKeyUsage=clientAuth\\n",
        )
    }

    /// Lays out a certs.d root under `root` for `host` (`HOST:PORT`) holding the CA as `ca.crt`,
    /// and the client certificate as `client.cert`/`client.key` when `client` is set; returns the
    /// registry's directory.
    pub fn certs_d(&self, root: &Path, host: &str, client: bool) -> PathBuf {
        let dir = root.join(host);
        std::fs::create_dir_all(&dir).expect("certs.d");
        std::fs::copy(self.ca(), dir.join("ca.crt")).expect("ca.crt");
        if client {
            let (cert, key) = self.client();
            std::fs::copy(cert, dir.join("client.cert")).expect("client.cert");
            std::fs::copy(key, dir.join("client.key")).expect("client.key");
        }
        dir
    }
}
