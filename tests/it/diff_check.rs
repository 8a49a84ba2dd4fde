//! `strata diff` and `strata check` end to end: the seed scenario in miniature (a dependency
//! directory in the app layer makes every code change re-ship it; split into its own identical
//! layer, only the code ships), non-reproducible rebuilds, config and file changes, registry diffs
//! that download no layer, dive's CI rule cases, and config errors.


use std::path::Path;

use crate::support::layout::{
    blob_path, noise, tar_bytes, tar_bytes_at, write_layout, write_layout_with, Comp, Item, Written,
};
use crate::support::registry::Registry;
use crate::support::{have, require, shared_fixture, strata, strata_in};

fn oci(dir: &Path, tag: &str) -> String {
    format!("oci:{}:{tag}", dir.display())
}

fn blob_len(dir: &Path, digest: &str) -> u64 {
    std::fs::metadata(blob_path(dir, digest)).unwrap().len()
}

fn diff_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["diff"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let run = strata(&all);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()
}

struct Seed {
    dir: tempfile::TempDir,
    v1: Written,
    v2: Written,
}

/// v1 and v2 of an app whose only change is one source line, in two layouts: `mono` (deps and
/// code in one app layer) and `split` (deps in their own layer, code on top).
fn seed(split: bool) -> Seed {
    let dir = tempfile::tempdir().unwrap();
    let base = tar_bytes(&[Item::File("etc/os-release", b"ID=test\n")]);
    let deps = noise(400_000, 7);
    let deps_item = Item::File(
        "app/.venv/lib/python3.11/site-packages/numpy/core.so",
        &deps,
    );
    let write = |tag: &str, line: &[u8]| {
        let code = Item::File("app/src/main.py", line);
        let layers = if split {
            vec![
                (base.clone(), Comp::Gzip),
                (tar_bytes(&[deps_item]), Comp::Gzip),
                (tar_bytes(&[code]), Comp::Gzip),
            ]
        } else {
            vec![
                (base.clone(), Comp::Gzip),
                (tar_bytes(&[deps_item, code]), Comp::Gzip),
            ]
        };
        write_layout_with(&dir.path().join(tag), tag, &layers, |c| {
            c["config"]["Env"] = serde_json::json!([format!("VERSION={tag}")]);
        })
    };
    let v1 = write("v1", b"print('hello')\n");
    let v2 = write("v2", b"print('hello, world')\n");
    Seed { dir, v1, v2 }
}

fn the_seed_scenario_mono_layer_reships_the_dependencies() {
    let s = seed(false);
    let d = diff_json(&[
        &oci(&s.dir.path().join("v1"), "v1"),
        &oci(&s.dir.path().join("v2"), "v2"),
    ]);
    let app = &s.v2.layer_digests[1];
    assert_eq!(d["pull_bytes"], blob_len(&s.dir.path().join("v2"), app));
    assert!(
        d["pull_bytes"].as_u64().unwrap() > 400_000,
        "the whole app layer, deps included"
    );
    assert_eq!(d["shared_layers"].as_array().unwrap().len(), 1);
    assert_eq!(d["added_layers"][0]["digest"], *app);
    assert_eq!(d["removed_layers"][0]["digest"], s.v1.layer_digests[1]);
    assert!(
        d["rebuilt_identical_layers"].as_array().unwrap().is_empty(),
        "a real change"
    );
    // push = the missing layer + new config + new manifest.
    let v2 = s.dir.path().join("v2");
    assert_eq!(
        d["push_bytes"],
        blob_len(&v2, app)
            + blob_len(&v2, &s.v2.config_digest)
            + blob_len(&v2, &s.v2.manifest_digest)
    );
    assert_eq!(d["config_changes"][0]["field"], "env.VERSION");
    assert_eq!(d["config_changes"][0]["old"], "v1");
}

