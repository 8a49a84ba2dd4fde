//! `container/` holds strata's own Dockerfiles, written by `strata dockerfile`: they must be
//! exactly what the generator writes today for this workspace (regenerate with
//! `strata dockerfile --lang rust --force` after changing the generator), lint clean, and build
//! with Docker into an image whose `strata --version` runs and whose runtime stage adds only the
//! binary to the runtime base.


use std::path::Path;
use std::time::Instant;

use crate::support::debian::{debian_python_base, debian_rust_builder};
use crate::support::images::{docker_ready, tool, DockerImages};
use crate::support::{opt_in, strata_in};

/// The files `strata dockerfile` writes for a Rust project, relative to the project.
const FILES: [&str; 5] = [
    "container/Dockerfile.base",
    "container/Dockerfile",
    "container/digests.env",
    "container/Makefile",
    ".dockerignore",
];

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

fn container_dockerfiles_lint_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = ["lint", "container/Dockerfile.base", "container/Dockerfile"];
    for context in [&["--context", "."][..], &[]] {
        let args: Vec<&str> = files.iter().chain(context).copied().collect();
        let run = strata_in(&args, &[], Some(root));
        assert_eq!(run.code, 0, "{context:?}: {}{}", run.stdout, run.stderr);
    }
}

/// Builds `container/` with Docker through its Makefile, on bases the test makes: the Debian
/// base as the runtime, Debian + gcc + the host's toolchain as the builder, strata packaged by
/// itself as `STRATA_IMAGE`. The dependency image compiles all of strata's dependencies in
/// release mode (6 minutes on a quiet two-core machine, 26 under load), so it runs only with
/// `STRATA_CONTAINER_BUILD=1`: `.ci/run` sets it, and `make container-test` runs it alone.
fn docker_builds_strata_from_its_container_files() {
    opt_in(
        "STRATA_CONTAINER_BUILD",
        "the Docker build of container/ (make container-test)",
    );
    docker_ready();
    let (debian, builder) = (debian_python_base(), debian_rust_builder());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let id = std::process::id();
    let name = |what: &str| format!("strata-test-container-{what}:{id}");
    let (runtime, builder_name, strata_image) = (name("runtime"), name("builder"), name("strata"));
    let image = format!("strata-test-container-{id}");
    let mut images = DockerImages::default();
    images.load(&debian.reference(), &runtime);
    images.load_with_ca(&builder.reference(), &builder_name);
    images.load_strata(&debian.reference(), &strata_image);
    let deps = strata_in(&["base", &format!("{image}-deps")], &[], Some(root));
    assert_eq!(deps.code, 0, "{}", deps.stderr);
    let deps_ref = deps.stdout.trim().to_string();
    images.0.extend([deps_ref, format!("{image}:test")]);

    let started = Instant::now();
    tool(
        "make",
        &[
            "-f",
            "container/Makefile",
            "build",
            &format!("IMAGE={image}"),
            "TAG=test",
            &format!("RUNTIME_BASE={runtime}"),
            &format!("BUILDER_BASE={builder_name}"),
            &format!("STRATA_IMAGE={strata_image}"),
        ],
        root,
    );
    eprintln!(
        "container/: dependency and app images built in {:?}",
        started.elapsed()
    );

    let app = format!("{image}:test");
    let version = tool("docker", &["run", "--rm", &app, "--version"], root);
    assert_eq!(
        version.trim(),
        format!("strata {}", env!("CARGO_PKG_VERSION"))
    );

    // The runtime stage is the runtime base plus one layer holding the binary alone.
    let out = tempfile::tempdir().unwrap();
    let diff = strata_in(
        &[
            "diff",
            &DockerImages::save(&runtime, out.path()),
            &DockerImages::save(&app, out.path()),
            "--files",
            "--format",
            "json",
        ],
        &[],
        None,
    )
    .json();
    let count = |key: &str| diff[key].as_array().map_or(0, Vec::len);
    assert_eq!(count("removed_layers"), 0, "{diff}");
    assert_eq!(count("added_layers"), 1, "{diff}");
    let changed: Vec<&str> = diff["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter(|f| f["change"] != "metadata_only")
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert_eq!(changed, ["/usr/local/bin/strata"], "{diff}");
}

crate::tests![
    container_files_are_what_the_generator_writes,
    container_dockerfiles_lint_clean,
    docker_builds_strata_from_its_container_files,
];
