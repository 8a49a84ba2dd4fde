//! `strata fingerprint` for Python: `deps-<16 hex>` naming a locked dependency set as installed
//! for one interpreter and platform, to tag dependency images or key a cached virtualenv.
//!
//! What it hashes: a scheme tag, the interpreter tag, the platform, and one canonical line per
//! package (name, extras, version or specifier, pinned or not, marker, source, artifact hashes),
//! sorted. So the order of entries, comments and formatting never matter, and neither does the
//! project's own version (the project is not in the set). A changed pin, an added or removed
//! package, a changed marker, extra, index or source, another interpreter or platform, change it.
//!
//! Artifact hashes are part of it on purpose: when a release's files change (a wheel added for a
//! new platform, or a file re-published under the same version, which some private indexes
//! allow) the lockfile's hashes change, and what gets installed may too. Unpinned requirements
//! contribute their specifier only, so a new upstream release cannot change the fingerprint:
//! such sets are reported ([`LockedSet::unpinned`](crate::python::LockedSet::unpinned)).

use sha2::{Digest, Sha256};

use crate::python::env::PythonEnv;
use crate::python::{LockedPackage, LockedSet};

/// Bumped if the hashed form ever changes, so old and new fingerprints never collide (and never
/// collide with Cargo's `strata-recipe-v1`).
const SCHEME: &str = "strata-python-v1\n";

/// `deps-` and the first 16 hex digits of the SHA-256 of the set's canonical form for `env`.
pub fn python_fingerprint(set: &LockedSet, env: &PythonEnv) -> String {
    let mut lines: Vec<String> = set
        .packages
        .iter()
        .map(|p| line("package", p))
        .chain(set.constraints.iter().map(|p| line("constraint", p)))
        .collect();
    lines.sort();
    let mut hasher = Sha256::new();
    hasher.update(SCHEME.as_bytes());
    hasher.update(format!("python\t{}\n", env.abi.as_deref().unwrap_or("unspecified")).as_bytes());
    hasher.update(format!("platform\t{}\n", env.platform).as_bytes());
    for line in &lines {
        hasher.update(line.as_bytes());
    }
    format!("deps-{}", &hex::encode(hasher.finalize())[..16])
}

/// One tab-separated line per row; fields never hold tabs or newlines once normalized.
fn line(kind: &str, p: &LockedPackage) -> String {
    format!(
        "{kind}\t{}\t[{}]\t{}\t{}\t{}\t{}\t{}\n",
        p.name,
        p.extras.join(","),
        p.version,
        if p.pinned { "pinned" } else { "unpinned" },
        p.marker.as_deref().unwrap_or(""),
        p.source.as_deref().unwrap_or(""),
        p.hashes.join(","),
    )
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::python::Format;

    fn package(name: &str, version: &str) -> LockedPackage {
        LockedPackage {
            name: name.into(),
            version: version.into(),
            pinned: true,
            extras: vec![],
            marker: None,
            hashes: vec!["sha256:00".into()],
            source: None,
        }
    }

    fn set(packages: Vec<LockedPackage>) -> LockedSet {
        LockedSet::new(Format::Uv, PathBuf::from("uv.lock"), packages, vec![])
    }

    fn env(abi: &str, platform: &str) -> PythonEnv {
        PythonEnv {
            abi: Some(abi.into()),
            platform: platform.into(),
        }
    }

    #[test]
    fn every_field_and_the_environment_count() {
        let base = vec![package("a", "1.0"), package("b", "2.0")];
        let linux = env("cp311", "linux/amd64");
        let first = python_fingerprint(&set(base.clone()), &linux);
        assert!(first.len() == 21 && first.starts_with("deps-"), "{first}");
        let reversed: Vec<LockedPackage> = base.iter().rev().cloned().collect();
        assert_eq!(python_fingerprint(&set(reversed), &linux), first);

        let mut variants: Vec<Vec<LockedPackage>> = Vec::new();
        for change in 0..6 {
            let mut changed = base.clone();
            let p = &mut changed[0];
            match change {
                0 => p.version = "1.1".into(),
                1 => p.pinned = false,
                2 => p.extras = vec!["x".into()],
                3 => p.marker = Some("os_name == \"nt\"".into()),
                4 => p.source = Some("https://mirror/simple".into()),
                _ => p.hashes.push("sha256:11".into()),
            }
            variants.push(changed);
        }
        for changed in variants {
            assert_ne!(
                python_fingerprint(&set(changed.clone()), &linux),
                first,
                "{changed:?}"
            );
        }
        assert_ne!(
            python_fingerprint(&set(base.clone()), &env("cp312", "linux/amd64")),
            first
        );
        assert_ne!(
            python_fingerprint(&set(base.clone()), &env("cp311", "linux/arm64")),
            first
        );
        let unknown = PythonEnv {
            abi: None,
            platform: "linux/amd64".into(),
        };
        assert_ne!(python_fingerprint(&set(base), &unknown), first);
    }

    #[test]
    fn a_constraint_is_not_a_requirement() {
        let linux = env("cp311", "linux/amd64");
        let as_package = set(vec![package("a", "1.0")]);
        let as_constraint = LockedSet::new(
            Format::Requirements,
            PathBuf::from("requirements.txt"),
            vec![],
            vec![package("a", "1.0")],
        );
        assert_ne!(
            python_fingerprint(&as_package, &linux),
            python_fingerprint(&as_constraint, &linux)
        );
    }
}
