//! `strata recipe` at the unit level: cargo-chef's skeleton cases (core, masking, toolchain,
//! workspace) reproduced on generated workspaces, plus the cases where strata does better (lock
//! references masked, irrelevant fields dropped, several `--bin`, path crates outside the
//! workspace and `[patch]` crates). No network: prepare never resolves.


use strata::cargo::cook::{cook, CookOptions, Cooked};
use strata::cargo::prepare::{prepare, PrepareOptions};
use strata::cargo::recipe::{Recipe, Target, TargetKind, ToolchainFile};
use crate::support::cargo::{contents, manifest_paths, package, Project};

const MAIN: &str =
    "//! Stub written by `strata cook`; the real sources replace it.\n\nfn main() {}\n";
const DOC: &str = "//! Stub written by `strata cook`; the real sources replace it.\n";

/// Writes the skeleton of `recipe` into a fresh directory (no build).
fn skeleton(recipe: &Recipe, no_std: bool) -> Project {
    let out = Project::new();
    let options = CookOptions {
        no_std,
        ..CookOptions::default()
    };
    assert_eq!(
        cook(recipe, out.path(), &options).expect("cook --no-build"),
        Cooked::SkeletonOnly
    );
    out
}

fn bin_package(p: &Project, dir: &str, name: &str, rest: &str) {
    p.file(&format!("{dir}/Cargo.toml"), &package(name, "0.1.0", rest))
        .file(&format!("{dir}/src/main.rs"), "fn main() {}");
}

fn lib_package(p: &Project, dir: &str, name: &str, rest: &str) {
    p.file(&format!("{dir}/Cargo.toml"), &package(name, "0.1.0", rest))
        .file(&format!("{dir}/src/lib.rs"), "");
}

fn target(path: &str, kind: TargetKind, name: &str) -> Target {
    Target {
        path: path.into(),
        kind,
        name: name.into(),
    }
}

fn single_package_with_explicit_bin() {
    let p = Project::new();
    p.file(
        "Cargo.toml",
        &package(
            "test-dummy",
            "0.1.0",
            "[[bin]]\nname = \"test-dummy\"\npath = \"src/main.rs\"\n",
        ),
    )
    .file("src/main.rs", "fn main() { println!(\"real\"); }")
    .file("Cargo.lock", "");
    let recipe = p.recipe(&[]);
    assert_eq!(manifest_paths(&recipe), ["Cargo.toml"]);
    let out = skeleton(&recipe, false);
    assert_eq!(out.read("src/main.rs"), MAIN);
    assert!(out.path().join("Cargo.lock").is_file());
    let no_std = skeleton(&recipe, true);
    assert!(no_std
        .read("src/main.rs")
        .contains("#![no_std]\n#![no_main]"));
    assert!(no_std.read("src/main.rs").contains("#[panic_handler]"));
}

fn virtual_workspace_members_and_crate_types() {
    let p = Project::new();
    p.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"src/project_a\", \"src/project_b\"]\n",
    );
    bin_package(
        &p,
        "src/project_a",
        "test-dummy",
        "[dependencies]\nuuid = { version = \"=0.8.0\", features = [\"v4\"] }\n",
    );
    lib_package(
        &p,
        "src/project_b",
        "project_b",
        "[lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\nuuid = \"=0.8.0\"\n",
    );
    let recipe = p.recipe(&[]);
    assert_eq!(
        manifest_paths(&recipe),
        [
            "Cargo.toml",
            "src/project_a/Cargo.toml",
            "src/project_b/Cargo.toml"
        ]
    );
    assert!(recipe.skeleton.manifests[0].targets.is_empty());
    assert!(contents(&recipe, "src/project_b/Cargo.toml").contains("crate-type = [\"cdylib\"]"));
    let out = skeleton(&recipe, false);
    assert_eq!(out.read("src/project_a/src/main.rs"), MAIN);
    assert_eq!(out.read("src/project_b/src/lib.rs"), DOC);
    let no_std = skeleton(&recipe, true);
    assert!(no_std
        .read("src/project_b/src/lib.rs")
        .ends_with("#![no_std]\n"));
}

