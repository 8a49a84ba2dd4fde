//! Integration tests against the machine's real Docker Engine: the archives that `docker save`
//! writes are the most common input to strata, so these tests build a small image with Docker
//! itself and check the report against what Docker (and the archive) independently say.
//!
//! No image is pulled: a one-layer base is `docker import`ed from a rootfs holding the host's
//! static busybox, and a Dockerfile on top of it adds a COPY, a Python-like `.venv` and a module in
//! one RUN (an app layer: its dependencies are a finding), a `rm` of the copied file (dead bytes)
//! and a fake apt list (cache). Layer count, diff_ids and layer sizes are
//! compared with `docker inspect` and the archive's own `manifest.json`; dead bytes, findings and
//! history with the sizes and commands written here. A missing Docker Engine or busybox-static
//! skips the tests on a developer machine and fails them when CI=true.


use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use crate::support::{docker_ok, fresh_dir, report_json, require, strata};

/// Sizes of `/app/data.bin` (COPY'd in, later deleted) and of the fake package's only module.
const DATA_BYTES: u64 = 200 * 1024;
const PKG_BYTES: u64 = 300 * 1024;
const SITE: &str = "/app/.venv/lib/python3.11/site-packages";
const APPLETS: &[&str] = &[
    "sh", "ls", "rm", "cp", "mkdir", "chmod", "cat", "echo", "dd", "head",
];

/// What the shared setup built, saved and learned from Docker; the images themselves are removed
/// once saved, so every test works from the archives.
struct Fixture {
    /// `docker save` of the app image, and of the app image and its base in one archive.
    app_archive: PathBuf,
    both_archive: PathBuf,
    app_tag: String,
    base_tag: String,
    /// Docker's `RootFS.Layers` (diff_ids) of the app image and of the base.
    app_diff_ids: Vec<String>,
    base_diff_ids: Vec<String>,
}

impl Fixture {
    /// Layer index of `RUN rm /app/data.bin`: the third layer the Dockerfile adds.
    fn rm_layer(&self) -> usize {
        self.base_diff_ids.len() + 2
    }

    fn app(&self) -> &str {
        self.app_archive.to_str().unwrap()
    }
}

/// Runs docker with `args`, panicking with its output on failure; returns stdout.
fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run docker");
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn rootfs_layers(image: &str) -> Vec<String> {
    let json = docker(&["inspect", "-f", "{{json .RootFS.Layers}}", image]);
    serde_json::from_str(&json).expect("RootFS.Layers is a JSON list")
}

/// The shared fixture, built once per test run (a skip, or a failure under CI=true, when a
/// prerequisite is missing).
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        require(docker_ok(&["info"]), "a running Docker Engine");
        require(
            Path::new("/bin/busybox").exists(),
            "busybox-static (/bin/busybox)",
        );
        build_fixture()
    })
}

fn build_fixture() -> Fixture {
    let pid = std::process::id();
    let dir = fresh_dir("docker");
    let (base_tag, app_tag) = (
        format!("strata-test/busybox:{pid}"),
        format!("strata-test/app:{pid}"),
    );

    // The base: a rootfs with nothing but busybox and a few applet links, imported as one layer.
    let bin = dir.join("rootfs/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy("/bin/busybox", bin.join("busybox")).unwrap();
    for applet in APPLETS {
        std::os::unix::fs::symlink("busybox", bin.join(applet)).unwrap();
    }
    crate::support::sh(&format!(
        "tar -C '{}' -c . | docker import - {base_tag}",
        dir.join("rootfs").display()
    ));

    let ctx = dir.join("context");
    std::fs::create_dir_all(&ctx).unwrap();
    let data: Vec<u8> = (0..DATA_BYTES).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(ctx.join("data.bin"), data).unwrap();
    let dockerfile = format!(
        "FROM {base_tag}\n\
         COPY data.bin /app/data.bin\n\
         RUN mkdir -p {SITE}/fakepkg {SITE}/fakepkg-1.0.dist-info \
         && head -c {PKG_BYTES} /dev/urandom > {SITE}/fakepkg/core.so \
         && echo 'fakepkg/core.so,,{PKG_BYTES}' > {SITE}/fakepkg-1.0.dist-info/RECORD \
         && echo 'import fakepkg' > /app/main.py\n\
         RUN rm /app/data.bin\n\
         RUN mkdir -p /var/lib/apt/lists \
         && dd if=/dev/urandom of=/var/lib/apt/lists/fake_InRelease bs=1024 count=64\n\
         CMD [\"/bin/sh\"]\n"
    );
    std::fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();
    // BuildKit needs the buildx plugin; without it (Docker 20.10 here) use the classic builder.
    let buildkit = docker_ok(&["buildx", "version"]) as u8;
    crate::support::sh(&format!(
        "DOCKER_BUILDKIT={buildkit} docker build -q -t {app_tag} '{}'",
        ctx.display()
    ));

    let fixture = Fixture {
        app_archive: dir.join("app.tar"),
        both_archive: dir.join("both.tar"),
        app_diff_ids: rootfs_layers(&app_tag),
        base_diff_ids: rootfs_layers(&base_tag),
        app_tag,
        base_tag,
    };
    let (app_out, both_out) = (fixture.app(), fixture.both_archive.to_str().unwrap());
    docker(&["save", &fixture.app_tag, "-o", app_out]);
    docker(&["save", &fixture.app_tag, &fixture.base_tag, "-o", both_out]);
    docker(&["rmi", &fixture.app_tag, &fixture.base_tag]);
    fixture
}

/// Sizes of every member of a tar file, plus the contents of its small non-layer members.
fn tar_members(path: &Path) -> (HashMap<String, u64>, HashMap<String, Vec<u8>>) {
    let mut archive = tar::Archive::new(std::fs::File::open(path).unwrap());
    let (mut sizes, mut small) = (HashMap::new(), HashMap::new());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let size = entry.header().size().unwrap();
        if size < 1 << 20 && !name.ends_with(".tar") {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
            small.insert(name.clone(), bytes);
        }
        sizes.insert(name, size);
    }
    (sizes, small)
}

