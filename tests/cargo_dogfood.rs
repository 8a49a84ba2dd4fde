//! The dogfood case: prepare and cook strata's own workspace into a temporary directory, copy the
//! real sources over the skeleton, build: no dependency is recompiled and the binary is the real
//! strata, not a stub.
//!
//! It compiles every dependency of strata once (minutes on two cores), so it runs only when
//! `STRATA_DOGFOOD=1` (CI sets it for one job); otherwise it prints a skip notice.

mod support;

use std::path::Path;

use support::cargo::{build, cook_ok, copy_sources, Project};
use support::strata_in;

#[test]
fn strata_cooks_its_own_workspace() {
    if std::env::var("STRATA_DOGFOOD").as_deref() != Ok("1") {
        eprintln!("SKIPPED: the dogfood build runs with STRATA_DOGFOOD=1");
        return;
    }
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
}