fn every_target_kind_is_listed_and_stubbed() {
    let p = Project::new();
    p.file(
        "Cargo.toml",
        &package(
            "kinds",
            "0.1.0",
            "[[bench]]\nname = \"basics\"\nharness = false\n\n[[test]]\nname = \"plain\"\nharness = false\n",
        ),
    )
    .file("build.rs", "fn main() {}")
    .file("src/lib.rs", "pub fn real() {}")
    .file("src/main.rs", "fn main() {}")
    .file("src/bin/b.rs", "fn main() {}")
    .file("src/bin/a/main.rs", "fn main() {}")
    .file("tests/harnessed.rs", "#[test] fn t() {}")
    .file("tests/plain.rs", "fn main() {}")
    .file("benches/basics.rs", "fn main() {}")
    .file("examples/demo.rs", "fn main() {}");
    let recipe = p.recipe(&[]);
    let lib = TargetKind::Lib {
        is_proc_macro: false,
    };
    assert_eq!(
        recipe.skeleton.manifests[0].targets,
        [
            target("benches/basics.rs", TargetKind::Bench, "basics"),
            target("build.rs", TargetKind::BuildScript, "build-script-build"),
            target("examples/demo.rs", TargetKind::Example, "demo"),
            target("src/bin/a/main.rs", TargetKind::Bin, "a"),
            target("src/bin/b.rs", TargetKind::Bin, "b"),
            target("src/lib.rs", lib, "kinds"),
            target("src/main.rs", TargetKind::Bin, "kinds"),
            target("tests/harnessed.rs", TargetKind::Test, "harnessed"),
            target("tests/plain.rs", TargetKind::Test, "plain"),
        ]
    );
    let out = skeleton(&recipe, false);
    assert_eq!(
        out.read("benches/basics.rs"),
        MAIN,
        "harness = false needs a main"
    );
    assert_eq!(out.read("tests/plain.rs"), MAIN);
    assert_eq!(out.read("tests/harnessed.rs"), DOC);
    assert_eq!(out.read("examples/demo.rs"), MAIN);
    assert_eq!(out.read("build.rs"), MAIN);
    assert_eq!(out.read("src/bin/a/main.rs"), MAIN);
    assert_eq!(out.read("src/lib.rs"), DOC);
    let no_std = skeleton(&recipe, true);
    assert!(no_std
        .read("tests/harnessed.rs")
        .contains("#![test_runner("));
    assert!(no_std.read("examples/demo.rs").contains("#![no_main]"));
    assert_eq!(
        no_std.read("build.rs"),
        MAIN,
        "build scripts run on the host"
    );
}

