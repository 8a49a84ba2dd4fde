//! `container/` holds strata's own Dockerfiles, written by `strata dockerfile`: they must be
//! exactly what the generator writes today for this workspace (regenerate with
//! `strata dockerfile --lang rust --force` after changing the generator), and lint clean.

mod support;

use std::path::Path;

use support::strata_in;

/// The files `strata dockerfile` writes for a Rust project, relative to the project.
const FILES: [&str; 5] = [
    "container/Dockerfile.base",
    "container/Dockerfile",
    "container/digests.env",
    "container/Makefile",
    ".dockerignore",
];

#[test]
fn container_files_are_what_the_generator_writes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    // The generator reads the manifest only (name and binaries).
    std::fs::copy(root.join("Cargo.toml"), dir.path().join("Cargo.toml")).unwrap();
    let run = strata_in(&["dockerfile", "--lang", "rust"], &[], Some(dir.path()));
    assert_eq!(run.code, 0, "{}", run.stderr);
    for file in FILES {
        let committed = std::fs::read_to_string(root.join(file))
            .unwrap_or_else(|e| panic!("{file} is missing from the checkout: {e}"));
        let generated = std::fs::read_to_string(dir.path().join(file)).unwrap();
        assert_eq!(
            committed, generated,
            "{file} is out of date: run `strata dockerfile --lang rust --force`"
        );
    }
}

#[test]
fn container_dockerfiles_lint_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = strata_in(
        &[
            "lint",
            "container/Dockerfile.base",
            "container/Dockerfile",
            "--context",
            ".",
        ],
        &[],
        Some(root),
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}
