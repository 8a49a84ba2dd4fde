//! `strata optimize`: a naive image (base + one app layer holding a venv and the code, a
//! whiteout of a base file, a file written then deleted) re-laid above its base. Python's
//! tarfile, applying whiteouts itself, is the oracle of both final filesystems; the layouts'
//! manifests are the oracle of the layers kept and written.

use std::path::Path;

use crate::support::layout::{tar_bytes_at, write_layout, Comp, Item, Written};
use crate::support::tarfile::final_fs;
use crate::support::{docker_ok, have, require, sh, strata, strata_in};

fn oci(dir: &Path, tag: &str) -> String {
    format!("oci:{}:{tag}", dir.display())
}

/// The base layer: a file the app layer deletes.
fn base_layer() -> Vec<u8> {
    tar_bytes_at(
        &[
            Item::Dir("etc"),
            Item::File("etc/os-release", b"ID=test\n"),
            Item::File("etc/old.conf", b"old\n"),
        ],
        5,
    )
}

/// A naive image: base, a layer with a venv of three dists plus the code and a scratch file,
/// and a layer deleting the scratch file and a base file. `line` is the code's content.
fn naive(dir: &Path, mtime: u64, line: &[u8]) -> Written {
    let sp = "app/.venv/lib/python3.11/site-packages";
    let big = crate::support::layout::noise(200_000, 1);
    let mid = crate::support::layout::noise(50_000, 2);
    let paths: Vec<String> = [
        "alpha/__init__.py",
        "alpha-1.0.dist-info/RECORD",
        "beta/core.py",
        "beta-2.5.dist-info/RECORD",
        "gamma.py",
        "gamma-0.3.dist-info/RECORD",
    ]
    .iter()
    .map(|p| format!("{sp}/{p}"))
    .collect();
    let app = tar_bytes_at(
        &[
            Item::Dir("app"),
            Item::File(&paths[0], &big),
            Item::File(&paths[1], b"alpha/__init__.py,,\n"),
            Item::File(&paths[2], &mid),
            Item::File(&paths[3], b"beta/core.py,,\n"),
            Item::File(&paths[4], b"x = 1\n"),
            Item::File(&paths[5], b"gamma.py,,\n"),
            Item::File("app/src/main.py", line),
            Item::File("app/scratch.bin", &crate::support::layout::noise(30_000, 3)),
        ],
        mtime,
    );
    let cleanup = tar_bytes_at(
        &[
            Item::Whiteout("app/scratch.bin"),
            Item::Whiteout("etc/old.conf"),
        ],
        mtime,
    );
    write_layout(
        dir,
        "v",
        &[
            (base_layer(), Comp::Gzip),
            (app, Comp::Gzip),
            (cleanup, Comp::Gzip),
        ],
    )
}

