//! Images made by `strata build` on a base another tool wrote, read back by skopeo: the settings
//! strata sets are the ones skopeo reads, the base config's fields strata does not model survive
//! (Docker's `Healthcheck`, `container_config`), a new entrypoint resets the command to `null` as
//! Docker does, the manifest names its base, and the same inputs give the same digest again.


use std::path::Path;

use crate::support::layout::{tar_bytes, write_layout_with, Comp, Item};
use crate::support::{have, require, sh, strata_in};

fn project(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("project");
    std::fs::create_dir_all(p.join("src")).unwrap();
    std::fs::write(p.join("src/run.sh"), "echo hi\n").unwrap();
    std::fs::write(
        p.join("strata.toml"),
        concat!(
            "[image]\nentrypoint = [\"/bin/sh\", \"/app/run.sh\"]\nworkdir = \"/app\"\nuser = \"1000\"\n",
            "env = { PATH = \"/app/bin:/bin\", APP = \"demo\" }\n",
            "labels = { \"org.example.kind\" = \"test\" }\nexposed_ports = [\"8080/tcp\"]\n\n",
            "[[layer]]\nname = \"app\"\nfrom = [\"src\"]\nto = \"/app\"\n",
        ),
    )
    .unwrap();
    p
}

fn build(project: &Path, base: &str, cache: &Path, out: &Path) -> String {
    let (cache, out) = (
        cache.display().to_string(),
        format!("oci:{}:v1", out.display()),
    );
    let run = strata_in(
        &[
            "build",
            "--base",
            base,
            "--cache-dir",
            &cache,
            "--output",
            &out,
            "--format",
            "json",
        ],
        &[],
        Some(project),
    );
    assert_eq!(run.code, 0, "build: {}", run.stderr);
    run.json()["outputs"][0]["manifest_digest"]
        .as_str()
        .unwrap()
        .to_string()
}

fn skopeo_json(args: &str) -> serde_json::Value {
    serde_json::from_str(&sh(&format!("skopeo inspect {args}"))).unwrap()
}

fn a_build_on_a_foreign_base_keeps_its_config_and_skopeo_reads_the_settings() {
    require(have("skopeo"), "skopeo");
    let dir = tempfile::tempdir().unwrap();
    let base_dir = dir.path().join("base");
    let base_layer = tar_bytes(&[Item::File("bin/tool", b"#!/bin/sh\n")]);
    let base = write_layout_with(&base_dir, "latest", &[(base_layer, Comp::Gzip)], |c| {
        c["config"]["Env"] = serde_json::json!(["PATH=/bin", "LANG=C"]);
        c["config"]["Labels"] = serde_json::json!({"org.example.base": "yes"});
        c["config"]["Healthcheck"] = serde_json::json!({"Test": ["CMD", "/bin/tool"]});
        c["container_config"] = serde_json::json!({"Hostname": "builder"});
        c["docker_version"] = serde_json::json!("24.0.0");
    });
    let base_ref = format!("oci:{}:latest", base_dir.display());
    let p = project(dir.path());
    let out = dir.path().join("out");
    let digest = build(&p, &base_ref, &dir.path().join("cache"), &out);
    let image = format!("oci:{}:v1", out.display());

    // skopeo's own digest of what strata wrote is the one strata reported.
    assert_eq!(skopeo_json(&image)["Digest"], digest.as_str());

    // The settings, as skopeo (Go's OCI types) parses them.
    let config = skopeo_json(&format!("--config {image}"));
    let rt = &config["config"];
    assert_eq!(
        rt["Entrypoint"],
        serde_json::json!(["/bin/sh", "/app/run.sh"])
    );
    assert!(rt.get("Cmd").is_none_or(|c| c.is_null()), "{rt}");
    assert_eq!(
        rt["Env"],
        serde_json::json!(["LANG=C", "APP=demo", "PATH=/app/bin:/bin"])
    );
    assert_eq!(
        (&rt["WorkingDir"], &rt["User"]),
        (&"/app".into(), &"1000".into())
    );
    assert_eq!(
        rt["Labels"],
        serde_json::json!({"org.example.base": "yes", "org.example.kind": "test"})
    );
    assert_eq!(rt["ExposedPorts"], serde_json::json!({"8080/tcp": {}}));
    assert_eq!(config["rootfs"]["diff_ids"][0], base.diff_ids[0].as_str());
    assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
    let history: Vec<&str> = config["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["created_by"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        ["layer 0", "strata build: layer app (src -> /app)"]
    );

    // The raw config keeps what the OCI types do not model, and the explicit null command.
    let raw: serde_json::Value =
        serde_json::from_str(&sh(&format!("skopeo inspect --raw --config {image}"))).unwrap();
    assert_eq!(raw["config"]["Healthcheck"]["Test"][1], "/bin/tool");
    assert_eq!(raw["container_config"]["Hostname"], "builder");
    assert_eq!(raw["docker_version"], "24.0.0");
    assert!(raw["config"]["Cmd"].is_null() && raw["config"].get("Cmd").is_some());

    // The manifest is OCI and names its base by name and digest.
    let manifest = skopeo_json(&format!("--raw {image}"));
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    let annotations = &manifest["annotations"];
    assert_eq!(
        annotations["org.opencontainers.image.base.name"],
        base_ref.as_str()
    );
    assert_eq!(
        annotations["org.opencontainers.image.base.digest"],
        base.manifest_digest.as_str()
    );

    // Again from a fresh cache into a fresh layout: the same digest.
    let again = build(
        &p,
        &base_ref,
        &dir.path().join("cache2"),
        &dir.path().join("out2"),
    );
    assert_eq!(again, digest, "same inputs, same digest");
}

crate::tests![
    a_build_on_a_foreign_base_keeps_its_config_and_skopeo_reads_the_settings,
];
