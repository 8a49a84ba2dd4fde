//! Registry sources against a real registry (Debian's docker-registry on loopback): the report of a
//! pushed image equals the report of the layout it came from, skopeo agrees on digests and sizes,
//! auth works from flags and from a docker config, and failures exit 3 with a one-line reason that
//! never contains the password.


use crate::support::layout::{tar_bytes, write_layout, Comp, Item};
use crate::support::registry::Registry;
use crate::support::{have, optional, report_json, require, sh, strata, strata_in, strata_with_stdin};

fn sample(dir: &std::path::Path) {
    let venv = vec![3u8; 120_000];
    write_layout(
        dir,
        "v1",
        &[
            (
                tar_bytes(&[Item::File("etc/hostname", b"base\n")]),
                Comp::Gzip,
            ),
            (
                tar_bytes(&[
                    Item::File("app/.venv/lib/python3.11/site-packages/numpy/x.so", &venv),
                    Item::File("app/main.py", b"print('hi')\n"),
                ]),
                Comp::Zstd,
            ),
        ],
    );
}

const SKOPEO: &str = "skopeo (Debian package)";

/// Gates the running test on skopeo.
fn skopeo() {
    require(have("skopeo"), SKOPEO);
}

/// A registry (with `creds`, if given) holding the sample image at `repo_tag`.
fn registry_with_sample(creds: Option<(&str, &str)>, repo_tag: &str) -> (Registry, String) {
    skopeo();
    let registry = Registry::start(creds);
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let pushed = registry.push(&format!("oci:{}:v1", dir.path().display()), repo_tag, creds);
    (registry, pushed)
}

fn a_pushed_image_reports_like_its_layout_and_skopeo_agrees() {
    let (registry, pushed) = registry_with_sample(None, "team/app:v1");
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let from_layout = report_json(&format!("oci:{}:v1", dir.path().display()));
    for reference in [format!("docker://{pushed}"), pushed.clone()] {
        let remote = report_json(&reference);
        assert_eq!(
            remote["image"]["manifest_digest"],
            from_layout["image"]["manifest_digest"]
        );
        assert_eq!(remote["layers"], from_layout["layers"]);
        assert_eq!(
            remote["dive"]["efficiency"],
            from_layout["dive"]["efficiency"]
        );
        assert_eq!(remote["findings"], from_layout["findings"]);
    }
    // skopeo's view of the same image: digests and compressed sizes agree.
    let inspect: serde_json::Value = serde_json::from_str(&sh(&format!(
        "skopeo inspect --tls-verify=false docker://{pushed}"
    )))
    .unwrap();
    let raw: serde_json::Value = serde_json::from_str(&sh(&format!(
        "skopeo inspect --raw --tls-verify=false docker://{pushed}"
    )))
    .unwrap();
    let remote = report_json(&pushed);
    assert_eq!(inspect["Digest"], remote["image"]["manifest_digest"]);
    let layers = raw["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    for (i, l) in layers.iter().enumerate() {
        assert_eq!(inspect["Layers"][i], remote["layers"][i]["digest"]);
        assert_eq!(l["digest"], remote["layers"][i]["digest"]);
        assert_eq!(l["size"], remote["layers"][i]["compressed_bytes"]);
    }
    // By digest too.
    let digest = remote["image"]["manifest_digest"].as_str().unwrap();
    let by_digest = report_json(&format!("{}/team/app@{digest}", registry.host));
    assert_eq!(by_digest["layers"], remote["layers"]);
}

fn a_docker_archive_pushed_by_skopeo_keeps_its_history() {
    skopeo();
    let registry = Registry::start(None);
    let archive = crate::support::shared_fixture("dive/test-docker-image.tar");
    let pushed = registry.push(
        &format!("docker-archive:{}", archive.display()),
        "dive/test:latest",
        None,
    );
    let v = report_json(&format!("docker://{pushed}"));
    // skopeo compresses the layers on push; the uncompressed view (and so dive's) is unchanged.
    assert!(v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["compression"] == "gzip"));
    assert_eq!(v["dive"]["efficiency"], 0.9844212134184309);
    assert_eq!(v["dive"]["wasted_bytes"], 32025);
    assert_eq!(
        v["layers"][13]["created_by"],
        "/bin/sh -c chmod +x /root/saved.txt"
    );
}

