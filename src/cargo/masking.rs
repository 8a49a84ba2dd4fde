//! Version masking: every local crate's version becomes [`MASKED_VERSION`] — in its manifest, in
//! `[workspace.package]`, in path dependencies naming it, in its `Cargo.lock` entry, and in the
//! `"name version"` references to it inside `Cargo.lock` — so bumping a local version leaves the
//! recipe unchanged and the masked lockfile stays consistent (`cook --locked` works even when a
//! local crate shares its name with a registry crate, where cargo-chef's lockfile breaks).
//! Crates named by `[patch]`/`[replace]` keep their versions: registry crates require them.

use std::collections::BTreeSet;

use toml::{Table, Value};

use crate::cargo::lockfile::{field, Lock, PackageRef};
use crate::cargo::tables::{self, Kinds};

/// The version every local crate gets (cargo-chef's constant).
pub const MASKED_VERSION: &str = "0.0.1";

/// Masks a normalized manifest: its own `package.version` when `mask_own` (a missing version,
/// cargo's `0.0.0`, is masked too), `workspace.package.version`, and the `version` of every path
/// dependency (workspace dependencies included) on a crate in `masked`.
pub fn mask_manifest(manifest: &mut Table, masked: &BTreeSet<String>, mask_own: bool) {
    if let Some(Value::Table(package)) = manifest.get_mut("package") {
        let inherited = package.get("version").is_some_and(Value::is_table);
        if mask_own && !inherited {
            package.insert("version".to_string(), masked_value());
        }
    }
    if let Some(Value::Table(workspace)) = manifest.get_mut("workspace") {
        if let Some(Value::Table(package)) = workspace.get_mut("package") {
            if package.contains_key("version") {
                package.insert("version".to_string(), masked_value());
            }
        }
        if let Some(Value::Table(deps)) = workspace.get_mut("dependencies") {
            mask_path_deps(deps, masked);
        }
    }
    for deps in tables::dep_tables_mut(manifest, Kinds::All) {
        mask_path_deps(deps, masked);
    }
}

fn mask_path_deps(deps: &mut Table, masked: &BTreeSet<String>) {
    for (key, entry) in deps.iter_mut() {
        let local = entry.get("path").is_some() && masked.contains(tables::dep_package(key, entry));
        if let (true, Some(entry)) = (local, entry.as_table_mut()) {
            if entry.contains_key("version") {
                entry.insert("version".to_string(), masked_value());
            }
        }
    }
}

fn masked_value() -> Value {
    Value::String(MASKED_VERSION.to_string())
}

/// Masks the source-less entries of crates in `masked` and rewrites every `"name version"`
/// reference to them.
pub fn mask_lock(lock: &mut Lock, masked: &BTreeSet<String>) {
    let mut renamed: BTreeSet<(String, String)> = BTreeSet::new();
    for package in lock.packages_mut() {
        let name = field(package, "name").unwrap_or_default().to_string();
        if package.get("source").is_none() && masked.contains(&name) {
            if let Some(version) = field(package, "version") {
                renamed.insert((name, version.to_string()));
            }
            package.insert("version".to_string(), masked_value());
        }
    }
    for package in lock.packages_mut() {
        let Some(Value::Array(deps)) = package.get_mut("dependencies") else {
            continue;
        };
        for dep in deps.iter_mut() {
            let rewritten = dep.as_str().and_then(|text| {
                let r = PackageRef::parse(text);
                let version = r.version?;
                (r.source.is_none() && renamed.contains(&(r.name.to_string(), version.to_string())))
                    .then(|| format!("{} {MASKED_VERSION}", r.name))
            });
            if let Some(text) = rewritten {
                *dep = Value::String(text);
            }
        }
    }
}
