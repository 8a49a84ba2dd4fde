//! Reproducible means the same digest anywhere, and what strata writes reads back:
//!
//! - the same Python (or Rust) project built in two directories, under two `HOME`s and with two
//!   layer caches gives one manifest digest (the sha256 of the manifest bytes, and skopeo), and
//!   no host path is in its config;
//! - `strata diff` names every config difference it counts as pushed (oracle: the JSON paths
//!   where the two config blobs differ, found here);
//! - every sink (`oci:`, `oci-archive:`, `docker-archive:`, `docker://`) is read back by strata
//!   and by skopeo under the reference it was written to, with the source's config digest;
//! - Ctrl-C during a build leaves no temp file, and `strata cache prune` removes (and reports)
//!   the ones a killed build left;
//! - the Rust preset strips its binary in release (oracle: goblin finds no `.symtab`) and
//!   `--no-strip` keeps the symbols.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::cargo;
use crate::support::debian::debian_python_base;
use crate::support::layout::sha256;
use crate::support::python::write_six_venv;
use crate::support::registry::Registry;
use crate::support::{have, optional, report_json, sh, strata, strata_in, Run};

/// Runs strata in `dir` with `HOME` set to `home` and no `XDG_CACHE_HOME`, so the default layer
/// cache is under `home`; cargo and rustup keep their own homes, and cargo builds in the
/// project's own `target/` (no `CARGO_TARGET_DIR`).
fn strata_at_home(args: &[&str], dir: &Path, home: &Path) -> Run {
    let real_home = PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("HOME", home)
        .env_remove("XDG_CACHE_HOME")
        .env_remove("CARGO_TARGET_DIR")
        .stdin(Stdio::null());
    for (var, default) in [("CARGO_HOME", ".cargo"), ("RUSTUP_HOME", ".rustup")] {
        let path = std::env::var_os(var).map_or_else(|| real_home.join(default), PathBuf::from);
        if path.exists() {
            cmd.env(var, path);
        }
    }
    let out = cmd.output().expect("run strata");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The digest of the manifest tagged `tag` in the layout `dir`, as the sha256 of its bytes (and
/// skopeo's digest of it, when skopeo is there), with its config blob.
fn manifest_of(dir: &Path, tag: &str) -> (String, Vec<u8>) {
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let named = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap_or_else(|| panic!("no {tag} in {index}"));
    let blob = |digest: &str| {
        std::fs::read(dir.join("blobs/sha256").join(digest.trim_start_matches("sha256:")))
            .unwrap()
    };
    let bytes = blob(named["digest"].as_str().unwrap());
    let digest = sha256(&bytes);
    if optional(have("skopeo"), "skopeo") {
        let skopeo = sh(&format!(
            "skopeo inspect --format '{{{{.Digest}}}}' oci:{}:{tag}",
            dir.display()
        ));
        assert_eq!(skopeo.trim(), digest, "skopeo and the bytes agree");
    }
    let manifest: Value = serde_json::from_slice(&bytes).unwrap();
    (digest, blob(manifest["config"]["digest"].as_str().unwrap()))
}

/// Asserts the config names none of `paths`.
fn assert_no_host_paths(config: &[u8], paths: &[&Path]) {
    let text = String::from_utf8_lossy(config);
    for path in paths {
        let path = path.display().to_string();
        assert!(!text.contains(&path), "{path} is in the config: {text}");
    }
}

/// A Python project whose venv holds one distribution (six) and whose code is a console script.
fn python_project(dir: &Path) {
    write_six_venv(dir);
    std::fs::create_dir_all(dir.join("src/hello_app")).unwrap();
    std::fs::write(
        dir.join("pyproject.toml"),
        "[project]\nname = \"hello-app\"\nversion = \"0.1.0\"\n\n[project.scripts]\nhello-app = \"hello_app.cli:main\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("src/hello_app/__init__.py"), "").unwrap();
    std::fs::write(
        dir.join("src/hello_app/cli.py"),
        "def main():\n    print('hello')\n",
    )
    .unwrap();
}

/// A cargo project with no dependencies.
fn rust_project(dir: &Path) {
    cargo::rust_project(dir, "hello from rust");
}

/// Builds the project `make` writes in two places (different directories and depths, `HOME`s,
/// layer caches: the default one under the first `HOME`, `--cache-dir` for the second), after
/// `init` when `init` says so, and returns the two manifest digests, asserting no host path is
/// in either config and that each passes the README's gates.
fn build_in_two_places(make: fn(&Path), init: bool, base: &str) -> [String; 2] {
    let dir = tempfile::tempdir().unwrap();
    ["a/project", "b/deeper/checkout"].map(|place| {
        let root = dir.path().join(place.split('/').next().unwrap());
        let (project, home, out) = (dir.path().join(place), root.join("home"), root.join("out"));
        std::fs::create_dir_all(&home).unwrap();
        make(&project);
        if init {
            let init = strata_at_home(&["init", "--base", base], &project, &home);
            assert_eq!(init.code, 0, "{}", init.stderr);
        }
        let output = format!("oci:{}:v1", out.display());
        let cache = root.join("cache").display().to_string();
        let mut args = vec!["build", "--base", base, "--output", &output, "--no-progress"];
        if place.starts_with('b') {
            args.extend(["--cache-dir", &cache]);
        }
        let built = strata_at_home(&args, &project, &home);
        assert_eq!(built.code, 0, "{}", built.stderr);
        let (digest, config) = manifest_of(&out, "v1");
        assert_no_host_paths(&config, &[&project, &home, &root]);
        let gated = strata_at_home(
            &["check", &output, "--base", base, "--no-progress"]
                .into_iter()
                .chain(README_GATES)
                .collect::<Vec<_>>(),
            &project,
            &home,
        );
        assert_eq!(gated.code, 0, "{}{}", gated.stdout, gated.stderr);
        digest
    })
}

/// The gates the README and the generated Makefile's `CHECK_FLAGS` give a CI.
const README_GATES: [&str; 6] = [
    "--no-dependencies-in-app-layers",
    "--no-caches",
    "--fail-on",
    "secret",
    "--fail-on",
    "wont-start",
];

fn a_python_project_gives_one_digest_in_two_directories_with_two_homes() {
    let base = debian_python_base().reference();
    let [a, b] = build_in_two_places(python_project, true, &base);
    assert_eq!(a, b, "same project, same digest");
}

fn a_rust_project_gives_one_digest_in_two_directories_with_two_homes() {
    let base = debian_python_base().reference();
    let [a, b] = build_in_two_places(rust_project, false, &base);
    assert_eq!(a, b, "same project, same digest");
}

/// The JSON paths (`history[0].created_by`) where `old` and `new` differ, leaves only.
fn differing_paths(path: &str, old: &Value, new: &Value, out: &mut Vec<String>) {
    let child = |key: &str| match path {
        "" => key.to_string(),
        _ => format!("{path}.{key}"),
    };
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            for key in o.keys().chain(n.keys().filter(|k| !o.contains_key(*k))) {
                let null = Value::Null;
                let (a, b) = (o.get(key).unwrap_or(&null), n.get(key).unwrap_or(&null));
                differing_paths(&child(key), a, b, out);
            }
        }
        (Value::Array(o), Value::Array(n)) if o.len() == n.len() => {
            for (i, (a, b)) in o.iter().zip(n).enumerate() {
                differing_paths(&format!("{path}[{i}]"), a, b, out);
            }
        }
        _ if old != new => out.push(path.to_string()),
        _ => {}
    }
}

fn diff_names_every_config_difference_it_counts() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(project.join("src/app.txt"), "hello\n").unwrap();
    let out = dir.path().join("out");
    let cache = dir.path().join("cache").display().to_string();
    let build = |tag: &str, layer: &str, epoch: &str| {
        let output = format!("oci:{}:{tag}", out.display());
        let args = [
            "build", "--base", "scratch", "--layer", layer, "--cache-dir", &cache, "--output",
            &output,
        ];
        let run = strata_in(
            &args,
            &[("SOURCE_DATE_EPOCH", Path::new(epoch))],
            Some(&project),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
    };
    build("v1", "app=src:/app", "0");
    // Only the history differs: the layer's name.
    build("renamed", "code=src:/app", "0");
    // The times differ: config, history and the layer's files.
    build("later", "app=src:/app", "1700000000");
    let (_, v1) = manifest_of(&out, "v1");
    for tag in ["renamed", "later"] {
        let (_, other) = manifest_of(&out, tag);
        let mut expected = Vec::new();
        let parse = |b: &[u8]| serde_json::from_slice::<Value>(b).unwrap();
        differing_paths("", &parse(&v1), &parse(&other), &mut expected);
        assert!(!expected.is_empty(), "{tag}: the configs differ");
        let run = strata(&[
            "diff",
            &format!("oci:{}:v1", out.display()),
            &format!("oci:{}:{tag}", out.display()),
            "--format",
            "json",
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let diff = run.json();
        assert!(
            diff["push_bytes"].as_u64().unwrap() >= v1.len() as u64,
            "{diff}"
        );
        let named: Vec<&str> = diff["config_changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["field"].as_str().unwrap())
            .collect();
        for path in &expected {
            assert!(
                named.contains(&path.as_str()),
                "{tag}: {path} differs but is not named: {named:?}"
            );
        }
    }
}

fn every_sink_reads_back_under_the_reference_it_was_written_to() {
    let registry = Registry::start(None);
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(project.join("src/app.txt"), "hello\n").unwrap();
    let source = format!("oci:{}:v2", dir.path().join("built").display());
    let cache = dir.path().join("cache").display().to_string();
    let built = strata_in(
        &[
            "build", "--base", "scratch", "--layer", "app=src:/app", "--output", &source,
            "--cache-dir", &cache,
        ],
        &[],
        Some(&project),
    );
    assert_eq!(built.code, 0, "{}", built.stderr);
    let config = report_json(&source)["image"]["config_digest"].clone();
    let at = |name: &str| dir.path().join(name).display().to_string();
    for dest in [
        format!("oci:{}:v2", at("layout")),
        format!("oci-archive:{}:v2", at("oci.tar")),
        format!("docker-archive:{}:team/app:v1", at("docker.tar")),
        format!("docker-archive:{}:app", at("named.tar")),
        format!("docker://{}/team/app:v2", registry.host),
    ] {
        let copied = strata(&["copy", &source, &dest, "--format", "json"]);
        assert_eq!(copied.code, 0, "copy to {dest}: {}", copied.stderr);
        assert_eq!(copied.json()["destination"], dest.as_str(), "says where");
        let read = report_json(&dest);
        assert_eq!(read["image"]["config_digest"], config, "strata reads {dest}");
        if optional(have("skopeo"), "skopeo") {
            let raw = sh(&format!("skopeo inspect --tls-verify=false --raw {dest}"));
            let manifest: Value = serde_json::from_str(&raw).unwrap();
            assert_eq!(manifest["config"]["digest"], config, "skopeo reads {dest}");
        }
    }
}

/// Starts `strata build` of a 192 MB incompressible layer into the cache `cache`, and returns
/// it once its layer's temp file exists in the cache.
fn start_a_slow_build(dir: &Path, cache: &Path) -> std::process::Child {
    let project = dir.join("big");
    std::fs::create_dir_all(project.join("data")).unwrap();
    sh(&format!(
        "head -c 201326592 /dev/urandom > '{}/data/random.bin'",
        project.display()
    ));
    let child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["build", "--base", "scratch", "--layer", "data=data:/data"])
        .arg("--cache-dir")
        .arg(cache)
        .arg("--output")
        .arg(format!("oci:{}:v1", dir.join("out").display()))
        .arg("--no-progress")
        .current_dir(&project)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while temp_files(cache).is_empty() {
        assert!(Instant::now() < deadline, "the build never wrote its layer");
        std::thread::sleep(Duration::from_millis(5));
    }
    child
}

/// Every temp file or directory (a name with `.tmp`) under `dir`.
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().contains(".tmp") {
            found.push(path.clone());
        }
        if path.is_dir() {
            found.extend(temp_files(&path));
        }
    }
    found
}

fn ctrl_c_during_a_build_leaves_no_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let child = start_a_slow_build(dir.path(), &cache);
    sh(&format!("kill -INT {}", child.id()));
    let out = child.wait_with_output().unwrap();
    assert_eq!(temp_files(dir.path()), Vec::<PathBuf>::new());
    assert!(!dir.path().join("out").exists(), "no half-written layout");
    assert_eq!(out.status.code(), Some(130), "exit 128 + SIGINT");
}