fn the_seed_scenario_split_ships_only_the_code() {
    let s = seed(true);
    let (v1, v2) = (s.dir.path().join("v1"), s.dir.path().join("v2"));
    let d = diff_json(&[&oci(&v1, "v1"), &oci(&v2, "v2"), "--files"]);
    let code = &s.v2.layer_digests[2];
    assert_eq!(
        s.v1.layer_digests[1], s.v2.layer_digests[1],
        "identical deps layer"
    );
    assert_eq!(d["pull_bytes"], blob_len(&v2, code));
    assert!(d["pull_bytes"].as_u64().unwrap() < 1000);
    assert_eq!(d["shared_layers"].as_array().unwrap().len(), 2);
    let tar_len = tar_bytes(&[Item::File("app/src/main.py", b"print('hello, world')\n")]).len();
    assert_eq!(d["pull_uncompressed_bytes"], tar_len as u64);
    let files = d["files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0]["path"], "/app/src/main.py");
    assert_eq!(files[0]["change"], "modified");
    assert_eq!(files[0]["old_bytes"], 15);
    assert_eq!(files[0]["new_bytes"], 22);
}

fn non_reproducible_rebuilds_are_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let items = [Item::File("app/lib.so", &[9u8; 5000]), Item::Dir("app")];
    let base = tar_bytes(&[Item::File("etc/os-release", b"x")]);
    write_layout(
        &dir.path().join("a"),
        "a",
        &[
            (base.clone(), Comp::Gzip),
            (tar_bytes_at(&items, 1), Comp::Gzip),
        ],
    );
    // Same files, rebuilt later (new mtimes): a new diff_id and digest, identical content.
    write_layout(
        &dir.path().join("b"),
        "b",
        &[
            (base.clone(), Comp::Gzip),
            (tar_bytes_at(&items, 99), Comp::Gzip),
        ],
    );
    // Same tar, compressed differently: same diff_id, new digest.
    write_layout(
        &dir.path().join("c"),
        "c",
        &[
            (base, Comp::Gzip),
            (tar_bytes_at(&items, 1), Comp::GzipFast),
        ],
    );
    let ab = diff_json(&[
        &oci(&dir.path().join("a"), "a"),
        &oci(&dir.path().join("b"), "b"),
    ]);
    assert_eq!(ab["rebuilt_identical_layers"][0]["evidence"], "same_files");
    assert_eq!(
        ab["rebuilt_identical_layers"][0]["wasted_bytes"],
        ab["pull_bytes"]
    );
    let ac = diff_json(&[
        &oci(&dir.path().join("a"), "a"),
        &oci(&dir.path().join("c"), "c"),
    ]);
    assert_eq!(ac["rebuilt_identical_layers"][0]["evidence"], "same_tar");
    let table = strata(&[
        "diff",
        &oci(&dir.path().join("a"), "a"),
        &oci(&dir.path().join("b"), "b"),
    ]);
    assert!(table.stdout.contains("same content"), "{}", table.stdout);
}

