//! `strata history` against a real registry (Debian's docker-registry on loopback) holding five
//! tags of a growing image, and over the same images as local layouts: rows newest first by the
//! configs' `created`, compressed sizes, app bytes and deploy deltas equal to what the pushed blobs
//! add up to, `--last`, every output format carrying the same numbers, and no layer blob fetched
//! unless `--content` asks (then each distinct layer exactly once).


use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::support::layout::{blob_path, noise, tar_bytes, write_layout_with, Comp, Item, Written};
use crate::support::registry::Registry;
use crate::support::{have, optional, require, strata, Run};

/// One image of the series as the test wrote it.
struct Tag {
    name: &'static str,
    dir: PathBuf,
    written: Written,
    /// (digest, blob size, uncompressed tar size) per layer.
    layers: Vec<(String, u64, u64)>,
}

/// Five images of a growing app, oldest first: a base shared by all, dependencies upgraded at
/// `v11`, a bigger app each time, and `hotfix` adding a small layer on top of `v11`. The names
/// do not sort in time (`hotfix` is the newest), and the configs' `created` use other offsets.
fn series(root: &Path) -> Vec<Tag> {
    let base = tar_bytes(&[Item::File("etc/os-release", &noise(40_000, 1))]);
    let deps_old = tar_bytes(&[Item::File("usr/lib/deps.so", &noise(60_000, 2))]);
    let deps_new = tar_bytes(&[Item::File("usr/lib/deps.so", &noise(80_000, 3))]);
    let app = |i: u64| {
        tar_bytes(&[Item::File(
            "app/main.bin",
            &noise(10_000 * i as usize, 10 + i),
        )])
    };
    let patch = tar_bytes(&[Item::File("app/patch.bin", &noise(3_000, 99))]);
    let plan: Vec<(&str, &str, Vec<Vec<u8>>)> = vec![
        (
            "v8",
            "2024-03-01T10:00:00Z",
            vec![base.clone(), deps_old.clone(), app(1)],
        ),
        (
            "v9",
            "2024-03-02T12:00:00+02:00",
            vec![base.clone(), deps_old.clone(), app(2)],
        ),
        (
            "v10",
            "2024-03-02T10:30:00.5Z",
            vec![base.clone(), deps_old, app(3)],
        ),
        (
            "v11",
            "2024-03-03T08:00:00Z",
            vec![base.clone(), deps_new.clone(), app(4)],
        ),
        (
            "hotfix",
            "2024-03-03T08:00:00.25Z",
            vec![base, deps_new, app(4), patch],
        ),
    ];
    plan.into_iter()
        .map(|(name, created, tars)| {
            let dir = root.join(name);
            let layers: Vec<(Vec<u8>, Comp)> =
                tars.iter().map(|t| (t.clone(), Comp::Gzip)).collect();
            let written = write_layout_with(&dir, name, &layers, |c| {
                c["created"] = created.into();
            });
            let layers = written
                .layer_digests
                .iter()
                .zip(&tars)
                .map(|(d, tar)| {
                    let size = std::fs::metadata(blob_path(&dir, d)).unwrap().len();
                    (d.clone(), size, tar.len() as u64)
                })
                .collect();
            Tag {
                name,
                dir,
                written,
                layers,
            }
        })
        .collect()
}

/// What the test expects of each tag, newest first: (tag, compressed, app, delta).
fn expected(tags: &[Tag]) -> Vec<(&'static str, u64, u64, Option<u64>)> {
    let sets: Vec<HashSet<&str>> = tags
        .iter()
        .map(|t| t.layers.iter().map(|l| l.0.as_str()).collect())
        .collect();
    let shared: HashSet<&str> = sets[0]
        .iter()
        .copied()
        .filter(|d| sets.iter().all(|s| s.contains(d)))
        .collect();
    assert_eq!(shared.len(), 1, "the series shares exactly its base layer");
    let mut rows: Vec<_> = tags
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let compressed = t.layers.iter().map(|l| l.1).sum();
            let app = t
                .layers
                .iter()
                .filter(|l| !shared.contains(l.0.as_str()))
                .map(|l| l.1)
                .sum();
            let delta = (i > 0).then(|| {
                t.layers
                    .iter()
                    .filter(|l| !sets[i - 1].contains(l.0.as_str()))
                    .map(|l| l.1)
                    .sum()
            });
            (t.name, compressed, app, delta)
        })
        .collect();
    rows.reverse();
    rows
}

fn history_json(args: &[&str]) -> serde_json::Value {
    let run = strata(&[&["history"], args, &["--format", "json"]].concat());
    assert_eq!(run.code, 0, "strata history failed: {}", run.stderr);
    run.json()
}

