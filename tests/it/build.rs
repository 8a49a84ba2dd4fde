//! `strata build` end to end: reproducible digests across directories and file times, a one-line
//! change that re-ships only the app layer, the layer cache, outputs read by skopeo, umoci and the
//! Docker Engine (`docker run` of a strata-built image), registry pushes that skip what is there,
//! and bad input that fails cleanly without writing anything.


use std::path::{Path, PathBuf};

use crate::support::registry::Registry;
use crate::support::{docker_ok, have, optional, report_json, require, sh, strata_in};

/// A project: a static busybox rootfs (to run), a fake virtualenv, and app code.
fn project(dir: &Path) -> PathBuf {
    let p = dir.join("project");
    std::fs::create_dir_all(p.join("rootfs/bin")).unwrap();
    std::fs::create_dir_all(p.join(".venv/lib/site-packages/dep")).unwrap();
    std::fs::create_dir_all(p.join("src")).unwrap();
    if Path::new("/bin/busybox").is_file() {
        std::fs::copy("/bin/busybox", p.join("rootfs/bin/busybox")).unwrap();
        std::os::unix::fs::symlink("busybox", p.join("rootfs/bin/sh")).unwrap();
    }
    let dep: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(p.join(".venv/lib/site-packages/dep/core.so"), dep).unwrap();
    std::fs::write(p.join("src/run.sh"), "echo hello from a strata build\n").unwrap();
    std::fs::write(
        p.join("strata.toml"),
        "[image]\nbase = \"scratch\"\nentrypoint = [\"/bin/sh\", \"/app/src/run.sh\"]\nenv = { APP = \"demo\" }\n\n[[layer]]\nname = \"rootfs\"\nfrom = [\"rootfs\"]\nto = \"/\"\n\n[[layer]]\nname = \"deps\"\nfrom = [\".venv\"]\nto = \"/app/.venv\"\n\n[[layer]]\nname = \"app\"\nfrom = [\"src\"]\nto = \"/app/src\"\n",
    )
    .unwrap();
    p
}

fn build(project: &Path, cache: &Path, extra: &[&str]) -> serde_json::Value {
    let cache_arg = cache.display().to_string();
    let mut args = vec!["build", "--cache-dir", &cache_arg, "--format", "json"];
    args.extend_from_slice(extra);
    let run = strata_in(&args, &[], Some(project));
    assert_eq!(run.code, 0, "build {extra:?}: {}", run.stderr);
    run.json()
}

fn digest_of(built: &serde_json::Value, output: usize) -> String {
    built["outputs"][output]["manifest_digest"]
        .as_str()
        .unwrap()
        .to_string()
}

