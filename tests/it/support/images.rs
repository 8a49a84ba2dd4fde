//! Building and comparing images with the machine's image tools, for the tests that build
//! generated Dockerfiles for real: Docker (images loaded from the Debian bases of
//! [`super::debian`], removed again when the test ends) and buildah (its own vfs storage in a
//! temp dir, chroot isolation: no daemon; podman on the same storage), plus `strata diff`
//! between two builds.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::debian::strata_image_archive;
use super::{docker_ok, have, require, sh, strata_in};

/// The host's CA bundle: build steps that reach PyPI or crates.io through the machine's TLS proxy
/// need it in place of the base's own.
pub const HOST_CA: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Runs `program args` in `dir` with strata's directory first on PATH (generated Makefiles call
/// `strata base`), panicking with the output on failure; returns stdout and stderr.
pub fn tool(program: &str, args: &[&str], dir: &Path) -> String {
    let strata_dir = Path::new(env!("CARGO_BIN_EXE_strata")).parent().unwrap();
    let path = format!(
        "{}:{}",
        strata_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("PATH", path)
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{program} {args:?} failed:\n{text}");
    text
}

/// A build context holding the host's CA bundle and a Dockerfile that puts it over `from`'s.
pub fn ca_context(from: &str) -> tempfile::TempDir {
    let ctx = tempfile::tempdir().unwrap();
    std::fs::copy(HOST_CA, ctx.path().join("ca-certificates.crt")).expect("the host's CA bundle");
    std::fs::write(
        ctx.path().join("Dockerfile"),
        format!("FROM {from}\nCOPY ca-certificates.crt {HOST_CA}\n"),
    )
    .unwrap();
    ctx
}

/// What `strata diff OLD NEW` says a deploy of NEW costs where OLD runs.
pub struct Deploy {
    /// The bytes downloaded (`pull_bytes`).
    pub pull: u64,
    /// How many layers the two images share.
    pub shared: usize,
}

/// `strata diff OLD NEW --format json`, asserting success.
pub fn deploy(old: &str, new: &str) -> Deploy {
    let json = strata_in(&["diff", old, new, "--format", "json"], &[], None).json();
    Deploy {
        pull: json["pull_bytes"].as_u64().expect("pull_bytes"),
        shared: json["shared_layers"]
            .as_array()
            .expect("shared_layers")
            .len(),
    }
}

/// Gates the running test on Docker, skopeo and make (a skip or, under CI=true, a failure).
pub fn docker_ready() {
    require(docker_ok(&["info"]), "a running Docker Engine");
    require(have("skopeo") && have("make"), "skopeo and make");
}

/// Docker images a test made, removed when the test ends, passed or not.
#[derive(Default)]
pub struct DockerImages(pub Vec<String>);

impl DockerImages {
    /// Loads the image `reference` (any skopeo reference) into Docker as `name`.
    pub fn load(&mut self, reference: &str, name: &str) {
        self.0.push(name.to_string());
        sh(&format!(
            "skopeo copy --quiet {reference} docker-daemon:{name}"
        ));
    }

    /// Loads `reference` into Docker as `name` with the host's CA bundle put over its own (so RUN
    /// steps reach PyPI and crates.io through the machine's TLS proxy).
    pub fn load_with_ca(&mut self, reference: &str, name: &str) {
        let raw = format!("{name}-raw");
        self.load(reference, &raw);
        self.0.push(name.to_string());
        let ctx = ca_context(&raw);
        tool("docker", &["build", "-q", "-t", name, "."], ctx.path());
    }

    /// strata packaged by itself (the Rust preset, `--no-cargo`) on `base`, loaded into Docker
    /// as `name`: the `STRATA_IMAGE` of generated Rust Dockerfiles.
    pub fn load_strata(&mut self, base: &str, name: &str) {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("strata.tar");
        self.0.push(name.to_string());
        strata_image_archive(base, &archive, name, dir.path());
        sh(&format!("docker load -q -i '{}'", archive.display()));
    }

    /// `docker save`s `reference` into `dir` and returns it as a `docker-archive:` reference.
    pub fn save(reference: &str, dir: &Path) -> String {
        let path = dir.join(format!("{}.tar", reference.replace(['/', ':'], "_")));
        tool(
            "docker",
            &["save", reference, "-o", path.to_str().unwrap()],
            dir,
        );
        format!("docker-archive:{}", path.display())
    }
}

impl Drop for DockerImages {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .arg("rmi")
            .arg("-f")
            .args(&self.0)
            .output();
    }
}

/// `docker image inspect -f FORMAT REF`, trimmed.
pub fn docker_inspect(format: &str, reference: &str) -> String {
    let out = tool(
        "docker",
        &["image", "inspect", "-f", format, reference],
        Path::new("."),
    );
    out.trim().to_string()
}

/// buildah with its own storage (vfs driver) in a temp dir, removed with it: no daemon, no
/// state shared with other tests. vfs stores every layer as a full copy of the rootfs, so each
/// build step costs a copy of the image it runs on.
pub struct Buildah {
    storage: tempfile::TempDir,
}

impl Buildah {
    /// A buildah with empty storage (a skip, or a failure under CI=true, when buildah is
    /// missing).
    pub fn new() -> Buildah {
        require(have("buildah"), "buildah (Debian package)");
        Buildah {
            storage: tempfile::tempdir().unwrap(),
        }
    }

    fn root(&self, name: &str) -> PathBuf {
        self.storage.path().join(name)
    }

    /// `buildah ARGS` in `dir` on this storage; returns the output.
    pub fn run(&self, args: &[&str], dir: &Path) -> String {
        self.on_storage("buildah", args, dir)
    }

    /// `podman ARGS` in `dir` on this storage (podman and buildah share containers/storage, so
    /// podman sees what buildah built); returns the output.
    pub fn podman(&self, args: &[&str], dir: &Path) -> String {
        require(have("podman"), "podman (Debian package)");
        self.on_storage("podman", args, dir)
    }

    fn on_storage(&self, program: &str, args: &[&str], dir: &Path) -> String {
        let (root, runroot) = (self.root("root"), self.root("run"));
        let mut all = vec![
            "--root",
            root.to_str().unwrap(),
            "--runroot",
            runroot.to_str().unwrap(),
            "--storage-driver",
            "vfs",
        ];
        all.extend_from_slice(args);
        tool(program, &all, dir)
    }

    /// `buildah bud --isolation chroot --layers ARGS` in `dir`: returns the image id.
    pub fn bud(&self, args: &[&str], dir: &Path) -> String {
        // The id is read from a file: the output mixes in what the RUN steps print.
        let iidfile = self.root("iid");
        let mut all = vec!["bud", "--isolation", "chroot", "--layers", "-q"];
        all.extend(["--iidfile", iidfile.to_str().unwrap()]);
        all.extend_from_slice(args);
        self.run(&all, dir);
        std::fs::read_to_string(&iidfile).expect("buildah's --iidfile")
    }

    /// Pulls `reference` (an `oci:`, `oci-archive:` or `docker-archive:` one: no registry is
    /// asked) and names it `name`.
    pub fn pull(&self, reference: &str, name: &str) {
        let id = self.run(&["pull", "-q", reference], Path::new("."));
        self.run(&["tag", id.trim(), name], Path::new("."));
    }

    /// Pushes `image` into the OCI layout `layout` as `tag`; returns the strata reference.
    pub fn push_to_layout(&self, image: &str, layout: &Path, tag: &str) -> String {
        let dest = format!("oci:{}:{tag}", layout.display());
        self.run(&["push", "-q", image, &dest], Path::new("."));
        dest
    }
}