/// Checks the JSON rows against the expected figures, `tag` naming each row as the run does.
fn assert_rows(
    v: &serde_json::Value,
    want: &[(&str, u64, u64, Option<u64>)],
    tag: impl Fn(&str) -> String,
) {
    let rows = v["tags"].as_array().unwrap();
    assert_eq!(rows.len(), want.len(), "{v:#}");
    for (row, (name, compressed, app, delta)) in rows.iter().zip(want) {
        assert_eq!(row["tag"], tag(name), "{v:#}");
        assert_eq!(row["compressed_bytes"], *compressed, "{name}");
        assert_eq!(row["app_bytes"], *app, "{name}");
        assert_eq!(row["delta_bytes"], serde_json::json!(delta), "{name}");
    }
}

fn oci(t: &Tag) -> String {
    format!("oci:{}:{}", t.dir.display(), t.name)
}

fn a_registry_history_is_exact_and_fetches_no_layer() {
    require(have("skopeo"), "skopeo (Debian package)");
    let registry = Registry::start(None);
    let root = tempfile::tempdir().unwrap();
    let tags = series(root.path());
    // Pushed out of order: neither the push order nor the names tell the time.
    for i in [2, 0, 4, 1, 3] {
        registry.push(&oci(&tags[i]), &format!("team/app:{}", tags[i].name), None);
    }
    let repo = format!("{}/team/app", registry.host);
    let want = expected(&tags);

    let before = registry.blob_gets().len();
    let v = history_json(&[&repo]);
    let gets = registry.blob_gets()[before..].to_vec();
    assert_rows(&v, &want, str::to_string);
    assert_eq!(v["images"], 5);
    assert_eq!(v["shared_layers"], 1);
    assert_eq!(v["shared_bytes"], tags[0].layers[0].1);
    assert_eq!(v["tags"][0]["delta_layers"], 1, "hotfix adds one layer");
    assert_eq!(
        v["tags"][0]["manifest_digest"],
        tags[4].written.manifest_digest
    );
    assert_eq!(v["tags"][0]["created"], "2024-03-03T08:00:00.25Z");
    assert!(v["tags"][0]["uncompressed_bytes"].is_null());
    // Five configs, no layer.
    let layer_digests: HashSet<&str> = tags
        .iter()
        .flat_map(|t| t.layers.iter().map(|l| &l.0["sha256:".len()..]))
        .collect();
    assert!(
        gets.iter()
            .all(|g| layer_digests.iter().all(|d| !g.contains(d))),
        "a layer was fetched: {gets:#?}"
    );
    for t in &tags {
        let config = &t.written.config_digest["sha256:".len()..];
        assert_eq!(
            gets.iter().filter(|g| g.contains(config)).count(),
            1,
            "{}",
            t.name
        );
    }
    assert_eq!(gets.len(), 5, "{gets:#?}");

    // --last 2: the two newest rows, figures unchanged.
    let last = history_json(&[&repo, "--last", "2"]);
    assert_rows(&last, &want[..2], str::to_string);
    assert_eq!(last["images"], 5);

    // --content reads each distinct layer once and sums the tars.
    let before = registry.blob_gets().len();
    let content = history_json(&[&repo, "--content", "--no-progress"]);
    let gets = registry.blob_gets()[before..].to_vec();
    for d in &layer_digests {
        assert_eq!(
            gets.iter().filter(|g| g.contains(d)).count(),
            1,
            "layer {d}: {gets:#?}"
        );
    }
    let rows = content["tags"].as_array().unwrap();
    for (row, t) in rows.iter().zip(tags.iter().rev()) {
        let tars: u64 = t.layers.iter().map(|l| l.2).sum();
        assert_eq!(row["uncompressed_bytes"], tars, "{}", t.name);
    }
    assert_eq!(rows[4]["content_bytes"], 40_000 + 60_000 + 10_000);
    // With --last, only the layers of the images shown are read.
    let before = registry.blob_gets().len();
    let newest = history_json(&[&repo, "--content", "--last", "1"]);
    let gets = registry.blob_gets()[before..].to_vec();
    let hotfix: HashSet<&str> = tags[4]
        .layers
        .iter()
        .map(|l| &l.0["sha256:".len()..])
        .collect();
    let read: HashSet<&str> = layer_digests
        .iter()
        .copied()
        .filter(|d| gets.iter().any(|g| g.contains(d)))
        .collect();
    assert_eq!(read, hotfix);
    assert_eq!(
        newest["tags"][0]["uncompressed_bytes"],
        rows[0]["uncompressed_bytes"]
    );

    // The table shows the same rows, newest first.
    let table = strata(&["history", &repo]);
    assert_eq!(table.code, 0, "{}", table.stderr);
    let order: Vec<usize> = ["hotfix", "v11", "v10", "v9", "v8"]
        .iter()
        .map(|t| table.stdout.find(&format!(" {t} ")).expect(t))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{}", table.stdout);
}

