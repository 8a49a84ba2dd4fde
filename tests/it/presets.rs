//! Project presets end to end, on the real Debian + Python base (tests/support/debian.rs):
//!
//! - Python: a `pyproject.toml` app depending on real PyPI packages, locked with uv (from PyPI),
//!   exported to a pip-compile-style requirements.txt, installed into a venv made by the base's
//!   own python in a copy of its rootfs (the project itself installed editable). `strata build`
//!   with no strata.toml detects it; the image runs its console script in a chroot and under
//!   `docker run`; a code change re-ships only the app layer; `uv lock --upgrade-package`
//!   re-ships only the layer of the upgraded distribution.
//! - Rust: a cargo project built with no configuration runs; a code change re-ships only the
//!   binary layer; strata's own binary runs `--version` from an image; a binary linking a
//!   library the base lacks is refused with the library's name.


use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;
use crate::support::cargo::rust_project;
use crate::support::debian::{
    chroot, debian_python_base, strata_image_archive, unpack_and_run, DebianBase,
};
use crate::support::registry::Registry;
use crate::support::python::write_six_venv;
use crate::support::uv::uv_in;
use crate::support::{docker_ok, have, optional, require, sh, strata_in, Run};

/// What the Python app prints for a given idna version.
fn greeting(idna: &str) -> String {
    format!("hello from hello-app: idna {idna} six 1.17.0")
}

const PYPROJECT: &str = r#"[project]
name = "hello-app"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["idna>=3.4", "six==1.17.0", "certifi>=2023.1"]

[project.scripts]
hello-app = "hello_app.cli:main"

