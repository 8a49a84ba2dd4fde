//! Pushes through a misbehaving network (tests/support/faulty_proxy.rs in front of a real
//! registry): 500s and 503s, connections reset in the middle of a blob upload, cross-repository
//! mounts answered `202`, slow responses and slow uploads. Every push either completes — and
//! skopeo, reading the registry directly, then finds every blob intact — or fails with one clear
//! line and exit code 3, after which a rerun completes it, sending only what is missing.


use std::path::Path;
use std::sync::atomic::Ordering;

use crate::support::faulty_proxy::{start, Fault};
use crate::support::layout::{noise, tar_bytes, write_layout, Comp, Item};
use crate::support::registry::Registry;
use crate::support::{have, require, sh, strata};

/// A three-layer image of about 3 MB (a small layer, then two 1.5 MB layers of noise) in the
/// layout `dir`, tagged `v1`; returns its `oci:` reference and manifest digest.
pub(crate) fn sample(dir: &Path) -> (String, String) {
    let (a, b) = (noise(1_500_000, 1), noise(1_500_000, 2));
    let written = write_layout(
        dir,
        "v1",
        &[
            (
                tar_bytes(&[Item::File("etc/os-release", b"ID=test\n")]),
                Comp::Gzip,
            ),
            (tar_bytes(&[Item::File("opt/a.bin", &a)]), Comp::Gzip),
            (tar_bytes(&[Item::File("opt/b.bin", &b)]), Comp::None),
        ],
    );
    (format!("oci:{}:v1", dir.display()), written.manifest_digest)
}

/// A running registry and a sample image.
fn setup() -> (Registry, tempfile::TempDir, String, String) {
    require(have("skopeo"), "skopeo (Debian package)");
    let registry = Registry::start(None);
    let dir = tempfile::tempdir().unwrap();
    let (src, digest) = sample(dir.path());
    (registry, dir, src, digest)
}

/// `strata copy SRC DEST --format json` with extra arguments, asserting success.
fn copy(src: &str, dest: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["copy", src, dest, "--format", "json"];
    args.extend_from_slice(extra);
    let run = strata(&args);
    assert_eq!(run.code, 0, "copy {src} {dest}: {}", run.stderr);
    run.json()
}

/// Reads the pushed image straight from the registry with skopeo: the manifest digest is the
/// source's, and copying it into a layout fetches and verifies every blob.
fn verify_with_skopeo(registry: &Registry, repo_tag: &str, digest: &str) {
    let inspect: serde_json::Value = serde_json::from_str(&sh(&format!(
        "skopeo inspect --tls-verify=false docker://{}/{repo_tag}",
        registry.host
    )))
    .unwrap();
    assert_eq!(inspect["Digest"], digest, "{inspect}");
    assert_eq!(inspect["Layers"].as_array().unwrap().len(), 3);
    let out = tempfile::tempdir().unwrap();
    sh(&format!(
        "skopeo copy --quiet --src-tls-verify=false docker://{}/{repo_tag} oci:{}:check",
        registry.host,
        out.path().display()
    ));
}

/// Pushes the sample through a proxy with `fault`, checks the image, and returns the proxy's
/// fault count.
fn push_through(fault: Fault, repo_tag: &str, extra: &[&str]) -> usize {
    let (registry, _dir, src, digest) = setup();
    let proxy = start(&registry.host, fault);
    let stats = copy(&src, &format!("docker://{}/{repo_tag}", proxy.host), extra);
    assert_eq!(stats["manifest_digest"], digest);
    assert_eq!(stats["uploaded"], 4, "{stats}");
    verify_with_skopeo(&registry, repo_tag, &digest);
    proxy.faults.load(Ordering::SeqCst)
}

fn uploads_reset_mid_body_are_retried_from_the_start() {
    // Both large layers are cut off once each; the config and small layer are not uploads of
    // that size. Each retry re-reads the blob from its beginning.
    let faults = push_through(Fault::ResetUploads(2), "reset/app:v1", &[]);
    assert_eq!(faults, 2);
}