fn registry_diffs_download_no_layer_and_match_local_ones() {
    require(have("skopeo"), "skopeo (Debian package)");
    let registry = Registry::start(None);
    let s = seed(true);
    let (v1, v2) = (s.dir.path().join("v1"), s.dir.path().join("v2"));
    let r1 = registry.push(&oci(&v1, "v1"), "app:v1", None);
    let r2 = registry.push(&oci(&v2, "v2"), "app:v2", None);
    let before = registry.blob_gets().len();
    let remote = diff_json(&[&r1, &r2]);
    let gets = registry.blob_gets();
    let config_gets = 2; // one config per image; no layer
    assert_eq!(
        gets.len() - before,
        config_gets,
        "only configs fetched: {:?}",
        &gets[before..]
    );
    let local = diff_json(&[&oci(&v1, "v1"), &oci(&v2, "v2")]);
    for key in ["pull_bytes", "push_bytes", "config_changes"] {
        assert_eq!(remote[key], local[key], "{key}");
    }
    // The same shared layers; a registry layer that was not read has no role (`null`), a local
    // one the role its files give it (the dependency layer of the split seed).
    let without_role = |layers: &serde_json::Value| -> Vec<serde_json::Value> {
        let mut layers = layers.as_array().unwrap().clone();
        for l in &mut layers {
            l.as_object_mut().unwrap().remove("role");
        }
        layers
    };
    assert_eq!(
        without_role(&remote["shared_layers"]),
        without_role(&local["shared_layers"])
    );
    let roles = |d: &serde_json::Value| -> Vec<serde_json::Value> {
        d["shared_layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["role"].clone())
            .collect()
    };
    assert_eq!(roles(&remote), [serde_json::Value::Null, serde_json::Value::Null]);
    assert_eq!(roles(&local), ["app", "dependencies"]);
    assert!(
        remote["pull_uncompressed_bytes"].is_null(),
        "not read from a registry"
    );
    // Across sources: registry old, local new.
    let mixed = diff_json(&[&r1, &oci(&v2, "v2")]);
    assert_eq!(mixed["pull_bytes"], local["pull_bytes"]);
    // --files downloads the changed layers only: never the shared ones.
    let before = registry.blob_gets().len();
    let files = diff_json(&[&r1, &r2, "--files"]);
    assert_eq!(files["files"][0]["path"], "/app/src/main.py");
    assert_eq!(files["shared_layers_read"], false);
    let gets = registry.blob_gets();
    let fetched: Vec<&String> = gets[before..].iter().collect();
    for shared in &s.v2.layer_digests[..2] {
        assert!(
            fetched
                .iter()
                .all(|l| !l.contains(&shared["sha256:".len()..])),
            "{shared} downloaded"
        );
    }
}

fn check_against_reads_each_local_layer_once() {
    require(have("strace"), "strace (Debian package)");
    let s = seed(true);
    let (v1, v2) = (s.dir.path().join("v1"), s.dir.path().join("v2"));
    let trace = s.dir.path().join("trace");
    // The kernel's count of the opens of each layer blob of v2: the report reads each layer,
    // and the comparison takes the report's scans instead of reading them again.
    let bin = env!("CARGO_BIN_EXE_strata");
    crate::support::sh(&format!(
        "strace -f -qq -e trace=openat -o '{}' '{bin}' check '{}' --against '{}' --max-delta 1MB \
         --max-total 20MB >/dev/null",
        trace.display(),
        oci(&v2, "v2"),
        oci(&v1, "v1")
    ));
    let opens = std::fs::read_to_string(&trace).unwrap();
    for layer in &s.v2.layer_digests {
        let hex = &layer["sha256:".len()..];
        let count = opens.lines().filter(|l| l.contains(hex) && !l.contains("ENOENT")).count();
        assert_eq!(count, 1, "{layer} opened {count} times");
    }
}

fn dive_check(rules: &str) -> (i32, String) {
    let image = shared_fixture("dive/test-docker-image.tar");
    let dir = tempfile::tempdir().unwrap();
    let ci = dir.path().join(".dive-ci");
    std::fs::write(&ci, rules).unwrap();
    let run = strata(&[
        "check",
        image.to_str().unwrap(),
        "--dive-ci",
        ci.to_str().unwrap(),
        "--format",
        "json",
    ]);
    (run.code, run.stdout)
}

fn statuses(json: &str) -> Vec<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["rule"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn dive_evaluator_cases() {
    // dive's cmd/dive/cli/internal/command/ci/evaluator_test.go, on test-docker-image.tar.
    let cases = [
        ("0.99", "1B", "0.01", ["fail", "fail", "fail"], 1),
        ("0.9", "50kB", "0.5", ["pass", "pass", "pass"], 0),
        (
            "disabled",
            "disabled",
            "disabled",
            ["skip", "skip", "skip"],
            0,
        ),
        ("0.9", "1B", "0.5", ["pass", "fail", "pass"], 1),
    ];
    for (eff, wasted, pct, expected, code) in cases {
        let rules = format!("rules:\n  lowestEfficiency: {eff}\n  highestWastedBytes: {wasted}\n  highestUserWastedPercent: {pct}\n");
        let (got_code, out) = dive_check(&rules);
        assert_eq!(got_code, code, "{rules}");
        let got: Vec<String> = statuses(&out).into_iter().map(|(_, s)| s).collect();
        assert_eq!(got, expected, "{rules}");
    }
    // dive's own .dive-ci (0.95 / 20Mb / 0.5) passes, as its CI run does.
    let file = shared_fixture("dive/dive-ci.yaml");
    let (code, _) = dive_check(&std::fs::read_to_string(file).unwrap());
    assert_eq!(code, 0);
    // dive's defaults: highestUserWastedPercent 0.1 fails (0.48).
    let (code, out) = dive_check("rules: {}\n");
    assert_eq!(code, 1);
    assert!(statuses(&out).contains(&("highestUserWastedPercent".into(), "fail".into())));
    for bad in [
        "rules:\n  lowestEfficiency: 1.1\n",
        "rules:\n  highestWastedBytes: not_a_size\n",
    ] {
        let (code, _) = dive_check(bad);
        assert_eq!(code, 2, "{bad}");
    }
}

fn check_gates_with_strata_toml_found_upwards_and_writes_every_report() {
    let s = seed(false);
    let v2 = oci(&s.dir.path().join("v2"), "v2");
    let v1 = oci(&s.dir.path().join("v1"), "v1");
    let project = tempfile::tempdir().unwrap();
    let nested = project.path().join("a/b");
    std::fs::create_dir_all(&nested).unwrap();
    std::fs::write(
        project.path().join("strata.toml"),
        format!(
            "[check]\nmax_total = \"10MB\"\nmax_layers = 5\nmax_delta = \"100kB\"\nagainst = \"{v1}\"\nno_dependencies_in_app_layers = true\nforbid_paths = [\"**/*.so\"]\nallow = [\"/app/.venv/**\"]\n"
        ),
    )
    .unwrap();
    let junit = project.path().join("junit.xml");
    let summary = project.path().join("summary.md");
    let out = strata_in(
        &["check", &v2, "--junit", junit.to_str().unwrap(), "--github"],
        &[("GITHUB_STEP_SUMMARY", summary.as_path())],
        Some(&nested),
    );
    let stdout = &out.stdout;
    assert_eq!(out.code, 1, "{stdout}{}", out.stderr);
    // max_delta fails (the whole app layer re-ships) and so does the dependency rule; the .so is
    // allowed; size and count pass.
    assert!(
        stdout.contains("::error title=strata check max_delta::"),
        "{stdout}"
    );
    assert!(
        stdout.contains("::error title=strata check no_dependencies_in_app_layers::"),
        "{stdout}"
    );
    assert!(!stdout.contains("check forbid_paths::"), "{stdout}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("tests=\"5\" failures=\"2\""), "{xml}");
    assert_eq!(xml.matches("<testcase").count(), 5);
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("❌ FAIL | `max_delta`"), "{md}");
    // Flags win over the file.
    let run = strata(&[
        "check",
        &v2,
        "--max-total",
        "1kB",
        "--format",
        "json",
        "--config",
        project.path().join("strata.toml").to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let max_total = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "max_total")
        .unwrap()
        .clone();
    assert_eq!(
        (max_total["limit"].as_u64(), max_total["status"].as_str()),
        (Some(1000), Some("fail"))
    );
    assert_eq!(
        v["report"]["schema_version"], 1,
        "the full report rides along"
    );
    assert_eq!(v["passed"], false);
}

fn check_passes_exit_0_and_config_errors_exit_2() {
    let s = seed(true);
    let v2 = oci(&s.dir.path().join("v2"), "v2");
    let v1 = oci(&s.dir.path().join("v1"), "v1");
    let run = strata(&[
        "check",
        &v2,
        "--against",
        &v1,
        "--max-delta",
        "1KiB",
        "--max-total",
        "20MB",
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("PASS [pass:2]"), "{}", run.stdout);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("strata.toml");
    for (text, expected) in [
        ("[check]\nmax_total = \"20XB\"\n", "[check] max_total"),
        ("[check]\nmin_efficiency = 2\n", "[check] min_efficiency"),
        ("[check]\nmax_totl = 1\n", "max_totl"),
    ] {
        std::fs::write(&file, text).unwrap();
        let run = strata(&["check", &v2, "--config", file.to_str().unwrap()]);
        assert_eq!(run.code, 2, "{text}");
        assert!(
            run.stderr.contains(expected) && run.stderr.contains("strata.toml"),
            "{}",
            run.stderr
        );
    }
    let run = strata(&["check", &v2, "--max-total", "lots"]);
    assert_eq!(run.code, 2);
    let run = strata(&["check", &v2, "--max-delta", "1MB"]);
    assert_eq!(run.code, 2, "max_delta without --against");
}

fn colours_only_on_a_terminal_and_never_with_no_color() {
    require(have("script"), "script (util-linux)");
    let s = seed(true);
    let image = oci(&s.dir.path().join("v2"), "v2");
    let bin = env!("CARGO_BIN_EXE_strata");
    let on_tty = |env: &str| {
        crate::support::sh(&format!(
            "{env} script -qec '{bin} check {image} --max-total 1kB --no-progress' /dev/null || true"
        ))
    };
    assert!(
        on_tty("NO_COLOR=").contains("\u{1b}[38;5;9m"),
        "red FAIL on a terminal"
    );
    assert!(
        !on_tty("NO_COLOR=1").contains("\u{1b}["),
        "no escape codes with NO_COLOR"
    );
    let piped = crate::support::sh(&format!(
        "NO_COLOR= {bin} check {image} --max-total 1kB || true"
    ));
    assert!(
        piped.contains("FAIL") && !piped.contains('\u{1b}'),
        "no escape codes in a pipe"
    );
}

crate::tests![
    the_seed_scenario_mono_layer_reships_the_dependencies,
    the_seed_scenario_split_ships_only_the_code,
    non_reproducible_rebuilds_are_flagged,
    registry_diffs_download_no_layer_and_match_local_ones,
    check_against_reads_each_local_layer_once,
    dive_evaluator_cases,
    check_gates_with_strata_toml_found_upwards_and_writes_every_report,
    check_passes_exit_0_and_config_errors_exit_2,
    colours_only_on_a_terminal_and_never_with_no_color,
];