[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"
"#;

const CLI: &str = r#"import idna, six, certifi

def main():
    print("hello from hello-app: idna", idna.__version__, "six", six.__version__)
    return 0
"#;

/// A Python project living at `/app` of a copy of the base's rootfs, so its venv is made by the
/// base's python at the path the image uses.
struct PythonProject {
    _dir: tempfile::TempDir,
    rootfs: PathBuf,
    app: PathBuf,
    cache: PathBuf,
}

/// PATH inside the chroot.
fn chroot_env() -> Vec<(String, String)> {
    vec![
        ("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()),
        ("HOME".into(), "/tmp".into()),
    ]
}

impl PythonProject {
    fn new(base: &DebianBase) -> PythonProject {
        let dir = tempfile::tempdir().unwrap();
        let rootfs = dir.path().join("rootfs");
        base.copy_rootfs(&rootfs);
        let app = rootfs.join("app");
        std::fs::create_dir_all(app.join("src/hello_app")).unwrap();
        std::fs::write(app.join("pyproject.toml"), PYPROJECT).unwrap();
        std::fs::write(app.join("src/hello_app/__init__.py"), "").unwrap();
        std::fs::write(app.join("src/hello_app/cli.py"), CLI).unwrap();
        uv_in(&app, "lock -q");
        let project = PythonProject {
            _dir: dir,
            rootfs,
            app,
            cache: PathBuf::new(),
        };
        let cache = project.rootfs.parent().unwrap().join("cache");
        let project = PythonProject { cache, ..project };
        project.lock_and_install("idna==3.6");
        chroot(
            &project.rootfs,
            &["/usr/bin/python3", "-m", "venv", "/app/.venv"],
            &chroot_env(),
        );
        project.install();
        chroot(
            &project.rootfs,
            &[
                "/app/.venv/bin/pip",
                "install",
                "-q",
                "--no-index",
                "--no-deps",
                "--no-build-isolation",
                "-e",
                "/app",
            ],
            &chroot_env(),
        );
        project
    }

    /// Pins `spec` with `uv lock --upgrade-package` and exports requirements.txt.
    fn lock_and_install(&self, spec: &str) {
        uv_in(&self.app, &format!("lock -q --upgrade-package '{spec}'"));
        uv_in(
            &self.app,
            "export -q --format requirements-txt --no-hashes --no-emit-project -o requirements.txt",
        );
        // Wheels come from PyPI on the host; the chroot installs them with no network.
        sh(&format!(
            "pip download -q --only-binary=:all: -d '{}/wheels' -r '{}/requirements.txt' wheel",
            self.rootfs.display(),
            self.app.display()
        ));
    }

    /// Installs requirements.txt (and wheel, for the editable install) into the venv.
    fn install(&self) {
        chroot(
            &self.rootfs,
            &[
                "/app/.venv/bin/pip",
                "install",
                "-q",
                "--no-index",
                "--find-links",
                "/wheels",
                "-r",
                "/app/requirements.txt",
                "wheel",
            ],
            &chroot_env(),
        );
    }

    fn build(&self, base: &DebianBase, args: &[&str]) -> Run {
        let mut all = vec![
            "build",
            "--base",
            &*Box::leak(base.reference().into_boxed_str()),
            "--cache-dir",
            self.cache.to_str().unwrap(),
            "--format",
            "json",
            "--no-progress",
            // The project has a lockfile too: the venv made on the base is what is packaged.
            "--venv",
            ".venv",
        ];
        all.extend_from_slice(args);
        strata_in(&all, &[], Some(&self.app))
    }
}

/// The shared Python project (tests that change it take the lock).
fn python() -> (&'static DebianBase, &'static Mutex<PythonProject>) {
    static PROJECT: OnceLock<Mutex<PythonProject>> = OnceLock::new();
    let base = debian_python_base();
    require(have("pip") || have("pip3"), "pip (host) to download wheels");
    (
        base,
        PROJECT.get_or_init(|| Mutex::new(PythonProject::new(base))),
    )
}

/// Layer name → digest of a build's JSON output.
fn layer_digests(run: &Run) -> BTreeMap<String, String> {
    assert_eq!(run.code, 0, "strata build failed: {}", run.stderr);
    run.json()["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap().to_string(),
                l["layer"]["digest"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn changed(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Vec<String> {
    let names: std::collections::BTreeSet<String> = a
        .keys()
        .chain(b.keys())
        .filter(|n| a.get(*n) != b.get(*n))
        .cloned()
        .collect();
    names.into_iter().collect()
}

fn docker_run(archive: &Path, reference: &str, args: &[&str]) -> String {
    sh(&format!("docker load -q -i '{}'", archive.display()));
    let out = Command::new("docker")
        .args(["run", "--rm", reference])
        .args(args)
        .output()
        .expect("run docker");
    let _ = Command::new("docker").args(["rmi", reference]).output();
    assert!(
        out.status.success(),
        "docker run {reference} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The paths of a layer blob's entries.
fn layer_paths(layout: &Path, digest: &str) -> Vec<String> {
    let blob = layout
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"));
    let tar = flate2::read::GzDecoder::new(std::fs::File::open(blob).unwrap());
    tar::Archive::new(tar)
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect()
}

fn a_python_project_builds_with_zero_config_and_runs() {
    let (base, project) = python();
    let project = project.lock().unwrap_or_else(|p| p.into_inner());
    let out = tempfile::tempdir().unwrap();
    let layout = out.path().join("layout");
    let archive = out.path().join("app.tar");
    let docker_ref = format!("strata-test/preset-python:{}", std::process::id());
    let run = project.build(
        base,
        &[
            "--output",
            &format!("oci:{}:v1", layout.display()),
            "--output",
            &format!("docker-archive:{}:{docker_ref}", archive.display()),
        ],
    );
    let layers = layer_digests(&run);
    assert_eq!(
        layers.keys().collect::<Vec<_>>(),
        ["app", "deps", "venv"],
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("python preset"), "{}", run.stderr);

    // The dependency layer: real packages, not the project itself, no bytecode.
    let deps = layer_paths(&layout, &layers["deps"]);
    let sp = "app/.venv/lib/python3.11/site-packages";
    assert!(
        deps.iter().any(|p| p == &format!("{sp}/idna/core.py")),
        "{deps:?}"
    );
    assert!(deps
        .iter()
        .any(|p| p.starts_with(&format!("{sp}/six-1.17.0.dist-info"))));
    assert!(
        !deps
            .iter()
            .any(|p| p.contains("hello_app") || p.contains("__editable__")),
        "the project's own package belongs with the code"
    );
    assert!(!deps
        .iter()
        .any(|p| p.ends_with(".pyc") || p.contains("__pycache__")));
    let app = layer_paths(&layout, &layers["app"]);
    assert!(
        app.iter().any(|p| p == "app/src/hello_app/cli.py"),
        "{app:?}"
    );
    assert!(!app.iter().any(|p| p.starts_with("app/.venv")), "{app:?}");

    // The image runs its console script, chrooted into umoci's unpacking.
    if optional(have("umoci"), "umoci") {
        let (args, stdout, _) = unpack_and_run(&layout, "v1", out.path());
        assert_eq!(args, ["/app/.venv/bin/hello-app"]);
        assert_eq!(stdout.trim(), greeting("3.6"));
    }
    if optional(have("skopeo"), "skopeo") {
        let config: Value = serde_json::from_str(&sh(&format!(
            "skopeo inspect --config oci:{}:v1",
            layout.display()
        )))
        .unwrap();
        let runtime = &config["config"];
        assert_eq!(runtime["User"], "65532:65532", "{runtime}");
        assert_eq!(runtime["WorkingDir"], "/app");
        let env: Vec<&str> = runtime["Env"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(env.contains(&"VIRTUAL_ENV=/app/.venv"), "{env:?}");
        assert!(env.contains(&"PYTHONDONTWRITEBYTECODE=1"), "{env:?}");
    }
    if optional(docker_ok(&["info"]), "a running Docker Engine") {
        assert_eq!(
            docker_run(&archive, &docker_ref, &[]).trim(),
            greeting("3.6")
        );
    }
}

fn a_code_change_reships_only_the_app_layer() {
    let (base, project) = python();
    let registry = Registry::start(None);
    let project = project.lock().unwrap_or_else(|p| p.into_inner());
    let reference = format!("{}/preset/python", registry.host);
    let v1 = project.build(base, &["--push", &format!("{reference}:v1")]);
    let cli = project.app.join("src/hello_app/cli.py");
    let original = std::fs::read_to_string(&cli).unwrap();
    std::fs::write(&cli, original.replace("hello from", "hello again from")).unwrap();
    let v2 = project.build(base, &["--push", &format!("{reference}:v2")]);
    std::fs::write(&cli, original).unwrap();
    assert_eq!(changed(&layer_digests(&v1), &layer_digests(&v2)), ["app"]);
    let uploaded = v2.json()["outputs"][0]["uploaded_bytes"].as_u64().unwrap();
    assert!(
        uploaded < 100_000,
        "a code change uploaded {uploaded} bytes"
    );
}

fn upgrading_one_package_reships_only_its_layer() {
    let (base, project) = python();
    let project = project.lock().unwrap_or_else(|p| p.into_inner());
    let split = ["--deps-layers", "16", "--plan"];
    let before = project.build(base, &split);
    project.lock_and_install("idna==3.7");
    project.install();
    let after = project.build(base, &split);
    project.lock_and_install("idna==3.6");
    project.install();
    // --plan computes no digests for layers it did not build: build for real.
    let (before, after) = (layer_names(&before), layer_names(&after));
    assert!(before.contains(&"deps-idna".to_string()), "{before:?}");
    assert_eq!(before, after);
    let out = tempfile::tempdir().unwrap();
    let dest = format!("oci:{}:x", out.path().display());
    let v1 = layer_digests(&project.build(base, &["--deps-layers", "16", "--output", &dest]));
    project.lock_and_install("idna==3.7");
    project.install();
    let v2 = layer_digests(&project.build(base, &["--deps-layers", "16", "--output", &dest]));
    project.lock_and_install("idna==3.6");
    project.install();
    assert_eq!(changed(&v1, &v2), ["deps-idna"]);
}

fn layer_names(run: &Run) -> Vec<String> {
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_string())
        .collect()
}

fn a_rust_project_builds_with_zero_config_and_runs() {
    let base = debian_python_base();
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("hello-rs");
    rust_project(&project, "hello from rust");
    let layout = dir.path().join("layout");
    let cache = dir.path().join("cache");
    let build = |tag: &str| {
        let run = strata_in(
            &[
                "build",
                "--base",
                &base.reference(),
                "--cache-dir",
                cache.to_str().unwrap(),
                "--output",
                &format!("oci:{}:{tag}", layout.display()),
                "--format",
                "json",
                "--no-progress",
            ],
            &[],
            Some(&project),
        );
        layer_digests(&run)
    };
    let v1 = build("v1");
    assert_eq!(v1.keys().collect::<Vec<_>>(), ["app"]);
    if optional(have("umoci"), "umoci") {
        let (args, stdout, _) = unpack_and_run(&layout, "v1", dir.path());
        assert_eq!(args, ["/usr/local/bin/hello-rs"]);
        assert_eq!(stdout.trim(), "hello from rust");
    }
    rust_project(&project, "hello again from rust");
    let v2 = build("v2");
    assert_eq!(changed(&v1, &v2), ["app"]);
}

fn strata_itself_runs_from_an_image_and_a_binary_missing_libraries_is_refused() {
    let base = debian_python_base();
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("strata.tar");
    let docker_ref = format!("strata-test/preset-strata:{}", std::process::id());
    strata_image_archive(&base.reference(), &archive, &docker_ref, dir.path());
    if optional(docker_ok(&["info"]), "a running Docker Engine") {
        let version = docker_run(&archive, &docker_ref, &["--version"]);
        assert_eq!(
            version.trim(),
            format!("strata {}", env!("CARGO_PKG_VERSION"))
        );
    }

    require(
        Path::new("/usr/bin/curl").is_file(),
        "/usr/bin/curl (links libcurl)",);
    let refused = strata_in(
        &[
            "build",
            "--preset",
            "rust",
            "--no-cargo",
            "--binary",
            "/usr/bin/curl",
            "--base",
            &base.reference(),
            "--output",
            &format!("oci:{}:curl", dir.path().join("out").display()),
        ],
        &[],
        Some(dir.path()),
    );
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("libcurl.so.4") && refused.stderr.contains("cannot start"),
        "{}",
        refused.stderr
    );
    assert!(
        !dir.path().join("out").exists(),
        "nothing written for a refused build"
    );
}

fn init_writes_the_detected_plan_and_build_reads_it_back() {
    let dir = tempfile::tempdir().unwrap();
    // A Python project whose venv holds one distribution (no interpreter needed to plan).
    let project = dir.path().join("py");
    write_six_venv(&project);
    std::fs::write(project.join("pyproject.toml"), PYPROJECT).unwrap();
    let strata_here = |args: &[&str]| strata_in(args, &[], Some(&project));

    let base = debian_python_base().reference();
    let init = strata_here(&["init", "--base", &base]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    let written = std::fs::read_to_string(project.join("strata.toml")).unwrap();
    for expected in [
        "[preset]",
        "kind = \"python\"",
        "venv = \".venv\"",
        &format!("base = \"{base}\""),
        "/app/.venv/bin/hello-app",
        "#   deps ",
    ] {
        assert!(
            written.contains(expected),
            "{expected:?} missing from:\n{written}"
        );
    }
    let again = strata_here(&["init", "--base", &base]);
    assert_eq!(again.code, 2, "init must not overwrite: {}", again.stderr);
    assert!(again.stderr.contains("--force"), "{}", again.stderr);

    // `strata build --plan` reads it: the same layers as with no strata.toml at all.
    let cache = dir.path().join("cache");
    let plan = |extra: &[&str]| {
        let mut args = vec!["build", "--plan", "--format", "json", "--cache-dir"];
        args.push(cache.to_str().unwrap());
        args.extend_from_slice(extra);
        layer_names(&strata_here(&args))
    };
    let from_file = plan(&[]);
    assert_eq!(from_file, ["deps", "venv", "app"]);
    std::fs::remove_file(project.join("strata.toml")).unwrap();
    assert_eq!(plan(&["--base", &base]), from_file);

    // A Rust project gets the rust preset; a directory with neither is told so.
    let rust = dir.path().join("rs");
    rust_project(&rust, "hi");
    let init = strata_in(&["init", "--base", "scratch"], &[], Some(&rust));
    assert_eq!(init.code, 0, "{}", init.stderr);
    let written = std::fs::read_to_string(rust.join("strata.toml")).unwrap();
    assert!(written.contains("kind = \"rust\""), "{written}");
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let none = strata_in(&["init"], &[], Some(&empty));
    assert_eq!(none.code, 2);
    assert!(
        none.stderr.contains("no Python or Rust project"),
        "{}",
        none.stderr
    );
}

fn a_rust_dependency_build_is_restored_from_its_cache_on_a_fresh_checkout() {
    let base = debian_python_base();
    let dir = tempfile::tempdir().unwrap();
    let cache_repo = format!("oci:{}", dir.path().join("deps-cache").display());
    let build_in = |project: &Path| {
        let run = strata_in(
            &[
                "build",
                "--cargo-cache",
                &cache_repo,
                "--base",
                &base.reference(),
                "--cache-dir",
                dir.path().join("layers").to_str().unwrap(),
                "--output",
                &format!("oci:{}:app", dir.path().join("out").display()),
            ],
            &[],
            Some(project),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stderr
    };
    let write_project = |project: &Path| {
        rust_project(project, "unused");
        std::fs::write(
            project.join("Cargo.toml"),
            "[package]\nname = \"hello-rs\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nitoa = \"1\"\n",
        )
        .unwrap();
        std::fs::write(
            project.join("src/main.rs"),
            "fn main() {\n    println!(\"{}\", itoa::Buffer::new().format(42));\n}\n",
        )
        .unwrap();
    };
    let first = dir.path().join("first");
    write_project(&first);
    sh(&format!(
        "cd '{}' && cargo generate-lockfile -q",
        first.display()
    ));
    let stderr = build_in(&first);
    assert!(stderr.contains("Compiling itoa"), "{stderr}");
    assert!(stderr.contains("stored the dependency build"), "{stderr}");

    // A fresh checkout (no target/) restores the dependencies: only the crate itself compiles.
    let second = dir.path().join("second");
    write_project(&second);
    std::fs::copy(first.join("Cargo.lock"), second.join("Cargo.lock")).unwrap();
    let stderr = build_in(&second);
    assert!(stderr.contains("restored the dependency build"), "{stderr}");
    assert!(!stderr.contains("Compiling itoa"), "{stderr}");
    assert!(stderr.contains("Compiling hello-rs"), "{stderr}");
    if optional(have("umoci"), "umoci") {
        let (_, stdout, _) = unpack_and_run(&dir.path().join("out"), "app", dir.path());
        assert_eq!(stdout.trim(), "42");
    }
}

crate::tests![
    a_python_project_builds_with_zero_config_and_runs,
    a_code_change_reships_only_the_app_layer,
    upgrading_one_package_reships_only_its_layer,
    a_rust_project_builds_with_zero_config_and_runs,
    strata_itself_runs_from_an_image_and_a_binary_missing_libraries_is_refused,
    init_writes_the_detected_plan_and_build_reads_it_back,
    a_rust_dependency_build_is_restored_from_its_cache_on_a_fresh_checkout,
];
