//! What a registry connection trusts beyond the system store, found where Docker and podman find
//! it: the directory named for the registry (`HOST` or `HOST:PORT`, as the reference spells it)
//! under `/etc/containers/certs.d` and `/etc/docker/certs.d`, or exactly the directory
//! `--cert-dir` names (as skopeo's `--cert-dir`, it then replaces the certs.d lookup). In such a
//! directory every `*.crt` is a CA (PEM, one or more certificates) and `NAME.cert` with `NAME.key`
//! a client certificate and its key (PEM), presented when the registry asks for one (mutual TLS;
//! with several pairs, the first in name order). [`CERTS_D_VAR`] replaces the certs.d roots (tests point it at a temp dir
//! instead of writing into `/etc`).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The environment variable that, when set, lists the certs.d roots to search instead of the
/// defaults (colon-separated, like `PATH`; empty means none).
pub const CERTS_D_VAR: &str = "STRATA_CERTS_D";

/// The certs.d roots searched by default, in the order podman and Docker are asked.
const DEFAULT_ROOTS: [&str; 2] = ["/etc/containers/certs.d", "/etc/docker/certs.d"];

/// What one registry's certs.d directories hold.
#[derive(Debug, Default)]
pub struct Trust {
    /// CA certificates (PEM files' bytes) to trust beside the system store.
    pub cas: Vec<Vec<u8>>,
    /// Client certificates found (`NAME.cert`, with its `NAME.key` beside it), in name order.
    pub client_certs: Vec<PathBuf>,
}

impl Trust {
    /// The client certificate to present, with the PEM of it and its key concatenated (the
    /// form an HTTP client takes as an identity); `None` without one.
    pub fn client_identity(&self) -> Result<Option<(PathBuf, Vec<u8>)>> {
        let Some(cert) = self.client_certs.first() else {
            return Ok(None);
        };
        let key = cert.with_extension("key");
        let read = |path: &Path| std::fs::read(path).map_err(|e| Error::io(path.display(), e));
        let mut pem = read(cert)?;
        pem.push(b'\n');
        pem.extend(read(&key)?);
        Ok(Some((cert.clone(), pem)))
    }
}

/// The certs.d roots in force: [`CERTS_D_VAR`] when set, else [`DEFAULT_ROOTS`].
fn roots() -> Vec<PathBuf> {
    match std::env::var_os(CERTS_D_VAR) {
        Some(list) => std::env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect(),
        None => DEFAULT_ROOTS.iter().map(PathBuf::from).collect(),
    }
}

/// What `registry` (`HOST[:PORT]`) is given: from `cert_dir` alone when set (it must exist),
/// else from `registry`'s directory under each certs.d root that has one.
pub fn for_registry(registry: &str, cert_dir: Option<&Path>) -> Result<Trust> {
    let dirs = match cert_dir {
        Some(dir) if dir.is_dir() => vec![dir.to_path_buf()],
        Some(dir) => {
            return Err(Error::usage(format!(
                "--cert-dir {}: no such directory",
                dir.display()
            )))
        }
        None => roots().into_iter().map(|r| r.join(registry)).collect(),
    };
    let mut trust = Trust::default();
    for dir in dirs.iter().filter(|d| d.is_dir()) {
        read_dir_into(dir, &mut trust)?;
    }
    Ok(trust)
}

/// Adds what `dir` holds to `trust`, in name order.
fn read_dir_into(dir: &Path, trust: &mut Trust) -> Result<()> {
    let io = |path: &Path, e| Error::io(path.display(), e);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    for path in paths {
        match path.extension().and_then(|e| e.to_str()) {
            Some("crt") => trust
                .cas
                .push(std::fs::read(&path).map_err(|e| io(&path, e))?),
            Some("cert") => {
                let key = path.with_extension("key");
                if !key.is_file() {
                    return Err(Error::usage(format!(
                        "{}: client certificate without its key {}",
                        path.display(),
                        key.display()
                    )));
                }
                trust.client_certs.push(path);
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cert_dir_gives_its_cas_in_name_order_and_its_client_pairs() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::write(d.join("b.crt"), "B").unwrap();
        std::fs::write(d.join("ca.crt"), "CA").unwrap();
        std::fs::write(d.join("notes.txt"), "x").unwrap();
        std::fs::write(d.join("client.cert"), "C").unwrap();
        std::fs::write(d.join("client.key"), "K").unwrap();
        let trust = for_registry("ignored:5000", Some(d)).unwrap();
        assert_eq!(trust.cas, vec![b"B".to_vec(), b"CA".to_vec()]);
        assert_eq!(trust.client_certs, vec![d.join("client.cert")]);
        let (cert, pem) = trust.client_identity().unwrap().unwrap();
        assert_eq!((cert, pem), (d.join("client.cert"), b"C\nK".to_vec()));
        assert!(Trust::default().client_identity().unwrap().is_none());
    }

    #[test]
    fn a_client_certificate_without_its_key_is_a_usage_error() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("client.cert"), "C").unwrap();
        let e = for_registry("r", Some(tmp.path())).unwrap_err();
        assert_eq!(e.kind(), crate::error::Kind::Usage);
        assert!(e.to_string().contains("client.key"), "{e}");
    }

    #[test]
    fn a_missing_cert_dir_is_a_usage_error() {
        let e = for_registry("r", Some(Path::new("/nonexistent/strata-certs"))).unwrap_err();
        assert_eq!(e.kind(), crate::error::Kind::Usage);
    }
}