fn missing_images_and_dead_registries_exit_3() {
    let registry = Registry::start(None);
    let run = strata(&["report", &format!("{}/nope/nothing:v9", registry.host)]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    // One error line, then the hint (tests/references.rs checks what it says).
    let lines: Vec<&str> = run.stderr.trim().lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stderr);
    assert!(lines[1].starts_with("hint: "), "{}", run.stderr);
    assert!(run.stderr.contains("nope/nothing"), "{}", run.stderr);
    drop(registry);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let run = strata(&["report", &format!("docker://127.0.0.1:{port}/x:y")]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("cannot reach"), "{}", run.stderr);
}

fn basic_auth_from_flags_and_docker_config_never_printed() {
    skopeo();
    require(have("htpasswd"), "htpasswd (apache2-utils)");
    let (user, password) = ("ci-user", "s3cret-Passw0rd");
    let (registry, pushed) = registry_with_sample(Some((user, password)), "private/app:v1");
    // Anonymous: 401, exit 3.
    let config_dir = tempfile::tempdir().unwrap();
    let docker_config = [("DOCKER_CONFIG", config_dir.path())];
    let anon = strata_in(&["report", &pushed], &docker_config, None);
    assert_eq!(anon.code, 3);
    assert!(anon.stderr.contains("401"), "{}", anon.stderr);
    // Flags.
    let run = strata_with_stdin(
        &[
            "report",
            &pushed,
            "--username",
            user,
            "--password-stdin",
            "--format",
            "json",
        ],
        &format!("{password}\n"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["layers"].as_array().unwrap().len(), 2);
    // A wrong password fails without echoing either password.
    let run = strata_with_stdin(
        &["report", &pushed, "--username", user, "--password-stdin"],
        "wrong-Passw0rd-123",
    );
    assert_eq!(run.code, 3);
    assert!(!run.stderr.contains("wrong-Passw0rd-123") && !run.stderr.contains(password));
    // ~/.docker/config.json `auths`.
    let auth = sh(&format!("printf '%s' '{user}:{password}' | base64 -w0"));
    std::fs::write(
        config_dir.path().join("config.json"),
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, registry.host),
    )
    .unwrap();
    let out = strata_in(
        &["report", &pushed, "--format", "json"],
        &docker_config,
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains(password));
}

fn transient_registry_failures_are_retried_and_persistent_ones_reported() {
    use std::sync::atomic::Ordering;
    use crate::support::faulty_proxy::{start, Fault};
    let (registry, _) = registry_with_sample(None, "app:v1");

    let flaky = start(&registry.host, Fault::First503(2));
    let v = report_json(&format!("{}/app:v1", flaky.host));
    assert_eq!(v["layers"].as_array().unwrap().len(), 2);
    assert_eq!(
        flaky.faults.load(Ordering::SeqCst),
        2,
        "both 503s were served, then retried"
    );

    let down = start(&registry.host, Fault::Always503);
    let run = strata(&["report", &format!("{}/app:v1", down.host)]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("503"), "{}", run.stderr);
    assert!(
        down.faults.load(Ordering::SeqCst) >= 4,
        "retried before giving up"
    );

    let silent = start(&registry.host, Fault::Silent);
    let started = std::time::Instant::now();
    let run = strata(&[
        "report",
        &format!("{}/app:v1", silent.host),
        "--timeout",
        "1",
    ]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("timed out"), "{}", run.stderr);
    assert!(started.elapsed().as_secs() < 30, "timeouts bound the wait");
}