fn builds_are_reproducible_across_directories_times_and_caches() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let (pa, pb) = (project(a.path()), project(b.path()));
    sh(&format!(
        "touch -d '2001-01-01' {}/src/run.sh",
        pb.display()
    ));
    let out_a = a.path().join("out");
    let first = build(
        &pa,
        &a.path().join("cache"),
        &["--output", &format!("oci:{}:v1", out_a.display())],
    );
    let second = build(
        &pb,
        &b.path().join("cache"),
        &[
            "--output",
            &format!("oci:{}:v1", b.path().join("out").display()),
        ],
    );
    assert_eq!(
        digest_of(&first, 0),
        digest_of(&second, 0),
        "same inputs, same digest"
    );
    assert!(first["layers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["cache_hit"] == false));
    // On the cache's filesystem the layout links the cache's layer blobs instead of copying them.
    for l in first["layers"].as_array().unwrap() {
        use std::os::unix::fs::MetadataExt;
        let digest = l["layer"]["digest"].as_str().unwrap();
        let blob = out_a.join("blobs/sha256").join(&digest["sha256:".len()..]);
        assert_eq!(
            std::fs::metadata(&blob).unwrap().nlink(),
            2,
            "{}",
            blob.display()
        );
    }
    let again = build(
        &pa,
        &a.path().join("cache"),
        &["--output", &format!("oci:{}:v2", out_a.display())],
    );
    assert!(
        again["layers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["cache_hit"] == true),
        "{again}"
    );
    assert_eq!(digest_of(&again, 0), digest_of(&first, 0));
    assert_eq!(
        again["outputs"][0]["uploaded"], 0,
        "everything already in the layout"
    );
    // SOURCE_DATE_EPOCH is part of the bytes.
    let epoch = strata_in(
        &[
            "build",
            "--cache-dir",
            &a.path().join("cache").display().to_string(),
            "--format",
            "json",
            "--output",
            &format!("oci:{}:v3", out_a.display()),
        ],
        &[("SOURCE_DATE_EPOCH", Path::new("1700000000"))],
        Some(&pa),
    );
    assert_eq!(epoch.code, 0, "{}", epoch.stderr);
    assert_ne!(digest_of(&epoch.json(), 0), digest_of(&first, 0));
    // Independent readers.
    let report = report_json(&format!("oci:{}:v1", out_a.display()));
    assert_eq!(report["layers"].as_array().unwrap().len(), 3);
    assert_eq!(
        report["layers"][2]["created_by"],
        "strata build: layer app (src -> /app/src)"
    );
    if optional(have("skopeo"), "skopeo") {
        sh(&format!("skopeo inspect oci:{}:v1", out_a.display()));
    }
    if optional(have("umoci"), "umoci") {
        let bundle = a.path().join("bundle");
        sh(&format!(
            "umoci unpack --rootless --image {}:v1 {}",
            out_a.display(),
            bundle.display()
        ));
        assert!(bundle.join("rootfs/app/src/run.sh").is_file());
        assert!(bundle
            .join("rootfs/app/.venv/lib/site-packages/dep/core.so")
            .is_file());
    }
}

fn a_code_change_reships_only_the_app_layer_and_docker_runs_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let p = project(dir.path());
    let cache = dir.path().join("cache");
    let archive = dir.path().join("app.tar");
    let tag = format!("strata-test/built:{}", std::process::id());
    build(
        &p,
        &cache,
        &[
            "--output",
            &format!("docker-archive:{}:{tag}", archive.display()),
            "--output",
            &format!("oci:{}:v1", dir.path().join("out").display()),
        ],
    );
    std::fs::write(p.join("src/run.sh"), "echo hello from a strata build, v2\n").unwrap();
    let v2 = build(
        &p,
        &cache,
        &[
            "--output",
            &format!("oci:{}:v2", dir.path().join("out").display()),
        ],
    );
    let hits: Vec<bool> = v2["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["cache_hit"].as_bool().unwrap())
        .collect();
    assert_eq!(hits, [true, true, false], "only the app layer is rebuilt");
    assert_eq!(
        v2["outputs"][0]["uploaded"], 2,
        "the new app layer and config"
    );
    let diff = strata_in(
        &[
            "diff",
            &format!("oci:{}:v1", dir.path().join("out").display()),
            &format!("oci:{}:v2", dir.path().join("out").display()),
            "--format",
            "json",
        ],
        &[],
        None,
    )
    .json();
    assert!(diff["pull_bytes"].as_u64().unwrap() < 1000, "{diff}");
    assert_eq!(diff["shared_layers"].as_array().unwrap().len(), 2);
    let docker = have("docker")
        && std::process::Command::new("docker")
            .arg("info")
            .output()
            .is_ok_and(|o| o.status.success());
    require(
        docker && Path::new("/bin/busybox").is_file(),
        "a running Docker Engine and busybox-static",);
    sh(&format!("docker load -i {}", archive.display()));
    let out = sh(&format!("docker run --rm {tag}"));
    let _ = sh(&format!("docker rmi {tag}"));
    assert_eq!(out.trim(), "hello from a strata build");
}

fn pushes_send_only_what_the_registry_lacks() {
    let registry = Registry::start(None);
    let dir = tempfile::tempdir().unwrap();
    let p = project(dir.path());
    let cache = dir.path().join("cache");
    let target = format!("{}/team/built:v1", registry.host);
    let first = build(&p, &cache, &["--push", &target]);
    assert_eq!(
        first["outputs"][0]["uploaded"], 4,
        "three layers and the config"
    );
    std::fs::write(p.join("src/run.sh"), "echo changed\n").unwrap();
    let second = build(
        &p,
        &cache,
        &["--push", &format!("{}/team/built:v2", registry.host)],
    );
    assert_eq!(
        second["outputs"][0]["uploaded"], 2,
        "the app layer and the config"
    );
    assert_eq!(second["outputs"][0]["skipped"], 2);
    assert!(second["outputs"][0]["uploaded_bytes"].as_u64().unwrap() < 100_000);
    let v = report_json(&format!("{}/team/built:v2", registry.host));
    assert_eq!(v["layers"].as_array().unwrap().len(), 3);
}

fn bad_input_fails_cleanly_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = project(dir.path());
    let out = dir.path().join("out");
    let cache = dir.path().join("cache").display().to_string();
    let dest = format!("oci:{}:v1", out.display());
    for (extra, expected) in [
        (vec!["--layer", "x=missing:/x"], "does not exist"),
        (
            vec!["--layer", "x=src:/app/../../etc"],
            "must not contain ..",
        ),
        (
            vec!["--base", "oci:/nonexistent/base:1"],
            "no such directory",
        ),
    ] {
        let mut args = vec!["build", "--cache-dir", &cache, "--output", &dest];
        args.extend(extra.iter().copied());
        let run = strata_in(&args, &[], Some(&p));
        assert_eq!(run.code, 2, "{extra:?}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{}", run.stderr);
        assert!(
            !out.join("index.json").exists(),
            "nothing written for {extra:?}"
        );
    }
    let prune = strata_in(
        &["cache", "prune", "--days", "0", "--cache-dir", &cache],
        &[],
        None,
    );
    assert_eq!(prune.code, 0, "{}", prune.stderr);
}

/// Every cache entry names a blob that exists and hashes to its digest.
fn assert_cache_consistent(cache: &Path) {
    let selectors = cache.join("selectors");
    for entry in std::fs::read_dir(&selectors).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let layer: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let digest = layer["digest"].as_str().unwrap();
        let blob = cache.join("blobs/sha256").join(&digest["sha256:".len()..]);
        let bytes = std::fs::read(&blob)
            .unwrap_or_else(|_| panic!("{} names a missing blob", path.display()));
        assert_eq!(
            crate::support::layout::sha256(&bytes),
            digest,
            "blob content matches its name"
        );
    }
}

