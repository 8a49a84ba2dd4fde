//! End-to-end caching with real crates (itoa, ryu, serde with derive — a build script and a
//! proc-macro): cargo-chef's 29 caching cases (recipe changed / unchanged, external dependencies
//! fresh / rebuilt, build succeeds) judged from `cargo build --message-format json` as
//! cargo-chef's own tests judge them, plus strata's fixes: no stale stub binary when sources
//! arrive with old modification times, cleanup in the target directory `.cargo/config.toml`
//! names, `cook --locked` with a local crate named like a registry crate, and `--example NAME`.
//!
//! One online `cargo fetch` (see `crate::support::cargo::warm`), then everything is `--offline`, debug
//! profile, one target directory per scenario.


use std::collections::BTreeSet;
use std::path::Path;

use crate::support::cargo::{
    build, cargo_ok, cook_ok, copy_sources, package, stdout_of, warm, Build, Project, ITOA_NEW,
    ITOA_OLD,
};

/// A workspace root listing `members`, then `extra` (e.g. `[workspace.dependencies]`).
fn root(p: &Project, members: &[&str], extra: &str) {
    let list = members
        .iter()
        .map(|m| format!("\"{m}\""))
        .collect::<Vec<_>>()
        .join(", ");
    p.file(
        "Cargo.toml",
        &format!("[workspace]\nmembers = [{list}]\nresolver = \"2\"\n\n{extra}"),
    );
}

/// A library member `name` at `./name` with the manifest sections `rest`.
fn member(p: &Project, name: &str, version: &str, rest: &str) {
    p.file(&format!("{name}/Cargo.toml"), &package(name, version, rest))
        .file(
            &format!("{name}/src/lib.rs"),
            "pub fn value() -> u32 { 1 }\n",
        );
}

/// A binary `bin` of member `name`.
fn bin(p: &Project, name: &str, bin: &str, body: &str) {
    p.file(
        &format!("{name}/src/bin/{bin}.rs"),
        &format!("fn main() {{ {body} }}\n"),
    );
}

/// Edits a member's library source (a code-only change).
fn edit_source(p: &Project, name: &str) {
    p.file(
        &format!("{name}/src/lib.rs"),
        "pub fn value() -> u32 { 2 }\n",
    );
}

/// Replaces a member's manifest.
fn manifest(p: &Project, name: &str, version: &str, rest: &str) {
    p.file(&format!("{name}/Cargo.toml"), &package(name, version, rest));
}

/// A `[dependencies]` with itoa, plus ryu in `section`.
fn itoa_plus_ryu_in(section: &str) -> String {
    match section {
        "dependencies" => "[dependencies]\nitoa = \"1\"\nryu = \"1\"\n".to_string(),
        _ => format!("[dependencies]\nitoa = \"1\"\n\n[{section}]\nryu = \"1\"\n"),
    }
}

/// cargo-chef's recipe steps: prepare, edit, refresh the lock, prepare again; true when the
/// recipe changed.
fn recipe_changes(p: &Project, prepare_args: &[&str], edit: impl FnOnce(&Project)) -> bool {
    let before = p.recipe_json(prepare_args);
    edit(p);
    p.lock();
    before != p.recipe_json(prepare_args)
}

/// cargo-chef's build steps: prepare, cook in a fresh directory, edit, refresh the lock, copy the
/// sources over the skeleton, build.
fn cook_edit_build(
    p: &Project,
    cook_args: &[&str],
    build_args: &[&str],
    edit: impl FnOnce(&Project),
) -> (Project, Build) {
    let recipe = p.recipe_json(&[]);
    let out = Project::new();
    let mut args = vec!["--offline"];
    args.extend_from_slice(cook_args);
    cook_ok(out.path(), &recipe, &args);
    edit(p);
    p.lock();
    copy_sources(p.path(), out.path(), false);
    let result = build(out.path(), build_args);
    (out, result)
}

fn base() -> Project {
    let p = Project::new();
    root(&p, &["a"], "");
    member(&p, "a", "0.1.0", "[dependencies]\nitoa = \"1\"\n");
    p.lock();
    p
}

