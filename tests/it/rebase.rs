//! `strata rebase`: an image's own layers moved onto a new base with nothing rebuilt — the app
//! layer's digest is unchanged, the new base's layers and history come first, umoci unpacks the
//! result with files of both, a registry rebase downloads no layer, and an image that is not based
//! on the old base is refused.


use std::path::Path;

use crate::support::layout::{tar_bytes, write_layout, Comp, Item, Written};
use crate::support::registry::Registry;
use crate::support::{have, optional, report_json, require, sh, strata};

struct Fixture {
    dir: tempfile::TempDir,
    old: Written,
    new: Written,
    app: Written,
}

fn oci(dir: &Path, tag: &str) -> String {
    format!("oci:{}:{tag}", dir.display())
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let old_base = tar_bytes(&[Item::File("etc/os-release", b"ID=old\n")]);
    let new_base = tar_bytes(&[
        Item::File("etc/os-release", b"ID=new\n"),
        Item::File("usr/lib/libnew.so", &[1u8; 4000]),
    ]);
    let app_layer = tar_bytes(&[Item::File("app/main.py", b"print('app')\n")]);
    let old = write_layout(
        &dir.path().join("old"),
        "base",
        &[(old_base.clone(), Comp::Gzip)],
    );
    let new = write_layout(&dir.path().join("new"), "base", &[(new_base, Comp::Gzip)]);
    let app = write_layout(
        &dir.path().join("app"),
        "v1",
        &[(old_base, Comp::Gzip), (app_layer, Comp::Gzip)],
    );
    Fixture { dir, old, new, app }
}

fn run_ok(args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let run = strata(&all);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()
}

fn rebasing_a_layout_keeps_the_app_layer_and_takes_the_new_base() {
    let f = fixture();
    let d = f.dir.path();
    let out = d.join("out");
    run_ok(&[
        "rebase",
        &oci(&d.join("app"), "v1"),
        "--old-base",
        &oci(&d.join("old"), "base"),
        "--new-base",
        &oci(&d.join("new"), "base"),
        "--output",
        &oci(&out, "rebased"),
    ]);
    let v = report_json(&oci(&out, "rebased"));
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    assert_eq!(layers[0]["digest"], f.new.layer_digests[0]);
    assert_eq!(
        layers[1]["digest"], f.app.layer_digests[1],
        "the app layer is reused as is"
    );
    assert_eq!(layers[0]["diff_id"], f.new.diff_ids[0]);
    assert_eq!(layers[0]["created_by"], "layer 0");
    let manifest: serde_json::Value = serde_json::from_str(&sh(&format!(
        "cat {}/blobs/sha256/$(python3 -c \"import json;print(json.load(open('{}/index.json'))['manifests'][0]['digest'].split(':')[1])\")",
        out.display(),
        out.display()
    )))
    .unwrap();
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.base.digest"],
        f.new.manifest_digest
    );
    // Rebasing again needs no --old-base: the annotations say what the base is.
    run_ok(&[
        "rebase",
        &oci(&out, "rebased"),
        "--new-base",
        &oci(&d.join("old"), "base"),
        "--output",
        &oci(&out, "back"),
    ]);
    let back = report_json(&oci(&out, "back"));
    assert_eq!(back["layers"][0]["digest"], f.old.layer_digests[0]);
    assert_eq!(
        back["image"]["config_digest"], f.app.config_digest,
        "a round trip restores the config exactly"
    );
    if optional(have("umoci"), "umoci (Debian package)") {
        let bundle = d.join("bundle");
        sh(&format!(
            "umoci unpack --rootless --image {}:rebased {}",
            out.display(),
            bundle.display()
        ));
        assert!(
            bundle.join("rootfs/usr/lib/libnew.so").is_file()
                && bundle.join("rootfs/app/main.py").is_file()
        );
        assert_eq!(
            std::fs::read_to_string(bundle.join("rootfs/etc/os-release")).unwrap(),
            "ID=new\n"
        );
    }
}

fn an_image_not_built_on_the_old_base_is_refused() {
    let f = fixture();
    let d = f.dir.path();
    let run = strata(&[
        "rebase",
        &oci(&d.join("app"), "v1"),
        "--old-base",
        &oci(&d.join("new"), "base"),
        "--new-base",
        &oci(&d.join("old"), "base"),
        "--output",
        &oci(&d.join("out"), "x"),
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("is not based on"), "{}", run.stderr);
    assert!(!d.join("out/index.json").exists(), "nothing written");
    let run = strata(&[
        "rebase",
        &oci(&d.join("app"), "v1"),
        "--new-base",
        &oci(&d.join("old"), "base"),
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--old-base"), "{}", run.stderr);
}

fn a_registry_rebase_downloads_no_layer() {
    require(have("skopeo"), "skopeo (Debian package)");
    let registry = Registry::start(None);
    let f = fixture();
    let d = f.dir.path();
    let push = |dir: &str, tag: &str, to: &str| registry.push(&oci(&d.join(dir), tag), to, None);
    let old = push("old", "base", "base/old:1");
    let new = push("new", "base", "base/new:1");
    let app = push("app", "v1", "team/app:v1");
    let before = registry.blob_gets().len();
    let stats = run_ok(&[
        "rebase",
        &app,
        "--old-base",
        &old,
        "--new-base",
        &new,
        "--output",
        &format!("docker://{}/team/app:v2", registry.host),
    ]);
    let gets = registry.blob_gets();
    // Configs are read (three); no layer is.
    assert_eq!(gets.len() - before, 3, "{:?}", &gets[before..]);
    assert_eq!(
        stats["mounted"], 1,
        "the new base layer is mounted from its repository"
    );
    assert_eq!(stats["uploaded"], 1, "only the new config is uploaded");
    let v = report_json(&format!("{}/team/app:v2", registry.host));
    assert_eq!(v["layers"][0]["digest"], f.new.layer_digests[0]);
    assert_eq!(v["layers"][1]["digest"], f.app.layer_digests[1]);
}

crate::tests![
    rebasing_a_layout_keeps_the_app_layer_and_takes_the_new_base,
    an_image_not_built_on_the_old_base_is_refused,
    a_registry_rebase_downloads_no_layer,
];
