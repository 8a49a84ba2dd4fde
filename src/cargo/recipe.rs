//! The recipe: what `strata recipe` writes and `strata cook` reads. Its JSON shape is cargo-chef's
//! (`{"skeleton": {"manifests": [{relative_path, contents, targets}], config_file, lock_file,
//! rust_toolchain_file}}`), so recipes written by cargo-chef 0.1.x cook here and users can switch
//! tools by changing one word.

use std::path::{Component, Path};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A dependency recipe: the skeleton of a Cargo workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipe {
    /// Everything `cook` writes before compiling.
    pub skeleton: Skeleton,
}

/// The files of the skeleton, in cargo-chef's field order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skeleton {
    /// Every manifest, sorted by `relative_path`.
    #[serde(default)]
    pub manifests: Vec<Manifest>,
    /// The workspace's `.cargo/config[.toml]`, written back as `.cargo/config.toml`.
    #[serde(default)]
    pub config_file: Option<String>,
    /// `Cargo.lock` with local versions masked; `None` lets cargo resolve at cook time.
    #[serde(default)]
    pub lock_file: Option<String>,
    /// `rust-toolchain` (bare) or `rust-toolchain.toml`, so cook compiles with the project's
    /// toolchain.
    #[serde(default)]
    pub rust_toolchain_file: Option<(ToolchainFile, String)>,
}

/// Which of rustup's two toolchain file forms the recipe carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ToolchainFile {
    /// `rust-toolchain`: just a channel name.
    Bare,
    /// `rust-toolchain.toml`.
    Toml,
}

impl ToolchainFile {
    /// The file name cook writes.
    pub fn file_name(self) -> &'static str {
        match self {
            ToolchainFile::Bare => "rust-toolchain",
            ToolchainFile::Toml => "rust-toolchain.toml",
        }
    }
}

/// One manifest of the skeleton and the stub sources its targets need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The `Cargo.toml` path relative to the workspace root, `/`-separated.
    pub relative_path: String,
    /// The normalized manifest text.
    pub contents: String,
    /// The targets to stub, sorted (path, kind, name) like cargo-chef's `BTreeSet`.
    #[serde(default)]
    pub targets: Vec<Target>,
}

/// A compilation target that needs a stub source file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Target {
    /// The source path relative to the manifest's directory, `/`-separated.
    pub path: String,
    /// What kind of target, which decides the stub.
    pub kind: TargetKind,
    /// The target name (`build-script-build` for build scripts).
    pub name: String,
}

/// Target kinds, serialized as cargo-chef does (`"Bin"`, `{"Lib":{"is_proc_macro":false}}`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TargetKind {
    /// A library (any crate type).
    Lib {
        /// Proc-macro libraries never get a `#![no_std]` stub.
        is_proc_macro: bool,
    },
    /// A binary.
    Bin,
    /// An integration test.
    Test,
    /// A benchmark.
    Bench,
    /// An example.
    Example,
    /// A build script.
    BuildScript,
}

impl Recipe {
    /// The compact single-line JSON cargo-chef writes; deterministic for a given recipe.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self)
            .map_err(|e| Error::invalid(format!("serializing the recipe: {e}")))
    }

    /// Parses a recipe (strata's or cargo-chef 0.1.x's) and checks that every path it would write
    /// stays relative.
    pub fn from_json(text: &str) -> Result<Recipe> {
        let recipe: Recipe = serde_json::from_str(text)
            .map_err(|e| Error::invalid(format!("not a recipe.json: {e}")))?;
        recipe.validate()?;
        Ok(recipe)
    }

    /// Reads and parses a recipe file.
    pub fn read(path: &Path) -> Result<Recipe> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path.display(), e))?;
        Recipe::from_json(&text).map_err(|e| e.context(path.display()))
    }

    fn validate(&self) -> Result<()> {
        for manifest in &self.skeleton.manifests {
            check_relative(&manifest.relative_path)?;
            for target in &manifest.targets {
                check_relative(&target.path)?;
            }
        }
        Ok(())
    }
}

/// Rejects absolute paths (and Windows prefixes): a recipe only writes below or beside the cook
/// directory, never at a place it names absolutely.
fn check_relative(path: &str) -> Result<()> {
    let p = Path::new(path);
    if path.is_empty()
        || p.components()
            .any(|c| matches!(c, Component::RootDir | Component::Prefix(_)))
    {
        return Err(Error::invalid(format!(
            "recipe path {path:?} is not a relative path"
        )));
    }
    Ok(())
}