fn proc_macro_libraries_are_marked_and_stay_std() {
    let p = Project::new();
    lib_package(&p, ".", "derive-it", "[lib]\nproc-macro = true\n");
    let recipe = p.recipe(&[]);
    assert_eq!(
        recipe.skeleton.manifests[0].targets,
        [target(
            "src/lib.rs",
            TargetKind::Lib {
                is_proc_macro: true
            },
            "derive_it"
        )]
    );
    assert!(recipe
        .to_json()
        .unwrap()
        .contains(r#"{"Lib":{"is_proc_macro":true}}"#));
    assert_eq!(skeleton(&recipe, true).read("src/lib.rs"), DOC);
}

fn recipe_is_deterministic() {
    let p = Project::new();
    p.file(
        "Cargo.toml",
        &package(
            "test-dummy",
            "0.1.0",
            "[[bin]]\nname = \"bin2\"\npath = \"some-path.rs\"\n\n[[bin]]\nname = \"bin1\"\npath = \"some-other-path.rs\"\n\n\
             [[test]]\nname = \"test2\"\npath = \"tests/test1.rs\"\n\n[[test]]\nname = \"test1\"\npath = \"tests/test2.rs\"\n",
        ),
    )
    .file("some-path.rs", "fn main() {}")
    .file("some-other-path.rs", "fn main() {}");
    for name in ["f", "e", "d", "c", "b", "a"] {
        p.file(&format!("src/bin/{name}.rs"), "fn main() {}")
            .file(&format!("tests/{name}.rs"), "");
    }
    let first = p.recipe(&[]).to_json().unwrap();
    for _ in 0..5 {
        assert_eq!(p.recipe(&[]).to_json().unwrap(), first);
    }
    assert!(
        !first.contains('\n'),
        "compact single-line JSON like cargo-chef"
    );
}

fn lints_are_removed_from_every_manifest() {
    let p = Project::new();
    p.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"crate_a\"]\n\n[workspace.lints.rust]\nmissing_docs = \"deny\"\n",
    );
    lib_package(&p, "crate_a", "crate_a", "[lints]\nworkspace = true\n");
    for m in &p.recipe(&[]).skeleton.manifests {
        let table: toml::Table = m.contents.parse().unwrap();
        assert!(!table.contains_key("lints"), "{}", m.contents);
        assert!(table
            .get("workspace")
            .is_none_or(|w| w.get("lints").is_none()));
    }
}

fn cargo_config_is_carried_and_config_wins_over_config_toml() {
    let p = Project::new();
    bin_package(&p, ".", "app", "");
    p.file(
        ".cargo/config.toml",
        "[build]\nrustflags = [\"--cfg\", \"from_toml\"]\n",
    );
    let recipe = p.recipe(&[]);
    assert!(recipe
        .skeleton
        .config_file
        .as_deref()
        .unwrap()
        .contains("from_toml"));
    assert!(skeleton(&recipe, false)
        .read(".cargo/config.toml")
        .contains("from_toml"));
    p.file(
        ".cargo/config",
        "[build]\nrustflags = [\"--cfg\", \"legacy\"]\n",
    );
    assert!(p
        .recipe(&[])
        .skeleton
        .config_file
        .unwrap()
        .contains("legacy"));
}

fn package_version_and_lock_entry_are_masked() {
    let p = Project::new();
    p.file("Cargo.toml", &package("test-dummy", "1.2.3", ""))
        .file("src/main.rs", "fn main() {}")
        .file(
            "Cargo.lock",
            "version = 3\n\n[[package]]\nname = \"test-dummy\"\nversion = \"1.2.3\"\n",
        );
    let recipe = p.recipe(&[]);
    let manifest = contents(&recipe, "Cargo.toml");
    assert!(manifest.contains("version = \"0.0.1\"") && !manifest.contains("1.2.3"));
    let lock = recipe.skeleton.lock_file.unwrap();
    assert!(
        lock.contains("name = \"test-dummy\"\nversion = \"0.0.1\""),
        "{lock}"
    );
    assert!(!lock.contains("1.2.3"));
}

const EITHER: &str = "registry+https://github.com/rust-lang/crates.io-index";

fn workspace_version_lock_masks_local_entries_only() {
    let p = Project::new();
    p.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"src/project-a\", \"src/project_b\"]\n",
    );
    p.file(
        "src/project-a/Cargo.toml",
        "[package]\nname = \"project-a\"\nversion = \"1.2.3\"\nedition = \"2018\"\n\n\
         [dependencies]\neither = { version = \"=1.8.1\" }\n\n[[bin]]\nname = \"test-dummy\"\npath = \"src/main.rs\"\n",
    )
    .file("src/project-a/src/main.rs", "fn main() {}");
    p.file(
        "src/project_b/Cargo.toml",
        "[package]\nname = \"project_b\"\nversion = \"4.5.6\"\nedition = \"2018\"\n\n\
         [dependencies]\neither = \"=1.8.1\"\nproject-a = { version = \"1.2.3\", path = \"../project-a\" }\n\n\
         [lib]\ncrate-type = [\"cdylib\"]\n",
    )
    .file("src/project_b/src/lib.rs", "");
    p.file(
        "Cargo.lock",
        &format!(
            "version = 3\n\n[[package]]\nname = \"either\"\nversion = \"1.8.1\"\nsource = \"{EITHER}\"\n\n\
             [[package]]\nname = \"project-a\"\nversion = \"1.2.3\"\ndependencies = [\"either\"]\n\n\
             [[package]]\nname = \"project_b\"\nversion = \"4.5.6\"\ndependencies = [\"either\", \"project-a\"]\n"
        ),
    );
    let recipe = p.recipe(&[]);
    let lock = recipe.skeleton.lock_file.clone().unwrap();
    assert!(!lock.contains("1.2.3") && !lock.contains("4.5.6"), "{lock}");
    assert!(lock.contains("version = \"1.8.1\""));
    let b = contents(&recipe, "src/project_b/Cargo.toml");
    assert!(
        b.contains("[dependencies.project-a]\npath = \"../project-a\"\nversion = \"0.0.1\""),
        "{b}"
    );
    assert!(b.contains("either = \"=1.8.1\""));
    assert_eq!(
        contents(&recipe, "Cargo.toml"),
        "[workspace]\nmembers = [\"src/project-a\", \"src/project_b\"]\n"
    );
}

