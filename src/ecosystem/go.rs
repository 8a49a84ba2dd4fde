//! Go, recognized in images: the module cache (`pkg/mod`) is a dependency tree, its
//! `module@version` directories the packages.

use crate::analysis::rules::dependency_rule;
use crate::ecosystem::{Ecosystem, Identity, Tree};

/// Go modules.
pub struct Go;

impl Ecosystem for Go {
    fn identity(&self) -> &'static Identity {
        const IDENTITY: Identity = Identity {
            name: "go",
            title: "Go",
            lockfiles: "go.sum",
            rule: dependency_rule("go", "Go dependencies in an app layer"),
        };
        &IDENTITY
    }

    fn dependency_tree(&self, parts: &[&str], i: usize) -> Option<Tree> {
        if parts[i] != "mod" || i == 0 || parts[i - 1] != "pkg" {
            return None;
        }
        let module_end = parts[i + 1..].iter().position(|p| p.contains('@'));
        Some(Tree {
            root: i,
            package: module_end.map(|end| parts[i + 1..=i + 1 + end].join("/")),
        })
    }
}