fn docker_save_archive_is_analyzed() {
    let fx = fixture();
    let v = report_json(fx.app());
    let layers = v["layers"].as_array().unwrap();
    let diff_ids: Vec<&str> = layers
        .iter()
        .map(|l| l["diff_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        diff_ids, fx.app_diff_ids,
        "Docker's RootFS.Layers, in order"
    );

    let (sizes, small) = tar_members(&fx.app_archive);
    let manifest: Value = serde_json::from_slice(&small["manifest.json"]).unwrap();
    let entry = &manifest[0];
    let members = entry["Layers"].as_array().unwrap();
    assert_eq!(members.len(), layers.len());
    for (layer, member) in layers.iter().zip(members) {
        let member = member.as_str().unwrap();
        assert_eq!(
            layer["stored_bytes"], sizes[member],
            "archive member {member}"
        );
    }
    let config = &small[entry["Config"].as_str().unwrap()];
    let config_digest = format!("sha256:{}", hex::encode(Sha256::digest(config)));
    assert_eq!(v["image"]["config_digest"], config_digest.as_str());
    let total: u64 = members.iter().map(|m| sizes[m.as_str().unwrap()]).sum();
    assert_eq!(v["image"]["stored_bytes"], total);
}

fn deleted_file_counts_as_dead_bytes() {
    let fx = fixture();
    let v = report_json(fx.app());
    let top = v["dead_bytes"]["top"].as_array().unwrap();
    let dead = top
        .iter()
        .find(|d| d["path"] == "/app/data.bin")
        .unwrap_or_else(|| panic!("/app/data.bin not among dead bytes: {top:?}"));
    assert_eq!(dead["bytes"], DATA_BYTES);
    assert_eq!(dead["cause"], "deleted");
    assert_eq!(dead["layer"], fx.base_diff_ids.len(), "the COPY layer");
    assert_eq!(dead["hidden_by"], fx.rm_layer(), "the rm layer");
    assert!(v["dead_bytes"]["total"].as_u64().unwrap() >= DATA_BYTES);
}

fn dependencies_and_caches_are_found() {
    let fx = fixture();
    let v = report_json(fx.app());
    let findings = v["findings"].as_array().unwrap();
    let deps = findings
        .iter()
        .find(|f| f["kind"] == "dependencies" && f["path"] == "/app/.venv")
        .unwrap_or_else(|| panic!("no /app/.venv dependencies finding: {findings:?}"));
    assert_eq!(deps["ecosystem"], "python");
    assert!(deps["bytes"].as_u64().unwrap() >= PKG_BYTES, "{deps}");
    assert_eq!(deps["packages"][0]["name"], "fakepkg");
    assert!(
        findings
            .iter()
            .any(|f| f["kind"] == "cache" && f["rule"] == "apt-lists"),
        "no apt-lists cache finding: {findings:?}"
    );
}

fn history_is_aligned() {
    let fx = fixture();
    let v = report_json(fx.app());
    let created_by = v["layers"][fx.rm_layer()]["created_by"]
        .as_str()
        .unwrap_or_default();
    assert!(
        created_by.contains("rm /app/data.bin"),
        "layer {} created_by = {created_by:?}",
        fx.rm_layer()
    );
}

fn docker_archive_with_ref_selects_the_image() {
    let fx = fixture();
    let both = fx.both_archive.to_str().unwrap();
    let run = strata(&["report", both, "--format", "json"]);
    assert_eq!(run.code, 2, "two images and no ref: {}", run.stderr);
    for tag in [&fx.app_tag, &fx.base_tag] {
        assert!(run.stderr.contains(tag.as_str()), "{}", run.stderr);
    }

    let v = report_json(&format!("docker-archive:{both}:{}", fx.base_tag));
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0]["diff_id"], fx.base_diff_ids[0].as_str());
}

fn table_and_markdown_render() {
    let fx = fixture();
    for (format, needles) in [
        ("table", ["/app/.venv", "Advice"]),
        ("markdown", ["| # |", "/app/.venv"]),
    ] {
        let run = strata(&["report", fx.app(), "--format", format]);
        assert_eq!(run.code, 0, "{format}: {}", run.stderr);
        for needle in needles {
            assert!(
                run.stdout.contains(needle),
                "{format} lacks {needle}:\n{}",
                run.stdout
            );
        }
    }
}

crate::tests![
    docker_save_archive_is_analyzed,
    deleted_file_counts_as_dead_bytes,
    dependencies_and_caches_are_found,
    history_is_aligned,
    docker_archive_with_ref_selects_the_image,
    table_and_markdown_render,
];