/// cargo-chef masks the local `either` entry but leaves `"either 0.1.0"` in `binary`'s
/// dependencies, so the masked lock names a package that no longer exists and `cook --locked`
/// fails; strata rewrites the reference.
fn masking_rewrites_lock_references_to_a_local_crate_sharing_a_registry_name() {
    let p = Project::new();
    p.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"binary\", \"either\"]\n",
    );
    bin_package(
        &p,
        "binary",
        "binary",
        "[dependencies]\neither = \"=1.8.1\"\neither-local = { package = \"either\", path = \"../either\", version = \"=0.1.0\" }\n",
    );
    p.file("either/Cargo.toml", &package("either", "0.1.0", ""))
        .file("either/src/lib.rs", "");
    p.file(
        "Cargo.lock",
        &format!(
            "version = 4\n\n[[package]]\nname = \"binary\"\nversion = \"0.1.0\"\ndependencies = [\n \"either 0.1.0\",\n \"either 1.8.1\",\n]\n\n\
             [[package]]\nname = \"either\"\nversion = \"0.1.0\"\n\n\
             [[package]]\nname = \"either\"\nversion = \"1.8.1\"\nsource = \"{EITHER}\"\nchecksum = \"7fcaabb2fef8c910e7f4c7ce9f67a1283a1715879a7c230ca9d6d1ae31f16d91\"\n"
        ),
    );
    let recipe = p.recipe(&[]);
    let lock: toml::Table = recipe
        .skeleton
        .lock_file
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    let packages = lock["package"].as_array().unwrap();
    let binary = packages
        .iter()
        .find(|p| p["name"].as_str() == Some("binary"))
        .unwrap();
    let deps: Vec<&str> = binary["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(deps, ["either 0.0.1", "either 1.8.1"]);
    let registry = packages.iter().find(|p| p.get("source").is_some()).unwrap();
    assert_eq!(registry["version"].as_str(), Some("1.8.1"));
    let manifest = contents(&recipe, "binary/Cargo.toml");
    assert!(manifest.contains("either = \"=1.8.1\""), "{manifest}");
    assert!(manifest.contains("[dependencies.either-local]\npackage = \"either\"\npath = \"../either\"\nversion = \"0.0.1\""), "{manifest}");
}

fn transitive_registry_crate_with_a_local_name_is_not_masked() {
    let p = Project::new();
    p.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"project_a\", \"either\"]\n",
    );
    p.file(
        "project_a/Cargo.toml",
        &package(
            "project_a",
            "2.2.2",
            "[dependencies]\nitertools = \"=0.10.5\"\n",
        ),
    )
    .file("project_a/src/main.rs", "fn main() {}");
    p.file(
        "either/Cargo.toml",
        &package("either", "5.5.5", "[lib]\ncrate-type = [\"cdylib\"]\n"),
    )
    .file("either/src/lib.rs", "");
    p.file(
        "Cargo.lock",
        &format!(
            "version = 3\n\n[[package]]\nname = \"either\"\nversion = \"1.8.1\"\nsource = \"{EITHER}\"\n\n\
             [[package]]\nname = \"either\"\nversion = \"5.5.5\"\n\n\
             [[package]]\nname = \"itertools\"\nversion = \"0.10.5\"\nsource = \"{EITHER}\"\ndependencies = [\"either 1.8.1\"]\n\n\
             [[package]]\nname = \"project_a\"\nversion = \"2.2.2\"\ndependencies = [\"itertools\"]\n"
        ),
    );
    let lock = p.recipe(&[]).skeleton.lock_file.unwrap();
    assert!(!lock.contains("2.2.2") && !lock.contains("5.5.5"), "{lock}");
    assert!(lock.contains("dependencies = [\"either 1.8.1\"]"), "{lock}");
    assert!(lock.contains("version = \"0.10.5\""));
}

fn workspace_package_and_workspace_dependencies_are_masked() {
    let p = Project::new();
    p.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"project_a\", \"project_b\"]\n\n\
         [workspace.package]\nversion = \"0.2.0\"\nedition = \"2021\"\nlicense = \"Apache-2.0\"\ndescription = \"gone\"\n\n\
         [workspace.dependencies]\nanyhow = \"1.0.66\"\nproject_a = { path = \"project_a\", version = \"0.2.0\" }\n",
    );
    p.file(
        "project_a/Cargo.toml",
        "[package]\nname = \"project_a\"\nversion.workspace = true\nedition.workspace = true\nlicense.workspace = true\n\n\
         [dependencies]\nanyhow = { workspace = true }\n",
    )
    .file("project_a/src/main.rs", "fn main() {}");
    p.file(
        "project_b/Cargo.toml",
        "[package]\nname = \"project_b\"\nversion.workspace = true\nedition.workspace = true\n\n\
         [dependencies]\nanyhow.workspace = true\nproject_a.workspace = true\n\n[lib]\ncrate-type = [\"cdylib\"]\n",
    )
    .file("project_b/src/lib.rs", "");
    let recipe = p.recipe(&[]);
    let root = contents(&recipe, "Cargo.toml");
    assert!(
        root.contains("[workspace.package]\nedition = \"2021\"\nversion = \"0.0.1\"\n"),
        "{root}"
    );
    assert!(
        root.contains(
            "[workspace.dependencies.project_a]\npath = \"project_a\"\nversion = \"0.0.1\""
        ),
        "{root}"
    );
    assert!(root.contains("anyhow = \"1.0.66\""));
    assert!(
        !root.contains("license") && !root.contains("description"),
        "{root}"
    );
    let a = contents(&recipe, "project_a/Cargo.toml");
    assert!(a.contains("[package.version]\nworkspace = true"), "{a}");
    assert!(!a.contains("license"), "{a}");
}

