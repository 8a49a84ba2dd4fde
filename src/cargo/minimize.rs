//! `recipe --bin NAME` (repeatable): keep only the local crates those binaries need, so an edit to
//! an unrelated member leaves the recipe unchanged. The workspace's `members` become the kept
//! member directories, `default-members` goes, `[workspace.dependencies]` keeps the entries kept
//! members inherit, and `Cargo.lock` keeps the entries reachable from kept crates.

use std::collections::BTreeSet;
use std::path::PathBuf;

use toml::{Table, Value};

use crate::cargo::lockfile::Lock;
use crate::cargo::recipe::TargetKind;
use crate::cargo::tables::{self, Kinds};
use crate::cargo::workspace::{LocalCrate, Workspace};
use crate::error::{Error, Result};

/// Directories of the crates to keep: with no names, all of them; otherwise the members named
/// (by package name, else by binary name), the root package, `[patch]` crates, and every local
/// crate they reach through path dependencies of any kind (cargo reads them all).
pub fn select(ws: &Workspace, names: &[String]) -> Result<BTreeSet<PathBuf>> {
    if names.is_empty() {
        return Ok(ws.crates.iter().map(|c| c.dir.clone()).collect());
    }
    let mut roots: Vec<PathBuf> = ws
        .crates
        .iter()
        .filter(|c| c.patched || (c.member && c.relative_dir.is_empty()))
        .map(|c| c.dir.clone())
        .collect();
    for name in names {
        let members = || ws.crates.iter().filter(|c| c.member);
        let found = members().find(|c| &c.name == name).or_else(|| {
            members().find(|c| {
                c.targets
                    .iter()
                    .any(|t| t.kind == TargetKind::Bin && &t.name == name)
            })
        });
        match found {
            Some(c) => roots.push(c.dir.clone()),
            None => {
                return Err(Error::usage(format!(
                    "--bin {name}: no workspace member or binary has that name (binaries: {})",
                    binary_names(ws)
                )))
            }
        }
    }
    let mut kept = BTreeSet::new();
    while let Some(dir) = roots.pop() {
        if let (true, Some(c)) = (
            kept.insert(dir.clone()),
            ws.crates.iter().find(|c| c.dir == dir),
        ) {
            roots.extend(c.path_deps.iter().cloned());
        }
    }
    Ok(kept)
}

fn binary_names(ws: &Workspace) -> String {
    let names: BTreeSet<&str> = ws
        .crates
        .iter()
        .filter(|c| c.member)
        .flat_map(|c| c.targets.iter())
        .filter(|t| t.kind == TargetKind::Bin)
        .map(|t| t.name.as_str())
        .collect();
    names.into_iter().collect::<Vec<_>>().join(", ")
}

/// Trims the normalized root manifest to the kept crates.
pub fn trim_root(root: &mut Table, kept: &[&LocalCrate]) {
    let Some(Value::Table(workspace)) = root.get_mut("workspace") else {
        return;
    };
    if workspace.contains_key("members") {
        let dirs: BTreeSet<&str> = kept
            .iter()
            .filter(|c| c.member && !c.relative_dir.is_empty())
            .map(|c| c.relative_dir.as_str())
            .collect();
        let members = dirs
            .into_iter()
            .map(|d| Value::String(d.to_string()))
            .collect();
        workspace.insert("members".to_string(), Value::Array(members));
    }
    workspace.remove("default-members");
    let inherited: BTreeSet<&str> = kept
        .iter()
        .flat_map(|c| tables::dep_tables(&c.manifest, Kinds::All))
        .flat_map(|t| t.iter())
        .filter(|(_, entry)| tables::inherits(entry))
        .map(|(key, _)| key.as_str())
        .collect();
    if let Some(Value::Table(deps)) = workspace.get_mut("dependencies") {
        deps.retain(|key, _| inherited.contains(key));
        if deps.is_empty() {
            workspace.remove("dependencies");
        }
    }
}

/// Keeps the lock entries reachable from the kept crates' own entries.
pub fn trim_lock(lock: &mut Lock, kept: &[&LocalCrate]) {
    let keep = {
        let index = lock.index();
        index.closure(kept.iter().filter_map(|c| index.local(&c.name, &c.version)))
    };
    lock.retain(&keep);
}
