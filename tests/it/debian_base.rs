//! strata images on a real Debian + Python base (made once per machine by debootstrap, see
//! tests/support/debian.rs) run what they were built to run: `strata build` adds an app layer with
//! a Python script as the entrypoint's argument, and the script prints the base's Python version
//! from a chroot of the umoci-unpacked image, under `docker run`, and in a `RUN` step of a buildah
//! build `FROM` the strata image (pulled from a loopback registry). The base's own python also
//! makes a virtualenv in a copy of its rootfs, as later tests (project presets) will.


use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::support::debian::{chroot, debian_python_base, unpack_and_run, DebianBase};
use crate::support::registry::Registry;
use crate::support::{docker_ok, have, report_json, require, sh, strata, strata_in};

/// The tag of the built app in its output layout.
const APP_TAG: &str = "app";

/// The app strata built on the base, written once per test run to a layout and a
/// `docker save`-style archive.
struct App {
    /// Holds the outputs (and the app's sources and layer cache) until the binary ends.
    _dir: tempfile::TempDir,
    /// The OCI layout with the app tagged [`APP_TAG`].
    layout: PathBuf,
    /// The docker-archive output, holding `docker_ref`.
    archive: PathBuf,
    docker_ref: String,
    /// The line `/app/main.py` prints when the base's python runs it.
    expected: String,
}

impl App {
    fn reference(&self) -> String {
        format!("oci:{}:{APP_TAG}", self.layout.display())
    }
}

/// The base and the app built on it (a skip, or a failure under CI=true, when the base cannot be
/// made here).
fn app() -> (&'static DebianBase, &'static App) {
    static APP: OnceLock<App> = OnceLock::new();
    let base = debian_python_base();
    (base, APP.get_or_init(|| build_app(base)))
}

fn build_app(base: &DebianBase) -> App {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        src.join("main.py"),
        "import sys\nprint(f\"strata app on debian, python {sys.version_info[0]}.{sys.version_info[1]}\")\n",
    )
    .unwrap();
    let layout = dir.path().join("out");
    let archive = dir.path().join("app.tar");
    let docker_ref = format!("strata-test/debian-app:{}", std::process::id());
    let cache = dir.path().join("cache");
    let run = strata_in(
        &[
            "build",
            "--cache-dir",
            cache.to_str().unwrap(),
            "--base",
            &base.reference(),
            "--layer",
            "app=src:/app",
            "--entrypoint",
            "python3",
            "--cmd",
            "/app/main.py",
            "--output",
            &format!("oci:{}:{APP_TAG}", layout.display()),
            "--output",
            &format!("docker-archive:{}:{docker_ref}", archive.display()),
        ],
        &[],
        Some(dir.path()),
    );
    assert_eq!(run.code, 0, "strata build failed: {}", run.stderr);
    App {
        _dir: dir,
        layout,
        archive,
        docker_ref,
        expected: format!("strata app on debian, python {}", base.python),
    }
}

/// `(mode, uid, gid)` of a path, not following symlinks.
fn owner_and_mode(path: &Path) -> (u32, u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (m.mode(), m.uid(), m.gid())
}

fn entrypoint_runs_in_a_chroot_of_the_unpacked_image() {
    let (base, app) = app();
    require(have("umoci"), "umoci");
    let bundle = tempfile::tempdir().unwrap();
    let (args, out, rootfs) = unpack_and_run(&app.layout, APP_TAG, bundle.path());
    assert_eq!(args, ["python3", "/app/main.py"]);
    assert_eq!(out.trim(), app.expected);

    // The base layer came through strata with owners, set-id bits and group modes intact.
    for path in ["etc/shadow", "usr/bin/passwd", "usr/bin/chage", "var/mail"] {
        assert_eq!(
            owner_and_mode(&rootfs.join(path)),
            owner_and_mode(&base.rootfs.join(path)),
            "/{path}: (mode, uid, gid) in the built image vs the base"
        );
    }
}

