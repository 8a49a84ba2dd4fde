//! The local crates of a workspace: the members `cargo metadata` reports, plus the crates cargo
//! also reads from disk that are not members — path dependencies outside the workspace and
//! `[patch]`/`[replace]` path crates — so the skeleton holds every manifest cook needs (cargo-chef
//! leaves those out and cook fails later).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use toml::{Table, Value};

use crate::cargo::metadata::{MetaTarget, Metadata};
use crate::cargo::recipe::TargetKind;
use crate::cargo::tables::{self, Kinds};
use crate::error::{Error, Result};

/// A workspace read from disk.
#[derive(Debug)]
pub struct Workspace {
    /// The workspace root directory (absolute).
    pub root: PathBuf,
    /// The root manifest as written (for a virtual workspace it belongs to no crate).
    pub root_manifest: Table,
    /// Every local crate, sorted by directory.
    pub crates: Vec<LocalCrate>,
}

/// A crate whose sources are local, so the skeleton replaces them with stubs.
#[derive(Debug)]
pub struct LocalCrate {
    /// The package name.
    pub name: String,
    /// The version as written (`0.0.0` when absent), before masking.
    pub version: String,
    /// Its directory, absolute and lexically normalized.
    pub dir: PathBuf,
    /// Its directory relative to the workspace root, `/`-separated (`""` for the root).
    pub relative_dir: String,
    /// The manifest as written.
    pub manifest: Table,
    /// The targets to stub.
    pub targets: Vec<TargetSpec>,
    /// A workspace member (else a path crate cargo reads as a dependency only).
    pub member: bool,
    /// Named by `[patch]` or `[replace]`: registry crates may require its real version, so it is
    /// never masked.
    pub patched: bool,
    /// Directories of the local crates it depends on by path.
    pub path_deps: Vec<PathBuf>,
}

/// One target of a local crate, with what the normalized manifest states about it.
#[derive(Debug, Clone)]
pub struct TargetSpec {
    /// The kind, which decides the manifest table and the stub.
    pub kind: TargetKind,
    /// The target name (the crate name for libraries).
    pub name: String,
    /// The source path relative to the crate directory, `/`-separated.
    pub path: String,
    /// Crate types (`lib`, `cdylib`, ...), for libraries and examples.
    pub crate_types: Vec<String>,
    /// `test = ...` as cargo resolved it, when known.
    pub test: Option<bool>,
}

/// Reads the root manifest, every member, and the non-member path crates they reach.
pub fn load(meta: Metadata) -> Result<Workspace> {
    let root = lexical(&meta.workspace_root);
    let root_manifest = tables::read(&root.join("Cargo.toml"))?;
    let mut crates: BTreeMap<PathBuf, LocalCrate> = BTreeMap::new();
    for package in meta.packages {
        let dir = lexical(package.manifest_path.parent().unwrap_or(&root));
        let targets = package
            .targets
            .iter()
            .map(|t| member_target(t, &dir))
            .collect();
        let path_deps = package
            .dependencies
            .iter()
            .filter_map(|d| d.path.as_deref().map(lexical))
            .collect();
        crates.insert(
            dir.clone(),
            LocalCrate {
                name: package.name,
                version: package.version,
                relative_dir: relative(&root, &dir),
                manifest: tables::read(&package.manifest_path)?,
                dir,
                targets,
                member: true,
                patched: false,
                path_deps,
            },
        );
    }

    let patched = patch_dirs(&root_manifest, &root);
    let mut pending: Vec<(PathBuf, String)> = crates
        .values()
        .flat_map(|c| c.path_deps.iter().map(|d| (d.clone(), c.name.clone())))
        .chain(patched.iter().map(|d| (d.clone(), "[patch]".to_string())))
        .collect();
    while let Some((dir, wanted_by)) = pending.pop() {
        if crates.contains_key(&dir) {
            continue;
        }
        let path_crate = load_path_crate(&root, &dir).map_err(|e| {
            e.context(format!(
                "path crate {} (used by {wanted_by})",
                dir.display()
            ))
        })?;
        pending.extend(
            path_crate
                .path_deps
                .iter()
                .map(|d| (d.clone(), path_crate.name.clone())),
        );
        crates.insert(dir, path_crate);
    }
    for dir in &patched {
        if let Some(c) = crates.get_mut(dir) {
            c.patched = true;
        }
    }
    Ok(Workspace {
        root,
        root_manifest,
        crates: crates.into_values().collect(),
    })
}

impl Workspace {
    /// Whether the root manifest is a virtual one (no `[package]`).
    pub fn is_virtual(&self) -> bool {
        !self.root_manifest.contains_key("package")
    }
}

fn member_target(t: &MetaTarget, dir: &Path) -> TargetSpec {
    let has = |k: &str| t.kind.iter().any(|x| x == k);
    let kind = if has("custom-build") {
        TargetKind::BuildScript
    } else if has("bin") {
        TargetKind::Bin
    } else if has("example") {
        TargetKind::Example
    } else if has("test") {
        TargetKind::Test
    } else if has("bench") {
        TargetKind::Bench
    } else {
        TargetKind::Lib {
            is_proc_macro: has("proc-macro"),
        }
    };
    TargetSpec {
        kind,
        name: t.name.clone(),
        path: relative(dir, &lexical(&t.src_path)),
        crate_types: t.crate_types.clone(),
        test: Some(t.test),
    }
}