fn multi() -> Project {
    let p = Project::new();
    root(&p, &["a", "b"], "");
    member(
        &p,
        "a",
        "0.1.0",
        "[dependencies]\nitoa = \"1\"\nb = { path = \"../b\", version = \"0.1.0\" }\n",
    );
    member(&p, "b", "0.1.0", "[dependencies]\nitoa = \"1\"\n");
    p.lock();
    p
}

fn source_edit_keeps_external_deps_fresh() {
    warm();
    for p in [base(), multi()] {
        let (_, result) = cook_edit_build(&p, &[], &[], |p| edit_source(p, "a"));
        result.assert_deps_fresh();
        assert!(result.local_rebuilt().contains("a:a"));
    }
}

fn added_dependency_rebuilds_external_deps() {
    warm();
    for p in [base(), multi()] {
        let (_, result) = cook_edit_build(&p, &[], &[], |p| {
            let rest =
                contents_of(p, "a").replace("[dependencies]\n", "[dependencies]\nryu = \"1\"\n");
            p.file("a/Cargo.toml", &rest);
        });
        assert!(result.ok, "{}", result.stderr);
        assert!(result.deps_rebuilt().contains("ryu"), "{:?}", result.units);
    }
}

fn contents_of(p: &Project, name: &str) -> String {
    p.read(&format!("{name}/Cargo.toml"))
}

fn recipe_changes_when_a_member_gains_a_dependency() {
    warm();
    let p = multi();
    assert!(recipe_changes(&p, &[], |p| manifest(
        p,
        "a",
        "0.1.0",
        "[dependencies]\nitoa = \"1\"\nryu = \"1\"\nb = { path = \"../b\", version = \"0.1.0\" }\n"
    )));
}

fn recipe_unchanged_when_member_or_local_dependency_versions_change() {
    warm();
    let p = Project::new();
    root(&p, &["a", "b"], "");
    member(&p, "a", "0.1.0", "[dependencies]\nb = { path = \"../b\", version = \"0.2.3\" }\nrenamed_b = { package = \"b\", path = \"../b\", version = \"0.2.3\" }\n");
    member(&p, "b", "0.2.3", "[dependencies]\nitoa = \"1\"\n");
    p.lock();
    assert!(!recipe_changes(&p, &[], |p| {
        manifest(p, "b", "9.9.9", "[dependencies]\nitoa = \"1\"\n");
        manifest(p, "a", "1.0.0", "[dependencies]\nb = { path = \"../b\", version = \"9.9.9\" }\nrenamed_b = { package = \"b\", path = \"../b\", version = \"9.9.9\" }\n");
    }));
}

fn recipe_changes_when_the_lockfile_updates_an_external_dependency() {
    warm();
    let p = base();
    cargo_ok(
        p.path(),
        &["update", "--offline", "-p", "itoa", "--precise", ITOA_OLD],
    );
    let before = p.recipe_json(&[]);
    cargo_ok(
        p.path(),
        &["update", "--offline", "-p", "itoa", "--precise", ITOA_NEW],
    );
    assert_ne!(before, p.recipe_json(&[]));
}

/// `app` (lib + bin `app_cli`, itoa, local `shared`), `shared`, `ignored_cli` (local
/// `ignored_local`), `ignored_local`.
fn selected_bin_workspace() -> Project {
    let p = Project::new();
    root(&p, &["app", "shared", "ignored_cli", "ignored_local"], "");
    member(
        &p,
        "app",
        "0.1.0",
        "[dependencies]\nitoa = \"1\"\nshared = { path = \"../shared\" }\n",
    );
    bin(&p, "app", "app_cli", "println!(\"{}\", app::value());");
    member(&p, "shared", "0.1.0", "");
    member(
        &p,
        "ignored_cli",
        "0.1.0",
        "[dependencies]\nignored_local = { path = \"../ignored_local\" }\n",
    );
    member(&p, "ignored_local", "0.1.0", "");
    p.lock();
    p
}