fn rust_toolchain_files() {
    let p = Project::new();
    bin_package(&p, ".", "app", "");
    p.file(
        "rust-toolchain.toml",
        "# pinned\n[toolchain]\nchannel = \"1.75.0\"\n",
    );
    let recipe = p.recipe(&[]);
    let (kind, text) = recipe.skeleton.rust_toolchain_file.clone().unwrap();
    assert_eq!(
        (kind, text.as_str()),
        (ToolchainFile::Toml, "[toolchain]\nchannel = \"1.75.0\"\n")
    );
    assert_eq!(skeleton(&recipe, false).read("rust-toolchain.toml"), text);
    p.file("rust-toolchain", "1.75.0");
    let recipe = p.recipe(&[]);
    assert_eq!(
        recipe.skeleton.rust_toolchain_file,
        Some((ToolchainFile::Bare, "1.75.0".to_string())),
        "rust-toolchain takes precedence, as with rustup"
    );
    assert_eq!(skeleton(&recipe, false).read("rust-toolchain"), "1.75.0");
}

fn nonstandard_dirs() -> Project {
    let p = Project::new();
    p.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/client/project_a\", \"crates/client/project_b\", \"crates/server/*\", \"vendored/project_e\", \"project_f\"]\n",
    );
    for (dir, name) in [
        ("crates/client/project_a", "project_a"),
        ("crates/client/project_b", "project_b"),
        ("crates/server/project_c", "project_c"),
        ("crates/server/project_d", "project_d"),
        ("vendored/project_e", "project_e"),
        ("project_f", "project_f"),
    ] {
        bin_package(&p, dir, name, "[dependencies]\nuuid = \"=0.8.0\"\n");
    }
    p
}

fn members_are_kept_verbatim_without_bin_and_made_explicit_with_it() {
    let p = nonstandard_dirs();
    assert!(contents(&p.recipe(&[]), "Cargo.toml").contains("\"crates/server/*\""));
    for (name, dir) in [
        ("project_a", "crates/client/project_a"),
        ("project_c", "crates/server/project_c"),
        ("project_e", "vendored/project_e"),
        ("project_f", "project_f"),
    ] {
        let recipe = p.recipe(&[name]);
        assert_eq!(
            contents(&recipe, "Cargo.toml"),
            format!("[workspace]\nmembers = [\"{dir}\"]\n")
        );
        assert_eq!(
            manifest_paths(&recipe),
            ["Cargo.toml".to_string(), format!("{dir}/Cargo.toml")]
        );
    }
}

fn vendored_directory_is_ignored() {
    let p = Project::new();
    bin_package(&p, ".", "app", "[dependencies]\nrocket = \"0.5.0-rc.1\"\n");
    p.file(
        ".cargo/config.toml",
        "[source.crates-io]\nreplace-with = \"vendored-sources\"\n\n[source.vendored-sources]\ndirectory = \"vendor\"\n",
    );
    for name in ["rocket", "rocket_dep"] {
        p.file(
            &format!("vendor/{name}/Cargo.toml"),
            &package(name, "0.5.0-rc.1", ""),
        )
        .file(&format!("vendor/{name}/src/lib.rs"), "")
        .file(
            &format!("vendor/{name}/.cargo-checksum.json"),
            "{\"files\":{}}",
        );
    }
    assert_eq!(manifest_paths(&p.recipe(&[])), ["Cargo.toml"]);
}

fn glob_members_are_expanded_by_cargo() {
    let p = Project::new();
    p.file("Cargo.toml", "[workspace]\nmembers = [\"crates/*\"]\n");
    bin_package(&p, "crates/project_a", "project_a", "");
    lib_package(&p, "crates/project_b", "project_b", "");
    lib_package(&p, "crates-unused/project_c", "project_c", "");
    assert_eq!(
        manifest_paths(&p.recipe(&[])),
        [
            "Cargo.toml",
            "crates/project_a/Cargo.toml",
            "crates/project_b/Cargo.toml"
        ]
    );
}

fn three_members() -> Project {
    let p = Project::new();
    p.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"bin_a\", \"lib_a\", \"bin_b\"]\n",
    );
    bin_package(
        &p,
        "bin_a",
        "bin_a",
        "[dependencies]\nlib_a = { path = \"../lib_a\" }\nitoa = \"1\"\n",
    );
    lib_package(&p, "lib_a", "lib_a", "");
    bin_package(&p, "bin_b", "bin_b", "[dependencies]\nryu = \"1\"\n");
    p.file(
        "Cargo.lock",
        &format!(
            "version = 4\n\n[[package]]\nname = \"bin_a\"\nversion = \"0.1.0\"\ndependencies = [\"itoa\", \"lib_a\"]\n\n\
             [[package]]\nname = \"bin_b\"\nversion = \"0.1.0\"\ndependencies = [\"ryu\"]\n\n\
             [[package]]\nname = \"itoa\"\nversion = \"1.0.14\"\nsource = \"{EITHER}\"\n\n\
             [[package]]\nname = \"lib_a\"\nversion = \"0.1.0\"\n\n\
             [[package]]\nname = \"ryu\"\nversion = \"1.0.18\"\nsource = \"{EITHER}\"\n"
        ),
    );
    p
}

