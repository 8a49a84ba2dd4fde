//! Reads through a misbehaving network (tests/support/faulty_proxy.rs in front of a real
//! registry): a layer's download reset at half its body, closed at half its body (short of its
//! `Content-Length`), or trickled at a byte a second. `report` and `copy` resume a cut-off layer
//! with one `Range` request from the byte reached (counted at the proxy) and give what a clean
//! read gives; a registry that cuts off every attempt, or trickles, ends in exit 3 with one line,
//! after exactly the attempts of the budget, and leaves no temp file.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::push_faults::sample;
use crate::support::faulty_proxy::{start, Downloads, Fault, Proxy};
use crate::support::registry::Registry;
use crate::support::{have, require, sh, strata, Run};

/// Attempts at a layer's body before strata gives up (its retry budget).
const ATTEMPTS: usize = 4;

/// A registry holding the three-layer sample as `app:v1`, and its two large layers' digests
/// and sizes as the registry serves them (skopeo's view).
struct Served {
    registry: Registry,
    _dir: tempfile::TempDir,
    /// The manifest digest.
    digest: String,
    /// (digest, size) of the layers over 64 KiB.
    large: Vec<(String, u64)>,
}

fn serve_sample() -> Served {
    require(have("skopeo"), "skopeo (Debian package)");
    let registry = Registry::start(None);
    let dir = tempfile::tempdir().unwrap();
    let (src, _) = sample(dir.path());
    registry.push(&src, "app:v1", None);
    let raw: serde_json::Value = serde_json::from_str(&sh(&format!(
        "skopeo inspect --raw --tls-verify=false docker://{}/app:v1",
        registry.host
    )))
    .unwrap();
    let large = raw["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["digest"].as_str().unwrap().to_string(), l["size"].as_u64().unwrap()))
        .filter(|(_, size)| *size > 64 * 1024)
        .collect::<Vec<_>>();
    assert_eq!(large.len(), 2, "{raw}");
    let digest = sh(&format!(
        "skopeo inspect --format '{{{{.Digest}}}}' --tls-verify=false docker://{}/app:v1",
        registry.host
    ))
    .trim()
    .to_string();
    Served {
        registry,
        _dir: dir,
        digest,
        large,
    }
}

/// Runs strata with `args` and `env`, killing it (and failing) if it has not ended in 60 s.
fn strata_bounded(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .envs(env.iter().copied())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run strata");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("strata {args:?} was still running after 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().expect("output");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `strata report HOST/app:v1 --format json`'s output, with `host` written as `as_host` (so a
/// read through the proxy compares with a direct one).
fn report(host: &str, as_host: &str) -> String {
    let run = strata_bounded(
        &["report", &format!("{host}/app:v1"), "--format", "json"],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout.replace(host, as_host)
}

/// Asserts that each large layer was asked for whole, then once from a byte in `0 < N <= half`
/// (exactly half with `exact`), and that nothing else was asked twice.
fn resumed_once(proxy: &Proxy, served: &Served, exact: bool) {
    for (digest, size) in &served.large {
        let gets = proxy.blob_gets(digest);
        assert_eq!(gets.len(), 2, "{digest}: {gets:?}");
        assert_eq!(gets[0], None, "{gets:?}");
        let from: u64 = gets[1]
            .as_deref()
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a Range from a byte: {gets:?}"));
        assert!(from > 0 && from <= size / 2, "{from} of {size}");
        if exact {
            assert_eq!(from, size / 2, "resumed at the byte the proxy cut");
        }
    }
}

/// Copies through `proxy` into a fresh layout and checks it: skopeo reads the registry's
/// manifest digest from it, and every blob file hashes (sha256sum) to its name.
fn copy_and_verify(proxy: &Proxy, served: &Served) {
    let out = tempfile::tempdir().unwrap();
    let layout = out.path().join("copy");
    let run = strata_bounded(
        &[
            "copy",
            &format!("docker://{}/app:v1", proxy.host),
            &format!("oci:{}:v1", layout.display()),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let digest = sh(&format!(
        "skopeo inspect --format '{{{{.Digest}}}}' oci:{}:v1",
        layout.display()
    ));
    assert_eq!(digest.trim(), served.digest);
    assert_blobs_verified(out.path());
}

/// Every file under `dir` is a layout's `oci-layout`, `index.json` (or its lock), or a blob whose sha256sum
/// is its name: no temp file, no partial blob.
fn assert_blobs_verified(dir: &Path) {
    let files = sh(&format!("find {} -type f", dir.display()));
    for file in files.lines() {
        let name = Path::new(file).file_name().unwrap().to_str().unwrap();
        if matches!(name, "oci-layout" | "index.json" | "index.json.lock") {
            continue;
        }
        assert!(file.contains("/blobs/sha256/"), "a stray file: {file}");
        let sum = sh(&format!("sha256sum {file}"));
        assert_eq!(sum.split(' ').next(), Some(name), "{file}");
    }
}

/// Reads the sample through a proxy with `fault` (a download fault on whole blobs) with
/// `report`, then `copy`: each gives what a clean read gives, each large layer resumed once.
fn resumes_through(fault: Fault, exact: bool) {
    let served = serve_sample();
    let host = &served.registry.host;
    let clean = report(host, host);
    let proxy = start(host, fault);
    assert_eq!(report(&proxy.host, host), clean);
    resumed_once(&proxy, &served, exact);
    let proxy = start(host, fault);
    copy_and_verify(&proxy, &served);
    resumed_once(&proxy, &served, exact);
}

fn a_layer_reset_at_half_is_resumed_with_a_range() {
    // A reset drops what the client had not read yet, so the resume starts at or before half.
    resumes_through(Fault::ResetDownloads(Downloads::Whole), false);
}

fn a_truncated_layer_is_resumed_from_the_byte_it_stopped_at() {
    resumes_through(Fault::TruncateDownloads(Downloads::Whole), true);
}

/// Asserts a run failed as a network fault should: exit 3, one line naming the layer, and a
/// layer asked for exactly [`ATTEMPTS`] times (none more).
fn gave_up(run: &Run, proxy: &Proxy, served: &Served, cause: &str) {
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("fetching layer sha256:"), "{}", run.stderr);
    assert!(run.stderr.contains(cause), "{}", run.stderr);
    assert!(!run.stderr.contains("corrupt"), "{}", run.stderr);
    let counts: Vec<usize> = served
        .large
        .iter()
        .map(|(d, _)| proxy.blob_gets(d).len())
        .collect();
    assert!(counts.contains(&ATTEMPTS), "{counts:?}");
    assert!(counts.iter().all(|&n| n <= ATTEMPTS), "{counts:?}");
}

fn a_registry_that_cuts_off_every_attempt_fails_with_exit_3_and_no_temp_file() {
    let served = serve_sample();
    for fault in [
        Fault::ResetDownloads(Downloads::All),
        Fault::TruncateDownloads(Downloads::All),
    ] {
        let proxy = start(&served.registry.host, fault);
        let reference = format!("{}/app:v1", proxy.host);
        let run = strata_bounded(&["report", &reference], &[]);
        gave_up(&run, &proxy, &served, "after 4 attempts");

        let proxy = start(&served.registry.host, fault);
        let out = tempfile::tempdir().unwrap();
        let run = strata_bounded(
            &[
                "copy",
                &format!("docker://{}/app:v1", proxy.host),
                &format!("oci:{}:v1", out.path().join("copy").display()),
            ],
            &[],
        );
        gave_up(&run, &proxy, &served, "after 4 attempts");
        assert_blobs_verified(out.path());
    }
}

fn a_layer_trickled_at_a_byte_a_second_fails_under_the_minimum_rate() {
    let served = serve_sample();
    let proxy = start(&served.registry.host, Fault::TrickleDownloads(1));
    // 1 KiB/s over 2 s windows; --timeout (idle time) never trips, a byte comes every second.
    let env = [("STRATA_MIN_RATE", "1/2")];
    let reference = format!("{}/app:v1", proxy.host);
    let run = strata_bounded(&["report", &reference, "--timeout", "3"], &env);
    gave_up(&run, &proxy, &served, "minimum rate");

    let proxy = start(&served.registry.host, Fault::TrickleDownloads(1));
    let out = tempfile::tempdir().unwrap();
    let run = strata_bounded(
        &[
            "copy",
            &format!("docker://{}/app:v1", proxy.host),
            &format!("oci:{}:v1", out.path().join("copy").display()),
            "--timeout",
            "3",
        ],
        &env,
    );
    gave_up(&run, &proxy, &served, "minimum rate");
    assert_blobs_verified(out.path());
}

fn a_minimum_rate_that_is_not_one_is_refused() {
    let run = strata(&["report", "127.0.0.1:9/app:v1"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let run = strata_bounded(
        &["report", "127.0.0.1:9/app:v1"],
        &[("STRATA_MIN_RATE", "fast")],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("STRATA_MIN_RATE"), "{}", run.stderr);
}

crate::tests![
    a_layer_reset_at_half_is_resumed_with_a_range,
    a_truncated_layer_is_resumed_from_the_byte_it_stopped_at,
    a_registry_that_cuts_off_every_attempt_fails_with_exit_3_and_no_temp_file,
    a_layer_trickled_at_a_byte_a_second_fails_under_the_minimum_rate,
    a_minimum_rate_that_is_not_one_is_refused,
];