/// Optimizes `src` above `base` into `out` (tag `v`), run in `cwd`; the JSON summary.
fn optimize(src: &Path, base: &Path, out: &Path, cwd: &Path) -> serde_json::Value {
    let run = strata_in(
        &[
            "optimize",
            &oci(src, "v"),
            "--base",
            &oci(base, "v"),
            "--output",
            &oci(out, "v"),
            "--format",
            "json",
        ],
        &[],
        Some(cwd),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()
}

fn base(dir: &Path) -> Written {
    write_layout(dir, "v", &[(base_layer(), Comp::Gzip)])
}

fn the_base_is_kept_and_the_filesystem_is_the_same() {
    require(have("python3"), "python3");
    let d = tempfile::tempdir().unwrap();
    let (src, b, out) = (d.path().join("src"), d.path().join("base"), d.path().join("out"));
    let naive_img = naive(&src, 100, b"print('v1')\n");
    let base_img = base(&b);
    let summary = optimize(&src, &b, &out, d.path());
    let (before, after) = (final_fs(&src), final_fs(&out));
    let man = &after["manifest"];
    assert_eq!(
        man["layers"][0]["digest"], base_img.layer_digests[0],
        "the base layer is the same blob"
    );
    assert_eq!(naive_img.layer_digests[0], base_img.layer_digests[0]);
    let mut want = before["fs"].clone();
    let mut got = after["fs"].clone();
    // mtimes are normalized, and not compared: every other field must be equal.
    assert_eq!(got, want, "the final filesystem is the same");
    assert!(want.as_object_mut().unwrap().remove("etc/old.conf").is_none());
    assert!(got.as_object_mut().unwrap().get("app/scratch.bin").is_none());
    // base + one layer per dist (three, fewer than --max-layers) + app.
    let layers = after["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 5, "{layers:?}");
    for deps in &layers[1..4] {
        for p in deps.as_array().unwrap() {
            let p = p.as_str().unwrap();
            assert!(
                "app/.venv/lib/python3.11/site-packages".starts_with(p)
                    || p.starts_with("app/.venv/lib/python3.11/site-packages/"),
                "a dependency layer holds only dist files: {p}"
            );
        }
    }
    assert!(layers[1]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p == "app/.venv/lib/python3.11/site-packages/alpha/__init__.py"));
    let app: Vec<&str> = layers[4].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    assert!(app.contains(&"app/src/main.py") && app.contains(&"etc/.wh.old.conf"), "{app:?}");
    assert!(!app.iter().any(|p| p.contains("site-packages/")), "{app:?}");
    assert_eq!(summary["layers_before"], 3);
    assert_eq!(summary["layers_after"], 5);
    assert_eq!(summary["layers"][0]["holds"], "python deps: alpha 1.0");
    // The config is kept but for the diff_ids and history of the new layers.
    let config = |dir: &Path| -> serde_json::Value {
        let m = final_fs(dir)["manifest"].clone();
        let digest = m["config"]["digest"].as_str().unwrap().split(':').nth(1).unwrap().to_string();
        serde_json::from_str(&std::fs::read_to_string(dir.join("blobs/sha256").join(digest)).unwrap()).unwrap()
    };
    let (c1, c2) = (config(&src), config(&out));
    assert_eq!(c1["config"], c2["config"]);
    assert_eq!(c1["architecture"], c2["architecture"]);
    assert_eq!(c2["rootfs"]["diff_ids"].as_array().unwrap().len(), 5);
}

fn same_input_same_digest_and_mtimes_do_not_matter() {
    let d = tempfile::tempdir().unwrap();
    let (src, b) = (d.path().join("src"), d.path().join("base"));
    naive(&src, 100, b"print('v1')\n");
    base(&b);
    let other = tempfile::tempdir().unwrap();
    let one = optimize(&src, &b, &d.path().join("one"), d.path());
    let two = optimize(&src, &b, &other.path().join("two"), other.path());
    assert_eq!(one["written"]["manifest_digest"], two["written"]["manifest_digest"]);
    let rebuilt = d.path().join("rebuilt");
    naive(&rebuilt, 999_999, b"print('v1')\n");
    let three = optimize(&rebuilt, &b, &d.path().join("three"), d.path());
    assert_eq!(one["layers"], three["layers"], "other mtimes, the same layers");
}

fn a_code_change_ships_only_the_app_layer() {
    require(have("python3"), "python3");
    let d = tempfile::tempdir().unwrap();
    let (v1, v2, b) = (d.path().join("v1"), d.path().join("v2"), d.path().join("base"));
    naive(&v1, 100, b"print('v1')\n");
    naive(&v2, 200, b"print('v2')\n");
    base(&b);
    let (o1, o2) = (d.path().join("o1"), d.path().join("o2"));
    optimize(&v1, &b, &o1, d.path());
    optimize(&v2, &b, &o2, d.path());
    let (m1, m2) = (final_fs(&o1)["manifest"].clone(), final_fs(&o2)["manifest"].clone());
    let (l1, l2) = (m1["layers"].as_array().unwrap(), m2["layers"].as_array().unwrap());
    assert_eq!(l1[..4], l2[..4], "base and dependency layers are the same blobs");
    assert_ne!(l1[4]["digest"], l2[4]["digest"]);
    assert!(l2[4]["size"].as_u64().unwrap() < 100_000, "{}", l2[4]);
    // strata diff agrees: the deploy of v2 where v1 is downloads the app layer alone.
    let diff = strata(&["diff", &oci(&o1, "v"), &oci(&o2, "v"), "--format", "json"]);
    assert_eq!(diff.code, 0, "{}", diff.stderr);
    let diff = diff.json();
    assert_eq!(diff["added_layers"].as_array().unwrap().len(), 1, "{diff}");
    assert_eq!(diff["pull_bytes"], l2[4]["size"], "{diff}");
}

fn a_corrupt_source_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let (src, b, out) = (d.path().join("src"), d.path().join("base"), d.path().join("out"));
    let img = naive(&src, 100, b"print('v1')\n");
    base(&b);
    let blob = src.join("blobs/sha256").join(img.layer_digests[1].split(':').nth(1).unwrap());
    let mut bytes = std::fs::read(&blob).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0xff;
    std::fs::write(&blob, bytes).unwrap();
    let run = strata(&["optimize", &oci(&src, "v"), "--base", &oci(&b, "v"), "--output", &oci(&out, "v")]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("layer 1"), "{}", run.stderr);
    assert!(!out.join("index.json").exists(), "nothing was written at DEST");
    let unwritable = strata(&[
        "optimize",
        &oci(&b, "v"),
        "--output",
        "oci:/proc/strata-cannot-write:v",
    ]);
    assert_ne!(unwritable.code, 0);
    assert!(unwritable.stderr.starts_with("strata: error:"), "{}", unwritable.stderr);
}

