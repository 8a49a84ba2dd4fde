//! The HTTP client of one registry connection: reqwest over rustls with ring's crypto, trusting
//! the system store plus the CAs of the registry's certs.d directory, presenting its client
//! certificate when it has one (mutual TLS), with the connection's timeouts.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::source::certs::Trust;

/// How the connection's HTTP client is made.
pub struct Transport<'a> {
    /// What the registry's certs.d directory (or `--cert-dir`) gives.
    pub trust: &'a Trust,
    /// Accept any server certificate (`--insecure`).
    pub insecure: bool,
    /// How long to wait for a connection.
    pub connect_timeout: Duration,
    /// How long to wait for the next bytes of a response; `None` leaves it to the caller (a
    /// push bounds idle time itself).
    pub read_timeout: Option<Duration>,
}

/// Makes ring rustls's process-wide crypto provider, once, before the first HTTP client is made:
/// reqwest is built without a provider of its own (its default, aws-lc-rs, is a long C build),
/// and panics without one. A provider the embedding program installed first is kept.
fn install_tls_crypto() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        // An error means a provider is already installed, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl Transport<'_> {
    /// The HTTP client; `registry` names the registry in errors about its certificates.
    pub fn client(&self, registry: &str) -> Result<reqwest::Client> {
        install_tls_crypto();
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("strata/", env!("CARGO_PKG_VERSION")))
            .danger_accept_invalid_certs(self.insecure)
            .connect_timeout(self.connect_timeout);
        if let Some(timeout) = self.read_timeout {
            builder = builder.read_timeout(timeout);
        }
        for pem in &self.trust.cas {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                Error::usage(format!("{registry}: cannot use its CA certificates: {e}"))
            })?;
            builder = builder.tls_certs_merge(certs);
        }
        if let Some((cert, pem)) = self.trust.client_identity()? {
            let identity = reqwest::Identity::from_pem(&pem).map_err(|e| {
                Error::usage(format!(
                    "{}: cannot use this client certificate and its key: {e}",
                    cert.display()
                ))
            })?;
            builder = builder.identity(identity);
        }
        builder
            .build()
            .map_err(|e| Error::Registry(format!("cannot make an HTTP client: {e}")))
    }
}
