//! uv for the tests that lock and sync real projects on the host: the release the generated
//! Dockerfiles install ([`UV_VERSION`]), from PyPI by pip into a venv of the host's python, made
//! once per machine under `/var/tmp/strata-test-tools/uv-<version>`.

use std::path::{Path, PathBuf};

use super::sh;
pub use strata::ecosystem::python::dockerfile::UV_VERSION;

/// The uv binary, installed on first use.
pub fn uv() -> PathBuf {
    let dir = PathBuf::from(format!("/var/tmp/strata-test-tools/uv-{UV_VERSION}"));
    let uv = dir.join("bin/uv");
    if !uv.exists() {
        let tmp = dir.with_extension(format!("tmp{}", std::process::id()));
        sh(&format!(
            "python3 -m venv '{0}' && '{0}/bin/pip' install -q uv=={UV_VERSION} \
             && mv -T '{0}' '{1}' || test -x '{1}/bin/uv'",
            tmp.display(),
            dir.display()
        ));
    }
    uv
}

/// Runs `uv ARGS` in `dir` with the machine's CA bundle (the sandbox's TLS goes through its own
/// CA); returns stdout.
pub fn uv_in(dir: &Path, args: &str) -> String {
    sh(&format!(
        "cd '{}' && UV_NATIVE_TLS=1 SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt '{}' {args}",
        dir.display(),
        uv().display()
    ))
}
