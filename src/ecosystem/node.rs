//! Node (npm, yarn, pnpm), recognized in images: a `node_modules` directory is a dependency tree,
//! its entries (`lodash`, `@babel/core`) the packages; npm's own entries (`.bin`,
//! `.package-lock.json`) belong to none.

use crate::analysis::rules::dependency_rule;
use crate::ecosystem::{Ecosystem, Identity, Tree};

/// Node.js packages.
pub struct Node;

impl Ecosystem for Node {
    fn identity(&self) -> &'static Identity {
        const IDENTITY: Identity = Identity {
            name: "node",
            title: "Node",
            lockfiles: "package-lock.json / yarn.lock / pnpm-lock.yaml",
            rule: dependency_rule("node", "Node dependencies in an app layer"),
        };
        &IDENTITY
    }

    fn dependency_tree(&self, parts: &[&str], i: usize) -> Option<Tree> {
        if parts[i] != "node_modules" {
            return None;
        }
        let first = parts[i + 1];
        // npm's own files (`.bin` links, the hidden `.package-lock.json`) and a scope's directory
        // are in the tree but in no package.
        let package = match parts.get(i + 2) {
            _ if first.starts_with('.') => None,
            Some(name) if first.starts_with('@') => Some(format!("{first}/{name}")),
            None if first.starts_with('@') => None,
            _ => Some(first.to_string()),
        };
        Some(Tree { root: i, package })
    }
}
