//! Third-party dependencies found in a layer: Python virtualenvs and site-packages, `node_modules`,
//! Rust `target/` and `.cargo/registry`, Maven `.m2` and `lib/*.jar`, Go `pkg/mod`. For each root:
//! bytes, files, and bytes per package where the layout names packages.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::analysis::rules::{self, Rule};
use crate::layer::walk::{Entry, EntryKind};

/// A package ecosystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    /// pip / uv / poetry environments.
    Python,
    /// npm / yarn / pnpm.
    Node,
    /// cargo.
    Rust,
    /// Maven / Gradle jars.
    Java,
    /// Go modules.
    Go,
}

impl Ecosystem {
    /// Every ecosystem strata recognizes.
    pub const ALL: [Ecosystem; 5] = [
        Ecosystem::Python,
        Ecosystem::Node,
        Ecosystem::Rust,
        Ecosystem::Java,
        Ecosystem::Go,
    ];

    /// The rule of its findings (`python`, `node`, ...).
    pub fn rule(self) -> &'static Rule {
        match self {
            Ecosystem::Python => &rules::PYTHON,
            Ecosystem::Node => &rules::NODE,
            Ecosystem::Rust => &rules::RUST,
            Ecosystem::Java => &rules::JAVA,
            Ecosystem::Go => &rules::GO,
        }
    }

    /// The lockfiles that should key a dependency layer of this ecosystem.
    pub fn lockfiles(self) -> &'static str {
        match self {
            Ecosystem::Python => "uv.lock / poetry.lock / requirements.txt",
            Ecosystem::Node => "package-lock.json / yarn.lock / pnpm-lock.yaml",
            Ecosystem::Rust => "Cargo.lock",
            Ecosystem::Java => "pom.xml / gradle.lockfile",
            Ecosystem::Go => "go.sum",
        }
    }
}

/// A package and its bytes inside a dependency root.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PackageBytes {
    /// Normalized package name (`numpy`, `@babel/core`, `serde`).
    pub name: String,
    /// Bytes of its files.
    pub bytes: u64,
}

/// A dependency directory in one layer.
#[derive(Debug, Clone, Serialize)]
pub struct DependencyRoot {
    /// The ecosystem.
    pub ecosystem: Ecosystem,
    /// The rooted directory (`/app/.venv`).
    pub path: String,
    /// Bytes of regular files below it in this layer.
    pub bytes: u64,
    /// Regular files below it in this layer.
    pub files: u64,
    /// Packages by bytes, largest first.
    pub packages: Vec<PackageBytes>,
    /// Indices of its files in the layer's entries.
    #[serde(skip)]
    pub members: Vec<usize>,
}

/// Where a path sits in an ecosystem: the root directory and the package, if one is named.
fn classify(path: &str) -> Option<(Ecosystem, String, Option<String>)> {
    let parts: Vec<&str> = path.split('/').collect();
    let root = |i: usize| parts[..=i].join("/");
    for (i, part) in parts.iter().enumerate().take(parts.len().saturating_sub(1)) {
        match *part {
            "site-packages" | "dist-packages" => {
                let venv = parts[..i]
                    .iter()
                    .rposition(|p| *p == ".venv" || *p == "venv")
                    .map(root);
                let package = python_distribution(parts[i + 1]);
                return Some((
                    Ecosystem::Python,
                    venv.unwrap_or_else(|| root(i)),
                    Some(package),
                ));
            }
            "node_modules" => {
                let scope = parts[i + 1];
                let package = match parts.get(i + 2) {
                    Some(name) if scope.starts_with('@') => format!("{scope}/{name}"),
                    _ => scope.to_string(),
                };
                return Some((Ecosystem::Node, root(i), Some(package)));
            }
            ".cargo" if parts.get(i + 1) == Some(&"registry") => {
                // registry/{src,cache}/<index>/<crate-version>[.crate]
                let package = parts.get(i + 4).map(|c| crate_name(c));
                return Some((Ecosystem::Rust, root(i + 1), package));
            }
            "target"
                if matches!(
                    parts.get(i + 1),
                    Some(&"release")
                        | Some(&"debug")
                        | Some(&"CACHEDIR.TAG")
                        | Some(&".rustc_info.json")
                ) =>
            {
                return Some((
                    Ecosystem::Rust,
                    root(i),
                    parts.get(i + 1).map(|s| s.to_string()),
                ));
            }
            ".m2" if parts.get(i + 1) == Some(&"repository") => {
                let package = match (parts.get(i + 2), parts.get(i + 3)) {
                    (Some(g), Some(a)) if i + 4 < parts.len() => Some(format!("{g}/{a}")),
                    _ => None,
                };
                return Some((Ecosystem::Java, root(i + 1), package));
            }
            "mod" if i > 0 && parts[i - 1] == "pkg" => {
                let module_end = parts[i + 1..].iter().position(|p| p.contains('@'));
                let package = module_end.map(|end| parts[i + 1..=i + 1 + end].join("/"));
                return Some((Ecosystem::Go, root(i), package));
            }
            "lib"
                if i + 2 == parts.len()
                    && parts[i + 1].ends_with(".jar")
                    && parts.first() != Some(&"usr") =>
            {
                return Some((Ecosystem::Java, root(i), Some(parts[i + 1].to_string())));
            }
            _ => {}
        }
    }
    None
}