fn recipe_unchanged_for_unrelated_members_when_prepare_selects_a_bin() {
    warm();
    let p = selected_bin_workspace();
    assert!(!recipe_changes(&p, &["--bin", "app_cli"], |p| manifest(
        p,
        "ignored_local",
        "0.1.0",
        "[dependencies]\nryu = \"1\"\n"
    )));
    assert!(!recipe_changes(&p, &["--bin", "app_cli"], |p| root(
        p,
        &["app", "shared", "ignored_cli", "ignored_local"],
        "[workspace.dependencies]\nryu = \"1\"\n"
    )));
}

fn unrelated_member_edit_keeps_deps_of_the_selected_package_fresh() {
    warm();
    let p = selected_bin_workspace();
    let (_, result) = cook_edit_build(&p, &["-p", "app"], &["-p", "app"], |p| {
        edit_source(p, "ignored_cli")
    });
    result.assert_deps_fresh();
}

fn build_script_workspace() -> Project {
    let p = Project::new();
    root(&p, &["app"], "");
    member(&p, "app", "0.1.0", "[dependencies]\nitoa = \"1\"\n");
    p.file("app/build.rs", "fn main() {}\n");
    p.lock();
    p
}

fn recipe_changes_when_a_build_script_member_gains_dependencies() {
    warm();
    for section in ["dependencies", "build-dependencies"] {
        let p = build_script_workspace();
        assert!(
            recipe_changes(&p, &[], |p| manifest(
                p,
                "app",
                "0.1.0",
                &itoa_plus_ryu_in(section)
            )),
            "{section}"
        );
    }
}

fn build_script_edit_keeps_external_deps_fresh() {
    warm();
    let p = build_script_workspace();
    let (_, result) = cook_edit_build(&p, &[], &[], |p| {
        p.file(
            "app/build.rs",
            "fn main() { println!(\"cargo:rustc-cfg=edited\"); }\n",
        );
    });
    result.assert_deps_fresh();
}

fn recipe_changes_when_dependency_features_change() {
    warm();
    let p = Project::new();
    root(&p, &["app"], "");
    member(&p, "app", "0.1.0", "[dependencies]\nserde = \"1\"\n");
    p.lock();
    assert!(recipe_changes(&p, &[], |p| manifest(
        p,
        "app",
        "0.1.0",
        "[dependencies]\nserde = { version = \"1\", features = [\"derive\"] }\n"
    )));
}

/// `app` (bin `app_cli`) → `mid` → `leaf`, plus an unrelated member.
fn chain() -> Project {
    let p = Project::new();
    root(&p, &["app", "mid", "leaf", "other"], "");
    member(
        &p,
        "app",
        "0.1.0",
        "[dependencies]\nmid = { path = \"../mid\" }\n",
    );
    bin(&p, "app", "app_cli", "println!(\"{}\", app::value());");
    member(
        &p,
        "mid",
        "0.1.0",
        "[dependencies]\nleaf = { path = \"../leaf\" }\n",
    );
    member(&p, "leaf", "0.1.0", "[dependencies]\nryu = \"1\"\n");
    member(&p, "other", "0.1.0", "");
    p.lock();
    p
}

fn selected_bin_sees_transitive_local_dependency_changes() {
    warm();
    let p = chain();
    assert!(recipe_changes(&p, &["--bin", "app_cli"], |p| manifest(
        p,
        "leaf",
        "0.1.0",
        "[dependencies]\nryu = \"1\"\nitoa = \"1\"\n"
    )));
}

fn selected_bin_transitive_source_edit_keeps_recipe_and_deps() {
    warm();
    let p = chain();
    assert!(!recipe_changes(&p, &["--bin", "app_cli"], |p| edit_source(
        p, "leaf"
    )));
    let recipe = p.recipe_json(&["--bin", "app_cli"]);
    let out = Project::new();
    cook_ok(out.path(), &recipe, &["--offline", "--bin", "app_cli"]);
    edit_source(&p, "leaf");
    copy_sources(p.path(), out.path(), false);
    build(out.path(), &["--bin", "app_cli"]).assert_deps_fresh();
}

