//! After cooking, remove every trace of the local stub units — outputs *and* fingerprints of
//! libraries, binaries, tests, benches, examples and build scripts (compiled and run) — so the
//! real sources always rebuild, even when they arrive with old modification times (cargo-chef
//! #212: it deletes only library and build-script outputs, so a stub binary can survive).
//!
//! Where to look comes from the paths cargo reported for this build, so `--target`,
//! `--target-dir`, custom profiles, `build.target`/`build.target-dir` in `.cargo/config.toml` and
//! custom target JSON files are all honoured. Entries are matched by local package and crate
//! name plus cargo's 16-hex-digit unit hash; a unit hash cargo reported for a registry or git
//! package is never deleted, so a registry crate sharing a local crate's name keeps its outputs.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::cargo::invoke::Artifact;
use crate::error::{Error, Result};

/// The local crates of a cooked skeleton.
#[derive(Debug, Default, Clone)]
pub struct LocalUnits {
    /// Canonical paths of the skeleton's manifests: a unit is local when its package's manifest
    /// is one of them.
    pub manifests: BTreeSet<PathBuf>,
    /// Package names (fingerprint and build-script directories are named after them).
    pub packages: BTreeSet<String>,
    /// Crate names of every target (`-` turned into `_`), build scripts included.
    pub crates: BTreeSet<String>,
}

/// Removes the local units' outputs and fingerprints; returns how many entries went.
pub fn remove(units: &LocalUnits, artifacts: &[Artifact]) -> Result<usize> {
    let mut canonical: HashMap<PathBuf, Option<PathBuf>> = HashMap::new();
    let mut is_local_manifest = |path: &Path| {
        let hit = canonical
            .entry(path.to_path_buf())
            .or_insert_with(|| std::fs::canonicalize(path).ok());
        hit.as_ref().is_some_and(|p| units.manifests.contains(p))
    };
    let local_ids: BTreeSet<&str> = artifacts
        .iter()
        .filter(|a| {
            a.manifest_path
                .as_deref()
                .is_some_and(&mut is_local_manifest)
        })
        .map(|a| a.package_id.as_str())
        .collect();
    let (local, foreign): (Vec<&Artifact>, Vec<&Artifact>) = artifacts
        .iter()
        .partition(|a| local_ids.contains(a.package_id.as_str()));
    let foreign_hashes: BTreeSet<&str> = foreign
        .iter()
        .flat_map(|a| &a.paths)
        .flat_map(|p| [p.file_name(), p.parent().and_then(Path::file_name)])
        .flatten()
        .filter_map(|n| n.to_str())
        .filter_map(|n| split_hash(n).map(|(_, h)| h))
        .collect();
    let profile_dirs: BTreeSet<PathBuf> = artifacts
        .iter()
        .flat_map(|a| &a.paths)
        .filter_map(|p| profile_dir(p))
        .collect();

    let mut removed = 0;
    for artifact in &local {
        for path in &artifact.paths {
            removed += remove_path(path)?;
            removed += remove_path(&path.with_extension("d"))?;
        }
    }
    let by_package = |name: &str| match split_hash(name) {
        Some((prefix, hash)) => units.packages.contains(prefix) && !foreign_hashes.contains(hash),
        None => false,
    };
    let by_crate = |name: &str| match split_hash(name) {
        Some((prefix, hash)) => {
            let krate = prefix
                .strip_prefix("lib")
                .filter(|c| units.crates.contains(*c));
            (units.crates.contains(prefix) || krate.is_some()) && !foreign_hashes.contains(hash)
        }
        None => false,
    };
    let incremental = |name: &str| {
        name.rsplit_once('-')
            .is_some_and(|(krate, _)| units.crates.contains(krate))
    };
    let rules: [(&str, &Matcher); 5] = [
        (".fingerprint", &by_package),
        ("build", &by_package),
        ("deps", &by_crate),
        ("examples", &by_crate),
        ("incremental", &incremental),
    ];
    for dir in &profile_dirs {
        for (sub, matches) in rules {
            removed += remove_matching(&dir.join(sub), matches)?;
        }
    }
    Ok(removed)
}

/// Decides from an entry's name whether it belongs to a local unit.
type Matcher<'a> = dyn Fn(&str) -> bool + 'a;

/// The profile directory (`target/debug`, `target/<triple>/release`, ...) holding an output:
/// the parent of `deps/` or `examples/`, of `build/<unit>/`, or the directory of an uplifted file.
fn profile_dir(path: &Path) -> Option<PathBuf> {
    let parent = path.parent()?;
    let parent_name = parent.file_name()?.to_str()?;
    if parent_name == "deps" || parent_name == "examples" {
        return parent.parent().map(Path::to_path_buf);
    }
    let grandparent = parent.parent()?;
    if grandparent.file_name().is_some_and(|n| n == "build") && split_hash(parent_name).is_some() {
        return grandparent.parent().map(Path::to_path_buf);
    }
    Some(parent.to_path_buf())
}

/// Splits `name-0123456789abcdef[.ext]` into the name and cargo's unit hash.
fn split_hash(entry: &str) -> Option<(&str, &str)> {
    entry.rmatch_indices('-').find_map(|(i, _)| {
        let rest = &entry[i + 1..];
        let hash = rest.get(..16)?;
        let tail = &rest[16..];
        (hash.bytes().all(|b| b.is_ascii_hexdigit()) && (tail.is_empty() || tail.starts_with('.')))
            .then(|| (&entry[..i], hash))
    })
}

fn remove_matching(dir: &Path, matches: &Matcher) -> Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::io(dir.display(), e)),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir.display(), e))?;
        if entry.file_name().to_str().is_some_and(matches) {
            removed += remove_path(&entry.path())?;
        }
    }
    Ok(removed)
}

/// Removes a file or directory tree; 1 if something was there.
fn remove_path(path: &Path) -> Result<usize> {
    let result = match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => Err(e),
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
    };
    result.map(|_| 1).map_err(|e| Error::io(path.display(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_hashes_are_found_after_the_last_matching_dash() {
        assert_eq!(
            split_hash("libitoa-6c1e270c698fa6a6.rlib"),
            Some(("libitoa", "6c1e270c698fa6a6"))
        );
        assert_eq!(
            split_hash("project-a-5817d4ccb50d52c4"),
            Some(("project-a", "5817d4ccb50d52c4"))
        );
        assert_eq!(split_hash("a-2bm5n6st6ypjt"), None);
        assert_eq!(split_hash("debug"), None);
    }

    #[test]
    fn profile_dirs_of_every_output_kind() {
        let p = |s: &str| profile_dir(Path::new(s)).unwrap();
        assert_eq!(
            p("/t/debug/deps/liba-5817d4ccb50d52c4.rlib"),
            Path::new("/t/debug")
        );
        assert_eq!(p("/t/debug/examples/ex"), Path::new("/t/debug"));
        assert_eq!(
            p("/t/x86_64-unknown-linux-gnu/release/app"),
            Path::new("/t/x86_64-unknown-linux-gnu/release")
        );
        assert_eq!(
            p("/t/debug/build/a-5fcb8ec5156f834e/out"),
            Path::new("/t/debug")
        );
        assert_eq!(p("/build/debug/liba.rlib"), Path::new("/build/debug"));
    }
}
