//! Hostile depth and hostile metadata: a file 8 000 and 100 000 directories deep (a path of
//! 16 KB and 200 KB, with and without an entry per directory) through every format of `report`,
//! `check` and `diff`, which once overflowed the stack (exit 134) in every tree walk; a manifest
//! listing more layers than strata reads, refused with exit 2 before anything per layer is built;
//! and an image of many layers and files read as Python's tarfile reads it.

use std::path::Path;

use crate::support::layout::{tar_bytes, write_layout, Comp, Item};
use crate::support::tarfile::report_as_tarfile_reads;
use crate::support::{have, require, strata, Run};

/// `levels` directories named `d` above one file of 100 bytes, with an entry for each of the
/// first `dirs` directories (the names of a tar with an entry per level grow with the square of
/// its depth).
fn deep_layout(dir: &Path, levels: usize, dirs: usize) -> String {
    let file = format!("{}/f", vec!["d"; levels].join("/"));
    let parents: Vec<&str> = (1..=dirs).map(|n| &file[..2 * n - 1]).collect();
    let mut items: Vec<Item> = parents.iter().map(|p| Item::Dir(p)).collect();
    items.push(Item::File(&file, &[7; 100]));
    write_layout(dir, "deep", &[(tar_bytes(&items), Comp::Gzip)]);
    format!("oci:{}:deep", dir.display())
}

/// Asserts that Python's `json` module reads `run`'s stdout and returns the document.
fn python_json(what: &str, run: &Run) -> serde_json::Value {
    require(have("python3"), "python3");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.json");
    std::fs::write(&path, &run.stdout).unwrap();
    let out = std::process::Command::new("python3")
        .args(["-c", "import json, sys; json.dump(json.load(open(sys.argv[1])), sys.stdout)"])
        .arg(&path)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{what}: Python cannot read the JSON: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs `report` in every format, `check` in every format and `diff` (against a small image)
/// on the deep image `deep`; asserts each ends with its documented code and a whole output.
fn every_command_reads(deep: &str, small: &str, levels: usize) {
    let deepest = format!("/{}/f", vec!["d"; levels].join("/"));
    // A name past 64 KiB is cut with a marker (layer::long_names): the deepest path is then
    // its first 64 KiB and the marker, found by the marker and a glob on its start.
    let cut = deepest.len() > 64 << 10;
    let (glob, shown) = if cut {
        ("/d/**", "…(cut: ".to_string())
    } else {
        ("/**/f", deepest.clone())
    };
    let report = report_as_tarfile_reads(deep);
    assert_eq!(report["layers"][0]["files"], 1);
    for format in ["table", "markdown", "json", "html"] {
        let what = format!("report --format {format} ({levels} levels)");
        let run = strata(&["report", deep, "--format", format]);
        assert_eq!(run.code, 0, "{what}: {}", run.stderr);
        match format {
            "json" => {
                let doc = python_json(&what, &run);
                assert_eq!(doc["image"]["content_bytes"], 100, "{what}");
                assert_eq!(doc["image"]["visible_files"], 1, "{what}");
            }
            "html" => assert!(run.stdout.trim_end().ends_with("</html>"), "{what}"),
            _ => assert!(run.stdout.contains("100 B"), "{what}: {}", run.stdout),
        }
    }
    for format in ["table", "markdown", "json", "junit", "github"] {
        let what = format!("check --format {format} ({levels} levels)");
        let run = strata(&["check", deep, "--forbid-path", glob, "--format", format]);
        assert_eq!(run.code, 1, "{what}: {}", run.stderr);
        if format == "json" {
            let doc = python_json(&what, &run);
            assert!(doc.to_string().contains(&shown), "{what}");
        }
    }
    for format in ["table", "json"] {
        let what = format!("diff --files --format {format} ({levels} levels)");
        let run = strata(&["diff", small, deep, "--files", "--format", format]);
        assert_eq!(run.code, 0, "{what}: {}", run.stderr);
        if format == "json" {
            assert!(python_json(&what, &run).to_string().contains(&shown), "{what}");
        }
    }
}

fn small_layout(dir: &Path) -> String {
    write_layout(
        dir,
        "small",
        &[(tar_bytes(&[Item::File("app/ok", b"ok")]), Comp::Gzip)],
    );
    format!("oci:{}:small", dir.display())
}

fn a_path_8000_levels_deep_is_read_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let small = small_layout(&dir.path().join("small"));
    let deep = deep_layout(&dir.path().join("deep"), 8_000, 500);
    every_command_reads(&deep, &small, 8_000);
}

fn a_path_100000_levels_deep_is_read_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let small = small_layout(&dir.path().join("small"));
    let deep = deep_layout(&dir.path().join("deep"), 100_000, 0);
    every_command_reads(&deep, &small, 100_000);
}

/// A layout whose manifest lists `count` layers, all the same one-file blob.
fn many_layers(dir: &Path, count: usize) -> String {
    let tar = tar_bytes(&[Item::File("f", b"x")]);
    let layers: Vec<(Vec<u8>, Comp)> = (0..count).map(|_| (tar.clone(), Comp::None)).collect();
    write_layout(dir, "many", &layers);
    format!("oci:{}:many", dir.display())
}

fn more_layers_than_the_cap_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let image = many_layers(dir.path(), 4_097);
    for args in [
        vec!["report", &image, "--format", "json"],
        vec!["check", &image],
    ] {
        let run = strata(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(
            run.stderr.contains("lists 4097 layers, more than the 4096 strata reads"),
            "{}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{}", run.stdout);
    }
}

fn many_layers_and_files_are_read_as_tarfile_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..20_000)
        .map(|i| format!("usr/share/d{}/file-{i}.txt", i % 200))
        .collect();
    let mut layers: Vec<(Vec<u8>, Comp)> = vec![(
        tar_bytes(&names.iter().map(|n| Item::File(n, b"")).collect::<Vec<_>>()),
        Comp::Gzip,
    )];
    for i in 0..300 {
        let path = format!("etc/layer-{}", i % 50);
        layers.push((tar_bytes(&[Item::File(&path, b"12345")]), Comp::None));
    }
    write_layout(dir.path(), "many", &layers);
    let image = format!("oci:{}:many", dir.path().display());
    let report = report_as_tarfile_reads(&image);
    assert_eq!(report["layers"].as_array().map(Vec::len), Some(301));
    assert_eq!(report["image"]["visible_files"], 20_000 + 50);
    // 250 of the 300 small files are overwritten later: dive counts every copy of the 50 paths.
    assert_eq!(report["dead_bytes"]["files"], 250);
    assert_eq!(report["dive"]["wasted_bytes"], 300 * 5);
}

crate::tests![
    a_path_8000_levels_deep_is_read_by_every_command,
    a_path_100000_levels_deep_is_read_by_every_command,
    more_layers_than_the_cap_is_a_clear_error,
    many_layers_and_files_are_read_as_tarfile_reads_them,
];