fn docker_runs_the_loaded_archive() {
    let (_, app) = app();
    require(docker_ok(&["info"]), "a running Docker Engine");
    sh(&format!("docker load -q -i '{}'", app.archive.display()));
    let out = Command::new("docker")
        .args(["run", "--rm", &app.docker_ref])
        .output()
        .expect("run docker");
    let _ = Command::new("docker")
        .args(["rmi", &app.docker_ref])
        .output();
    assert!(
        out.status.success(),
        "docker run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), app.expected);
}

/// Runs buildah with a private vfs storage under `store`.
fn buildah(store: &Path, args: &str) -> String {
    sh(&format!(
        "buildah --root '{0}/root' --runroot '{0}/run' --storage-driver vfs {args}",
        store.display()
    ))
}

/// The bytes of `path` (relative, no leading `/`) in a layer blob, plain or gzip-compressed.
fn file_in_layer(blob: &Path, path: &str) -> Option<Vec<u8>> {
    let bytes = std::fs::read(blob).unwrap();
    let tar: Box<dyn Read> = if bytes.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(&bytes[..]))
    } else {
        Box::new(&bytes[..])
    };
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        if name.trim_start_matches("./") == path {
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            return Some(data);
        }
    }
    None
}

fn buildah_builds_from_the_image_and_runs_its_python() {
    let (_, app) = app();
    let registry = Registry::start(None);
    require(have("buildah"), "buildah");
    let pushed = format!("{}/strata-test/debian-app:v1", registry.host);
    let run = strata(&["copy", &app.reference(), &format!("docker://{pushed}")]);
    assert_eq!(run.code, 0, "strata copy to the registry: {}", run.stderr);

    let dir = tempfile::tempdir().unwrap();
    let (ctx, store, out) = (
        dir.path().join("ctx"),
        dir.path().join("store"),
        dir.path().join("derived"),
    );
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        format!("FROM {pushed}\nRUN python3 /app/main.py > /app/out.txt\n"),
    )
    .unwrap();
    buildah(
        &store,
        &format!(
            "bud --quiet --tls-verify=false --isolation chroot --layers -f '{0}/Containerfile' -t localhost/strata-test/derived '{0}'",
            ctx.display()
        ),
    );
    buildah(
        &store,
        &format!(
            "push --quiet localhost/strata-test/derived 'oci:{}:derived'",
            out.display()
        ),
    );
    buildah(&store, "rmi --all --force");

    // The derived image is the strata image's layers plus the RUN step's layer.
    let layers = |r: &str| -> Vec<String> {
        report_json(r)["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["diff_id"].as_str().unwrap().to_string())
            .collect()
    };
    let (ours, derived) = (
        layers(&app.reference()),
        layers(&format!("oci:{}:derived", out.display())),
    );
    assert_eq!(derived.len(), ours.len() + 1, "{derived:?}");
    assert_eq!(derived[..ours.len()], ours[..]);

    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("index.json")).unwrap()).unwrap();
    let manifest_digest = index["manifests"][0]["digest"].as_str().unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(crate::support::layout::blob_path(&out, manifest_digest)).unwrap(),
    )
    .unwrap();
    let top = manifest["layers"].as_array().unwrap().last().unwrap()["digest"]
        .as_str()
        .unwrap();
    let written = file_in_layer(&crate::support::layout::blob_path(&out, top), "app/out.txt")
        .expect("the RUN layer holds /app/out.txt");
    assert_eq!(String::from_utf8_lossy(&written).trim(), app.expected);
}

fn the_base_python_makes_a_virtualenv_in_a_rootfs_copy() {
    let base = debian_python_base();
    let dir = tempfile::tempdir().unwrap();
    let rootfs = dir.path().join("rootfs");
    base.copy_rootfs(&rootfs);
    let path = [("PATH".to_string(), "/usr/bin:/bin".to_string())];
    chroot(&rootfs, &["python3", "-m", "venv", "/opt/venv"], &path);
    let out = chroot(
        &rootfs,
        &[
            "/opt/venv/bin/python",
            "-c",
            "import sys; print(sys.prefix, sys.base_prefix, '%d.%d' % sys.version_info[:2])",
        ],
        &path,
    );
    assert_eq!(out.trim(), format!("/opt/venv /usr {}", base.python));
    assert!(
        rootfs.join("opt/venv/bin/pip").exists(),
        "ensurepip (python3-venv) installed pip"
    );
}

crate::tests![
    entrypoint_runs_in_a_chroot_of_the_unpacked_image,
    docker_runs_the_loaded_archive,
    buildah_builds_from_the_image_and_runs_its_python,
    the_base_python_makes_a_virtualenv_in_a_rootfs_copy,
];
