//! Images the tests write themselves (tests/support/layout.rs): exact sizes and digests in the
//! report, every compression, roles against a base, the motivating `.venv` case, and every kind of
//! damage — each damaged image must give exit 2 and a one-line reason, never a panic or half a
//! document.


use std::path::Path;

use crate::support::layout::{blob_path, tar_bytes, write_layout, write_layout_with, Comp, Item};
use crate::support::{report_json, strata};

fn oci(dir: &Path, tag: &str) -> String {
    format!("oci:{}:{tag}", dir.display())
}

fn fails_cleanly(reference: &str, expected: &str) {
    let run = strata(&["report", reference, "--format", "json"]);
    assert_eq!(run.code, 2, "exit code; stderr: {}", run.stderr);
    assert!(run.stdout.is_empty(), "no partial JSON: {}", run.stdout);
    assert_eq!(
        run.stderr.trim().lines().count(),
        1,
        "one line: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains(expected),
        "expected {expected:?} in: {}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

fn sample_layers() -> Vec<(Vec<u8>, Comp)> {
    let big = vec![b'x'; 70_000];
    vec![
        (
            tar_bytes(&[Item::Dir("etc"), Item::File("etc/os-release", b"ID=test\n")]),
            Comp::Gzip,
        ),
        (
            tar_bytes(&[
                Item::File("tmp/big.bin", &big),
                Item::File("app/main.py", b"print(1)\n"),
            ]),
            Comp::Zstd,
        ),
        (tar_bytes(&[Item::Whiteout("tmp/big.bin")]), Comp::None),
    ]
}

fn sizes_and_digests_are_exact_in_every_compression() {
    let dir = tempfile::tempdir().unwrap();
    let layers = sample_layers();
    let written = write_layout(dir.path(), "v1", &layers);
    let v = report_json(&oci(dir.path(), "v1"));
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["image"]["manifest_digest"], written.manifest_digest);
    assert_eq!(v["image"]["config_digest"], written.config_digest);
    let mut total = 0;
    for (i, (tar, _)) in layers.iter().enumerate() {
        let l = &v["layers"][i];
        let blob_len = std::fs::metadata(blob_path(dir.path(), &written.layer_digests[i]))
            .unwrap()
            .len();
        total += blob_len;
        assert_eq!(l["digest"], written.layer_digests[i]);
        assert_eq!(l["diff_id"], written.diff_ids[i]);
        assert_eq!(l["stored_bytes"], blob_len);
        assert_eq!(l["uncompressed_bytes"], tar.len() as u64);
        assert_eq!(l["created_by"], format!("layer {i}"));
    }
    assert_eq!(v["image"]["stored_bytes"], total);
    let compressions: Vec<_> = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["compression"].clone())
        .collect();
    assert_eq!(compressions, ["gzip", "zstd", "none"]);
    assert_eq!(v["layers"][1]["content_bytes"], 70_000 + 9);
    assert_eq!(v["dead_bytes"]["total"], 70_000);
    assert_eq!(v["dead_bytes"]["top"][0]["path"], "/tmp/big.bin");
    assert_eq!(v["dead_bytes"]["top"][0]["hidden_by"], 2);
    // content = visible + dead, always.
    assert_eq!(
        v["image"]["content_bytes"].as_u64().unwrap(),
        v["image"]["visible_bytes"].as_u64().unwrap() + 70_000
    );
}

fn the_motivating_case_venv_in_the_app_layer() {
    let dir = tempfile::tempdir().unwrap();
    let base_tar = tar_bytes(&[Item::File("usr/bin/python3", &[1u8; 50_000])]);
    let numpy = vec![7u8; 300_000];
    let pandas = vec![9u8; 200_000];
    let app_tar = tar_bytes(&[
        Item::File("app/.venv/pyvenv.cfg", b"home = /usr/bin\n"),
        Item::File(
            "app/.venv/lib/python3.11/site-packages/numpy/core.so",
            &numpy,
        ),
        Item::File(
            "app/.venv/lib/python3.11/site-packages/numpy-2.1.0.dist-info/RECORD",
            b"r",
        ),
        Item::File(
            "app/.venv/lib/python3.11/site-packages/pandas/frame.py",
            &pandas,
        ),
        Item::File("app/src/main.py", b"import numpy\n"),
    ]);
    write_layout(
        &dir.path().join("base"),
        "1",
        &[(base_tar.clone(), Comp::Gzip)],
    );
    write_layout(
        &dir.path().join("app"),
        "1",
        &[(base_tar, Comp::Gzip), (app_tar, Comp::Gzip)],
    );
    let run = strata(&[
        "report",
        &oci(&dir.path().join("app"), "1"),
        "--base",
        &oci(&dir.path().join("base"), "1"),
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["layers"][0]["role"], "base");
    assert_eq!(v["layers"][1]["role"], "app");
    assert_eq!(v["layers"][1]["top_paths"][0]["path"], "/app/.venv");
    let dep = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "dependencies")
        .expect("dependency finding");
    assert_eq!(dep["path"], "/app/.venv");
    assert_eq!(dep["ecosystem"], "python");
    assert_eq!(dep["layer"], 1);
    assert_eq!(dep["packages"][0]["name"], "numpy");
    assert_eq!(dep["packages"][0]["bytes"], 300_001);
    assert_eq!(dep["packages"][1]["name"], "pandas");
    let advice = v["advice"][0]["action"].as_str().unwrap();
    assert!(
        advice.starts_with("move /app/.venv into a dependency layer"),
        "{advice}"
    );
    assert!(v["advice"][0]["bytes_saved_per_deploy"].as_u64().unwrap() > 0);
    // Without a base, nothing is base and the python in layer 0 is not reported (no site-packages).
    let v = report_json(&oci(&dir.path().join("app"), "1"));
    assert!(v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["role"] == "app"));
}