/// `numpy-1.26.4.dist-info` → `numpy`, `numpy.libs` → `numpy`, `Foo_Bar` → `foo-bar`, `six.py` → `six`.
fn python_distribution(name: &str) -> String {
    let base = name
        .strip_suffix(".dist-info")
        .or_else(|| name.strip_suffix(".egg-info"))
        .or_else(|| name.strip_suffix(".data"))
        .map(|n| n.split('-').next().unwrap_or(n))
        .or_else(|| name.strip_suffix(".libs"))
        .or_else(|| name.strip_suffix(".py"))
        .or_else(|| name.split_once(".cpython-").map(|(n, _)| n))
        .unwrap_or(name);
    base.to_ascii_lowercase().replace(['_', '.'], "-")
}

/// `serde-1.0.200` or `serde-1.0.200.crate` → `serde`.
fn crate_name(dir: &str) -> String {
    let dir = dir.strip_suffix(".crate").unwrap_or(dir);
    match dir.rfind('-') {
        Some(i) if dir[i + 1..].starts_with(|c: char| c.is_ascii_digit()) => dir[..i].to_string(),
        _ => dir.to_string(),
    }
}

/// Finds the dependency roots in one layer's entries, largest first.
pub fn find_dependencies(entries: &[Entry]) -> Vec<DependencyRoot> {
    #[derive(Default)]
    struct Acc {
        bytes: u64,
        files: u64,
        packages: HashMap<String, u64>,
        members: Vec<usize>,
    }
    let mut roots: BTreeMap<(Ecosystem, String), Acc> = BTreeMap::new();
    for (index, e) in entries.iter().enumerate() {
        if e.kind != EntryKind::File {
            continue;
        }
        if let Some((eco, root, package)) = classify(&e.path) {
            let acc = roots.entry((eco, root)).or_default();
            acc.bytes += e.size;
            acc.files += 1;
            acc.members.push(index);
            if let Some(p) = package {
                *acc.packages.entry(p).or_default() += e.size;
            }
        }
    }
    let mut out: Vec<DependencyRoot> = roots
        .into_iter()
        .map(|((ecosystem, path), acc)| {
            let mut packages: Vec<PackageBytes> = acc
                .packages
                .into_iter()
                .map(|(name, bytes)| PackageBytes { name, bytes })
                .collect();
            packages.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
            DependencyRoot {
                ecosystem,
                path: format!("/{path}"),
                bytes: acc.bytes,
                files: acc.files,
                packages,
                members: acc.members,
            }
        })
        .collect();
    out.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(path: &str, size: u64) -> Entry {
        Entry::test_file(path, size)
    }

    #[test]
    fn python_venv_with_packages() {
        let deps = find_dependencies(&[
            f(
                "app/.venv/lib/python3.11/site-packages/numpy/core/_multiarray.so",
                100,
            ),
            f(
                "app/.venv/lib/python3.11/site-packages/numpy.libs/libopenblas.so",
                50,
            ),
            f(
                "app/.venv/lib/python3.11/site-packages/numpy-2.0.0.dist-info/RECORD",
                1,
            ),
            f(
                "app/.venv/lib/python3.11/site-packages/Flask_Login-0.6.dist-info/RECORD",
                2,
            ),
            f("app/.venv/lib/python3.11/site-packages/six.py", 3),
            f("app/main.py", 9),
        ]);
        assert_eq!(deps.len(), 1);
        assert_eq!(
            (deps[0].path.as_str(), deps[0].bytes, deps[0].files),
            ("/app/.venv", 156, 5)
        );
        let names: Vec<_> = deps[0]
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.bytes))
            .collect();
        assert_eq!(names, vec![("numpy", 151), ("six", 3), ("flask-login", 2)]);
    }

    #[test]
    fn node_rust_go_java() {
        let deps = find_dependencies(&[
            f("srv/node_modules/@babel/core/index.js", 10),
            f("srv/node_modules/lodash/lodash.js", 20),
            f("build/target/release/deps/libserde-abc.rlib", 30),
            f(
                "root/.cargo/registry/src/index.crates.io-1/serde-1.0.200/src/lib.rs",
                5,
            ),
            f("go/pkg/mod/github.com/pkg/errors@v0.9.1/errors.go", 7),
            f("app/lib/guava-33.jar", 40),
            f("usr/lib/os-release", 1),
        ]);
        let summary: Vec<_> = deps
            .iter()
            .map(|d| {
                (
                    d.ecosystem,
                    d.path.as_str(),
                    d.packages.first().map(|p| p.name.as_str()),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (Ecosystem::Java, "/app/lib", Some("guava-33.jar")),
                (Ecosystem::Rust, "/build/target", Some("release")),
                (Ecosystem::Node, "/srv/node_modules", Some("lodash")),
                (
                    Ecosystem::Go,
                    "/go/pkg/mod",
                    Some("github.com/pkg/errors@v0.9.1")
                ),
                (Ecosystem::Rust, "/root/.cargo/registry", Some("serde")),
            ]
        );
    }
}
