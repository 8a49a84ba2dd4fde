//! Compatibility suite over third-party images in `../shared/fixtures/`: dive's own fixtures must
//! give dive's own asserted figures, go-containerregistry's and containers/image's archives and
//! layouts must resolve the way their upstream tests say, and the non-images must be refused.


use serde_json::Value;
use crate::support::{report_json, shared_fixture, strata};

fn dive_of(v: &Value) -> (f64, u64, u64, u64, Value) {
    let d = &v["dive"];
    (
        d["efficiency"].as_f64().unwrap(),
        d["size_bytes"].as_u64().unwrap(),
        d["user_size_bytes"].as_u64().unwrap(),
        d["wasted_bytes"].as_u64().unwrap(),
        d["user_wasted_percent"].clone(),
    )
}

fn dive_test_docker_image_matches_dives_own_assertions() {
    let path = shared_fixture("dive/test-docker-image.tar");
    let v = report_json(path.to_str().unwrap());
    let (eff, size, user, wasted, pct) = dive_of(&v);
    assert_eq!(eff, 0.9844212134184309);
    assert_eq!((size, user, wasted), (1220598, 66237, 32025));
    assert_eq!(pct.as_f64().unwrap(), 0.4834911001404049);
    let sizes: Vec<u64> = v["dive"]["layer_sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap())
        .collect();
    assert_eq!(
        sizes,
        [1154361, 6405, 0, 6405, 6405, 6405, 6405, 6405, 6405, 0, 2187, 6405, 6405, 6405]
    );
    // dive's export snapshot: the three inefficient paths and their cumulative bytes.
    let mut paths: Vec<(String, u64)> = v["dive"]["inefficient_paths"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["bytes"].as_u64().unwrap() > 0)
        .map(|p| {
            (
                p["path"].as_str().unwrap().to_string(),
                p["bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        vec![
            ("/root/example/somefile1.txt".into(), 12810),
            ("/root/example/somefile3.txt".into(), 6405),
            ("/root/saved.txt".into(), 12810),
        ]
    );
    // diff_ids are dive's digestIds; layer 0 per the export snapshot.
    assert!(v["layers"][0]["diff_id"]
        .as_str()
        .unwrap()
        .starts_with("sha256:23bc2b70"));
    // strata's exact dead-byte figure: somefile1 twice (overwritten by chmod, then deleted with
    // the directory), somefile2 and somefile3 deleted, saved.txt overwritten by chmod.
    assert_eq!(v["dead_bytes"]["total"], 5 * 6405);
    assert_eq!(v["dead_bytes"]["files"], 5);
    // Per-layer tar sizes, as derived in the research notes.
    let tar_sizes: Vec<u64> = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["uncompressed_bytes"].as_u64().unwrap())
        .collect();
    assert_eq!(
        tar_sizes,
        [1369600, 8192, 3072, 9216, 9216, 9216, 9216, 9728, 8704, 2048, 5632, 8704, 9216, 8704]
    );
}

fn kaniko_archive_with_gzip_layers_reads_the_same_filesystem() {
    let kaniko = shared_fixture("dive/test-kaniko-image.tar");
    let v = report_json(kaniko.to_str().unwrap());
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 14);
    assert!(layers.iter().all(|l| l["compression"] == "gzip"));
    assert!(layers
        .iter()
        .all(|l| l["compressed_bytes"].as_u64() < l["uncompressed_bytes"].as_u64()));
    // Same Dockerfile steps as the docker fixture: the same files are dead.
    let mut dead: Vec<&str> = v["dead_bytes"]["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    dead.sort();
    assert!(dead.contains(&"/root/example/somefile2.txt"), "{dead:?}");
}

fn dive_oci_archives_in_every_compression() {
    for (name, compression) in [
        ("uncompressed", "none"),
        ("gzip", "gzip"),
        ("zstd", "zstd"),
        ("estargz", "gzip"),
    ] {
        let path = shared_fixture(&format!("dive/test-oci-{name}-image.tar"));
        let v = report_json(&format!("oci-archive:{}", path.display()));
        assert_eq!(v["image"]["platform"], "linux/arm64", "{name}");
        let layer = &v["layers"][0];
        assert_eq!(layer["compression"], compression, "{name}");
        assert_eq!(
            layer["content_bytes"], 11189,
            "{name}: README.md is 11,189 bytes"
        );
        assert_eq!(v["dive"]["efficiency"], 1.0);
        assert_eq!(v["dive"]["wasted_bytes"], 0);
        assert!(v["dive"]["user_wasted_percent"].is_null(), "NaN is null");
    }
}

fn rootfs_tars_are_not_images() {
    for name in ["uncompressed", "gzip", "zstd", "estargz"] {
        let path = shared_fixture(&format!("dive/test-{name}-image.tar"));
        let run = strata(&["report", path.to_str().unwrap()]);
        assert_eq!(run.code, 2, "{name}: {}", run.stderr);
        assert!(run.stderr.contains("not an image"), "{}", run.stderr);
        assert_eq!(run.stderr.trim().lines().count(), 1, "one-line error");
        assert!(run.stdout.is_empty());
    }
}

fn ggcr_whiteouts_and_overwrites() {
    let wi = shared_fixture("ggcr/whiteout_image.tar");
    let v = report_json(wi.to_str().unwrap());
    assert_eq!(v["dive"]["layer_sizes"], serde_json::json!([8, 0, 0]));
    assert_eq!(
        (
            v["dive"]["wasted_bytes"].as_u64(),
            v["dive"]["efficiency"].as_f64()
        ),
        (Some(4), Some(0.5))
    );
    assert!(
        v["dive"]["user_wasted_percent"].is_null(),
        "+Inf is null in JSON"
    );
    assert_eq!(v["dead_bytes"]["top"][0]["path"], "/foo.txt");
    assert_eq!(v["image"]["visible_files"], 1);

    let ow = shared_fixture("ggcr/overwritten_file.tar");
    let v = report_json(ow.to_str().unwrap());
    assert_eq!(v["dive"]["wasted_bytes"], 4);
    assert_eq!(v["dive"]["efficiency"], 0.5);
    assert_eq!(v["dive"]["user_wasted_percent"], 1.0);
    assert_eq!(v["dead_bytes"]["top"][0]["cause"], "overwritten");

    let wd = shared_fixture("ggcr/whiteout_dir.tar");
    let v = report_json(wd.to_str().unwrap());
    assert_eq!(v["layers"].as_array().unwrap().len(), 4);
    // a/foo is deleted with its directory; a/baz is added afterwards and survives.
    let visible = v["image"]["visible_files"].as_u64().unwrap();
    assert_eq!(visible, 2, "b/bar and a/baz remain");
}

fn ggcr_docker25_archive_reads_its_layer_sources() {
    // This Docker 25 archive's index.json lists no manifests ("manifests": null), so the image
    // comes from manifest.json, with media types from its LayerSources.
    let path = shared_fixture("ggcr/hello-world-v25.tar");
    let v = report_json(path.to_str().unwrap());
    assert!(v["image"]["manifest_digest"].is_null());
    assert_eq!(v["image"]["platform"], "linux/arm64");
    assert_eq!(
        v["layers"][0]["media_type"],
        "application/vnd.oci.image.layer.v1.tar"
    );
    assert_eq!(v["layers"][0]["stored_bytes"], 10752);
    assert_eq!(v["layers"][0]["created_by"], "COPY hello / # buildkit");
}

fn ggcr_bundles_need_a_tag_and_links_resolve() {
    let bundle = shared_fixture("ggcr/test_bundle.tar");
    let run = strata(&["report", bundle.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("test_image_1") && run.stderr.contains("test_image_2"),
        "{}",
        run.stderr
    );
    let v = report_json(&format!("docker-archive:{}:test_image_2", bundle.display()));
    assert_eq!(v["layers"].as_array().unwrap().len(), 1);

    let link = shared_fixture("ggcr/test_link.tar");
    for tag in [
        "bazel/v1/tarball:test_image_1",
        "bazel/v1/tarball:test_image_3",
    ] {
        let v = report_json(&format!("docker-archive:{}:{tag}", link.display()));
        assert!(!v["layers"].as_array().unwrap().is_empty(), "{tag}");
    }
    let run = strata(&[
        "report",
        &format!("docker-archive:{}:nope:latest", link.display()),
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no image tagged"), "{}", run.stderr);
}

fn ggcr_broken_archives_fail_cleanly() {
    for name in ["no_manifest.tar", "null_manifest.tar"] {
        let path = shared_fixture(&format!("ggcr/{name}"));
        let run = strata(&["report", path.to_str().unwrap()]);
        assert_eq!(run.code, 2, "{name}");
        assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    }
}

fn ggcr_layout_tags_and_nested_indexes() {
    let dir = shared_fixture("ggcr/layout/test_index");
    let run = strata(&["report", dir.to_str().unwrap()]);
    assert_eq!(run.code, 2, "several images: must ask which");
    assert!(run.stderr.contains("tags: 1, 2, 3, 4"), "{}", run.stderr);
    // image_test.go: tag 1 is manifest eebff607…, config 6e0b0504…; 3 is a nested index of it.
    for tag in ["1", "3"] {
        let v = report_json(&format!("oci:{}:{tag}", dir.display()));
        assert!(v["image"]["manifest_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:eebff607"));
        assert!(v["image"]["config_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:6e0b0504"));
    }
    let one = shared_fixture("ggcr/layout/test_index_one_image");
    let v = report_json(one.to_str().unwrap());
    assert_eq!(
        v["layers"][0]["content_bytes"], 5,
        "one file `test` of 5 bytes"
    );

    let helm = shared_fixture("ggcr/layout/test_index_media_type");
    let run = strata(&["report", helm.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("OCI artifact"), "{}", run.stderr);
}

fn containers_image_fixtures() {
    let empty = shared_fixture("containers-image/almostempty.tar");
    let v = report_json(empty.to_str().unwrap());
    assert_eq!(v["layers"][0]["files"], 1);
    assert_eq!(v["layers"][0]["content_bytes"], 0);

    let multi = shared_fixture("containers-image/delete_image_multiple_images");
    let run = strata(&["report", &format!("oci:{}", multi.display())]);
    assert_eq!(run.code, 2, "seven images: must ask which");
    // Layer blobs are 33-byte text stand-ins, not tars: reading one must fail cleanly.
    let run = strata(&["report", &format!("oci:{}:3.18", multi.display())]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
}

fn platform_selection_in_a_multi_platform_layout() {
    let multi = shared_fixture("containers-image/delete_image_multiple_images");
    // `latest` is an index of linux/amd64 and linux/386; asking for arm64 names what exists.
    let run = strata(&[
        "report",
        &format!("oci:{}:latest", multi.display()),
        "--platform",
        "linux/arm64",
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("linux/386"), "{}", run.stderr);
}

crate::tests![
    dive_test_docker_image_matches_dives_own_assertions,
    kaniko_archive_with_gzip_layers_reads_the_same_filesystem,
    dive_oci_archives_in_every_compression,
    rootfs_tars_are_not_images,
    ggcr_whiteouts_and_overwrites,
    ggcr_docker25_archive_reads_its_layer_sources,
    ggcr_bundles_need_a_tag_and_links_resolve,
    ggcr_broken_archives_fail_cleanly,
    ggcr_layout_tags_and_nested_indexes,
    containers_image_fixtures,
    platform_selection_in_a_multi_platform_layout,
];
