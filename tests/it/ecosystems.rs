//! One detection order for every command: in a project that two ecosystems claim (a maturin
//! layout, `Cargo.toml` beside `pyproject.toml` and `requirements.txt`), `strata fingerprint` and
//! `strata base` name the same dependency set (the registry's first claimant, Python), through the
//! binary and without network.


use std::path::Path;

use crate::support::{strata_in, write};

/// A Cargo package `name` at `root` with one source file.
fn cargo_package(root: &Path, name: &str, targets: &str, source: (&str, &str)) {
    write(
        root,
        "Cargo.toml",
        &format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n{targets}"
        ),
    );
    write(root, source.0, source.1);
}

/// `strata ARGS` in `dir`, which must succeed; its stdout.
fn ok(dir: &Path, args: &[&str]) -> String {
    let run = strata_in(args, &[], Some(dir));
    assert_eq!(run.code, 0, "strata {args:?}: {}", run.stderr);
    run.stdout.trim().to_string()
}

fn fingerprint_and_base_agree_in_a_cargo_and_python_project() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "Cargo.toml",
        "[package]\nname = \"fastlib\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\n",
    );
    write(
        root,
        "src/lib.rs",
        "pub fn add(a: u32, b: u32) -> u32 { a + b }\n",
    );
    write(
        root,
        "pyproject.toml",
        "[build-system]\nrequires = [\"maturin>=1,<2\"]\nbuild-backend = \"maturin\"\n\n\
         [project]\nname = \"fastlib\"\nversion = \"0.1.0\"\n",
    );
    write(root, "requirements.txt", "six==1.17.0\nidna==3.7\n");
    write(root, ".python-version", "3.12\n");

    let fingerprint = ok(root, &["fingerprint"]);
    let base = ok(root, &["base", "registry.example.com/fastlib-deps"]);
    assert_eq!(
        base,
        format!("registry.example.com/fastlib-deps:{fingerprint}"),
        "strata base tags another dependency set than strata fingerprint names"
    );

    // Both are the Python dependency set (the registry detects Python first), not the Cargo one.
    let python = ok(root, &["fingerprint", "--lockfile", "requirements.txt"]);
    let cargo = ok(root, &["fingerprint", "--manifest-path", "Cargo.toml"]);
    assert_eq!(fingerprint, python);
    assert_ne!(fingerprint, cargo);
    assert!(fingerprint.starts_with("deps-"), "{fingerprint}");
}

fn a_cargo_project_alone_is_fingerprinted_and_tagged_as_cargo() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    cargo_package(root, "svc", "", ("src/main.rs", "fn main() {}\n"));
    let fingerprint = ok(root, &["fingerprint"]);
    let cargo = ok(root, &["fingerprint", "--manifest-path", "Cargo.toml"]);
    let base = ok(root, &["base", "oci-deps"]);
    assert_eq!(fingerprint, cargo);
    assert_eq!(base, format!("oci-deps:{fingerprint}"));
}

crate::tests![
    fingerprint_and_base_agree_in_a_cargo_and_python_project,
    a_cargo_project_alone_is_fingerprinted_and_tagged_as_cargo,
];
