//! What the generator needs to know about a project: its language, name, lockfile, interpreter
//! version, and the command the image runs.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::python::{find_lockfile, Format};

/// The languages `strata dockerfile` writes builds for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// A Python project with a lockfile.
    Python,
    /// A Cargo project.
    Rust,
}

/// A project as the generator sees it.
#[derive(Debug, Clone)]
pub struct Project {
    /// The project directory (the build context).
    pub dir: PathBuf,
    /// Its language.
    pub lang: Lang,
    /// Its name (package name), used for image names and the binary.
    pub name: String,
    /// Python: the lockfile, relative to `dir`.
    pub lockfile: Option<PathBuf>,
    /// Python: whether there is a `pyproject.toml` to install the project from.
    pub has_pyproject: bool,
    /// Python: `major.minor` from `.python-version`.
    pub python_version: Option<String>,
    /// What the image runs: a console script (Python) or the binary (Rust).
    pub command: Option<String>,
}

impl Project {
    /// Reads the project at `dir`: Python when it has a `pyproject.toml` or a Python lockfile,
    /// else Rust when it has a `Cargo.toml` (the rule of [`crate::preset::detect`]).
    pub fn read(dir: &Path) -> Result<Project> {
        let spec = crate::preset::detect(dir).ok_or_else(|| {
            Error::usage(format!(
                "{}: neither a Python project (pyproject.toml, a lockfile) nor a Cargo project",
                dir.display()
            ))
        })?;
        if spec.kind == "python" {
            Project::python(dir)
        } else {
            Project::rust(dir)
        }
    }

    fn python(dir: &Path) -> Result<Project> {
        let lockfile = find_lockfile(dir)?.ok_or_else(|| {
            Error::usage(format!(
                "{}: no uv.lock or requirements*.txt to install the dependencies from",
                dir.display()
            ))
        })?;
        if !matches!(
            Format::of(&lockfile),
            Some(Format::Uv | Format::Requirements)
        ) {
            return Err(Error::usage(format!(
                "{}: strata dockerfile installs from uv.lock or requirements*.txt; export one \
                 (poetry export -o requirements.lock, or uv export)",
                lockfile.display()
            )));
        }
        let pyproject = read_toml(&dir.join("pyproject.toml"))?;
        let project = pyproject.as_ref().and_then(|t| t.get("project"));
        let name = project
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
            .map(crate::python::pep508::normalize_name);
        let command = project
            .and_then(|p| p.get("scripts"))
            .and_then(|s| s.as_table())
            .and_then(|s| s.keys().next().cloned());
        let python_version = std::fs::read_to_string(dir.join(".python-version"))
            .ok()
            .and_then(|v| major_minor(v.lines().next()?.trim()));
        Ok(Project {
            dir: dir.to_path_buf(),
            lang: Lang::Python,
            name: name.unwrap_or_else(|| dir_name(dir)),
            lockfile: lockfile.strip_prefix(dir).ok().map(Path::to_path_buf),
            has_pyproject: pyproject.is_some(),
            python_version,
            command,
        })
    }

    fn rust(dir: &Path) -> Result<Project> {
        let manifest = read_toml(&dir.join("Cargo.toml"))?.unwrap_or_default();
        let name = manifest
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
            .map(str::to_string);
        let bin = manifest
            .get("bin")
            .and_then(|b| b.as_array())
            .and_then(|b| b.first())
            .and_then(|b| b.get("name"))
            .and_then(|n| n.as_str())
            .map(str::to_string);
        Ok(Project {
            dir: dir.to_path_buf(),
            lang: Lang::Rust,
            command: bin.or_else(|| name.clone()),
            name: name.unwrap_or_else(|| dir_name(dir)),
            lockfile: None,
            has_pyproject: false,
            python_version: None,
        })
    }
}

/// Reads a TOML file; `None` when it does not exist, a usage error when it does not parse.
fn read_toml(path: &Path) -> Result<Option<toml::Table>> {
    match std::fs::read_to_string(path) {
        Ok(text) => text
            .parse::<toml::Table>()
            .map(Some)
            .map_err(|e| Error::usage(format!("{}: {}", path.display(), e.message()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path.display(), e)),
    }
}

/// `3.12` from `3.12`, `3.12.4` or `cpython@3.12`; `None` for anything else (`pypy3.10`).
fn major_minor(version: &str) -> Option<String> {
    let version = version.strip_prefix("cpython@").unwrap_or(version);
    let mut parts = version.split('.');
    let (major, minor) = (parts.next()?, parts.next()?);
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (numeric(major) && numeric(minor)).then(|| format!("{major}.{minor}"))
}

/// The directory's name, lowercased, as a fallback project name.
fn dir_name(dir: &Path) -> String {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    dir.file_name()
        .map_or_else(|| "app".into(), |n| n.to_string_lossy().to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_versions_reduce_to_major_minor() {
        assert_eq!(major_minor("3.12.4").as_deref(), Some("3.12"));
        assert_eq!(major_minor("cpython@3.11").as_deref(), Some("3.11"));
        assert_eq!(major_minor("pypy3.10"), None);
        assert_eq!(major_minor("3"), None);
    }
}