/// Appends an entry owned by 1000:1001 with mtime 7.
fn owned(b: &mut tar::Builder<Vec<u8>>, path: &str, kind: tar::EntryType, mode: u32, link: Option<&str>, data: &[u8]) {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(1000);
    h.set_gid(1001);
    h.set_mtime(7);
    h.set_size(data.len() as u64);
    match link {
        Some(target) => b.append_link(&mut h, path, target).unwrap(),
        None => b.append_data(&mut h, path, data).unwrap(),
    }
}

/// An app layer with owners, modes, a symlink, a hard link and an xattr.
fn owned_layer() -> Vec<u8> {
    use tar::EntryType::{Directory, Link, Regular, Symlink};
    let mut b = tar::Builder::new(Vec::new());
    owned(&mut b, "app/", Directory, 0o750, None, b"");
    owned(&mut b, "app/src/", Directory, 0o700, None, b"");
    owned(&mut b, "app/src/run.sh", Regular, 0o700, None, b"#!/bin/sh\necho hi\n");
    owned(&mut b, "app/src/again.sh", Link, 0o700, Some("app/src/run.sh"), b"");
    owned(&mut b, "app/current", Symlink, 0o777, Some("src/run.sh"), b"");
    b.append_pax_extensions([("SCHILY.xattr.user.origin", b"test".as_slice())])
        .unwrap();
    owned(&mut b, "app/tagged.txt", Regular, 0o640, None, b"tagged\n");
    b.into_inner().unwrap()
}

fn owners_modes_links_and_xattrs_are_kept() {
    require(have("python3"), "python3");
    let d = tempfile::tempdir().unwrap();
    let (src, b, out) = (d.path().join("src"), d.path().join("base"), d.path().join("out"));
    write_layout(&src, "v", &[(base_layer(), Comp::Gzip), (owned_layer(), Comp::Gzip)]);
    base(&b);
    optimize(&src, &b, &out, d.path());
    let (before, after) = (final_fs(&src), final_fs(&out));
    assert_eq!(after["fs"], before["fs"], "owners, modes, links and xattrs are kept");
    assert_eq!(after["fs"]["app/src/run.sh"][2], 1000);
    assert_eq!(after["fs"]["app/tagged.txt"][7]["SCHILY.xattr.user.origin"], "test");
    assert_eq!(after["links"][1], 1, "the hard link stays a hard link");
}

