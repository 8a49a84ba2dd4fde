//! Rust: a Cargo project. strata builds and packages its binary ([`preset`]), fingerprints its
//! dependency recipe (the workspace reading lives in [`crate::cargo`]), writes its Dockerfiles
//! ([`dockerfile`]), and recognizes cargo's registry and `target/` trees in any image.

pub mod dockerfile;
pub mod preset;
pub mod strip;

use std::path::Path;

use crate::analysis::rules::dependency_rule;
use crate::cargo::fingerprint::fingerprint;
use crate::cargo::prepare::{prepare, PrepareOptions};
use crate::ecosystem::{Ecosystem, Fingerprint, Identity, PresetSpec, ProjectSupport, Tree};
use crate::error::Result;
use crate::generate::{Dockerfiles, Options, Project};
pub use preset::RustPreset;

/// Cargo projects and their build trees.
pub struct Rust;

impl Ecosystem for Rust {
    fn identity(&self) -> &'static Identity {
        const IDENTITY: Identity = Identity {
            name: "rust",
            title: "Rust",
            lockfiles: "Cargo.lock",
            rule: dependency_rule("rust", "Rust dependencies in an app layer"),
        };
        &IDENTITY
    }

    /// cargo's registry (`.cargo/registry/{src,cache}/<index>/<crate-version>`, packages by
    /// crate) and a `target/` directory (by profile; `CACHEDIR.TAG` and `.rustc_info.json` in
    /// none).
    fn dependency_tree(&self, parts: &[&str], i: usize) -> Option<Tree> {
        match parts[i] {
            ".cargo" if parts.get(i + 1) == Some(&"registry") => Some(Tree {
                root: i + 1,
                package: parts.get(i + 4).map(|c| crate_name(c)),
            }),
            "target"
                if matches!(
                    parts.get(i + 1),
                    Some(&"release" | &"debug" | &"CACHEDIR.TAG" | &".rustc_info.json")
                ) =>
            {
                Some(Tree {
                    root: i,
                    // A profile's outputs; cargo's marker files beside them are in no package.
                    package: parts
                        .get(i + 1)
                        .filter(|p| matches!(**p, "release" | "debug"))
                        .map(|s| s.to_string()),
                })
            }
            _ => None,
        }
    }

    fn project(&self) -> Option<&dyn ProjectSupport> {
        Some(self)
    }
}

impl ProjectSupport for Rust {
    fn markers(&self) -> &'static [&'static str] {
        &["Cargo.toml"]
    }

    fn preset(&self) -> PresetSpec {
        PresetSpec::Rust(RustPreset::default())
    }

    /// The recipe of the workspace containing `root`, all of its binaries.
    fn fingerprint(&self, root: &Path) -> Result<Fingerprint> {
        Ok(Fingerprint {
            hash: fingerprint(&prepare(root, &PrepareOptions::default())?)?,
            notes: Vec::new(),
        })
    }

    fn read_project(&self, root: &Path) -> Result<Project> {
        dockerfile::read_project(root)
    }

    fn dockerfiles(&self, project: &Project, options: &Options) -> Result<Dockerfiles> {
        Ok(dockerfile::dockerfiles(project, options))
    }

    fn has_builder(&self) -> bool {
        true
    }
}

/// `serde-1.0.200` or `serde-1.0.200.crate` → `serde`.
fn crate_name(dir: &str) -> String {
    let dir = dir.strip_suffix(".crate").unwrap_or(dir);
    match dir.rfind('-') {
        Some(i) if dir[i + 1..].starts_with(|c: char| c.is_ascii_digit()) => dir[..i].to_string(),
        _ => dir.to_string(),
    }
}
