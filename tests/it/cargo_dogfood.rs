//! The dogfood case: prepare and cook strata's own workspace into a temporary directory, copy the
//! real sources over the skeleton, build: no dependency is recompiled and the binary is the real
//! strata, not a stub. Then `strata build` with no configuration (the Rust preset) packages that
//! workspace onto the Debian base, and the image's `strata --version` runs under `docker run`.
//!
//! It compiles every dependency of strata once (minutes on two cores), so it runs only when
//! `STRATA_DOGFOOD=1` (CI sets it for one job); otherwise it shows as ignored.


use std::path::Path;

use crate::support::cargo::{build, cook_ok, copy_sources, Project};
use crate::support::debian::debian_python_base;
use crate::support::{docker_ok, opt_in, optional, sh, strata_in};

fn strata_cooks_its_own_workspace() {
    opt_in("STRATA_DOGFOOD", "the dogfood build (CI runs it in one job)");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let recipe = strata_in(&["recipe"], &[], Some(root));
    assert_eq!(recipe.code, 0, "strata recipe: {}", recipe.stderr);
    let out = Project::new();
    cook_ok(out.path(), &recipe.stdout, &["--locked"]);
    assert!(
        !out.path().join("target/debug/strata").exists(),
        "the stub binary must not survive cook"
    );
    copy_sources(root, out.path(), true);
    let result = build(out.path(), &["--locked"]);
    result.assert_deps_fresh();
    assert!(
        result.local_rebuilt().contains("strata:strata"),
        "{:?}",
        result.units
    );
    let version = std::process::Command::new(out.path().join("target/debug/strata"))
        .arg("--version")
        .output()
        .expect("run the built strata");
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("strata {}", env!("CARGO_PKG_VERSION"))
    );

    // Zero configuration: the preset runs cargo (the dev profile this test compiled, so nothing
    // recompiles), checks the binary's libraries against the base, and packages it.
    let base = debian_python_base();
    let archive = out.path().join("strata-image.tar");
    let docker_ref = format!("strata-test/dogfood:{}", std::process::id());
    let image = strata_in(
        &[
            "build",
            "--profile",
            "dev",
            "--base",
            &base.reference(),
            "--cache-dir",
            out.path().join("layer-cache").to_str().unwrap(),
            "--output",
            &format!("docker-archive:{}:{docker_ref}", archive.display()),
        ],
        &[],
        Some(out.path()),
    );
    assert_eq!(image.code, 0, "strata build: {}", image.stderr);
    assert!(image.stderr.contains("rust preset"), "{}", image.stderr);
    if optional(docker_ok(&["info"]), "a running Docker Engine") {
        sh(&format!("docker load -q -i '{}'", archive.display()));
        let run = std::process::Command::new("docker")
            .args(["run", "--rm", &docker_ref, "--version"])
            .output()
            .expect("docker run");
        let _ = std::process::Command::new("docker")
            .args(["rmi", &docker_ref])
            .output();
        assert_eq!(
            String::from_utf8_lossy(&run.stdout).trim(),
            format!("strata {}", env!("CARGO_PKG_VERSION")),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
}

crate::tests![
    strata_cooks_its_own_workspace,
];