fn bin_selection_keeps_its_local_dependencies_and_trims_the_lock() {
    let p = three_members();
    let recipe = p.recipe(&["bin_a"]);
    assert_eq!(
        manifest_paths(&recipe),
        ["Cargo.toml", "bin_a/Cargo.toml", "lib_a/Cargo.toml"]
    );
    assert_eq!(
        contents(&recipe, "Cargo.toml"),
        "[workspace]\nmembers = [\"bin_a\", \"lib_a\"]\n"
    );
    let lock = recipe.skeleton.lock_file.clone().unwrap();
    assert!(
        lock.contains("itoa") && !lock.contains("ryu") && !lock.contains("bin_b"),
        "{lock}"
    );
    let out = skeleton(&recipe, false);
    assert!(out.path().join("bin_a/src/main.rs").is_file());
    assert!(out.path().join("lib_a/src/lib.rs").is_file());
    assert!(!out.path().join("bin_b").exists());
}

/// cargo-chef's `--bin` takes one value (its #284).
fn several_bins_keep_every_closure() {
    let p = three_members();
    let recipe = p.recipe(&["bin_a", "bin_b"]);
    assert_eq!(manifest_paths(&recipe).len(), 4);
    let lock = recipe.skeleton.lock_file.unwrap();
    assert!(lock.contains("itoa") && lock.contains("ryu"));
}

fn bin_selection_by_binary_name_and_unknown_names() {
    let p = Project::new();
    p.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"app\", \"other\"]\n",
    );
    lib_package(
        &p,
        "app",
        "app",
        "[[bin]]\nname = \"app_cli\"\npath = \"src/bin/cli.rs\"\n",
    );
    p.file("app/src/bin/cli.rs", "fn main() {}");
    bin_package(&p, "other", "other", "");
    assert_eq!(
        manifest_paths(&p.recipe(&["app_cli"])),
        ["Cargo.toml", "app/Cargo.toml"]
    );
    let err = prepare(
        p.path(),
        &PrepareOptions {
            manifest_path: None,
            bins: vec!["nope".into()],
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("--bin nope") && err.contains("app_cli"),
        "{err}"
    );
}

fn bin_selection_keeps_only_inherited_workspace_dependencies_renames_included() {
    let p = Project::new();
    p.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"bin_a\", \"bin_b\"]\ndefault-members = [\"bin_b\"]\n\n\
         [workspace.dependencies]\nmy_itoa = { package = \"itoa\", version = \"1\" }\nmy_ryu = { package = \"ryu\", version = \"1\" }\n",
    );
    bin_package(
        &p,
        "bin_a",
        "bin_a",
        "[dependencies]\nmy_itoa = { workspace = true }\n",
    );
    bin_package(
        &p,
        "bin_b",
        "bin_b",
        "[dependencies]\nmy_ryu = { workspace = true }\n",
    );
    let root = contents(&p.recipe(&["bin_a"]), "Cargo.toml").to_string();
    assert!(
        root.contains("my_itoa") && !root.contains("my_ryu"),
        "{root}"
    );
    assert!(!root.contains("default-members"), "{root}");
}

fn renamed_local_dependencies_are_masked() {
    let p = Project::new();
    p.file("Cargo.toml", "[workspace]\nmembers = [\"a\", \"b\"]\n");
    lib_package(
        &p,
        "a",
        "a",
        "[dependencies.c]\nversion = \"0.2.1\"\npackage = \"b\"\npath = \"../b\"\n",
    );
    lib_package(&p, "b", "b", "");
    let a = contents(&p.recipe(&[]), "a/Cargo.toml").to_string();
    assert!(
        a.contains("[dependencies.c]\npackage = \"b\"\npath = \"../b\"\nversion = \"0.0.1\""),
        "{a}"
    );
}