fn killed_builds_leave_layout_and_cache_consistent_and_concurrent_builds_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let p = project(dir.path());
    // A bigger dependency layer so a build takes long enough to be killed midway.
    let big: Vec<u8> = (0..8_000_000u32)
        .map(|i| (i.wrapping_mul(2246822519) >> 11) as u8)
        .collect();
    std::fs::write(p.join(".venv/lib/site-packages/dep/big.bin"), big).unwrap();
    let cache = dir.path().join("cache");
    let out = dir.path().join("out");
    build(
        &p,
        &cache,
        &["--output", &format!("oci:{}:v0", out.display())],
    );
    let bin = env!("CARGO_BIN_EXE_strata");
    for (round, delay_ms) in [5u64, 30, 80, 200, 450].into_iter().enumerate() {
        // A new input each round, so the build really writes a layer when it is killed.
        std::fs::write(p.join("src/round.txt"), format!("{round}")).unwrap();
        std::fs::write(
            p.join(".venv/lib/site-packages/dep/round.txt"),
            format!("{round}"),
        )
        .unwrap();
        let mut child = std::process::Command::new(bin)
            .args([
                "build",
                "--cache-dir",
                &cache.display().to_string(),
                "--output",
                &format!("oci:{}:v{}", out.display(), round + 1),
            ])
            .current_dir(&p)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        assert_cache_consistent(&cache);
        let old = report_json(&format!("oci:{}:v0", out.display()));
        assert_eq!(
            old["layers"].as_array().unwrap().len(),
            3,
            "the old tag survives a kill at {delay_ms} ms"
        );
    }
    // The rerun completes.
    build(
        &p,
        &cache,
        &["--output", &format!("oci:{}:after", out.display())],
    );
    assert_cache_consistent(&cache);
    if optional(have("skopeo"), "skopeo") {
        sh(&format!("skopeo inspect oci:{}:after", out.display()));
        sh(&format!("skopeo inspect oci:{}:v0", out.display()));
    }
    // Two builds at once, same cache, same layout, different tags: both succeed.
    std::fs::write(p.join("src/round.txt"), "concurrent").unwrap();
    let spawn = |tag: &str| {
        std::process::Command::new(bin)
            .args([
                "build",
                "--cache-dir",
                &cache.display().to_string(),
                "--output",
                &format!("oci:{}:{tag}", out.display()),
            ])
            .current_dir(&p)
            .output()
            .unwrap()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| spawn("left"));
        let b = s.spawn(|| spawn("right"));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(
        a.status.success() && b.status.success(),
        "{}{}",
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stderr)
    );
    let left = report_json(&format!("oci:{}:left", out.display()));
    let right = report_json(&format!("oci:{}:right", out.display()));
    assert_eq!(
        left["image"]["manifest_digest"],
        right["image"]["manifest_digest"]
    );
    assert_cache_consistent(&cache);
}