/// A naive image as a team builds it: `docker import` of a base, `COPY . /app` of a context
/// holding the `.venv` and the code, `docker save`; optimized from the archive.
fn a_docker_built_image_is_optimized_from_its_save() {
    require(docker_ok(&["info"]), "a running Docker Engine");
    require(have("skopeo"), "skopeo");
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let sp = p.join("ctx/.venv/lib/python3.11/site-packages");
    std::fs::create_dir_all(sp.join("alpha")).unwrap();
    std::fs::create_dir_all(sp.join("alpha-1.0.dist-info")).unwrap();
    std::fs::create_dir_all(p.join("ctx/src")).unwrap();
    std::fs::create_dir_all(p.join("root/etc")).unwrap();
    std::fs::write(p.join("root/etc/os-release"), "ID=test\n").unwrap();
    std::fs::write(sp.join("alpha/__init__.py"), crate::support::layout::noise(100_000, 9)).unwrap();
    std::fs::write(sp.join("alpha-1.0.dist-info/RECORD"), "alpha/__init__.py,,\n").unwrap();
    std::fs::write(p.join("ctx/src/main.py"), "print(1)\n").unwrap();
    let tag = format!("strata-optimize-it-{}", std::process::id());
    std::fs::write(
        p.join("ctx/Dockerfile"),
        format!("FROM {tag}-base:t\nCOPY . /app\nCMD [\"python3\", \"/app/src/main.py\"]\n"),
    )
    .unwrap();
    let dir = p.display();
    sh(&format!(
        "tar -C {dir}/root -c . | docker import - {tag}-base:t >/dev/null && \
         DOCKER_BUILDKIT=0 docker build -q -t {tag}-app:t {dir}/ctx >/dev/null && \
         docker save {tag}-base:t -o {dir}/base.tar && docker save {tag}-app:t -o {dir}/app.tar"
    ));
    let mut images = crate::support::images::DockerImages::default();
    images.0.extend([format!("{tag}-app:t"), format!("{tag}-base:t"), format!("{tag}-opt:t")]);
    let run = strata(&[
        "optimize",
        &format!("docker-archive:{dir}/app.tar"),
        "--base",
        &format!("docker-archive:{dir}/base.tar"),
        "--output",
        &oci(&p.join("out"), "v"),
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // skopeo, not strata, turns the save into a layout the oracle reads.
    sh(&format!("skopeo copy -q docker-archive:{dir}/app.tar oci:{dir}/in:v"));
    let (before, after) = (final_fs(&p.join("in")), final_fs(&p.join("out")));
    assert_eq!(after["fs"], before["fs"], "the same final filesystem");
    assert_eq!(after["layers"].as_array().unwrap().len(), 3, "base, alpha, app");
    let config = |r: String| sh(&format!("skopeo inspect --config {r}"));
    let (c1, c2): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&config(format!("oci:{dir}/in:v"))).unwrap(),
        serde_json::from_str(&config(format!("oci:{dir}/out:v"))).unwrap(),
    );
    assert_eq!(c1["config"], c2["config"], "entrypoint, cmd, env, … kept");
    // skopeo recompresses the save's plain tars, so the base is compared by its tar's digest.
    assert_eq!(
        c1["rootfs"]["diff_ids"][0], c2["rootfs"]["diff_ids"][0],
        "the base layer is the same tar"
    );
    // From the engine and back into it: the image `docker save` then reads is the same.
    let run = strata(&[
        "optimize",
        &format!("docker-daemon:{tag}-app:t"),
        "--base",
        &format!("docker-daemon:{tag}-base:t"),
        "--output",
        &format!("docker-daemon:{tag}-opt:t"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    sh(&format!(
        "docker save {tag}-opt:t -o {dir}/opt.tar && skopeo copy -q docker-archive:{dir}/opt.tar oci:{dir}/engine:v"
    ));
    let engine = final_fs(&p.join("engine"));
    assert_eq!(engine["fs"], before["fs"], "the same final filesystem through the engine");
    assert_eq!(engine["layers"].as_array().unwrap().len(), 3, "base, alpha, app");
}

fn past_max_layers_the_smallest_packages_share_a_layer() {
    require(have("python3"), "python3");
    require(have("skopeo"), "skopeo");
    let d = tempfile::tempdir().unwrap();
    let (src, b, out) = (d.path().join("src"), d.path().join("base"), d.path().join("out"));
    naive(&src, 100, b"print('v1')\n");
    base(&b);
    let run = strata(&[
        "optimize",
        &oci(&src, "v"),
        "--base",
        &oci(&b, "v"),
        "--output",
        &oci(&out, "v"),
        "--max-layers",
        "3",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let holds: Vec<String> = run.json()["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["holds"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        holds,
        ["python deps: alpha 1.0", "python deps: beta 2.5, gamma 0.3", "app"],
        "the largest alone, the rest together, the code last"
    );
    assert_eq!(final_fs(&out)["fs"], final_fs(&src)["fs"]);
    let history = sh(&format!("skopeo inspect --config oci:{}:v", out.display()));
    assert!(history.contains("strata optimize: python deps: beta 2.5, gamma 0.3"), "{history}");
}

crate::tests![
    past_max_layers_the_smallest_packages_share_a_layer,
    a_docker_built_image_is_optimized_from_its_save,
    owners_modes_links_and_xattrs_are_kept,
    the_base_is_kept_and_the_filesystem_is_the_same,
    same_input_same_digest_and_mtimes_do_not_matter,
    a_code_change_ships_only_the_app_layer,
    a_corrupt_source_writes_nothing,
];
