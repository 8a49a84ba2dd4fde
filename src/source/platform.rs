//! `os/arch[/variant]` platforms, for picking one image out of a multi-platform index, and the
//! platforms a whole index holds (`report --all-platforms`, per-platform `diff`, `copy --all`).

use std::fmt;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::source::files::{DirFiles, Files, TarFiles};
use crate::source::layout::LayoutStore;
use crate::source::manifest::{parse_document, platform_entries, Document, Store};
use crate::source::reference::{ArchiveKind, ImageRef};
use crate::source::registry::RegistryStore;
use crate::source::SourceOptions;

/// A platform such as `linux/arm64/v8`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// Operating system (`linux`).
    pub os: String,
    /// Architecture in OCI spelling (`amd64`, `arm64`).
    pub architecture: String,
    /// CPU variant (`v7`, `v8`), when one is asked for.
    pub variant: Option<String>,
}

impl Platform {
    /// Parses `os/arch[/variant]`.
    pub fn parse(s: &str) -> Result<Platform> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            [os, arch] if !os.is_empty() && !arch.is_empty() => Ok(Platform {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: None,
            }),
            [os, arch, variant] if !os.is_empty() && !arch.is_empty() && !variant.is_empty() => {
                Ok(Platform {
                    os: os.to_string(),
                    architecture: arch.to_string(),
                    variant: Some(variant.to_string()),
                })
            }
            _ => Err(Error::usage(format!(
                "invalid platform {s:?}: expected os/arch[/variant], e.g. linux/amd64"
            ))),
        }
    }

    /// The platform of the machine strata runs on (images run here by default).
    pub fn host() -> Platform {
        let (architecture, variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", None),
            "aarch64" => ("arm64", None),
            "arm" => ("arm", Some("v7")),
            "x86" => ("386", None),
            "powerpc64" => ("ppc64le", None),
            "s390x" => ("s390x", None),
            "riscv64" => ("riscv64", None),
            other => (other, None),
        };
        Platform {
            os: "linux".into(),
            architecture: architecture.into(),
            variant: variant.map(str::to_string),
        }
    }

    /// Whether an index entry's platform satisfies this one. A variant is compared only when asked
    /// for; `arm64` without a variant is `v8`.
    pub fn matches(&self, os: &str, architecture: &str, variant: Option<&str>) -> bool {
        if self.os != os || self.architecture != architecture {
            return false;
        }
        match &self.variant {
            None => true,
            Some(want) => {
                let have = variant.or(if architecture == "arm64" {
                    Some("v8")
                } else {
                    None
                });
                have == Some(want.as_str())
            }
        }
    }

    /// Whether two index entries' platforms are the same one (`arm64` and `arm64/v8` are):
    /// how two indexes are compared platform by platform.
    pub fn same(&self, other: &Platform) -> bool {
        self.matches(&other.os, &other.architecture, other.variant.as_deref())
            && other.matches(&self.os, &self.architecture, self.variant.as_deref())
    }
}

/// Opens the place `reference` names by digest: a layout, an OCI archive or a registry
/// repository. `None` for a source that cannot hold an index (a `docker save` archive).
pub fn open_store(reference: &ImageRef, opts: &SourceOptions) -> Result<Option<Box<dyn Store>>> {
    Ok(match reference {
        ImageRef::Layout { dir, tag } => {
            if !dir.is_dir() {
                return Err(Error::not_found(format!(
                    "{}: no such directory",
                    dir.display()
                )));
            }
            let files: Arc<dyn Files> = Arc::new(DirFiles::new(dir));
            Some(Box::new(LayoutStore::new(files, tag.clone())))
        }
        ImageRef::Archive { file, tag, kind } => {
            let files = TarFiles::index(file)?;
            let layout = files.open("index.json")?.is_some()
                && (*kind == ArchiveKind::Oci || files.open("manifest.json")?.is_none());
            layout
                .then(|| Box::new(LayoutStore::new(Arc::new(files), tag.clone())) as Box<dyn Store>)
        }
        ImageRef::Registry(r) => Some(Box::new(RegistryStore::connect(r, &opts.registry)?)),
        // The Docker Engine holds one image per name, as a `docker save` archive does; a bare
        // name is read as one image too (from the engine, else Docker Hub's platform choice).
        ImageRef::Daemon(_) | ImageRef::Named(_) => None,
    })
}

/// The images of a multi-platform reference: each platform, in the index's order, and the
/// entries left out (attestations), each said in a line.
#[derive(Debug, Clone, Default)]
pub struct Platforms {
    /// The platforms of the index's images.
    pub images: Vec<Platform>,
    /// What was skipped and why.
    pub skipped: Vec<String>,
}

/// The platforms of the index `reference` names; `None` when it names a single image.
pub fn platforms(reference: &ImageRef, opts: &SourceOptions) -> Result<Option<Platforms>> {
    let Some(store) = open_store(reference, opts)? else {
        return Ok(None);
    };
    let (bytes, _) = store.top()?;
    match parse_document(&bytes, &format!("manifest of {reference}"))? {
        Document::Manifest(_) => Ok(None),
        Document::Index(index) => {
            let entries = platform_entries(&index);
            Ok(Some(Platforms {
                images: entries.images.into_iter().map(|(p, _)| p).collect(),
                skipped: entries.skipped,
            }))
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_matches() {
        let p = Platform::parse("linux/arm64/v8").unwrap();
        assert!(p.matches("linux", "arm64", None));
        assert!(!p.matches("linux", "amd64", None));
        assert!(Platform::parse("linux/amd64")
            .unwrap()
            .matches("linux", "amd64", Some("v3")));
        assert!(Platform::parse("linux").is_err());
        let v8 = Platform::parse("linux/arm64/v8").unwrap();
        assert!(v8.same(&Platform::parse("linux/arm64").unwrap()));
        assert!(!Platform::parse("linux/arm/v6")
            .unwrap()
            .same(&Platform::parse("linux/arm/v7").unwrap()));
        assert!(!Platform::parse("linux/arm")
            .unwrap()
            .same(&Platform::parse("linux/arm/v7").unwrap()));
        assert!(Platform::parse("linux//v7").is_err());
    }
}
