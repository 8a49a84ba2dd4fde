//! `strata recipe` / `prepare`, `strata cook` and `strata fingerprint` through the binary: the
//! alias and output file, no network and no writes during prepare, the fingerprint's stability,
//! cook's guard against real sources, cargo failures reported with cargo's status, recipes
//! written by cargo-chef, and the cargo flags cook forwards.


use std::path::{Path, PathBuf};

use strata::cargo::invoke::BuildOptions;
use strata::cargo::recipe::Recipe;
use crate::support::cargo::{cook, cook_ok, package, walk, Project};
use crate::support::strata_in;

fn app(p: &Project) {
    p.file("Cargo.toml", "[workspace]\nmembers = [\"app\"]\n")
        .file(
            "app/Cargo.toml",
            &package("app", "0.1.0", "[dependencies]\nitoa = \"1\"\nryu = \"1\"\n"),
        )
        .file("app/src/main.rs", "fn main() { println!(\"real\"); }")
        .file(
            "Cargo.lock",
            "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"itoa\", \"ryu\"]\n\n\
             [[package]]\nname = \"itoa\"\nversion = \"1.0.14\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n\
             [[package]]\nname = \"ryu\"\nversion = \"1.0.18\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
        );
}

fn prepare_is_an_alias_and_recipe_path_writes_the_file() {
    let p = Project::new();
    app(&p);
    let stdout = p.recipe_json(&[]);
    let run = strata_in(
        &["prepare", "--recipe-path", "out.json"],
        &[],
        Some(p.path()),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(p.read("out.json"), stdout);
    assert!(Recipe::from_json(&stdout).is_ok());
}

/// Every file under `dir` with its bytes and modification time.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>, std::time::SystemTime)> {
    walk(dir)
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(&f).unwrap();
            let mtime = std::fs::metadata(&f).unwrap().modified().unwrap();
            (f, bytes, mtime)
        })
        .collect()
}

/// cargo-chef resolves (network, credentials) and rewrites Cargo.lock when `--bin` is given or
/// the lock is missing; strata reads with `cargo metadata --no-deps --offline` only.
fn prepare_never_touches_the_network_nor_writes_the_source_tree() {
    let p = Project::new();
    app(&p);
    let empty_home = tempfile::tempdir().unwrap();
    let closed = Path::new("http://127.0.0.1:9");
    let env = [
        ("CARGO_HOME", empty_home.path()),
        ("http_proxy", closed),
        ("https_proxy", closed),
        ("HTTPS_PROXY", closed),
        ("CARGO_HTTP_PROXY", closed),
    ];
    let before = snapshot(p.path());
    for args in [
        &["recipe"][..],
        &["recipe", "--bin", "app"],
        &["fingerprint"],
    ] {
        let run = strata_in(args, &env, Some(p.path()));
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
    }
    assert_eq!(
        snapshot(p.path()),
        before,
        "prepare changed the source tree"
    );
    assert!(
        walk(empty_home.path()).is_empty(),
        "prepare used CARGO_HOME"
    );

    std::fs::remove_file(p.path().join("Cargo.lock")).unwrap();
    let run = strata_in(&["recipe", "--bin", "app"], &env, Some(p.path()));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.json()["skeleton"]["lock_file"].is_null());
    assert!(
        !p.path().join("Cargo.lock").exists(),
        "prepare wrote Cargo.lock"
    );
}

fn fingerprint(p: &Project) -> String {
    let run = strata_in(&["fingerprint"], &[], Some(p.path()));
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout.trim().to_string()
}

