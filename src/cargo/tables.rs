//! Manifest TOML helpers shared by normalization, masking, minimization and crate discovery: finding
//! the dependency tables, naming a dependency, and writing TOML canonically (sorted keys, no
//! comments) so reordering or commenting a file does not change the recipe.

use std::path::Path;

use toml::{Table, Value};

use crate::error::{Error, Result};

/// The dependency table names cargo accepts (the underscore forms are pre-2024 aliases).
const NORMAL_AND_BUILD: [&str; 3] = ["dependencies", "build-dependencies", "build_dependencies"];
const DEV: [&str; 2] = ["dev-dependencies", "dev_dependencies"];

/// Which dependency tables to visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kinds {
    /// Normal, build and dev dependencies (a workspace member).
    All,
    /// Normal and build dependencies only (a crate cargo reads as a dependency).
    NoDev,
}

impl Kinds {
    fn matches(self, key: &str) -> bool {
        NORMAL_AND_BUILD.contains(&key) || (self == Kinds::All && DEV.contains(&key))
    }
}

/// Every dependency table of a manifest, `[target.'cfg'.*]` ones included.
pub fn dep_tables(manifest: &Table, kinds: Kinds) -> Vec<&Table> {
    let mut out = Vec::new();
    for (key, value) in manifest {
        if kinds.matches(key) {
            out.extend(value.as_table());
        } else if key == "target" {
            for platform in value.as_table().into_iter().flat_map(|t| t.values()) {
                for (k, v) in platform.as_table().into_iter().flatten() {
                    if kinds.matches(k) {
                        out.extend(v.as_table());
                    }
                }
            }
        }
    }
    out
}

/// Mutable form of [`dep_tables`].
pub fn dep_tables_mut(manifest: &mut Table, kinds: Kinds) -> Vec<&mut Table> {
    let mut out = Vec::new();
    for (key, value) in manifest.iter_mut() {
        if kinds.matches(key) {
            out.extend(value.as_table_mut());
        } else if key == "target" {
            for (_, platform) in value.as_table_mut().into_iter().flat_map(|t| t.iter_mut()) {
                for (k, v) in platform.as_table_mut().into_iter().flatten() {
                    if kinds.matches(k) {
                        out.extend(v.as_table_mut());
                    }
                }
            }
        }
    }
    out
}

/// The package a dependency entry names: its `package` key when renamed, else the key.
pub fn dep_package<'a>(key: &'a str, entry: &'a Value) -> &'a str {
    entry.get("package").and_then(Value::as_str).unwrap_or(key)
}

/// Whether a dependency entry (or any field) is `{ workspace = true }`.
pub fn inherits(value: &Value) -> bool {
    value.get("workspace").and_then(Value::as_bool) == Some(true)
}

/// Parses a TOML file into a table.
pub fn read(path: &Path) -> Result<Table> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path.display(), e))?;
    parse(&text).map_err(|e| e.context(path.display()))
}

/// Parses TOML text into a table.
pub fn parse(text: &str) -> Result<Table> {
    text.parse::<Table>()
        .map_err(|e| Error::invalid(format!("invalid TOML: {}", e.to_string().trim())))
}

/// Canonical TOML text: keys sorted at every level (whatever map type `toml` was built with),
/// comments and formatting dropped.
/// `[package]` and `[workspace]` come first (after top-level values) for readers.
pub fn to_canonical_text(table: &Table) -> Result<String> {
    let sorted = sorted_table(table);
    let is_head = |key: &str, value: &Value| {
        key == "package" || key == "workspace" || !(value.is_table() || is_table_array(value))
    };
    let (head, body): (Table, Table) = sorted.into_iter().partition(|(k, v)| is_head(k, v));
    let text =
        |t: &Table| toml::to_string(t).map_err(|e| Error::invalid(format!("writing TOML: {e}")));
    let (head, body) = (text(&head)?, text(&body)?);
    Ok(match (head.is_empty(), body.is_empty()) {
        (false, false) => format!("{head}\n{body}"),
        _ => format!("{head}{body}"),
    })
}

fn is_table_array(value: &Value) -> bool {
    value
        .as_array()
        .is_some_and(|items| !items.is_empty() && items.iter().all(Value::is_table))
}

/// Canonicalizes TOML text when it parses, else keeps it as written.
pub fn canonical_or_raw(text: &str) -> String {
    parse(text)
        .and_then(|t| to_canonical_text(&t))
        .unwrap_or_else(|_| text.to_string())
}

fn sorted_table(table: &Table) -> Table {
    let mut entries: Vec<(&String, &Value)> = table.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
        .into_iter()
        .map(|(k, v)| (k.clone(), sorted_value(v)))
        .collect()
}

fn sorted_value(value: &Value) -> Value {
    match value {
        Value::Table(t) => Value::Table(sorted_table(t)),
        Value::Array(items) => Value::Array(items.iter().map(sorted_value).collect()),
        other => other.clone(),
    }
}
