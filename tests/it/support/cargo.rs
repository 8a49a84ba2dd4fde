//! Helpers for the cargo skeleton tests (`strata recipe` / `cook` / `fingerprint`): generated
//! workspaces in temporary directories, cargo runs with a clean environment, one online fetch of
//! the real crates the end-to-end tests use (everything after it is `--offline`), and builds
//! judged from `cargo build --message-format json` the way cargo-chef's caching tests judge them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use strata::cargo::prepare::{prepare, PrepareOptions};
use strata::cargo::recipe::Recipe;

use super::{require, strata_in, Run};

/// The two itoa versions the lockfile-bump case moves between (both fetched by [`warm`]).
pub const ITOA_OLD: &str = "1.0.14";
/// See [`ITOA_OLD`].
pub const ITOA_NEW: &str = "1.0.15";

/// A generated project in its own temporary directory.
pub struct Project {
    dir: tempfile::TempDir,
}

impl Default for Project {
    fn default() -> Self {
        Self::new()
    }
}

impl Project {
    /// An empty project.
    pub fn new() -> Project {
        Project {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// The project directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file (leading blank lines trimmed), creating its directories.
    pub fn file(&self, rel: &str, contents: &str) -> &Self {
        write(&self.path().join(rel), contents.trim_start());
        self
    }

    /// Reads a file of the project.
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// `cargo generate-lockfile --offline`.
    pub fn lock(&self) -> &Self {
        cargo_ok(self.path(), &["generate-lockfile", "--offline"]);
        self
    }

    /// The recipe, through the library.
    pub fn recipe(&self, bins: &[&str]) -> Recipe {
        prepare(
            self.path(),
            &PrepareOptions {
                manifest_path: None,
                bins: bins.iter().map(|b| b.to_string()).collect(),
            },
        )
        .unwrap_or_else(|e| panic!("prepare failed: {e}"))
    }

    /// `strata recipe [ARGS]` in the project, asserting success; the JSON text.
    pub fn recipe_json(&self, args: &[&str]) -> String {
        let mut all = vec!["recipe"];
        all.extend_from_slice(args);
        let run = strata_in(&all, &[], Some(self.path()));
        assert_eq!(run.code, 0, "strata recipe failed: {}", run.stderr);
        run.stdout
    }
}

/// Writes a file, creating its directories.
pub fn write(path: &Path, contents: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, contents).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// A manifest's contents in a recipe, by relative path.
pub fn contents<'a>(recipe: &'a Recipe, relative_path: &str) -> &'a str {
    &recipe
        .skeleton
        .manifests
        .iter()
        .find(|m| m.relative_path == relative_path)
        .unwrap_or_else(|| panic!("no manifest {relative_path} in the recipe"))
        .contents
}

/// The relative paths of a recipe's manifests.
pub fn manifest_paths(recipe: &Recipe) -> Vec<&str> {
    recipe
        .skeleton
        .manifests
        .iter()
        .map(|m| m.relative_path.as_str())
        .collect()
}

/// A cargo command with an environment that cannot redirect the build elsewhere.
pub fn cargo_cmd(dir: &Path) -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env("CARGO_TERM_COLOR", "never")
        .stdin(Stdio::null());
    cmd
}

/// Runs cargo in `dir`.
pub fn cargo(dir: &Path, args: &[&str]) -> Output {
    cargo_cmd(dir).args(args).output().expect("run cargo")
}