fn fingerprint_ignores_order_and_comments_and_follows_dependencies() {
    let p = Project::new();
    app(&p);
    p.file(
        ".cargo/config.toml",
        "[build]\nrustflags = [\"--cfg\", \"x\"]\nincremental = false\n",
    );
    let first = fingerprint(&p);
    assert!(
        first.len() == 21
            && first.starts_with("deps-")
            && first[5..].bytes().all(|b| b.is_ascii_hexdigit()),
        "{first}"
    );
    p.file(
        "app/Cargo.toml",
        "# the app\n[dependencies]\nryu = \"1\" # fast floats\nitoa = \"1\"\n\n[package]\nedition = \"2021\"\nversion = \"0.1.0\"\nname = \"app\"\n",
    );
    p.file(
        ".cargo/config.toml",
        "# tuned\n[build]\nincremental = false\nrustflags = [\"--cfg\", \"x\"]\n",
    );
    assert_eq!(
        fingerprint(&p),
        first,
        "reordering and comments must not change it"
    );

    p.file(
        "app/Cargo.toml",
        &package(
            "app",
            "7.0.0",
            "[dependencies]\nitoa = \"1\"\nryu = \"1\"\n",
        ),
    );
    assert_eq!(
        fingerprint(&p),
        first,
        "a local version bump is not a dependency change"
    );

    let recipe = p.recipe_json(&[]);
    std::fs::write(p.path().join("recipe.json"), &recipe).unwrap();
    let run = strata_in(
        &["fingerprint", "--recipe-path", "recipe.json"],
        &[],
        Some(p.path()),
    );
    assert_eq!(
        run.stdout.trim(),
        first,
        "a recipe file hashes like its workspace"
    );

    p.file(
        "app/Cargo.toml",
        &package(
            "app",
            "0.1.0",
            "[dependencies]\nitoa = \"1\"\nryu = \"1\"\nhex = \"0.4\"\n",
        ),
    );
    assert_ne!(fingerprint(&p), first, "a new dependency changes it");
}

