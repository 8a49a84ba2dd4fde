//! `strata copy` across every source and sink, checked by independent readers: skopeo and umoci
//! read the layouts strata writes, the Docker Engine loads its archives, a real registry receives
//! its pushes; digests survive, and a second copy sends nothing.


use std::path::Path;

use crate::support::layout::{tar_bytes, write_layout, Comp, Item};
use crate::support::registry::Registry;
use crate::support::{have, optional, report_json, require, sh, shared_fixture, strata};

fn copy(src: &str, dest: &str) -> serde_json::Value {
    let run = strata(&["copy", src, dest, "--format", "json"]);
    assert_eq!(run.code, 0, "copy {src} {dest}: {}", run.stderr);
    run.json()
}

/// A two-layer image; `top` compresses the second layer (Docker Engines before 23 cannot load
/// zstd layers).
fn sample_with(dir: &Path, top: Comp) -> String {
    write_layout(
        dir,
        "v1",
        &[
            (
                tar_bytes(&[Item::File("etc/os-release", b"ID=test\n")]),
                Comp::Gzip,
            ),
            (tar_bytes(&[Item::File("app/main.py", &[7u8; 3000])]), top),
        ],
    )
    .manifest_digest
}

fn sample(dir: &Path) -> String {
    sample_with(dir, Comp::Zstd)
}

fn layout_to_layout_keeps_digests_and_skips_what_is_there() {
    let dir = tempfile::tempdir().unwrap();
    let digest = sample(&dir.path().join("src"));
    let src = format!("oci:{}:v1", dir.path().join("src").display());
    let dest = dir.path().join("dest");
    let first = copy(&src, &format!("oci:{}:one", dest.display()));
    assert_eq!(first["manifest_digest"], digest);
    assert_eq!(
        (first["uploaded"].as_u64(), first["skipped"].as_u64()),
        (Some(3), Some(0))
    );
    let second = copy(&src, &format!("oci:{}:two", dest.display()));
    assert_eq!(
        (second["uploaded"].as_u64(), second["skipped"].as_u64()),
        (Some(0), Some(3))
    );
    for tag in ["one", "two"] {
        let v = report_json(&format!("oci:{}:{tag}", dest.display()));
        assert_eq!(v["image"]["manifest_digest"], digest, "{tag}");
    }
    if optional(have("skopeo"), "skopeo") {
        let inspect = sh(&format!("skopeo inspect oci:{}:two", dest.display()));
        assert!(inspect.contains(&digest), "{inspect}");
    }
    // Nothing half-written is left behind.
    let leftovers = sh(&format!("find {} -name '*.tmp'", dest.display()));
    assert!(leftovers.trim().is_empty(), "{leftovers}");
}

fn a_legacy_docker_archive_becomes_a_layout_umoci_unpacks() {
    let archive = shared_fixture("dive/test-docker-image.tar");
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("layout");
    copy(
        archive.to_str().unwrap(),
        &format!("oci:{}:dive", dest.display()),
    );
    let v = report_json(&format!("oci:{}:dive", dest.display()));
    assert_eq!(v["dive"]["efficiency"], 0.9844212134184309);
    assert_eq!(v["layers"].as_array().unwrap().len(), 14);
    if optional(have("umoci"), "umoci (Debian package)") {
        let bundle = dir.path().join("bundle");
        sh(&format!(
            "umoci unpack --rootless --image {}:dive {}",
            dest.display(),
            bundle.display()
        ));
        assert!(bundle.join("rootfs/root/saved.txt").is_file());
        assert!(
            !bundle.join("rootfs/root/example").exists(),
            "deleted by a whiteout"
        );
    }
}

fn archives_load_into_docker_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let digest = sample_with(&dir.path().join("src"), Comp::None);
    let archive = dir.path().join("app.tar");
    let tag = format!("strata-test/copied:{}", std::process::id());
    copy(
        &format!("oci:{}:v1", dir.path().join("src").display()),
        &format!("docker-archive:{}:{tag}", archive.display()),
    );
    // The archive is also an OCI layout: strata and skopeo read it.
    let v = report_json(&format!("oci-archive:{}", archive.display()));
    assert_eq!(v["image"]["manifest_digest"], digest);
    if optional(have("skopeo"), "skopeo") {
        sh(&format!(
            "skopeo inspect docker-archive:{}",
            archive.display()
        ));
    }
    let docker = crate::support::have("docker")
        && std::process::Command::new("docker")
            .arg("info")
            .output()
            .is_ok_and(|o| o.status.success());
    require(docker, "a running Docker Engine");
    sh(&format!("docker load -i {}", archive.display()));
    let layers = sh(&format!(
        "docker image inspect {tag} -f '{{{{json .RootFS.Layers}}}}'"
    ));
    let _ = sh(&format!("docker rmi {tag}"));
    let diff_ids: Vec<String> = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["diff_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        serde_json::from_str::<Vec<String>>(&layers).unwrap(),
        diff_ids
    );
}

fn pushes_skip_existing_blobs_and_mount_across_repositories() {
    require(have("skopeo"), "skopeo (Debian package)");
    let registry = Registry::start(None);
    let dir = tempfile::tempdir().unwrap();
    let digest = sample(&dir.path().join("src"));
    let src = format!("oci:{}:v1", dir.path().join("src").display());
    let target = format!("docker://{}/team/app:v1", registry.host);
    let first = copy(&src, &target);
    assert_eq!(first["uploaded"], 3);
    let inspect = sh(&format!("skopeo inspect --tls-verify=false {target}"));
    assert!(inspect.contains(&digest), "{inspect}");
    // Again: every blob is already there (HEAD), nothing is uploaded.
    let again = copy(&src, &target);
    assert_eq!(
        (again["uploaded"].as_u64(), again["skipped"].as_u64()),
        (Some(0), Some(3))
    );
    // Registry to another repository of the same registry: mounted, not uploaded.
    let mounted = copy(&target, &format!("docker://{}/other/app:v1", registry.host));
    assert_eq!(
        (mounted["uploaded"].as_u64(), mounted["mounted"].as_u64()),
        (Some(0), Some(3))
    );
    let v = report_json(&format!("{}/other/app:v1", registry.host));
    assert_eq!(v["image"]["manifest_digest"], digest);
    // And back into a layout.
    let back = dir.path().join("back");
    copy(&target, &format!("oci:{}:v1", back.display()));
    assert_eq!(
        report_json(&format!("oci:{}:v1", back.display()))["image"]["manifest_digest"],
        digest
    );
}

fn bad_destinations_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    sample(&dir.path().join("src"));
    let src = format!("oci:{}:v1", dir.path().join("src").display());
    let not_layout = dir.path().join("plain");
    std::fs::create_dir_all(&not_layout).unwrap();
    std::fs::write(not_layout.join("notes.txt"), "mine").unwrap();
    let run = strata(&["copy", &src, &format!("oci:{}", not_layout.display())]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("not an OCI image layout"),
        "{}",
        run.stderr
    );
    let run = strata(&["copy", &src, "docker://127.0.0.1:1/x:y"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
}

crate::tests![
    layout_to_layout_keeps_digests_and_skips_what_is_there,
    a_legacy_docker_archive_becomes_a_layout_umoci_unpacks,
    archives_load_into_docker_and_read_back,
    pushes_skip_existing_blobs_and_mount_across_repositories,
    bad_destinations_are_refused,
];