/// Directories named by `[patch.*]` and `[replace]` path entries of the root manifest.
fn patch_dirs(root_manifest: &Table, root: &Path) -> BTreeSet<PathBuf> {
    let patch_entries = root_manifest
        .get("patch")
        .and_then(Value::as_table)
        .into_iter()
        .flat_map(|sources| sources.values())
        .filter_map(Value::as_table)
        .flat_map(|t| t.values());
    let replace_entries = root_manifest
        .get("replace")
        .and_then(Value::as_table)
        .into_iter()
        .flat_map(|t| t.values());
    patch_entries
        .chain(replace_entries)
        .filter_map(|entry| entry.get("path").and_then(Value::as_str))
        .map(|p| lexical(&root.join(p)))
        .collect()
}

/// Reads a crate cargo only compiles as a dependency: its library and build script matter, its
/// other targets and dev-dependencies never build.
fn load_path_crate(root: &Path, dir: &Path) -> Result<LocalCrate> {
    let manifest = tables::read(&dir.join("Cargo.toml"))?;
    let package = manifest
        .get("package")
        .and_then(Value::as_table)
        .ok_or_else(|| Error::invalid("its Cargo.toml has no [package]"))?;
    if package.values().any(tables::inherits)
        || tables::dep_tables(&manifest, Kinds::NoDev)
            .iter()
            .flat_map(|t| t.values())
            .any(tables::inherits)
    {
        return Err(Error::invalid(
            "it inherits `workspace = true` fields from a workspace strata does not read; make it \
             a member of this workspace or spell the fields out",
        ));
    }
    let name = package
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::invalid("package.name is missing"))?
        .to_string();
    let version = package
        .get("version")
        .and_then(Value::as_str)
        .unwrap_or("0.0.0")
        .to_string();
    let mut path_deps = Vec::new();
    for table in tables::dep_tables(&manifest, Kinds::NoDev) {
        for entry in table.values() {
            if let Some(p) = entry.get("path").and_then(Value::as_str) {
                path_deps.push(lexical(&dir.join(p)));
            }
        }
    }
    let targets = path_crate_targets(&manifest, package, &name, dir)?;
    Ok(LocalCrate {
        name,
        version,
        relative_dir: relative(root, dir),
        dir: dir.to_path_buf(),
        manifest,
        targets,
        member: false,
        patched: false,
        path_deps,
    })
}

/// The library (cargo's defaults: `src/lib.rs`, the package name with `_`) and build script
/// (`package.build`, else `build.rs` when present) of a non-member crate.
fn path_crate_targets(
    manifest: &Table,
    package: &Table,
    name: &str,
    dir: &Path,
) -> Result<Vec<TargetSpec>> {
    let lib = manifest.get("lib");
    let lib_path = lib.and_then(|l| l.get("path")).and_then(Value::as_str);
    if lib_path.is_none() && !dir.join("src/lib.rs").is_file() {
        return Err(Error::invalid(
            "it has no library target, so nothing can depend on it",
        ));
    }
    let field =
        |k: &str| lib.and_then(|l| l.get(k).or_else(|| l.get(k.replace('-', "_").as_str())));
    let is_proc_macro = field("proc-macro").and_then(Value::as_bool) == Some(true);
    let crate_types = match field("crate-type").and_then(Value::as_array) {
        Some(types) => types
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        None if is_proc_macro => vec!["proc-macro".to_string()],
        None => vec!["lib".to_string()],
    };
    let mut targets = vec![TargetSpec {
        kind: TargetKind::Lib { is_proc_macro },
        name: field("name")
            .and_then(Value::as_str)
            .map_or_else(|| name.replace('-', "_"), str::to_string),
        path: lib_path.unwrap_or("src/lib.rs").to_string(),
        crate_types,
        test: None,
    }];
    let build = match package.get("build") {
        None => dir
            .join("build.rs")
            .is_file()
            .then(|| "build.rs".to_string()),
        Some(Value::Boolean(false)) => None,
        Some(Value::Boolean(true)) => Some("build.rs".to_string()),
        Some(Value::String(path)) => Some(path.clone()),
        Some(other) => {
            return Err(Error::invalid(format!(
                "package.build = {other} is not supported"
            )))
        }
    };
    targets.extend(build.map(|path| TargetSpec {
        kind: TargetKind::BuildScript,
        name: "build-script-build".to_string(),
        path,
        crate_types: vec!["bin".to_string()],
        test: None,
    }));
    Ok(targets)
}

/// Resolves `.` and `..` without touching the file system (symlinks are kept as written, the way
/// cargo joins path dependencies).
pub fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `to` relative to `from` (both absolute and lexical), `/`-separated, with `..` where `to` lies
/// outside `from`; `""` when they are equal.
pub fn relative(from: &Path, to: &Path) -> String {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let ups = std::iter::repeat_n("..".to_string(), from.len() - common);
    let downs = to[common..]
        .iter()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    ups.chain(downs).collect::<Vec<_>>().join("/")
}