/// Runs cargo in `dir`, panicking with its output on failure; returns stdout.
pub fn cargo_ok(dir: &Path, args: &[&str]) -> String {
    let out = cargo(dir, args);
    assert!(
        out.status.success(),
        "cargo {args:?} failed in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What the end-to-end tests need from the network.
pub const CRATES_IO: &str = "crates.io (one `cargo fetch` of itoa, ryu and serde)";

/// Gates the running test on [`fetched`] (a skip, or a failure under CI=true, without it).
pub fn warm() {
    require(fetched(), CRATES_IO);
}

/// Fetches, once per test run, every registry crate the end-to-end tests use (the only online
/// step); false when that is impossible here.
pub fn fetched() -> bool {
    static WARM: OnceLock<bool> = OnceLock::new();
    *WARM.get_or_init(|| {
        let fetch = |deps: &str| {
            let p = Project::new();
            p.file(
                "Cargo.toml",
                &format!("[package]\nname = \"warm\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{deps}"),
            )
            .file("src/lib.rs", "");
            let out = cargo(p.path(), &["fetch"]);
            if !out.status.success() {
                eprintln!("cargo fetch failed: {}", String::from_utf8_lossy(&out.stderr));
            }
            out.status.success()
        };
        fetch(&format!("itoa = \"={ITOA_OLD}\"\n"))
            && fetch(&format!(
                "itoa = \"={ITOA_NEW}\"\nryu = \"1\"\nserde = {{ version = \"1\", features = [\"derive\"] }}\n"
            ))
    })
}

/// One unit of a build, from a `compiler-artifact` message.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unit {
    /// The package name.
    pub package: String,
    /// The target name.
    pub target: String,
    /// A local (path) package.
    pub local: bool,
    /// cargo reused it.
    pub fresh: bool,
}

/// A `cargo build --message-format json` run.
pub struct Build {
    /// Exit status was success.
    pub ok: bool,
    /// Every unit.
    pub units: Vec<Unit>,
    /// cargo's stderr.
    pub stderr: String,
}

impl Build {
    /// Registry units cargo compiled (cargo-chef's "external dependencies rebuilt").
    pub fn deps_rebuilt(&self) -> BTreeSet<String> {
        self.units
            .iter()
            .filter(|u| !u.local && !u.fresh)
            .map(|u| u.package.clone())
            .collect()
    }

    /// Local units cargo compiled.
    pub fn local_rebuilt(&self) -> BTreeSet<String> {
        self.units
            .iter()
            .filter(|u| u.local && !u.fresh)
            .map(|u| format!("{}:{}", u.package, u.target))
            .collect()
    }

    /// Panics unless the build succeeded and reused every registry unit.
    pub fn assert_deps_fresh(&self) {
        assert!(self.ok, "build failed: {}", self.stderr);
        assert!(
            self.deps_rebuilt().is_empty(),
            "dependencies were recompiled: {:?}",
            self.deps_rebuilt()
        );
    }
}

/// `cargo build --message-format json --offline [ARGS]` in `dir`.
pub fn build(dir: &Path, args: &[&str]) -> Build {
    let mut all = vec!["build", "--message-format", "json", "--offline"];
    all.extend_from_slice(args);
    let out = cargo(dir, &all);
    let units = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .map(|m| {
            let id = m["package_id"].as_str().unwrap_or_default().to_string();
            Unit {
                package: package_name(&m),
                target: m["target"]["name"].as_str().unwrap_or_default().to_string(),
                local: id.starts_with("path+"),
                fresh: m["fresh"].as_bool().unwrap_or(false),
            }
        })
        .collect();
    Build {
        ok: out.status.success(),
        units,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The package name in a message's package id: `...#name@version`, or `.../name#version` when
/// the name is the directory's.
fn package_name(message: &serde_json::Value) -> String {
    let id = message["package_id"].as_str().unwrap_or_default();
    let (url, fragment) = id.rsplit_once('#').unwrap_or((id, ""));
    match fragment.split_once('@') {
        Some((name, _)) => name.to_string(),
        None => url.rsplit('/').next().unwrap_or_default().to_string(),
    }
}

/// What the program at `path` prints when run without arguments.
pub fn stdout_of(path: &Path) -> String {
    let out = Command::new(path)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", path.display()));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `strata cook ARGS` in `dir` with `recipe` written to `dir/recipe.json`.
pub fn cook(dir: &Path, recipe: &str, args: &[&str]) -> Run {
    write(&dir.join("recipe.json"), recipe);
    let mut all = vec!["cook", "--recipe-path", "recipe.json"];
    all.extend_from_slice(args);
    strata_in(&all, &[], Some(dir))
}

/// Like [`cook`], asserting success.
pub fn cook_ok(dir: &Path, recipe: &str, args: &[&str]) {
    let run = cook(dir, recipe, args);
    assert_eq!(run.code, 0, "strata cook failed: {}", run.stderr);
}

/// Copies a project's files (not `target/` or `.git/` directories nor `recipe.json`) over a
/// cooked directory; with
/// `old_mtimes`, every copied file gets a year-2001 modification time, as a `COPY` with
/// normalized timestamps or a fresh git checkout would give.
pub fn copy_sources(from: &Path, to: &Path, old_mtimes: bool) {
    for entry in walk(from) {
        let rel = entry.strip_prefix(from).expect("prefix");
        let skipped = rel
            .components()
            .any(|c| c.as_os_str() == "target" || c.as_os_str() == ".git");
        if skipped || rel == Path::new("recipe.json") {
            continue;
        }
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
        std::fs::copy(&entry, &dest).expect("copy");
        if old_mtimes {
            let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(978_307_200);
            let file = std::fs::File::options()
                .write(true)
                .open(&dest)
                .expect("open");
            file.set_times(
                std::fs::FileTimes::new()
                    .set_modified(old)
                    .set_accessed(old),
            )
            .expect("set mtime");
        }
    }
}

/// Every file below `dir`, sorted.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// A package manifest: `name`, `version`, edition 2021, then `rest` (dependency tables, ...).
pub fn package(name: &str, version: &str, rest: &str) -> String {
    format!("[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\n\n{rest}")
}

/// A new cargo project, `hello-rs`, with no dependencies, printing `message`.
pub fn rust_project(dir: &Path, message: &str) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"hello-rs\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("src/main.rs"),
        format!("fn main() {{\n    println!(\"{message}\");\n}}\n"),
    )
    .unwrap();
}