/// cargo-chef asks for `yes` on a terminal and overwrites silently otherwise.
fn cook_refuses_to_overwrite_real_sources_unless_forced() {
    let p = Project::new();
    app(&p);
    let recipe = p.recipe_json(&[]);
    let run = cook(p.path(), &recipe, &["--no-build"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("app/src/main.rs") && run.stderr.contains("--force"),
        "{}",
        run.stderr
    );
    assert_eq!(
        p.read("app/src/main.rs"),
        "fn main() { println!(\"real\"); }"
    );

    let out = Project::new();
    cook_ok(out.path(), &recipe, &["--no-build"]);
    cook_ok(out.path(), &recipe, &["--no-build"]);
    assert!(out.read("app/src/main.rs").contains("fn main() {}"));

    cook_ok(p.path(), &recipe, &["--no-build", "--force"]);
    assert!(p.read("app/src/main.rs").contains("fn main() {}"));
}

/// cargo-chef panics ("Exited with status code: N", exit 101).
fn cargo_failure_is_reported_with_its_status_and_stderr() {
    let p = Project::new();
    p.file(
        "Cargo.toml",
        &package(
            "app",
            "0.1.0",
            "[dependencies]\nno-such-crate-for-strata-tests = \"1\"\n",
        ),
    )
    .file("src/main.rs", "fn main() {}");
    let recipe = p.recipe_json(&[]);
    let out = Project::new();
    let run = cook(out.path(), &recipe, &["--offline"]);
    assert_eq!(run.code, 101, "cargo's exit code passes through");
    assert!(
        run.stderr.contains("no-such-crate-for-strata-tests"),
        "cargo's stderr: {}",
        run.stderr
    );
    assert!(run.stderr.contains("exit status 101"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

fn recipes_with_absolute_paths_are_rejected() {
    let json = r#"{"skeleton":{"manifests":[{"relative_path":"/etc/Cargo.toml","contents":"","targets":[]}],"config_file":null,"lock_file":null,"rust_toolchain_file":null}}"#;
    let err = Recipe::from_json(json).unwrap_err().to_string();
    assert!(err.contains("/etc/Cargo.toml"), "{err}");
}

/// `cargo chef prepare` 0.1.78 output for a workspace with a lib (`itoa`), a bin, a harness-less
/// bench and a build script, captured verbatim.
const CARGO_CHEF_RECIPE: &str = r##"{"skeleton":{"manifests":[{"relative_path":"Cargo.toml","contents":"[workspace]\nmembers = [\"app\", \"lib\"]\nresolver = \"2\"\n","targets":[]},{"relative_path":"app/Cargo.toml","contents":"[package]\nname = \"app\"\nedition = \"2021\"\nversion = \"0.0.1\"\nbuild = \"build.rs\"\n\n[dependencies]\nitoa = \"1\"\n\n[dependencies.lib]\nversion = \"0.0.1\"\npath = \"../lib\"\n\n[[bin]]\npath = \"src/main.rs\"\nname = \"app\"\nedition = \"2021\"\nrequired-features = []\n\n[[bench]]\npath = \"benches/speed.rs\"\nname = \"speed\"\nharness = false\nedition = \"2021\"\nrequired-features = []\n","targets":[{"path":"benches/speed.rs","kind":"Bench","name":"speed"},{"path":"build.rs","kind":"BuildScript","name":"build-script-build"},{"path":"src/main.rs","kind":"Bin","name":"app"}]},{"relative_path":"lib/Cargo.toml","contents":"[package]\nname = \"lib\"\nedition = \"2021\"\nversion = \"0.0.1\"\n\n[dependencies]\nitoa = \"1\"\n\n[lib]\npath = \"src/lib.rs\"\nname = \"lib\"\nedition = \"2021\"\nrequired-features = []\ncrate-type = [\"lib\"]\n","targets":[{"path":"src/lib.rs","kind":{"Lib":{"is_proc_macro":false}},"name":"lib"}]}],"config_file":null,"lock_file":"version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.0.1\"\ndependencies = [\"itoa\", \"lib\"]\n\n[[package]]\nname = \"itoa\"\nversion = \"1.0.14\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"d75a2a4b1b190afb6f5425f10f6a8f959d2ea0b9c2b1d79553551850539e4674\"\n\n[[package]]\nname = \"lib\"\nversion = \"0.0.1\"\ndependencies = [\"itoa\"]\n","rust_toolchain_file":null}}"##;

fn cook_accepts_a_recipe_written_by_cargo_chef() {
    let recipe = Recipe::from_json(CARGO_CHEF_RECIPE).expect("cargo-chef recipe parses");
    assert!(recipe.skeleton.lock_file.is_some());
    let out = Project::new();
    cook_ok(out.path(), CARGO_CHEF_RECIPE, &["--no-build"]);
    for m in &recipe.skeleton.manifests {
        assert_eq!(out.read(&m.relative_path), m.contents);
    }
    assert!(
        out.read("app/benches/speed.rs").contains("fn main() {}"),
        "harness = false"
    );
    assert!(out.read("app/build.rs").contains("fn main() {}"));
    assert!(out.read("lib/src/lib.rs").starts_with("//!"));
    if crate::support::optional(
        crate::support::cargo::fetched(),
        crate::support::cargo::CRATES_IO,
    ) {
        let run = cook(
            out.path(),
            CARGO_CHEF_RECIPE,
            &["--offline", "--all-targets"],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
}

fn cook_forwards_cargo_chefs_flags() {
    let options = BuildOptions {
        profile: Some("release".into()),
        features: vec!["b,a".into(), "a c".into()],
        targets: vec!["x86_64-unknown-linux-musl".into(), "custom.json".into()],
        packages: vec!["app".into()],
        bins: vec!["one".into(), "two".into()],
        examples: vec!["demo".into()],
        no_default_features: true,
        all_targets: true,
        locked: true,
        offline: true,
        jobs: Some(3),
        verbose: 2,
        timings: true,
        target_dir: Some("t".into()),
        manifest_path: Some("m/Cargo.toml".into()),
        ..BuildOptions::default()
    };
    let args = options.args().join(" ");
    for expected in [
        "--release",
        "--features a,b,c",
        "--target x86_64-unknown-linux-musl --target custom.json",
        "--package app",
        "--bin one --bin two",
        "--example demo",
        "--no-default-features",
        "--all-targets",
        "--locked",
        "--offline",
        "--jobs 3",
        "-vv",
        "--timings",
        "--target-dir t",
        "--manifest-path m/Cargo.toml",
    ] {
        assert!(args.contains(expected), "{expected:?} missing from {args}");
    }
    let profile = |p: &str| {
        BuildOptions {
            profile: Some(p.into()),
            ..BuildOptions::default()
        }
        .args()
    };
    assert!(profile("dev").is_empty());
    assert_eq!(profile("ci"), ["--profile", "ci"]);
}

crate::tests![
    prepare_is_an_alias_and_recipe_path_writes_the_file,
    prepare_never_touches_the_network_nor_writes_the_source_tree,
    fingerprint_ignores_order_and_comments_and_follows_dependencies,
    cook_refuses_to_overwrite_real_sources_unless_forced,
    cargo_failure_is_reported_with_its_status_and_stderr,
    recipes_with_absolute_paths_are_rejected,
    cook_accepts_a_recipe_written_by_cargo_chef,
    cook_forwards_cargo_chefs_flags,
];