fn workspace_dependencies_external_versions_matter_local_ones_do_not() {
    warm();
    let p = Project::new();
    root(
        &p,
        &["app", "shared"],
        "[workspace.dependencies]\nshared = { path = \"shared\", version = \"0.2.0\" }\n",
    );
    member(
        &p,
        "app",
        "0.1.0",
        "[dependencies]\nshared = { workspace = true }\n",
    );
    member(&p, "shared", "0.2.0", "[dependencies]\nitoa = \"1\"\n");
    p.lock();
    assert!(!recipe_changes(&p, &[], |p| {
        root(
            p,
            &["app", "shared"],
            "[workspace.dependencies]\nshared = { path = \"shared\", version = \"9.9.9\" }\n",
        );
        manifest(p, "shared", "9.9.9", "[dependencies]\nitoa = \"1\"\n");
    }));
    assert!(recipe_changes(&p, &[], |p| {
        root(
        p,
        &["app", "shared"],
        "[workspace.dependencies]\nshared = { path = \"shared\", version = \"9.9.9\" }\nryu = \"1\"\n"
    )
    }));
}

fn build_succeeds_after_cook_for_each_profile() {
    warm();
    for (cook_args, build_args) in [
        (&[][..], &[][..]),
        (&["--profile", "test"][..], &["--profile", "test"][..]),
        (&["--release"][..], &["--release"][..]),
    ] {
        let (_, result) = cook_edit_build(&base(), cook_args, build_args, |_| {});
        result.assert_deps_fresh();
    }
}

fn host() -> String {
    let out = std::process::Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc -vV");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("host triple")
        .to_string()
}

fn build_succeeds_after_cook_with_custom_target_dir_and_target() {
    warm();
    let host = host();
    let args = [
        "--target",
        host.as_str(),
        "--target-dir",
        "target-cache-custom",
    ];
    let (out, result) = cook_edit_build(&base(), &args, &args, |_| {});
    result.assert_deps_fresh();
    assert!(out
        .path()
        .join("target-cache-custom")
        .join(&host)
        .join("debug")
        .is_dir());
}

fn recipe_changes_when_an_external_dependency_is_added_to_any_section() {
    warm();
    for section in [
        "dependencies",
        "dev-dependencies",
        "build-dependencies",
        "target.'cfg(unix)'.dependencies",
    ] {
        let p = base();
        assert!(
            recipe_changes(&p, &[], |p| manifest(
                p,
                "a",
                "0.1.0",
                &itoa_plus_ryu_in(section)
            )),
            "{section}"
        );
    }
}

/// Local fingerprint directories left under `dir` (any profile, any target).
fn local_fingerprints(dir: &Path, names: &[&str]) -> BTreeSet<String> {
    crate::support::cargo::walk(dir)
        .into_iter()
        .filter_map(|f| {
            let parent = f.parent()?;
            let grand = parent.parent()?;
            (grand.file_name()? == ".fingerprint")
                .then(|| parent.file_name().unwrap().to_string_lossy().into_owned())
        })
        .filter(|unit| names.iter().any(|n| unit.starts_with(&format!("{n}-"))))
        .collect()
}

/// Makes the real manifests byte-identical to the skeleton's, so that nothing but cook's cleanup
/// tells cargo the stub units are stale (the worst case: cargo-chef's #212 needs only this).
fn adopt_skeleton_manifests(p: &Project) {
    for m in p.recipe(&[]).skeleton.manifests {
        p.file(&m.relative_path, &m.contents);
    }
    p.lock();
}