fn cache_prune_removes_and_reports_what_a_killed_build_left() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let mut child = start_a_slow_build(dir.path(), &cache);
    child.kill().unwrap();
    child.wait().unwrap();
    let left = temp_files(&cache);
    assert_eq!(left.len(), 1, "a killed build leaves its temp file: {left:?}");
    let prune = strata(&["cache", "prune", "--cache-dir", cache.to_str().unwrap()]);
    assert_eq!(prune.code, 0, "{}", prune.stderr);
    assert!(
        prune.stdout.contains("1 temp files"),
        "reports it: {}",
        prune.stdout
    );
    assert_eq!(temp_files(&cache), Vec::<PathBuf>::new());
}

/// The section names of the file `path` in the gzipped layer blob `blob`, by goblin.
fn section_names(blob: &Path, path: &str) -> Vec<String> {
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(blob).unwrap());
    let mut tar = tar::Archive::new(gz);
    let mut bytes = Vec::new();
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_str() == Some(path) {
            std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        }
    }
    let elf = goblin::elf::Elf::parse(&bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
    elf.section_headers
        .iter()
        .filter_map(|s| elf.shdr_strtab.get_at(s.sh_name))
        .map(str::to_string)
        .collect()
}

fn the_rust_preset_strips_in_release_and_no_strip_keeps_the_symbols() {
    let base = debian_python_base().reference();
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("hello-rs");
    rust_project(&project);
    let layout = dir.path().join("out");
    for (tag, flags, stripped) in [("stripped", &[][..], true), ("kept", &["--no-strip"][..], false)] {
        let output = format!("oci:{}:{tag}", layout.display());
        let cache = dir.path().join("cache").display().to_string();
        let mut args = vec!["build", "--base", &base, "--cache-dir", &cache, "--output", &output];
        args.extend(flags);
        args.extend(["--format", "json", "--no-progress"]);
        let run = strata_at_home(&args, &project, dir.path());
        assert_eq!(run.code, 0, "{}", run.stderr);
        let digest = run.json()["layers"][0]["layer"]["digest"]
            .as_str()
            .unwrap()
            .to_string();
        let blob = layout
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"));
        let sections = section_names(&blob, "usr/local/bin/hello-rs");
        assert!(sections.contains(&".text".to_string()), "{sections:?}");
        assert_eq!(
            !sections.contains(&".symtab".to_string()),
            stripped,
            "{tag}: {sections:?}"
        );
        let report = report_json(&output);
        let unstripped = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "unstripped" && f["path"] == "/usr/local/bin/hello-rs");
        assert_eq!(unstripped, !stripped, "{tag}: the report agrees");
    }
}

crate::tests![
    a_python_project_gives_one_digest_in_two_directories_with_two_homes,
    a_rust_project_gives_one_digest_in_two_directories_with_two_homes,
    diff_names_every_config_difference_it_counts,
    every_sink_reads_back_under_the_reference_it_was_written_to,
    ctrl_c_during_a_build_leaves_no_temp_files,
    cache_prune_removes_and_reports_what_a_killed_build_left,
    the_rust_preset_strips_in_release_and_no_strip_keeps_the_symbols,
];
