//! `strata cook`: write the recipe's skeleton (manifests, `Cargo.lock`, toolchain file,
//! `.cargo/config.toml`, a stub per target), compile the dependencies, then remove the local stub
//! units. It never prompts: it refuses to write over a directory holding real sources unless
//! forced, and a failing cargo is reported with cargo's own status instead of a panic.

use std::path::{Path, PathBuf};

use toml::Value;

use crate::cargo::cleanup::{self, LocalUnits};
use crate::cargo::invoke::{self, BuildOptions};
use crate::cargo::recipe::{Manifest, Recipe, Target, TargetKind};
use crate::cargo::{stubs, tables};
use crate::error::{Error, Result};

/// How to cook.
#[derive(Debug, Clone, Default)]
pub struct CookOptions {
    /// Write `#![no_std]` stubs.
    pub no_std: bool,
    /// Write the skeleton even over files that are not stubs.
    pub force: bool,
    /// The cargo run; `None` writes the skeleton only (`--no-build`).
    pub build: Option<BuildOptions>,
}

/// How cooking ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cooked {
    /// The skeleton was written and nothing compiled (`--no-build`).
    SkeletonOnly,
    /// Dependencies compiled; this many local stub outputs and fingerprints were removed.
    Built {
        /// Entries removed from the target directory.
        removed: usize,
    },
    /// cargo failed (its diagnostics went to stderr); the local units were cleaned anyway.
    CargoFailed {
        /// cargo's exit code (`None` when killed by a signal).
        code: Option<i32>,
    },
}

/// Cooks `recipe` in `dir`.
pub fn cook(recipe: &Recipe, dir: &Path, options: &CookOptions) -> Result<Cooked> {
    let files = plan(recipe, options.no_std)?;
    if !options.force {
        refuse_real_sources(dir, &files)?;
    }
    for file in &files {
        write(&dir.join(&file.path), &file.contents)?;
    }
    let Some(build) = &options.build else {
        return Ok(Cooked::SkeletonOnly);
    };
    let units = local_units(recipe, dir)?;
    let report = invoke::run(dir, build)?;
    let removed = cleanup::remove(&units, &report.artifacts)?;
    Ok(if report.status.success() {
        Cooked::Built { removed }
    } else {
        Cooked::CargoFailed {
            code: report.status.code(),
        }
    })
}

/// A file of the skeleton, relative to the cook directory.
struct File {
    path: PathBuf,
    contents: String,
    /// A target stub (the files the real-sources guard looks at).
    stub: bool,
}

fn plan(recipe: &Recipe, no_std: bool) -> Result<Vec<File>> {
    let skeleton = &recipe.skeleton;
    let mut files = Vec::new();
    let mut add = |path: PathBuf, contents: &str, stub: bool| {
        files.push(File {
            path,
            contents: contents.to_string(),
            stub,
        })
    };
    if let Some(lock) = &skeleton.lock_file {
        add("Cargo.lock".into(), lock, false);
    }
    if let Some(config) = &skeleton.config_file {
        add(".cargo/config.toml".into(), config, false);
    }
    if let Some((kind, contents)) = &skeleton.rust_toolchain_file {
        add(kind.file_name().into(), contents, false);
    }
    for manifest in &skeleton.manifests {
        add(
            manifest.relative_path.clone().into(),
            &manifest.contents,
            false,
        );
        let dir = manifest_dir(manifest);
        let parsed =
            tables::parse(&manifest.contents).map_err(|e| e.context(&manifest.relative_path))?;
        for target in &manifest.targets {
            let harness = harness(&parsed, target);
            add(
                dir.join(&target.path),
                stubs::stub(target.kind, harness, no_std),
                true,
            );
        }
    }
    Ok(files)
}

fn manifest_dir(manifest: &Manifest) -> PathBuf {
    Path::new(&manifest.relative_path)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// `harness` of a test or bench, looked up by name in the manifest (default true).
fn harness(manifest: &toml::Table, target: &Target) -> bool {
    let key = match target.kind {
        TargetKind::Test => "test",
        TargetKind::Bench => "bench",
        _ => return true,
    };
    manifest
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|t| t.get("name").and_then(Value::as_str) == Some(target.name.as_str()))
        .and_then(|t| t.get("harness"))
        .and_then(Value::as_bool)
        .unwrap_or(true)
}

/// Refuses when a stub would replace a file that is not a stub: cooking in a checkout would
/// destroy its sources.
fn refuse_real_sources(dir: &Path, files: &[File]) -> Result<()> {
    let mut real = Vec::new();
    for file in files.iter().filter(|f| f.stub) {
        let path = dir.join(&file.path);
        match std::fs::read(&path) {
            Ok(bytes) if bytes != file.contents.as_bytes() => {
                if !std::str::from_utf8(&bytes).is_ok_and(stubs::is_stub) {
                    real.push(file.path.display().to_string());
                }
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(path.display(), e)),
        }
    }
    if real.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = real.iter().take(5).map(String::as_str).collect();
    let more = real.len().saturating_sub(shown.len());
    Err(Error::usage(format!(
        "{} holds real sources that the skeleton would overwrite ({}{}); cook in an empty \
         directory, or pass --force",
        dir.display(),
        shown.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    )))
}

fn write(path: &Path, contents: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent.display(), e))?;
    }
    std::fs::write(path, contents).map_err(|e| Error::io(path.display(), e))
}

/// The names cleanup matches: the recipe's local crates, whose manifests are under `dir` (a cooked
/// skeleton, or the real workspace the recipe was read from).
pub fn local_units(recipe: &Recipe, dir: &Path) -> Result<LocalUnits> {
    let mut units = LocalUnits::default();
    for manifest in &recipe.skeleton.manifests {
        let path = dir.join(&manifest.relative_path);
        let parsed = tables::parse(&manifest.contents)?;
        let Some(name) = parsed
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        units.packages.insert(name.to_string());
        units
            .manifests
            .insert(std::fs::canonicalize(&path).map_err(|e| Error::io(path.display(), e))?);
        units
            .crates
            .extend(manifest.targets.iter().map(|t| t.name.replace('-', "_")));
    }
    Ok(units)
}