/// cargo-chef #212: when the real manifest equals the skeleton's (a version already 0.0.1,
/// targets spelled out) and the sources arrive with old modification times, cargo-chef's stub
/// binary survives (cargo reports only `Finished`): it deletes neither bin, example nor test
/// outputs nor any fingerprint.
fn real_sources_with_old_mtimes_always_replace_the_stubs() {
    warm();
    let p = Project::new();
    p.file(
        "Cargo.toml",
        &package(
            "stale",
            "0.0.1",
            "[dependencies]\nitoa = \"1\"\n\n[[bin]]\nname = \"stale\"\npath = \"src/main.rs\"\n\n\
             [[example]]\nname = \"demo\"\npath = \"examples/demo.rs\"\n",
        ),
    )
    .file(
        "build.rs",
        "fn main() { println!(\"cargo:rustc-env=FROM_BUILD=real-build-script\"); }\n",
    )
    .file(
        "src/main.rs",
        "fn main() { println!(\"real {}\", env!(\"FROM_BUILD\")); }\n",
    )
    .file(
        "src/lib.rs",
        "pub fn real() -> &'static str { \"real-lib\" }\n",
    )
    .file(
        "examples/demo.rs",
        "fn main() { println!(\"{}\", stale::real()); }\n",
    )
    .file(
        "tests/it.rs",
        "#[test]\nfn real() { assert_eq!(stale::real(), \"real-lib\"); }\n",
    );
    adopt_skeleton_manifests(&p);
    let recipe = p.recipe_json(&[]);
    let out = Project::new();
    cook_ok(out.path(), &recipe, &["--offline", "--all-targets"]);
    let left = local_fingerprints(&out.path().join("target"), &["stale"]);
    copy_sources(p.path(), out.path(), true);
    let result = build(out.path(), &["--all-targets"]);
    result.assert_deps_fresh();
    assert_eq!(
        stdout_of(&out.path().join("target/debug/stale")),
        "real real-build-script\n"
    );
    assert_eq!(
        stdout_of(&out.path().join("target/debug/examples/demo")),
        "real-lib\n"
    );
    assert!(
        left.is_empty(),
        "local fingerprints left after cook: {left:?}"
    );
}

/// cargo-chef cleans `./target/<profile>` only: a target dir or target triple set in
/// `.cargo/config.toml` leaves its stubs in place.
fn cleanup_follows_the_target_dir_and_target_of_the_cargo_config() {
    warm();
    let host = host();
    let p = Project::new();
    p.file(
        "Cargo.toml",
        &package("cfgapp", "0.0.1", "[dependencies]\nryu = \"1\"\n"),
    )
    .file("src/main.rs", "fn main() { println!(\"real\"); }\n")
    .file(
        ".cargo/config.toml",
        &format!("[build]\ntarget-dir = \"elsewhere\"\ntarget = \"{host}\"\n"),
    );
    adopt_skeleton_manifests(&p);
    let recipe = p.recipe_json(&[]);
    let out = Project::new();
    cook_ok(out.path(), &recipe, &["--offline"]);
    let dir = out.path().join("elsewhere");
    assert!(dir.join(&host).join("debug").is_dir());
    let left = local_fingerprints(&dir, &["cfgapp"]);
    copy_sources(p.path(), out.path(), true);
    build(out.path(), &[]).assert_deps_fresh();
    assert_eq!(stdout_of(&dir.join(&host).join("debug/cfgapp")), "real\n");
    assert!(
        left.is_empty(),
        "local fingerprints left after cook: {left:?}"
    );
}

/// cargo-chef masks the local `itoa` lock entry but not the `"itoa 0.5.0"` reference to it, so
/// `cook --locked` fails with "cannot update the lock file".
fn cook_locked_works_when_a_local_crate_shares_a_registry_crates_name() {
    warm();
    let p = Project::new();
    root(&p, &["app", "itoa"], "");
    member(&p, "app", "0.3.0", "[dependencies]\nitoa = \"1\"\nlocal_itoa = { package = \"itoa\", path = \"../itoa\", version = \"0.5.0\" }\n");
    p.file("itoa/Cargo.toml", &package("itoa", "0.5.0", ""))
        .file("itoa/src/lib.rs", "pub fn local() {}\n");
    p.lock();
    let lock = p.read("Cargo.lock");
    assert!(
        lock.contains("\"itoa 0.5.0\""),
        "the fixture needs a versioned reference: {lock}"
    );
    let recipe = p.recipe_json(&[]);
    let out = Project::new();
    cook_ok(out.path(), &recipe, &["--offline", "--locked"]);
    copy_sources(p.path(), out.path(), false);
    build(out.path(), &["--locked"]).assert_deps_fresh();
}