/// Editing a field that cannot change how dependencies compile keeps the recipe (cargo-chef
/// keeps description, authors, metadata, default-run, ... so each edit invalidates its cache).
fn irrelevant_fields_do_not_change_the_recipe() {
    let p = Project::new();
    let write = |extra: &str, ws_extra: &str| {
        p.file(
            "Cargo.toml",
            &format!(
                "[workspace]\nmembers = [\"app\"]\n{ws_extra}\n[profile.release]\nlto = true\n"
            ),
        );
        p.file(
            "app/Cargo.toml",
            &format!(
                "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n{extra}\n\
                 [dependencies]\nitoa = \"1\"\n\n[features]\nfast = []\n"
            ),
        )
        .file("app/src/main.rs", "fn main() {}");
    };
    write("", "");
    let before = p.recipe(&[]);
    write(
        "description = \"an app\"\nauthors = [\"me\"]\nreadme = \"README.md\"\nkeywords = [\"k\"]\n\
         categories = [\"c\"]\nhomepage = \"https://h\"\nrepository = \"https://r\"\ndocumentation = \"https://d\"\n\
         license = \"MIT\"\npublish = false\ndefault-run = \"app\"\ninclude = [\"src\"]\n\n\
         [package.metadata.docs.rs]\nall-features = true\n\n[badges]\nmaintenance = { status = \"passively-maintained\" }\n\n\
         [lints.rust]\nunsafe_code = \"forbid\"\n",
        "\n[workspace.metadata.release]\nshared-version = true\n\n[workspace.lints.clippy]\npedantic = \"warn\"\n",
    );
    assert_eq!(p.recipe(&[]), before);
    write("", "");
    p.file(
        "app/Cargo.toml",
        &format!("{}\n[features]\nfast = [\"dep:ryu\"]\n\n[dependencies.ryu]\nversion = \"1\"\noptional = true\n", package("app", "0.1.0", "[dependencies]\nitoa = \"1\"\n")),
    );
    assert_ne!(p.recipe(&[]), before, "features and dependencies matter");
}

fn path_crates_outside_the_workspace_are_included_and_masked() {
    let outer = Project::new();
    outer
        .file("shared/Cargo.toml", &package("shared", "3.1.4", "[dependencies]\nitoa = \"1\"\n\n[dev-dependencies]\ndevonly = { path = \"../nowhere\" }\n"))
        .file("shared/build.rs", "fn main() {}")
        .file("shared/src/lib.rs", "pub fn real() {}")
        .file("shared/src/main.rs", "fn main() {}");
    outer
        .file(
            "ws/Cargo.toml",
            &package(
                "app",
                "0.1.0",
                "[dependencies]\nshared = { path = \"../shared\", version = \"3.1.4\" }\n",
            ),
        )
        .file("ws/src/main.rs", "fn main() {}");
    let recipe = prepare(&outer.path().join("ws"), &PrepareOptions::default()).unwrap();
    assert_eq!(
        manifest_paths(&recipe),
        ["../shared/Cargo.toml", "Cargo.toml"]
    );
    let shared = contents(&recipe, "../shared/Cargo.toml");
    assert!(
        shared.contains("version = \"0.0.1\"") && !shared.contains("3.1.4"),
        "{shared}"
    );
    assert!(
        !shared.contains("dev-dependencies"),
        "dependency-only crates drop dev-dependencies: {shared}"
    );
    assert_eq!(
        recipe.skeleton.manifests[0].targets,
        [
            target("build.rs", TargetKind::BuildScript, "build-script-build"),
            target(
                "src/lib.rs",
                TargetKind::Lib {
                    is_proc_macro: false
                },
                "shared"
            ),
        ]
    );
    assert!(contents(&recipe, "Cargo.toml")
        .contains("[dependencies.shared]\npath = \"../shared\"\nversion = \"0.0.1\""));
    let cooked = Project::new();
    let ws = cooked.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    cook(&recipe, &ws, &CookOptions::default()).unwrap();
    assert_eq!(cooked.read("shared/src/lib.rs"), DOC);
}

fn patch_path_crates_are_included_with_their_real_versions() {
    let p = Project::new();
    p.file(
        "Cargo.toml",
        &package("app", "0.1.0", "[dependencies]\nitoa = \"1\"\n\n[patch.crates-io]\nitoa = { path = \"vendor/itoa\" }\n"),
    )
    .file("src/main.rs", "fn main() {}")
    .file("vendor/itoa/Cargo.toml", &package("itoa", "1.0.99", ""))
    .file("vendor/itoa/src/lib.rs", "")
    .file(
        "Cargo.lock",
        "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"itoa\"]\n\n\
         [[package]]\nname = \"itoa\"\nversion = \"1.0.99\"\n",
    );
    let recipe = p.recipe(&[]);
    assert_eq!(
        manifest_paths(&recipe),
        ["Cargo.toml", "vendor/itoa/Cargo.toml"]
    );
    assert!(contents(&recipe, "vendor/itoa/Cargo.toml").contains("version = \"1.0.99\""));
    let lock = recipe.skeleton.lock_file.unwrap();
    assert!(
        lock.contains("1.0.99"),
        "a patch must keep the version registry crates require: {lock}"
    );
}

