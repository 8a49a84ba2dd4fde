//! `cargo metadata --no-deps --offline`: the workspace members and their targets as cargo sees
//! them (globs, excludes, auto-discovered targets), without resolving dependencies, so reading a
//! workspace never touches the network and never writes `Cargo.lock`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::cargo::cargo_command;
use crate::error::{Error, Result};

/// The part of `cargo metadata --format-version 1` the recipe needs.
#[derive(Debug, Deserialize)]
pub struct Metadata {
    /// With `--no-deps`, exactly the workspace members.
    pub packages: Vec<Package>,
    /// The directory of the workspace's root manifest.
    pub workspace_root: PathBuf,
}

/// One workspace member.
#[derive(Debug, Deserialize)]
pub struct Package {
    /// The package name.
    pub name: String,
    /// The real version (masked later).
    pub version: String,
    /// Absolute path of its `Cargo.toml`.
    pub manifest_path: PathBuf,
    /// Every target, auto-discovered ones included.
    pub targets: Vec<MetaTarget>,
    /// Its declared dependencies; path dependencies carry `path`.
    pub dependencies: Vec<MetaDependency>,
}

/// A target as cargo reports it.
#[derive(Debug, Deserialize)]
pub struct MetaTarget {
    /// `lib`, `proc-macro`, `cdylib`, ..., `bin`, `example`, `test`, `bench` or `custom-build`.
    pub kind: Vec<String>,
    /// The crate types it compiles to.
    #[serde(default)]
    pub crate_types: Vec<String>,
    /// The target name (for libraries, the crate name).
    pub name: String,
    /// Absolute path of its root source file.
    pub src_path: PathBuf,
    /// Whether `cargo test` builds it (`test = false` otherwise).
    #[serde(default = "yes")]
    pub test: bool,
}

fn yes() -> bool {
    true
}

/// A declared dependency.
#[derive(Debug, Deserialize)]
pub struct MetaDependency {
    /// The package name of the dependency.
    pub name: String,
    /// The directory of a path dependency.
    #[serde(default)]
    pub path: Option<PathBuf>,
}

/// Runs `cargo metadata --no-deps --offline` in `dir` (or on `manifest_path`).
pub fn read(dir: &Path, manifest_path: Option<&Path>) -> Result<Metadata> {
    let mut cmd = cargo_command();
    cmd.current_dir(dir).args([
        "metadata",
        "--no-deps",
        "--offline",
        "--format-version",
        "1",
        "--color",
        "never",
    ]);
    if let Some(path) = manifest_path {
        cmd.arg("--manifest-path").arg(path);
    }
    let out = cmd.output().map_err(|e| {
        Error::usage(format!(
            "cannot run cargo ({e}); is it installed and on PATH?"
        ))
    })?;
    if !out.status.success() {
        return Err(Error::invalid(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| Error::invalid(format!("cargo metadata printed unexpected output: {e}")))
}
