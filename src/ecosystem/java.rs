//! Java (Maven, Gradle), recognized in images: a Maven repository (`.m2/repository`, packages
//! `group/artifact`) and an application's `lib/*.jar` (outside `/usr`) are dependency trees.

use crate::analysis::rules::dependency_rule;
use crate::ecosystem::{Ecosystem, Identity, Tree};

/// Java jars.
pub struct Java;

impl Ecosystem for Java {
    fn identity(&self) -> &'static Identity {
        const IDENTITY: Identity = Identity {
            name: "java",
            title: "Java",
            lockfiles: "pom.xml / gradle.lockfile",
            rule: dependency_rule("java", "Java dependencies in an app layer"),
        };
        &IDENTITY
    }

    fn dependency_tree(&self, parts: &[&str], i: usize) -> Option<Tree> {
        match parts[i] {
            ".m2" if parts.get(i + 1) == Some(&"repository") => {
                let package = match (parts.get(i + 2), parts.get(i + 3)) {
                    (Some(g), Some(a)) if i + 4 < parts.len() => Some(format!("{g}/{a}")),
                    _ => None,
                };
                Some(Tree {
                    root: i + 1,
                    package,
                })
            }
            "lib"
                if i + 2 == parts.len()
                    && parts[i + 1].ends_with(".jar")
                    && parts.first() != Some(&"usr") =>
            {
                Some(Tree {
                    root: i,
                    package: Some(parts[i + 1].to_string()),
                })
            }
            _ => None,
        }
    }
}