fn server_errors_500_and_503_are_retried() {
    let faults = push_through(Fault::First500(3), "e500/app:v1", &[]);
    assert_eq!(faults, 3);
    let faults = push_through(Fault::First503(3), "e503/app:v1", &[]);
    assert_eq!(faults, 3);
}

fn slow_responses_do_not_trip_the_timeout() {
    // 600 ms before every answer, with a 2 s timeout: slow, but never idle for that long.
    let faults = push_through(
        Fault::Delay(std::time::Duration::from_millis(600)),
        "slow/app:v1",
        &["--timeout", "2"],
    );
    assert!(faults >= 8, "every request was delayed: {faults}");
}

fn uploads_longer_than_the_timeout_complete_while_bytes_flow() {
    // 1.5 MB at 600 kB/s takes over 2 s, more than the 1 s timeout, but bytes never stop flowing.
    let faults = push_through(
        Fault::SlowUploads(600_000),
        "trickle/app:v1",
        &["--timeout", "1"],
    );
    assert!(
        faults >= 8,
        "every request went through the proxy: {faults}"
    );
}

fn a_registry_that_keeps_resetting_uploads_fails_clearly_and_a_rerun_sends_the_rest() {
    let (registry, _dir, src, digest) = setup();
    let broken = start(&registry.host, Fault::ResetUploads(usize::MAX));
    let run = strata(&[
        "copy",
        &src,
        &format!("docker://{}/team/app:v1", broken.host),
    ]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("uploading sha256:"), "{}", run.stderr);
    // A real TCP reset, named as such; the opaque upload session state is not printed.
    assert!(run.stderr.contains("reset by peer"), "{}", run.stderr);
    assert!(!run.stderr.contains("_state="), "{}", run.stderr);
    assert!(
        broken.faults.load(Ordering::SeqCst) >= 3,
        "the first large layer was retried before giving up"
    );
    // The small first layer made it; the rerun sends the two large layers and the config.
    let stats = copy(
        &src,
        &format!("docker://{}/team/app:v1", registry.host),
        &[],
    );
    assert_eq!(
        (stats["uploaded"].as_u64(), stats["skipped"].as_u64()),
        (Some(3), Some(1)),
        "{stats}"
    );
    verify_with_skopeo(&registry, "team/app:v1", &digest);
}

fn a_mount_answered_202_falls_back_to_an_upload() {
    let (registry, _dir, src, digest) = setup();
    copy(
        &src,
        &format!("docker://{}/origin/app:v1", registry.host),
        &[],
    );
    let proxy = start(&registry.host, Fault::MountAccepted);
    // From a repository of the same registry (as the proxy names it), so every blob is mounted
    // first; the registry opens plain upload sessions instead, and strata uploads.
    let stats = copy(
        &format!("docker://{}/origin/app:v1", proxy.host),
        &format!("docker://{}/copy/app:v1", proxy.host),
        &[],
    );
    assert_eq!(
        (stats["uploaded"].as_u64(), stats["mounted"].as_u64()),
        (Some(4), Some(0)),
        "{stats}"
    );
    assert_eq!(proxy.faults.load(Ordering::SeqCst), 4, "four mounts asked");
    verify_with_skopeo(&registry, "copy/app:v1", &digest);
}

fn a_registry_that_stops_answering_a_push_times_out() {
    let (registry, _dir, src, _) = setup();
    let silent = start(&registry.host, Fault::Silent);
    let started = std::time::Instant::now();
    let run = strata(&[
        "copy",
        &src,
        &format!("docker://{}/team/app:v1", silent.host),
        "--timeout",
        "1",
    ]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("timed out"), "{}", run.stderr);
    assert!(
        started.elapsed().as_secs() < 30,
        "the timeout bounds the wait"
    );
}

crate::tests![
    uploads_reset_mid_body_are_retried_from_the_start,
    server_errors_500_and_503_are_retried,
    slow_responses_do_not_trip_the_timeout,
    uploads_longer_than_the_timeout_complete_while_bytes_flow,
    a_registry_that_keeps_resetting_uploads_fails_clearly_and_a_rerun_sends_the_rest,
    a_mount_answered_202_falls_back_to_an_upload,
    a_registry_that_stops_answering_a_push_times_out,
];