fn opaque_directories_hide_lower_files() {
    let dir = tempfile::tempdir().unwrap();
    let l0 = tar_bytes(&[Item::File("d/a", &[0; 10]), Item::File("d/b", &[0; 20])]);
    let l1 = tar_bytes(&[Item::Opaque("d"), Item::File("d/c", &[0; 5])]);
    write_layout(dir.path(), "t", &[(l0, Comp::None), (l1, Comp::None)]);
    let v = report_json(&oci(dir.path(), "t"));
    assert_eq!(v["dead_bytes"]["total"], 30);
    assert_eq!(v["image"]["visible_bytes"], 5);
}

fn a_flipped_byte_is_a_digest_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let tar = tar_bytes(&[Item::File("a", b"hello world")]);
    let written = write_layout(dir.path(), "t", &[(tar, Comp::None)]);
    let path = blob_path(dir.path(), &written.layer_digests[0]);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[512 + 2] ^= 1; // inside the file's content: still a valid tar, wrong digest
    std::fs::write(&path, bytes).unwrap();
    fails_cleanly(&oci(dir.path(), "t"), "digest mismatch");
}

fn a_truncated_gzip_layer_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let written = write_layout(dir.path(), "t", &sample_layers());
    let path = blob_path(dir.path(), &written.layer_digests[0]);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    fails_cleanly(&oci(dir.path(), "t"), "layer 0");
}

fn a_missing_blob_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let written = write_layout(dir.path(), "t", &sample_layers());
    std::fs::remove_file(blob_path(dir.path(), &written.layer_digests[1])).unwrap();
    fails_cleanly(&oci(dir.path(), "t"), "missing layer blob");
    std::fs::remove_file(blob_path(dir.path(), &written.config_digest)).unwrap();
    fails_cleanly(&oci(dir.path(), "t"), "missing blob");
}

fn layer_count_must_match_diff_ids() {
    let dir = tempfile::tempdir().unwrap();
    write_layout_with(dir.path(), "t", &sample_layers(), |c| {
        c["rootfs"]["diff_ids"].as_array_mut().unwrap().pop();
    });
    fails_cleanly(
        &oci(dir.path(), "t"),
        "3 layers but the config has 2 diff_ids",
    );
}

fn a_wrong_diff_id_is_caught_on_the_uncompressed_stream() {
    let dir = tempfile::tempdir().unwrap();
    write_layout_with(dir.path(), "t", &sample_layers(), |c| {
        c["rootfs"]["diff_ids"][1] =
            "sha256:0000000000000000000000000000000000000000000000000000000000000000".into();
    });
    fails_cleanly(&oci(dir.path(), "t"), "diff_id");
    // Layer 2 is stored uncompressed: its blob digest doubles as its diff_id, checked all the same.
    let dir = tempfile::tempdir().unwrap();
    write_layout_with(dir.path(), "t", &sample_layers(), |c| {
        c["rootfs"]["diff_ids"][2] =
            "sha256:0000000000000000000000000000000000000000000000000000000000000000".into();
    });
    fails_cleanly(&oci(dir.path(), "t"), "diff_id");
}

fn a_header_claiming_ten_gigabytes_in_a_tiny_layer() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_path("huge.bin").unwrap();
    h.set_size(10 << 30);
    h.set_cksum();
    let mut tar = h.as_bytes().to_vec();
    tar.extend_from_slice(&[0u8; 1024]);
    write_layout(dir.path(), "t", &[(tar, Comp::Gzip)]);
    fails_cleanly(&oci(dir.path(), "t"), "layer 0");
}

fn a_corrupt_tar_header_names_layer_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut tar = tar_bytes(&[Item::File("a", b"1"), Item::File("b", b"2")]);
    tar[1024 + 148] ^= 0x55; // checksum field of the second header, at offset 1024
    write_layout(dir.path(), "t", &[(tar, Comp::None)]);
    fails_cleanly(&oci(dir.path(), "t"), "offset 1024");
}

