//! What the generator needs to know about any project: its ecosystem, name, and the command the
//! image runs (each ecosystem reads the rest itself, as its Dockerfiles need).

use std::path::{Path, PathBuf};

use crate::ecosystem::{self, ProjectSupport};
use crate::error::{Error, Result};

/// A project as the generator sees it.
#[derive(Debug, Clone)]
pub struct Project {
    /// The project directory (the build context).
    pub dir: PathBuf,
    /// Its ecosystem (the language the Dockerfiles build).
    pub ecosystem: &'static dyn ProjectSupport,
    /// Its name (package name), used for image names and the binary.
    pub name: String,
    /// What the image runs: a console script (Python) or the binary (Rust).
    pub command: Option<String>,
}

impl Project {
    /// Reads the project at `dir`, of the ecosystem [`ecosystem::detect`] finds there.
    pub fn read(dir: &Path) -> Result<Project> {
        let found = ecosystem::detect(dir).ok_or_else(|| {
            Error::usage(format!(
                "{}: neither a {} project (looked for {})",
                dir.display(),
                ecosystem::buildable_titles(" project nor a "),
                ecosystem::markers()
            ))
        })?;
        found.read_project(dir)
    }
}

/// Reads a TOML file; `None` when it does not exist, a usage error when it does not parse.
pub(crate) fn read_toml(path: &Path) -> Result<Option<toml::Table>> {
    match std::fs::read_to_string(path) {
        Ok(text) => text
            .parse::<toml::Table>()
            .map(Some)
            .map_err(|e| Error::usage(format!("{}: {}", path.display(), e.message()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path.display(), e)),
    }
}

/// The directory's name, lowercased, as a fallback project name.
pub(crate) fn dir_name(dir: &Path) -> String {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    dir.file_name()
        .map_or_else(|| "app".into(), |n| n.to_string_lossy().to_lowercase())
}
