//! Third-party dependencies found in a layer: the trees every ecosystem of the registry
//! recognizes ([`Ecosystem::dependency_tree`]: Python virtualenvs and site-packages,
//! `node_modules`, Rust `target/` and `.cargo/registry`, Maven `.m2` and `lib/*.jar`, Go
//! `pkg/mod`). For each root: bytes, files, and bytes per package where the layout names packages.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::analysis::roles::OwnPackages;
use crate::ecosystem::{self, Ecosystem};
use crate::layer::walk::{Entry, EntryKind};

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
    pub ecosystem: &'static dyn Ecosystem,
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

/// Where a path sits in an ecosystem: the root directory and the package, if one is named. The
/// first component that starts a tree decides, each ecosystem asked in registry order.
pub(crate) fn classify(path: &str) -> Option<(&'static dyn Ecosystem, String, Option<String>)> {
    let parts: Vec<&str> = path.split('/').collect();
    (0..parts.len().saturating_sub(1)).find_map(|i| {
        ecosystem::all().iter().find_map(|eco| {
            let tree = eco.dependency_tree(&parts, i)?;
            Some((*eco, parts[..=tree.root].join("/"), tree.package))
        })
    })
}

/// Finds the dependency roots in one layer's entries, largest first; the files of the image's own
/// project (`own`, installed into its virtualenv) are code, not dependencies.
pub fn find_dependencies(entries: &[Entry], own: &OwnPackages) -> Vec<DependencyRoot> {
    #[derive(Default)]
    struct Acc {
        bytes: u64,
        files: u64,
        packages: HashMap<String, u64>,
        members: Vec<usize>,
    }
    let mut roots: BTreeMap<(&'static str, String), (&'static dyn Ecosystem, Acc)> =
        BTreeMap::new();
    for (index, e) in entries.iter().enumerate() {
        if e.kind != EntryKind::File {
            continue;
        }
        if let Some((eco, root, package)) = classify(&e.path) {
            if package.as_deref().is_some_and(|p| own.contains(eco, p)) {
                continue;
            }
            let (_, acc) = roots
                .entry((eco.name(), root))
                .or_insert_with(|| (eco, Acc::default()));
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
        .map(|((_, path), (ecosystem, acc))| {
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
    use crate::analysis::rules;

    #[test]
    fn every_registered_ecosystem_has_a_dependency_rule() {
        for e in ecosystem::all() {
            assert_eq!(e.rule().id, e.name());
            assert_eq!(rules::by_id(e.name()), Some(e.rule()));
        }
    }

    fn f(path: &str, size: u64) -> Entry {
        Entry::test_file(path, size)
    }

    fn found(entries: &[Entry]) -> Vec<DependencyRoot> {
        find_dependencies(entries, &OwnPackages::default())
    }

    #[test]
    fn the_projects_own_package_is_not_a_dependency() {
        let sp = "app/.venv/lib/python3.12/site-packages";
        let entries = [
            f(&format!("{sp}/six.py"), 30),
            f(&format!("{sp}/hello/__init__.py"), 5),
            f(&format!("{sp}/hello-0.1.0.dist-info/RECORD"), 1),
            f(&format!("{sp}/__editable__.hello-0.1.0.pth"), 1),
        ];
        let own = OwnPackages::of(&[(&crate::ecosystem::python::Python, "hello")]);
        let deps = find_dependencies(&entries, &own);
        assert_eq!((deps[0].bytes, deps[0].files), (30, 1));
        assert_eq!(deps[0].packages.len(), 1);
        let only_own = find_dependencies(&entries[1..], &own);
        assert!(only_own.is_empty());
    }

    #[test]
    fn python_venv_with_packages() {
        let deps = found(&[
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

    /// The package `classify` puts `path` in, if any.
    fn package_of(path: &str) -> Option<String> {
        classify(path).and_then(|(_, _, package)| package)
    }

    #[test]
    fn npm_and_cargo_bookkeeping_is_in_no_package() {
        let nm = "app/node_modules";
        assert_eq!(
            package_of(&format!("{nm}/lodash")).as_deref(),
            Some("lodash")
        );
        assert_eq!(
            package_of(&format!("{nm}/@types/ms/index.d.ts")).as_deref(),
            Some("@types/ms")
        );
        assert_eq!(
            package_of(&format!("{nm}/a/node_modules/b/x.js")).as_deref(),
            Some("a")
        );
        for none in [".bin/semver", ".package-lock.json", "@types"] {
            let path = format!("{nm}/{none}");
            assert!(classify(&path).is_some(), "{path} is in the tree");
            assert_eq!(package_of(&path), None, "{path}");
        }
        assert_eq!(
            package_of("app/target/release/hello").as_deref(),
            Some("release")
        );
        assert_eq!(package_of("app/target/debug").as_deref(), Some("debug"));
        for none in ["app/target/CACHEDIR.TAG", "app/target/.rustc_info.json"] {
            assert!(classify(none).is_some(), "{none} is in the tree");
            assert_eq!(package_of(none), None, "{none}");
        }
    }

    #[test]
    fn node_rust_go_java() {
        let deps = found(&[
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
                    d.ecosystem.name(),
                    d.path.as_str(),
                    d.packages.first().map(|p| p.name.as_str()),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("java", "/app/lib", Some("guava-33.jar")),
                ("rust", "/build/target", Some("release")),
                ("node", "/srv/node_modules", Some("lodash")),
                ("go", "/go/pkg/mod", Some("github.com/pkg/errors@v0.9.1")),
                ("rust", "/root/.cargo/registry", Some("serde")),
            ]
        );
    }
}
