//! Node (npm, yarn, pnpm), recognized in images: a `node_modules` directory is a dependency tree,
//! its entries (`lodash`, `@babel/core`) the packages.

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
        let scope = parts[i + 1];
        let package = match parts.get(i + 2) {
            Some(name) if scope.starts_with('@') => format!("{scope}/{name}"),
            _ => scope.to_string(),
        };
        Some(Tree {
            root: i,
            package: Some(package),
        })
    }
}
