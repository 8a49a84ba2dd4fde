//! Manifest normalization: keep what can change how dependencies compile, drop the rest, and make
//! every target explicit.
//!
//! Dropped (editing them must not invalidate a dependency cache): package `description`,
//! `authors`, `readme`, `keywords`, `categories`, `homepage`, `repository`, `documentation`,
//! `license[-file]`, `metadata`, `publish`, `include`/`exclude`, `default-run`, `[badges]`,
//! `[lints]`, `[workspace.lints]`, `[workspace.metadata]` and the same fields in
//! `[workspace.package]`; per target `edition`, `required-features`, `doctest`, `doc`. Lints go
//! because they only concern local code and would break stubs (`missing_docs = "deny"`).
//!
//! Kept: names, editions, resolver, `rust-version`, `links`, features, every dependency table,
//! `[patch]`, `[replace]`, `[profile]`, workspace members and dependencies, and per target `name`,
//! `path`, `crate-type`, `proc-macro`, `harness`, `test`, `bench`. Targets are listed explicitly
//! (from cargo's own discovery) with auto-discovery off, so the skeleton builds exactly those.
//! Crates that are only dependencies keep just their library, build script and non-dev
//! dependencies.

use toml::{Table, Value};

use crate::cargo::recipe::TargetKind;
use crate::cargo::workspace::{LocalCrate, TargetSpec};

/// Package fields that cannot affect a dependency build.
const PACKAGE_DROPPED: &[&str] = &[
    "authors",
    "autobenches",
    "autobins",
    "autoexamples",
    "autotests",
    "badges",
    "build",
    "categories",
    "default-run",
    "description",
    "documentation",
    "exclude",
    "homepage",
    "include",
    "keywords",
    "license",
    "license-file",
    "metadata",
    "publish",
    "readme",
    "repository",
];

/// Top-level tables dropped (target tables are rebuilt from cargo's discovery).
const TOP_DROPPED: &[&str] = &["badges", "lints", "lib", "bin", "example", "test", "bench"];

/// What a crate that is only compiled as a dependency keeps.
const DEPENDENCY_ONLY_KEPT: &[&str] = &[
    "build-dependencies",
    "build_dependencies",
    "cargo-features",
    "dependencies",
    "features",
    "package",
    "target",
];

const WORKSPACE_DROPPED: &[&str] = &["lints", "metadata"];

/// The normalized manifest of a local crate (before version masking).
pub fn local_crate(krate: &LocalCrate) -> Table {
    let mut table = krate.manifest.clone();
    if !krate.member {
        table.retain(|k, _| DEPENDENCY_ONLY_KEPT.contains(&k));
        if let Some(Value::Table(targets)) = table.get_mut("target") {
            for (_, platform) in targets.iter_mut() {
                let Some(platform) = platform.as_table_mut() else {
                    continue;
                };
                platform.retain(|k, _| !k.starts_with("dev"));
            }
        }
    }
    drop_keys(&mut table, TOP_DROPPED);
    if let Some(Value::Table(package)) = table.get_mut("package") {
        drop_keys(package, PACKAGE_DROPPED);
        if !krate.member {
            // It points at a workspace the skeleton does not hold.
            package.remove("workspace");
        }
        for auto in ["autobins", "autoexamples", "autotests", "autobenches"] {
            package.insert(auto.to_string(), Value::Boolean(false));
        }
    }
    normalize_workspace(&mut table);
    add_targets(&mut table, &krate.manifest, &krate.targets);
    table
}

/// The normalized root manifest of a virtual workspace.
pub fn virtual_root(manifest: &Table) -> Table {
    let mut table = manifest.clone();
    drop_keys(&mut table, TOP_DROPPED);
    normalize_workspace(&mut table);
    table
}

fn normalize_workspace(table: &mut Table) {
    let Some(Value::Table(workspace)) = table.get_mut("workspace") else {
        return;
    };
    drop_keys(workspace, WORKSPACE_DROPPED);
    if let Some(Value::Table(package)) = workspace.get_mut("package") {
        drop_keys(package, PACKAGE_DROPPED);
    }
}

fn drop_keys(table: &mut Table, keys: &[&str]) {
    table.retain(|k, _| !keys.contains(&k));
}

/// Writes `[lib]`, `[[bin]]`, `[[example]]`, `[[test]]`, `[[bench]]` and `package.build` from the
/// targets cargo discovered, taking `harness` and `bench` from the original tables.
fn add_targets(table: &mut Table, original: &Table, targets: &[TargetSpec]) {
    let mut sorted: Vec<&TargetSpec> = targets.iter().collect();
    sorted.sort_by(|a, b| (&a.path, &a.name).cmp(&(&b.path, &b.name)));
    let mut arrays: Vec<(&str, Vec<Value>)> = Vec::new();
    for spec in sorted {
        let (key, is_array) = match spec.kind {
            TargetKind::BuildScript => {
                if let Some(Value::Table(package)) = table.get_mut("package") {
                    package.insert("build".to_string(), Value::String(spec.path.clone()));
                }
                continue;
            }
            TargetKind::Lib { .. } => ("lib", false),
            TargetKind::Bin => ("bin", true),
            TargetKind::Example => ("example", true),
            TargetKind::Test => ("test", true),
            TargetKind::Bench => ("bench", true),
        };
        let entry = Value::Table(target_table(
            spec,
            original_target(original, key, &spec.name),
        ));
        if is_array {
            match arrays.iter_mut().find(|(k, _)| *k == key) {
                Some((_, items)) => items.push(entry),
                None => arrays.push((key, vec![entry])),
            }
        } else {
            table.insert(key.to_string(), entry);
        }
    }
    for (key, items) in arrays {
        table.insert(key.to_string(), Value::Array(items));
    }
}

/// The table the user wrote for a target, if any (`[lib]`, or the array entry with that name).
fn original_target<'a>(original: &'a Table, key: &str, name: &str) -> Option<&'a Table> {
    match original.get(key)? {
        Value::Table(t) => Some(t),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_table)
            .find(|t| t.get("name").and_then(Value::as_str) == Some(name)),
        _ => None,
    }
}

fn target_table(spec: &TargetSpec, original: Option<&Table>) -> Table {
    let mut t = Table::new();
    t.insert("name".to_string(), Value::String(spec.name.clone()));
    t.insert("path".to_string(), Value::String(spec.path.clone()));
    let strings =
        |items: &[String]| Value::Array(items.iter().cloned().map(Value::String).collect());
    match spec.kind {
        TargetKind::Lib {
            is_proc_macro: true,
        } => {
            t.insert("proc-macro".to_string(), Value::Boolean(true));
        }
        TargetKind::Lib { .. } if !spec.crate_types.is_empty() && spec.crate_types != ["lib"] => {
            t.insert("crate-type".to_string(), strings(&spec.crate_types));
        }
        TargetKind::Example if !spec.crate_types.is_empty() && spec.crate_types != ["bin"] => {
            t.insert("crate-type".to_string(), strings(&spec.crate_types));
        }
        _ => {}
    }
    // cargo's default: tested unless an example or a bench.
    let tested_by_default = !matches!(spec.kind, TargetKind::Example | TargetKind::Bench);
    if let Some(test) = spec.test.filter(|&t| t != tested_by_default) {
        t.insert("test".to_string(), Value::Boolean(test));
    }
    for key in ["harness", "bench"] {
        if let Some(v) = original.and_then(|o| o.get(key)).filter(|v| v.is_bool()) {
            t.insert(key.to_string(), v.clone());
        }
    }
    t
}