fn a_tar_without_end_of_archive_blocks_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let mut tar = tar_bytes(&[Item::File("a", b"hello")]);
    tar.truncate(1024); // as umoci writes them
    write_layout(dir.path(), "t", &[(tar, Comp::Gzip)]);
    let v = report_json(&oci(dir.path(), "t"));
    assert_eq!(v["layers"][0]["content_bytes"], 5);
    assert_eq!(v["layers"][0]["tar_end"], "no_end_of_archive");
}

fn a_last_file_short_of_its_content_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let mut tar = tar_bytes(&[Item::File("a", b"1"), Item::File("b", &[7; 700])]);
    tar.truncate(1024 + 512 + 699); // one byte of b's content missing, as a cut download leaves it
    write_layout(dir.path(), "t", &[(tar, Comp::Gzip)]);
    fails_cleanly(&oci(dir.path(), "t"), "offset 1536: entry content ends after 699 of 700");
}

fn unknown_layer_media_types_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let written = write_layout(dir.path(), "t", &sample_layers());
    let path = blob_path(dir.path(), &written.manifest_digest);
    let manifest = std::fs::read_to_string(&path).unwrap().replace(
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/x-made-up",
    );
    // Rewrite the manifest under its new digest so only the media type is wrong.
    let digest = crate::support::layout::sha256(manifest.as_bytes());
    std::fs::write(blob_path(dir.path(), &digest), &manifest).unwrap();
    let index_path = dir.path().join("index.json");
    let mut index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    index["manifests"][0]["digest"] = digest.into();
    index["manifests"][0]["size"] = manifest.len().into();
    std::fs::write(index_path, serde_json::to_vec(&index).unwrap()).unwrap();
    fails_cleanly(&oci(dir.path(), "t"), "unknown layer media type");
}

fn usage_errors_exit_2() {
    let run = strata(&["report", "/no/such/image.tar"]);
    assert_eq!(run.code, 2);
    let run = strata(&["report", "x", "--format", "yaml"]);
    assert_eq!(run.code, 2);
    let run = strata(&["report", "busybox", "--platform", "linux"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("os/arch"), "{}", run.stderr);
}

fn table_and_markdown_formats() {
    let dir = tempfile::tempdir().unwrap();
    write_layout(dir.path(), "t", &sample_layers());
    let table = strata(&["report", &oci(dir.path(), "t")]);
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(table.stdout.contains("Compressed") && table.stdout.contains("/tmp/big.bin"));
    let md = strata(&["report", &oci(dir.path(), "t"), "--format", "markdown"]);
    assert!(md.stdout.starts_with("### strata report"));
    assert!(md.stdout.contains("|--:|"));
}

fn a_docker25_style_archive_uses_its_oci_manifest() {
    // Docker 25+ `docker save`: an OCI layout plus a manifest.json naming the same blobs.
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let written = write_layout(&layout, "v1", &sample_layers());
    let hex = |d: &str| d["sha256:".len()..].to_string();
    let manifest = serde_json::json!([{
        "Config": format!("blobs/sha256/{}", hex(&written.config_digest)),
        "RepoTags": ["app:v1"],
        "Layers": written.layer_digests.iter().map(|d| format!("blobs/sha256/{}", hex(d))).collect::<Vec<_>>(),
    }]);
    std::fs::write(layout.join("manifest.json"), manifest.to_string()).unwrap();
    let archive = dir.path().join("docker25.tar");
    crate::support::sh(&format!(
        "tar -C {} -cf {} .",
        layout.display(),
        archive.display()
    ));
    for reference in [
        archive.display().to_string(),
        format!("docker-archive:{}:app:v1", archive.display()),
    ] {
        let v = report_json(&reference);
        assert_eq!(
            v["image"]["manifest_digest"], written.manifest_digest,
            "{reference}"
        );
        assert_eq!(
            v["layers"][1]["media_type"],
            "application/vnd.oci.image.layer.v1.tar+zstd"
        );
    }
}

crate::tests![
    sizes_and_digests_are_exact_in_every_compression,
    the_motivating_case_venv_in_the_app_layer,
    opaque_directories_hide_lower_files,
    a_flipped_byte_is_a_digest_mismatch,
    a_truncated_gzip_layer_is_named,
    a_missing_blob_is_named,
    layer_count_must_match_diff_ids,
    a_wrong_diff_id_is_caught_on_the_uncompressed_stream,
    a_header_claiming_ten_gigabytes_in_a_tiny_layer,
    a_corrupt_tar_header_names_layer_and_offset,
    a_tar_without_end_of_archive_blocks_is_accepted,
    a_last_file_short_of_its_content_is_corrupt,
    unknown_layer_media_types_are_refused,
    usage_errors_exit_2,
    table_and_markdown_formats,
    a_docker25_style_archive_uses_its_oci_manifest,
];