fn multi_platform_images_resolve_by_platform_locally_and_remotely() {
    use crate::support::layout::{write_layout_with, write_platform_index};
    let dir = tempfile::tempdir().unwrap();
    let image = |arch: &'static str, size: usize| {
        let data = vec![1u8; size];
        write_layout_with(
            dir.path(),
            arch,
            &[(tar_bytes(&[Item::File("bin/app", &data)]), Comp::Gzip)],
            |c| c["architecture"] = arch.into(),
        )
    };
    let amd64 = image("amd64", 1000);
    let arm64 = image("arm64", 2000);
    write_platform_index(
        dir.path(),
        "multi",
        &[("linux/amd64", &amd64), ("linux/arm64/v8", &arm64)],
    );
    let local = format!("oci:{}:multi", dir.path().display());
    let check = |reference: &str| {
        for (platform, manifest, bytes) in [
            ("linux/amd64", &amd64.manifest_digest, 1000),
            ("linux/arm64", &arm64.manifest_digest, 2000),
            ("linux/arm64/v8", &arm64.manifest_digest, 2000),
        ] {
            let run = strata(&[
                "report",
                reference,
                "--platform",
                platform,
                "--format",
                "json",
            ]);
            assert_eq!(run.code, 0, "{platform}: {}", run.stderr);
            let v = run.json();
            assert_eq!(&v["image"]["manifest_digest"], manifest, "{platform}");
            assert_eq!(v["image"]["content_bytes"], bytes);
        }
        let run = strata(&["report", reference, "--platform", "linux/s390x"]);
        assert_eq!(run.code, 2);
        assert!(
            run.stderr.contains("linux/amd64, linux/arm64/v8"),
            "{}",
            run.stderr
        );
    };
    check(&local);
    if !optional(have("skopeo"), SKOPEO) || !optional(Registry::installed(), crate::support::registry::WHAT) {
        return;
    }
    let registry = Registry::start(None);
    let pushed = {
        sh(&format!(
            "skopeo copy --quiet --all --dest-tls-verify=false {local} docker://{}/multi:v1",
            registry.host
        ));
        format!("{}/multi:v1", registry.host)
    };
    check(&pushed);
}

fn credentials_from_a_docker_credential_helper() {
    require(have("htpasswd"), "htpasswd (apache2-utils)");
    let (user, password) = ("helper-user", "helper-Passw0rd");
    let (registry, pushed) = registry_with_sample(Some((user, password)), "helped/app:v1");
    // A credential helper is a program `docker-credential-NAME get` that answers JSON.
    let home = tempfile::tempdir().unwrap();
    let helper = home.path().join("docker-credential-strata-test");
    std::fs::write(
        &helper,
        format!("#!/bin/sh\nread server\necho '{{\"ServerURL\":\"'$server'\",\"Username\":\"{user}\",\"Secret\":\"{password}\"}}'\n"),
    )
    .unwrap();
    sh(&format!("chmod +x {}", helper.display()));
    std::fs::write(
        home.path().join("config.json"),
        format!(r#"{{"credHelpers":{{"{}":"strata-test"}}}}"#, registry.host),
    )
    .unwrap();
    let path = std::path::PathBuf::from(format!(
        "{}:{}",
        home.path().display(),
        std::env::var("PATH").unwrap()
    ));
    let env = [("DOCKER_CONFIG", home.path()), ("PATH", path.as_path())];
    let out = strata_in(&["report", &pushed, "--format", "json"], &env, None);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

crate::tests![
    a_pushed_image_reports_like_its_layout_and_skopeo_agrees,
    a_docker_archive_pushed_by_skopeo_keeps_its_history,
    missing_images_and_dead_registries_exit_3,
    basic_auth_from_flags_and_docker_config_never_printed,
    transient_registry_failures_are_retried_and_persistent_ones_reported,
    multi_platform_images_resolve_by_platform_locally_and_remotely,
    credentials_from_a_docker_credential_helper,
];
