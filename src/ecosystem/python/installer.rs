//! The installer the lockfile builds run: uv, the pinned release ([`UV_VERSION`], the one the
//! generated Dockerfiles install), found as `--installer PATH`, on `PATH` (when its version is
//! the pinned one), or in strata's cache (`<cache>/tools/uv-VERSION/uv`, installed there from the
//! package index when missing: [`super::uv_wheel`]). Its version is part of the dependency
//! layers' cache key: another uv may unpack the same wheels differently.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::ecosystem::python::dockerfile::UV_VERSION;
use crate::ecosystem::python::uv_wheel::UvPlatform;
use crate::error::{Error, Result};

/// A uv binary and the version it reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installer {
    /// The binary.
    pub path: PathBuf,
    /// Its version (`0.13.9`).
    pub version: String,
}

/// The version `uv --version` of `path` reports (`uv 0.13.9 (x86_64-unknown-linux-gnu)`), or
/// `None` when it does not run.
fn version(path: &Path) -> Option<String> {
    let out = Command::new(path).arg("--version").output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let rest = text.trim().strip_prefix("uv ")?;
    Some(rest.split_whitespace().next()?.to_string())
}

/// `name` on `PATH`, as the shell would find it.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Where strata's cache keeps the pinned uv.
pub fn cached_path(cache_dir: &Path) -> PathBuf {
    cache_dir.join(format!("tools/uv-{UV_VERSION}/uv"))
}

/// The pinned uv for `platform` (a builder container's), from strata's cache under
/// `cache_dir`, installed there from the package index when missing. Another CPU's binary cannot
/// be asked its version: what the cache holds was checked against the index's sha256 when it
/// was written.
pub fn pinned_for(platform: &UvPlatform, cache_dir: &Path) -> Result<PathBuf> {
    let path = if *platform == UvPlatform::host() {
        cached_path(cache_dir)
    } else {
        cache_dir.join(format!(
            "tools/uv-{UV_VERSION}-{}-{}/uv",
            platform.arch, platform.libc
        ))
    };
    if !path.is_file() {
        super::uv_wheel::install(UV_VERSION, platform, &path)?;
    }
    Ok(path)
}

/// The installer to run: `explicit` (any version, it is the user's choice), else the pinned uv
/// on `PATH`, else the one in strata's cache under `cache_dir`, installed there first from the
/// package index when it is missing.
pub fn find(explicit: Option<&Path>, cache_dir: &Path) -> Result<Installer> {
    if let Some(path) = explicit {
        let version = version(path).ok_or_else(|| {
            Error::usage(format!(
                "--installer {}: not a uv binary that runs (`{} --version` failed)",
                path.display(),
                path.display()
            ))
        })?;
        return Ok(Installer {
            path: path.to_path_buf(),
            version,
        });
    }
    let pinned = |path: PathBuf| {
        (version(&path).as_deref() == Some(UV_VERSION)).then(|| Installer {
            path,
            version: UV_VERSION.to_string(),
        })
    };
    let cached = cached_path(cache_dir);
    if let Some(found) = on_path("uv")
        .into_iter()
        .chain([cached.clone()])
        .find_map(pinned)
    {
        return Ok(found);
    }
    super::uv_wheel::install(UV_VERSION, &UvPlatform::host(), &cached)?;
    pinned(cached.clone()).ok_or_else(|| {
        Error::invalid(format!(
            "{}: the uv installed from the package index does not run as uv {UV_VERSION}",
            cached.display()
        ))
        .with_hint("pass --installer PATH, or package a venv with --venv")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binary_that_is_not_uv_is_refused_by_name() {
        let e = find(Some(Path::new("/bin/true")), Path::new("/nonexistent")).unwrap_err();
        assert!(e.to_string().contains("--installer /bin/true"), "{e}");
    }
}