/// cargo-chef has no `--example NAME` (its #322).
fn cook_example_compiles_its_dev_dependencies() {
    warm();
    let p = Project::new();
    p.file(
        "Cargo.toml",
        &package(
            "ex",
            "0.1.0",
            "[dependencies]\nitoa = \"1\"\n\n[dev-dependencies]\nryu = \"1\"\n",
        ),
    )
    .file("src/lib.rs", "")
    .file(
        "examples/demo.rs",
        "fn main() { let _ = ryu::Buffer::new(); }\n",
    );
    p.lock();
    let recipe = p.recipe_json(&[]);
    let out = Project::new();
    cook_ok(out.path(), &recipe, &["--offline", "--example", "demo"]);
    copy_sources(p.path(), out.path(), false);
    let result = build(out.path(), &["--example", "demo"]);
    result.assert_deps_fresh();
    assert!(result.units.iter().any(|u| u.package == "ryu" && u.fresh));
}

/// serde with derive (a proc-macro and build scripts among the registry crates), a local
/// proc-macro member and a build script with a build-dependency.
fn serde_derive_proc_macro_and_build_script_deps_stay_fresh() {
    warm();
    let p = Project::new();
    root(&p, &["app", "macros"], "");
    p.file(
        "app/Cargo.toml",
        &package(
            "app",
            "0.1.0",
            "[dependencies]\nserde = { version = \"1\", features = [\"derive\"] }\nmacros = { path = \"../macros\" }\n\n\
             [build-dependencies]\nitoa = \"1\"\n",
        ),
    )
    .file("app/build.rs", "fn main() { println!(\"cargo:rustc-env=N={}\", itoa::Buffer::new().format(7)); }\n")
    .file(
        "app/src/main.rs",
        "#[derive(serde::Serialize)]\nstruct S;\n\nfn main() { let _ = S; println!(\"{} {}\", env!(\"N\"), macros::answer!()); }\n",
    );
    p.file("macros/Cargo.toml", &package("macros", "0.1.0", "[lib]\nproc-macro = true\n"))
        .file(
            "macros/src/lib.rs",
            "use proc_macro::TokenStream;\n\n#[proc_macro]\npub fn answer(_: TokenStream) -> TokenStream { \"42\".parse().unwrap() }\n",
        );
    p.lock();
    let (out, result) = cook_edit_build(&p, &[], &[], |_| {});
    result.assert_deps_fresh();
    for local in ["app:app", "app:build-script-build", "macros:macros"] {
        assert!(
            result.local_rebuilt().contains(local),
            "{local} was not rebuilt: {:?}",
            result.units
        );
    }
    assert_eq!(stdout_of(&out.path().join("target/debug/app")), "7 42\n");
}

crate::tests![
    source_edit_keeps_external_deps_fresh,
    added_dependency_rebuilds_external_deps,
    recipe_changes_when_a_member_gains_a_dependency,
    recipe_unchanged_when_member_or_local_dependency_versions_change,
    recipe_changes_when_the_lockfile_updates_an_external_dependency,
    recipe_unchanged_for_unrelated_members_when_prepare_selects_a_bin,
    unrelated_member_edit_keeps_deps_of_the_selected_package_fresh,
    recipe_changes_when_a_build_script_member_gains_dependencies,
    build_script_edit_keeps_external_deps_fresh,
    recipe_changes_when_dependency_features_change,
    selected_bin_sees_transitive_local_dependency_changes,
    selected_bin_transitive_source_edit_keeps_recipe_and_deps,
    workspace_dependencies_external_versions_matter_local_ones_do_not,
    build_succeeds_after_cook_for_each_profile,
    build_succeeds_after_cook_with_custom_target_dir_and_target,
    recipe_changes_when_an_external_dependency_is_added_to_any_section,
    real_sources_with_old_mtimes_always_replace_the_stubs,
    cleanup_follows_the_target_dir_and_target_of_the_cargo_config,
    cook_locked_works_when_a_local_crate_shares_a_registry_crates_name,
    cook_example_compiles_its_dev_dependencies,
    serde_derive_proc_macro_and_build_script_deps_stay_fresh,
];
