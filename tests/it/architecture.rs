//! The module graph's one-way rules (ARCHITECTURE.md), checked on the source: a library module
//! names another only through `crate::…` paths, so a forbidden arrow is a `crate::TO` in a file
//! under `src/FROM/`.

use std::path::{Path, PathBuf};

/// (from, to): no file under `src/FROM/` may name `crate::TO` (a module, or one of its
/// submodules: the lint renderer may use `report`'s shared vocabulary, not `check`'s renderer).
const FORBIDDEN: &[(&str, &str)] = &[
    ("layer", "analysis"),
    ("layer", "assemble"),
    ("analysis", "assemble"),
    ("source", "analysis"),
    ("source", "sink"),
    ("dockerfile", "report::check"),
    ("report", "ops"),
    ("analysis", "ops"),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `crate::TO` (as a whole path segment) in the files of module `from`, as `file:line`.
fn arrows(from: &str, to: &str) -> Vec<String> {
    let dir = src().join(from);
    let mut files = Vec::new();
    if dir.is_dir() {
        rust_files(&dir, &mut files);
    }
    let single = src().join(format!("{from}.rs"));
    if single.is_file() {
        files.push(single);
    }
    let needle = format!("crate::{to}");
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read source");
        for (n, line) in text.lines().enumerate() {
            let hit = line.match_indices(&needle).any(|(at, _)| {
                let next = line[at + needle.len()..].chars().next();
                !next.is_some_and(|c| c.is_alphanumeric() || c == '_')
            });
            if hit {
                found.push(format!("{}:{}", file.display(), n + 1));
            }
        }
    }
    found
}

fn no_forbidden_arrow_between_library_modules() {
    let mut bad = Vec::new();
    for (from, to) in FORBIDDEN {
        assert!(
            src().join(from).is_dir() || src().join(format!("{from}.rs")).is_file(),
            "module {from} named in FORBIDDEN does not exist"
        );
        for at in arrows(from, to) {
            bad.push(format!("{from} -> {to} at {at}"));
        }
    }
    assert!(bad.is_empty(), "forbidden module arrows:\n{}", bad.join("\n"));
}

fn the_library_has_no_cli_module() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).expect("read lib.rs");
    assert!(
        !lib.lines().any(|l| l.trim_start().starts_with("pub mod cli")
            || l.trim_start().starts_with("mod cli")),
        "src/lib.rs declares the cli module: the CLI is private to the binary"
    );
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let offenders: Vec<_> = files
        .iter()
        .filter(|f| !f.starts_with(src().join("cli")) && !f.ends_with("main.rs"))
        .filter(|f| {
            std::fs::read_to_string(f)
                .expect("read source")
                .contains("crate::cli::")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(offenders.is_empty(), "library files use the CLI: {offenders:?}");
}

/// The checker itself finds an arrow that is there (so an empty result means something).
fn the_arrow_finder_sees_a_real_import() {
    assert!(!arrows("analysis", "layer").is_empty());
    assert!(arrows("analysis", "layerx").is_empty());
}

crate::tests![
    no_forbidden_arrow_between_library_modules,
    the_library_has_no_cli_module,
    the_arrow_finder_sees_a_real_import,
];
