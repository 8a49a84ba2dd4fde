//! `strata recipe`: read a workspace into a [`Recipe`]. It runs `cargo metadata --no-deps
//! --offline` and reads files; it never resolves dependencies, never touches the network and never
//! writes into the source tree (cargo-chef resolves, and writes a fresh `Cargo.lock`, whenever
//! `--bin` is given or the lock is missing).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::cargo::lockfile::{dependency_refs, field, Lock, PackageRef};
use crate::cargo::recipe::{Manifest, Recipe, Skeleton, Target, ToolchainFile};
use crate::cargo::workspace::{self, LocalCrate, Workspace};
use crate::cargo::{masking, metadata, minimize, normalize, tables};
use crate::error::{Error, Result};

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct PrepareOptions {
    /// The workspace's (or a member's) `Cargo.toml`; default: the one cargo finds from the
    /// directory.
    pub manifest_path: Option<PathBuf>,
    /// Keep only what these binaries (or members) need.
    pub bins: Vec<String>,
}

/// Reads the workspace containing `dir` into a recipe.
pub fn prepare(dir: &Path, options: &PrepareOptions) -> Result<Recipe> {
    let ws = workspace::load(metadata::read(dir, options.manifest_path.as_deref())?)?;
    let kept_dirs = minimize::select(&ws, &options.bins)?;
    let kept: Vec<&LocalCrate> = ws
        .crates
        .iter()
        .filter(|c| kept_dirs.contains(&c.dir))
        .collect();
    let minimized = !options.bins.is_empty();

    let mut lock = Lock::read(&ws.root)?;
    if let (true, Some(lock)) = (minimized, lock.as_mut()) {
        minimize::trim_lock(lock, &kept);
    }
    if let Some(lock) = &lock {
        refuse_unstubbable(lock, &kept)?;
    }

    let masked: BTreeSet<String> = kept
        .iter()
        .filter(|c| !c.patched)
        .map(|c| c.name.clone())
        .collect();
    let mut manifests = Vec::new();
    if ws.is_virtual() {
        let mut root = normalize::virtual_root(&ws.root_manifest);
        finish_manifest(&mut root, minimized, &kept, &masked, false);
        manifests.push(manifest("", &root, &[])?);
    }
    for krate in &kept {
        let mut table = normalize::local_crate(krate);
        let is_root = krate.relative_dir.is_empty();
        finish_manifest(
            &mut table,
            minimized && is_root,
            &kept,
            &masked,
            !krate.patched,
        );
        let mut targets: Vec<Target> = krate
            .targets
            .iter()
            .map(|t| Target {
                path: t.path.clone(),
                kind: t.kind,
                name: t.name.clone(),
            })
            .collect();
        targets.sort();
        manifests.push(manifest(&krate.relative_dir, &table, &targets)?);
    }
    manifests.sort_by(|a, b| a.relative_path.cmp(&b.relative_path));

    let lock_file = match lock.as_mut() {
        Some(lock) => {
            masking::mask_lock(lock, &masked);
            Some(lock.to_text()?)
        }
        None => None,
    };
    Ok(Recipe {
        skeleton: Skeleton {
            manifests,
            config_file: config_file(&ws)?,
            lock_file,
            rust_toolchain_file: toolchain_file(&ws)?,
        },
    })
}

fn finish_manifest(
    table: &mut toml::Table,
    trim: bool,
    kept: &[&LocalCrate],
    masked: &BTreeSet<String>,
    mask_own: bool,
) {
    if trim {
        minimize::trim_root(table, kept);
    }
    masking::mask_manifest(table, masked, mask_own);
}

fn manifest(relative_dir: &str, table: &toml::Table, targets: &[Target]) -> Result<Manifest> {
    Ok(Manifest {
        relative_path: if relative_dir.is_empty() {
            "Cargo.toml".to_string()
        } else {
            format!("{relative_dir}/Cargo.toml")
        },
        contents: tables::to_canonical_text(table)?,
        targets: targets.to_vec(),
    })
}

/// A local crate that a registry or git crate depends on (through `[patch]`) is compiled as a
/// real dependency: a stub cannot stand in for it, so say so now rather than fail in cook.
fn refuse_unstubbable(lock: &Lock, kept: &[&LocalCrate]) -> Result<()> {
    let index = lock.index();
    let local: BTreeSet<usize> = kept
        .iter()
        .filter_map(|c| index.local(&c.name, &c.version))
        .collect();
    let mut problems = BTreeSet::new();
    for package in lock
        .packages()
        .into_iter()
        .filter(|p| p.get("source").is_some())
    {
        for reference in dependency_refs(package) {
            for hit in index.resolve(PackageRef::parse(reference)) {
                if let (true, Some(krate)) = (
                    local.contains(&hit),
                    kept.iter()
                        .find(|c| Some(c.name.as_str()) == field(index.package(hit), "name")),
                ) {
                    problems.insert(format!(
                        "{} ({}) is used by {} {}",
                        krate.name,
                        if krate.relative_dir.is_empty() {
                            "."
                        } else {
                            &krate.relative_dir
                        },
                        field(package, "name").unwrap_or("?"),
                        field(package, "version").unwrap_or("?"),
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "registry or git crates depend on local crates through [patch]/[replace], so stubs cannot \
         stand in for them and cook would fail: {}",
        problems.into_iter().collect::<Vec<_>>().join("; ")
    )))
}

/// `.cargo/config` (cargo's preferred name when both exist), else `.cargo/config.toml`, at the
/// workspace root.
fn config_file(ws: &Workspace) -> Result<Option<String>> {
    for name in ["config", "config.toml"] {
        if let Some(text) = read_optional(&ws.root.join(".cargo").join(name))? {
            return Ok(Some(tables::canonical_or_raw(&text)));
        }
    }
    Ok(None)
}

/// `rust-toolchain` (rustup's precedence) else `rust-toolchain.toml`.
fn toolchain_file(ws: &Workspace) -> Result<Option<(ToolchainFile, String)>> {
    if let Some(text) = read_optional(&ws.root.join("rust-toolchain"))? {
        return Ok(Some((ToolchainFile::Bare, text)));
    }
    Ok(read_optional(&ws.root.join("rust-toolchain.toml"))?
        .map(|text| (ToolchainFile::Toml, tables::canonical_or_raw(&text))))
}

fn read_optional(path: &Path) -> Result<Option<String>> {
    if !path.is_file() {
        return Ok(None);
    }
    std::fs::read_to_string(path)
        .map(Some)
        .map_err(|e| Error::io(path.display(), e))
}
