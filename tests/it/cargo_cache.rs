//! `strata cook --cache-to/--cache-from`: a cooked dependency build travels through a real
//! registry (and an OCI layout) to a fresh directory, and there nothing is recompiled — neither by
//! cook nor by the `cargo build` of the real sources afterwards.


use std::path::Path;
use std::time::SystemTime;

use crate::support::cargo::{build, cook, cook_ok, copy_sources, package, stdout_of, warm, Project};
use crate::support::registry::Registry;

fn project() -> Project {
    let p = Project::new();
    p.file(
        "Cargo.toml",
        &package(
            "cached",
            "0.1.0",
            "[dependencies]\nitoa = \"1\"\nryu = \"1\"\n",
        ),
    )
    .file(
        "src/main.rs",
        "fn main() { println!(\"{}\", itoa::Buffer::new().format(42)); }\n",
    );
    p.lock();
    p
}

/// Modification times of the dependency rlibs under `target/debug/deps`.
fn rlib_times(dir: &Path) -> Vec<(String, SystemTime)> {
    let mut out: Vec<_> = std::fs::read_dir(dir.join("target/debug/deps"))
        .map(|d| d.flatten().collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.ends_with(".rlib") && (n.starts_with("libitoa") || n.starts_with("libryu"))
        })
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().modified().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn travel(repo: &str) {
    let p = project();
    let recipe = p.recipe_json(&[]);
    let first = Project::new();
    cook_ok(first.path(), &recipe, &["--offline", "--cache-to", repo]);
    let cooked = rlib_times(first.path());
    assert_eq!(cooked.len(), 2, "{cooked:?}");
    // A fresh runner: no target/ at all.
    let second = Project::new();
    let run = cook(second.path(), &recipe, &["--offline", "--cache-from", repo]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("restored the dependency build"),
        "{}",
        run.stderr
    );
    // Tar keeps whole seconds: restored files have the cooked second and no nanoseconds, which a
    // recompilation would not give.
    let secs = |t: &SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).unwrap();
    let restored = rlib_times(second.path());
    assert_eq!(restored.len(), cooked.len());
    for ((name, r), (_, c)) in restored.iter().zip(&cooked) {
        assert_eq!(
            (secs(r).as_secs(), secs(r).subsec_nanos()),
            (secs(c).as_secs(), 0),
            "{name} was recompiled by cook"
        );
    }
    copy_sources(p.path(), second.path(), true);
    build(second.path(), &[]).assert_deps_fresh();
    assert_eq!(
        stdout_of(&second.path().join("target/debug/cached")),
        "42\n"
    );
}

fn a_cooked_build_travels_through_a_registry() {
    warm();
    let registry = Registry::start(None);
    travel(&format!("{}/cache/cached", registry.host));
}

fn a_cooked_build_travels_through_a_layout_and_a_miss_is_not_an_error() {
    warm();
    let dir = tempfile::tempdir().unwrap();
    let repo = format!("oci:{}", dir.path().join("cache").display());
    // Nothing stored yet: cook says so and cooks from scratch.
    let p = project();
    let empty = Project::new();
    let run = cook(
        empty.path(),
        &p.recipe_json(&[]),
        &["--offline", "--cache-from", &repo],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("no dependency build at"),
        "{}",
        run.stderr
    );
    travel(&repo);
}

crate::tests![
    a_cooked_build_travels_through_a_registry,
    a_cooked_build_travels_through_a_layout_and_a_miss_is_not_an_error,
];
