//! Image references as users write them, skopeo style: `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`,
//! `docker-archive:FILE[:REF]`, `docker://REF`, and plain paths or registry references detected
//! automatically.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Where an image is and which one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRef {
    /// An OCI image layout directory, optionally a tag inside it.
    Layout {
        /// The layout directory.
        dir: PathBuf,
        /// The `org.opencontainers.image.ref.name` to pick.
        tag: Option<String>,
    },
    /// A tar archive: `docker save` output or an OCI archive.
    Archive {
        /// The archive file.
        file: PathBuf,
        /// The tag (OCI) or `name:tag` (docker) to pick.
        tag: Option<String>,
    },
    /// An image in a registry (`registry/repo:tag` or `@sha256:…`).
    Registry(String),
}

impl ImageRef {
    /// Parses what the user typed. A string without a transport prefix is a local path when it
    /// exists, otherwise a registry reference.
    pub fn parse(s: &str) -> Result<ImageRef> {
        if s.is_empty() {
            return Err(Error::usage("empty image reference"));
        }
        if let Some(rest) = s.strip_prefix("docker://") {
            return registry(rest);
        }
        if let Some(rest) = s.strip_prefix("oci:") {
            let (dir, tag) = split_path_and_tag(rest);
            return Ok(ImageRef::Layout { dir, tag });
        }
        for prefix in ["oci-archive:", "docker-archive:", "docker-tar:"] {
            if let Some(rest) = s.strip_prefix(prefix) {
                let (file, tag) = split_path_and_tag(rest);
                return Ok(ImageRef::Archive { file, tag });
            }
        }
        let path = Path::new(s);
        if path.is_dir() {
            return Ok(ImageRef::Layout {
                dir: path.to_path_buf(),
                tag: None,
            });
        }
        if path.is_file() {
            return Ok(ImageRef::Archive {
                file: path.to_path_buf(),
                tag: None,
            });
        }
        if s.starts_with('/') || s.starts_with("./") || s.starts_with("../") || s.ends_with(".tar")
        {
            return Err(Error::usage(format!("{s}: no such file or directory")));
        }
        registry(s)
    }
}

/// The reference an image's `org.opencontainers.image.base.name`/`.digest` annotations denote:
/// a registry name pinned to the digest (`name:tag@sha256:…`), or a local name as it is (local
/// layouts and archives are found by tag, not digest).
pub fn pinned_base(name: &str, digest: Option<&str>) -> String {
    let local = ["oci:", "oci-archive:", "docker-archive:", "/", "."]
        .iter()
        .any(|p| name.starts_with(p));
    match digest {
        Some(d) if !local && !name.contains('@') => format!("{name}@{d}"),
        _ => name.to_string(),
    }
}

fn registry(s: &str) -> Result<ImageRef> {
    s.parse::<oci_client::Reference>()
        .map_err(|e| Error::usage(format!("invalid image reference {s:?}: {e}")))?;
    Ok(ImageRef::Registry(s.to_string()))
}

/// Splits `PATH[:TAG]` at the first colon, as skopeo does, unless the whole string is an existing
/// path (so a file whose name contains a colon still works).
fn split_path_and_tag(s: &str) -> (PathBuf, Option<String>) {
    if Path::new(s).exists() {
        return (PathBuf::from(s), None);
    }
    match s.split_once(':') {
        Some((path, tag)) if !tag.is_empty() => (PathBuf::from(path), Some(tag.to_string())),
        Some((path, _)) => (PathBuf::from(path), None),
        None => (PathBuf::from(s), None),
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageRef::Layout { dir, tag } => {
                write!(f, "oci:{}", dir.display())?;
                tag.as_ref().map_or(Ok(()), |t| write!(f, ":{t}"))
            }
            ImageRef::Archive { file, tag } => {
                write!(f, "{}", file.display())?;
                tag.as_ref().map_or(Ok(()), |t| write!(f, ":{t}"))
            }
            ImageRef::Registry(r) => write!(f, "docker://{r}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transports_are_recognized() {
        assert_eq!(
            ImageRef::parse("oci:/nonexistent/dir:v1").unwrap(),
            ImageRef::Layout {
                dir: "/nonexistent/dir".into(),
                tag: Some("v1".into())
            }
        );
        assert_eq!(
            ImageRef::parse("docker-archive:/x/img.tar:app:latest").unwrap(),
            ImageRef::Archive {
                file: "/x/img.tar".into(),
                tag: Some("app:latest".into())
            }
        );
        assert_eq!(
            ImageRef::parse("docker://localhost:5000/app:v2").unwrap(),
            ImageRef::Registry("localhost:5000/app:v2".into())
        );
        assert_eq!(
            ImageRef::parse("127.0.0.1:5000/app@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae").unwrap(),
            ImageRef::Registry("127.0.0.1:5000/app@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae".into())
        );
    }

    #[test]
    fn base_annotations_pin_registry_names_only() {
        let d = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
        assert_eq!(
            pinned_base("localhost:5000/base:1", Some(d)),
            format!("localhost:5000/base:1@{d}")
        );
        assert_eq!(pinned_base("oci:/bases:old", Some(d)), "oci:/bases:old");
        assert_eq!(pinned_base("debian:12", None), "debian:12");
    }

    #[test]
    fn missing_paths_and_garbage_are_usage_errors() {
        assert!(ImageRef::parse("/does/not/exist.tar").is_err());
        assert!(ImageRef::parse("Not A Reference!").is_err());
        assert!(ImageRef::parse("").is_err());
    }
}
