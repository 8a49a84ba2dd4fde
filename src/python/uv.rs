//! uv's `uv.lock` (lock `version = 1`): `[[package]]` entries with `name`, `version`, a `source`
//! table, `sdist`/`wheels` with hashes, and dependency edges that carry markers and extras.
//!
//! The project itself is the entry whose source is `{ editable = "." }` or `{ virtual = "." }`,
//! or whose name is pyproject's `[project].name`; it is left out. Other workspace members stay.

use std::path::Path;

use toml::{Table, Value};

use crate::error::{Error, Result};
use crate::python::edges::{Edge, Edges};
use crate::python::toml_doc::{self, canonical, string};
use crate::python::{index_source, pep508, LockedPackage};

/// The packages of a `uv.lock`, without the project (`project`: its normalized name, if known).
pub fn parse(path: &Path, text: &str, project: Option<&str>) -> Result<Vec<LockedPackage>> {
    let doc = toml_doc::parse(path, text)?;
    toml_doc::check_version(
        path,
        "uv.lock",
        "version",
        doc.get("version").map(|v| v.to_string()),
        |v| v == "1",
        "1",
    )?;
    let entries = toml_doc::tables(&doc, "package", path)?;
    let mut edges = Edges::default();
    for (i, entry) in entries.iter().enumerate() {
        add_edges(entry, &mut edges).map_err(|what| {
            Error::invalid(format!("{}: package #{}: {what}", path.display(), i + 1))
        })?;
    }
    let mut packages = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let name = pep508::normalize_name(toml_doc::name(entry, "package", i, path)?);
        let source = entry.get("source");
        if is_project(source, &name, project) {
            continue;
        }
        let version = string(entry, "version").unwrap_or_default().to_string();
        let (marker, extras) = edges.resolve(&name, &version);
        packages.push(LockedPackage {
            pinned: !version.is_empty() || source.is_some(),
            name,
            version,
            extras,
            marker,
            hashes: hashes(entry),
            source: source.and_then(source_text),
        });
    }
    Ok(packages)
}

/// A registry source as [`index_source`] spells it; a git, URL or path source canonically.
fn source_text(source: &Value) -> Option<String> {
    match source.get("registry").and_then(Value::as_str) {
        Some(url) => index_source(url),
        None => Some(canonical(source)),
    }
}

fn is_project(source: Option<&Value>, name: &str, project: Option<&str>) -> bool {
    let at_root = source.and_then(Value::as_table).is_some_and(|s| {
        ["editable", "virtual"]
            .iter()
            .any(|k| s.get(*k).and_then(Value::as_str) == Some("."))
    });
    at_root || project == Some(name)
}

/// Records the edges of `dependencies` and of every `optional-dependencies` /
/// `dev-dependencies` group.
fn add_edges(entry: &Table, edges: &mut Edges) -> std::result::Result<(), String> {
    let mut lists: Vec<&Value> = entry.get("dependencies").into_iter().collect();
    for groups in ["optional-dependencies", "dev-dependencies"] {
        if let Some(groups) = entry.get(groups).and_then(Value::as_table) {
            lists.extend(groups.values());
        }
    }
    for list in lists {
        let items = list.as_array().ok_or("a dependency list is not an array")?;
        for item in items {
            let name = item
                .get("name")
                .and_then(Value::as_str)
                .ok_or("a dependency has no name")?;
            let extras = toml_doc::str_array(item.get("extra"));
            edges.add(
                name,
                Edge {
                    version: item
                        .get("version")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    extras: pep508::normalize_extras(extras),
                    marker: item
                        .get("marker")
                        .and_then(Value::as_str)
                        .map(pep508::normalize_marker),
                },
            );
        }
    }
    Ok(())
}

/// The `hash` of the sdist and of every wheel, sorted.
fn hashes(entry: &Table) -> Vec<String> {
    let sdist = entry.get("sdist").into_iter();
    let wheels = entry
        .get("wheels")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    toml_doc::sorted_unique(
        sdist
            .chain(wheels)
            .filter_map(|artifact| artifact.get("hash")?.as_str().map(str::to_string)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"version = 1
revision = 2
requires-python = ">=3.11"

[[package]]
name = "app"
version = "0.3.0"
source = { virtual = "." }
dependencies = [
    { name = "colorama", marker = "sys_platform == 'win32'" },
    { name = "requests", extra = ["socks"] },
]

[[package]]
name = "colorama"
version = "0.4.6"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://files.example/colorama-0.4.6.tar.gz", hash = "sha256:0869", size = 27697 }
wheels = [
    { url = "https://files.example/colorama-0.4.6-py2.py3-none-any.whl", hash = "sha256:4f1d", size = 25335 },
]

[[package]]
name = "PySocks"
version = "1.7.1"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "requests"
version = "2.32.3"
source = { registry = "https://pypi.internal/simple/" }

[package.optional-dependencies]
socks = [{ name = "pysocks" }]

[[package]]
name = "tool"
source = { git = "https://github.com/example/tool?rev=v1#0123abc" }
"#;

    #[test]
    fn reads_packages_markers_extras_and_hashes_without_the_project() {
        let packages = parse(Path::new("uv.lock"), LOCK, None).unwrap();
        let names: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["colorama", "pysocks", "requests", "tool"]);
        let colorama = &packages[0];
        assert_eq!(
            colorama.marker.as_deref(),
            Some("sys_platform == \"win32\"")
        );
        assert_eq!(colorama.hashes, ["sha256:0869", "sha256:4f1d"]);
        assert_eq!(colorama.source, None, "PyPI is the default index");
        assert_eq!(packages[2].extras, ["socks"]);
        assert_eq!(packages[2].marker, None);
        assert_eq!(
            packages[2].source.as_deref(),
            Some("index=https://pypi.internal/simple")
        );
        let tool = &packages[3];
        assert!(tool.pinned && tool.version.is_empty());
    }

    #[test]
    fn the_project_is_also_recognized_by_name() {
        let lock = LOCK.replace("{ virtual = \".\" }", "{ editable = \"app\" }");
        let with = parse(Path::new("uv.lock"), &lock, None).unwrap();
        assert!(with.iter().any(|p| p.name == "app"));
        let without = parse(Path::new("uv.lock"), &lock, Some("app")).unwrap();
        assert!(!without.iter().any(|p| p.name == "app"));
    }

    #[test]
    fn rejects_other_versions_and_nameless_entries() {
        let err = parse(Path::new("uv.lock"), "version = 2\n", None).unwrap_err();
        assert!(err.to_string().contains("uv.lock version 2"), "{err}");
        let err = parse(Path::new("uv.lock"), "revision = 1\n", None).unwrap_err();
        assert!(err.to_string().contains("not a uv.lock"), "{err}");
        let err = parse(
            Path::new("uv.lock"),
            "version = 1\n[[package]]\nversion = \"1\"\n",
            None,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "uv.lock: package #1 has no name");
    }
}