fn patch_crates_that_registry_crates_depend_on_are_rejected_by_name() {
    let p = Project::new();
    p.file(
        "Cargo.toml",
        &package("app", "0.1.0", "[dependencies]\nserde_json = \"1\"\n\n[patch.crates-io]\nitoa = { path = \"vendor/itoa\" }\n"),
    )
    .file("src/main.rs", "fn main() {}")
    .file("vendor/itoa/Cargo.toml", &package("itoa", "1.0.99", ""))
    .file("vendor/itoa/src/lib.rs", "")
    .file(
        "Cargo.lock",
        &format!(
            "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"serde_json\"]\n\n\
             [[package]]\nname = \"itoa\"\nversion = \"1.0.99\"\n\n\
             [[package]]\nname = \"serde_json\"\nversion = \"1.0.100\"\nsource = \"{EITHER}\"\ndependencies = [\"itoa\"]\n"
        ),
    );
    let err = prepare(p.path(), &PrepareOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("itoa (vendor/itoa) is used by serde_json 1.0.100"),
        "{err}"
    );
}

fn path_crate_inheriting_from_another_workspace_is_rejected_by_name() {
    let outer = Project::new();
    outer
        .file(
            "other/Cargo.toml",
            "[workspace]\nmembers = [\"lib\"]\n\n[workspace.package]\nversion = \"1.0.0\"\n",
        )
        .file(
            "other/lib/Cargo.toml",
            "[package]\nname = \"otherlib\"\nversion.workspace = true\nedition = \"2021\"\n",
        )
        .file("other/lib/src/lib.rs", "")
        .file(
            "ws/Cargo.toml",
            &package(
                "app",
                "0.1.0",
                "[dependencies]\notherlib = { path = \"../other/lib\" }\n",
            ),
        )
        .file("ws/src/main.rs", "fn main() {}");
    let err = prepare(&outer.path().join("ws"), &PrepareOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("other/lib")
            && err.contains("used by app")
            && err.contains("workspace = true"),
        "{err}"
    );
}

fn recipe_json_has_cargo_chefs_shape() {
    let p = Project::new();
    p.file("Cargo.toml", "[workspace]\nmembers = [\"a\"]\n");
    lib_package(&p, "a", "a", "");
    p.file("a/build.rs", "fn main() {}");
    let json: serde_json::Value = serde_json::from_str(&p.recipe(&[]).to_json().unwrap()).unwrap();
    let skeleton = json["skeleton"].as_object().unwrap();
    let keys: Vec<&str> = skeleton.keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 4);
    for key in [
        "manifests",
        "config_file",
        "lock_file",
        "rust_toolchain_file",
    ] {
        assert!(keys.contains(&key), "{keys:?}");
    }
    let member = &skeleton["manifests"][1];
    assert_eq!(member["relative_path"], "a/Cargo.toml");
    assert_eq!(
        member["targets"][0],
        serde_json::json!({"path": "build.rs", "kind": "BuildScript", "name": "build-script-build"})
    );
    assert_eq!(
        member["targets"][1]["kind"],
        serde_json::json!({"Lib": {"is_proc_macro": false}})
    );
}

crate::tests![
    single_package_with_explicit_bin,
    virtual_workspace_members_and_crate_types,
    every_target_kind_is_listed_and_stubbed,
    proc_macro_libraries_are_marked_and_stay_std,
    recipe_is_deterministic,
    lints_are_removed_from_every_manifest,
    cargo_config_is_carried_and_config_wins_over_config_toml,
    package_version_and_lock_entry_are_masked,
    workspace_version_lock_masks_local_entries_only,
    masking_rewrites_lock_references_to_a_local_crate_sharing_a_registry_name,
    transitive_registry_crate_with_a_local_name_is_not_masked,
    workspace_package_and_workspace_dependencies_are_masked,
    rust_toolchain_files,
    members_are_kept_verbatim_without_bin_and_made_explicit_with_it,
    vendored_directory_is_ignored,
    glob_members_are_expanded_by_cargo,
    bin_selection_keeps_its_local_dependencies_and_trims_the_lock,
    several_bins_keep_every_closure,
    bin_selection_by_binary_name_and_unknown_names,
    bin_selection_keeps_only_inherited_workspace_dependencies_renames_included,
    renamed_local_dependencies_are_masked,
    irrelevant_fields_do_not_change_the_recipe,
    path_crates_outside_the_workspace_are_included_and_masked,
    patch_path_crates_are_included_with_their_real_versions,
    patch_crates_that_registry_crates_depend_on_are_rejected_by_name,
    path_crate_inheriting_from_another_workspace_is_rejected_by_name,
    recipe_json_has_cargo_chefs_shape,
];