fn docker_pulls_a_pushed_build_and_builds_from_it() {
    let registry = Registry::start(None);
    require(
        docker_ok(&["info"]) && Path::new("/bin/busybox").is_file(),
        "a running Docker Engine and busybox-static",);
    let dir = tempfile::tempdir().unwrap();
    let p = project(dir.path());
    let image = format!(
        "{}/strata-test/pulled:{}",
        registry.host,
        std::process::id()
    );
    build(&p, &dir.path().join("cache"), &["--push", &image]);
    // Docker treats 127.0.0.0/8 registries as insecure (plain HTTP) by default.
    sh(&format!("docker pull -q {image}"));
    assert_eq!(
        sh(&format!("docker run --rm {image}")).trim(),
        "hello from a strata build"
    );
    // A strata image as a FROM.
    let ctx = dir.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), format!("FROM {image}\nRUN echo built-on-strata > /marker\nCMD [\"/bin/sh\", \"-c\", \"cat /marker\"]\n")).unwrap();
    let derived = format!("strata-test/derived:{}", std::process::id());
    sh(&format!(
        "DOCKER_BUILDKIT=0 docker build -q -t {derived} {}",
        ctx.display()
    ));
    let out = sh(&format!(
        "docker run --rm --entrypoint /bin/sh {derived} -c 'cat /marker'"
    ));
    let _ = sh(&format!("docker rmi {derived} {image}"));
    assert_eq!(out.trim(), "built-on-strata");
}

fn pushes_survive_transient_registry_failures() {
    use crate::support::faulty_proxy::{start, Fault};
    let registry = Registry::start(None);
    let dir = tempfile::tempdir().unwrap();
    let p = project(dir.path());
    let cache = dir.path().join("cache");
    // The first connections get 503: HEADs, uploads and the manifest are retried with backoff.
    let flaky = start(&registry.host, Fault::First503(3));
    build(
        &p,
        &cache,
        &["--push", &format!("{}/team/flaky:v1", flaky.host)],
    );
    let v = report_json(&format!("{}/team/flaky:v1", registry.host));
    assert_eq!(v["layers"].as_array().unwrap().len(), 3);
    // A registry that keeps failing: a clear error and exit 3, and a later push completes.
    let down = start(&registry.host, Fault::Always503);
    let cache_arg = cache.display().to_string();
    let run = strata_in(
        &[
            "build",
            "--cache-dir",
            &cache_arg,
            "--push",
            &format!("{}/team/down:v1", down.host),
        ],
        &[],
        Some(&p),
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    let again = build(
        &p,
        &cache,
        &["--push", &format!("{}/team/down:v1", registry.host)],
    );
    assert_eq!(
        again["outputs"][0]["skipped"].as_u64().unwrap()
            + again["outputs"][0]["uploaded"].as_u64().unwrap(),
        4
    );
}

crate::tests![
    builds_are_reproducible_across_directories_times_and_caches,
    a_code_change_reships_only_the_app_layer_and_docker_runs_the_image,
    pushes_send_only_what_the_registry_lacks,
    bad_input_fails_cleanly_and_writes_nothing,
    killed_builds_leave_layout_and_cache_consistent_and_concurrent_builds_succeed,
    docker_pulls_a_pushed_build_and_builds_from_it,
    pushes_survive_transient_registry_failures,
];