fn local_images_give_the_same_history_in_every_format() {
    let root = tempfile::tempdir().unwrap();
    let tags = series(root.path());
    let refs: Vec<String> = tags.iter().map(oci).collect();
    let args: Vec<&str> = refs.iter().map(String::as_str).collect();
    let want = expected(&tags);
    let by_ref = |name: &str| oci(tags.iter().find(|t| t.name == name).unwrap());
    let v = history_json(&args);
    assert_eq!(v["source"], "images");
    assert_rows(&v, &want, by_ref);

    // Markdown: the rows newest first and a Mermaid chart, oldest first, in kB.
    let md = strata(&[&["history"], args.as_slice(), &["--format", "markdown"]].concat());
    assert_eq!(md.code, 0, "{}", md.stderr);
    let rows: Vec<&str> = md.stdout.lines().filter(|l| l.starts_with("| `")).collect();
    assert_eq!(rows.len(), 5, "{}", md.stdout);
    for (line, (name, ..)) in rows.iter().zip(&want) {
        assert!(line.contains(&format!("`{}`", by_ref(name))), "{line}");
    }
    assert!(
        md.stdout.contains("```mermaid\nxychart-beta\n"),
        "{}",
        md.stdout
    );
    assert!(md.stdout.contains("y-axis \"kB\""), "{}", md.stdout);
    let lines: Vec<Vec<f64>> = md
        .stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("line ["))
        .map(|l| {
            l.trim_end_matches(']')
                .split(", ")
                .map(|n| n.parse().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(lines.len(), 2, "{}", md.stdout);
    for (i, (_, compressed, app, _)) in want.iter().rev().enumerate() {
        assert!((lines[0][i] - *compressed as f64 / 1000.0).abs() <= 0.05);
        assert!((lines[1][i] - *app as f64 / 1000.0).abs() <= 0.05);
    }

    // HTML: one page, nothing to fetch, only the pages' own script, exact bytes in the rows, a chart of 5 points.
    let page = strata(&[&["history"], args.as_slice(), &["--format", "html"]].concat());
    assert_eq!(page.code, 0, "{}", page.stderr);
    let html = &page.stdout;
    assert!(html.starts_with("<!DOCTYPE html>"));
    for banned in ["http://", "https://", "src=", "url(", "@import"] {
        assert!(!html.contains(banned), "the page contains {banned}");
    }
    assert_eq!(html.matches("<script").count(), 1);
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'"));
    assert_eq!(html.matches("<polyline").count(), 2);
    assert_eq!(html.matches("<circle").count(), 10);
    let rows = html_rows(html);
    assert_eq!(rows.len(), 5);
    for ((tag, bytes), (name, compressed, app, delta)) in rows.iter().zip(&want) {
        assert_eq!(tag, &by_ref(name));
        // The series has no dependency tree: its dependency bytes are 0.
        let mut expect = vec![*compressed, 0, *app];
        expect.extend(*delta);
        assert_eq!(bytes, &expect, "{name}");
    }

    // --content over local layouts: uncompressed sizes are the tars.
    let content = history_json(&[&args[..], &["--content", "--last", "1"]].concat());
    let tars: u64 = tags[4].layers.iter().map(|l| l.2).sum();
    assert_eq!(content["tags"][0]["uncompressed_bytes"], tars);
    assert_eq!(content["tags"].as_array().unwrap().len(), 1);
}

/// Each table row of the page: its tag and the `data-bytes` values in column order.
fn html_rows(html: &str) -> Vec<(String, Vec<u64>)> {
    html.split("<tr data-tag=\"")
        .skip(1)
        .map(|row| {
            let row = &row[..row.find("</tr>").unwrap()];
            let tag = row[..row.find('"').unwrap()].to_string();
            let bytes = row
                .split("data-bytes=\"")
                .skip(1)
                .map(|s| s[..s.find('"').unwrap()].parse().unwrap())
                .collect();
            (tag, bytes)
        })
        .collect()
}

fn bad_input_fails_in_one_line() {
    let check = |run: Run, code: i32| {
        assert_eq!(run.code, code, "{}", run.stderr);
        assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
        assert!(run.stdout.is_empty());
    };
    check(strata(&["history", "/nonexistent/layout"]), 2);
    check(strata(&["history", "oci:/nonexistent:v1", "oci:/x:v2"]), 2);
    check(
        strata(&["history", "Not A Reference!", "--format", "json"]),
        2,
    );
    let format = strata(&["history", "x", "--format", "pdf"]);
    assert_eq!(format.code, 2);
    assert!(format
        .stderr
        .contains("expected table, json, markdown or html"));
    if optional(Registry::installed(), crate::support::registry::WHAT) {
        let registry = Registry::start(None);
        let missing = format!("{}/no/such-repo", registry.host);
        let run = strata(&["history", &missing]);
        assert!(
            run.stderr.contains(&format!("{missing}: listing tags")),
            "{}",
            run.stderr
        );
        check(run, 3);
    }
}

crate::tests![
    a_registry_history_is_exact_and_fetches_no_layer,
    local_images_give_the_same_history_in_every_format,
    bad_input_fails_in_one_line,
];
