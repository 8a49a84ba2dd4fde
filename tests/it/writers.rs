//! Every writer's layers read exactly. One small image — a busybox-static base, then files, a
//! symlink, a hard link, whiteouts of a file and of a directory, and a last file whose size is
//! not a multiple of 512 — is written by the real tools of the machine: the Docker Engine,
//! buildah (OCI and Docker formats), podman, umoci and skopeo's conversions, and the pushes of
//! `docker push`, `buildah push` and `skopeo copy` to a loopback registry (whose blobs Python
//! fetches itself). For every output, strata report's per-layer figures equal Python's tarfile
//! reading the same blobs ([`report_as_tarfile_reads`]), and `strata diff` and `strata check`
//! work on it. One test per writer, so a missing tool shows by name.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::images::{tool, Buildah, DockerImages};
use crate::support::layout::{noise, write_layout, Comp};
use crate::support::registry::Registry;
use crate::support::tarfile::{report_as_tarfile_reads, tarfile_layers};
use crate::support::{docker_ok, have, report_json, require, sh, strata};

/// Size of the last file: not a multiple of 512, so a writer that leaves out the padding shows.
const LAST_FILE_BYTES: usize = 1000;

/// The Dockerfile of the image on top of the base `{base}`: files, then a step that makes a hard
/// link and a symlink and deletes a file and a directory of the base, then the last file.
const DOCKERFILE: &str = "FROM {base}
COPY app /app
RUN mkdir /app/more && echo linked > /app/more/one && ln /app/more/one /app/more/two \
 && ln -s one /app/more/sym && rm /etc/old.conf && rm -r /opt/olddir
COPY last.bin /zz/last.bin
";

/// The base's root filesystem as a tar, an OCI layout holding it, and the build context.
struct Corpus {
    dir: tempfile::TempDir,
}

impl Corpus {
    /// Writes the base (busybox-static, `/etc/old.conf`, `/opt/olddir/`) and the context.
    fn new() -> Corpus {
        require(Path::new("/bin/busybox").exists(), "busybox-static");
        // buildah names an image pulled from `oci:DIR` after DIR, and names are lowercase.
        static MADE: AtomicUsize = AtomicUsize::new(0);
        let prefix = format!(
            "strata-writers-{}-{}",
            std::process::id(),
            MADE.fetch_add(1, Ordering::Relaxed)
        );
        let corpus = Corpus {
            dir: tempfile::Builder::new()
                .prefix(&prefix)
                .rand_bytes(0)
                .tempdir()
                .unwrap(),
        };
        let root = corpus.path("rootfs");
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(root.join("opt/olddir")).unwrap();
        std::fs::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
        for applet in ["sh", "ln", "rm", "mkdir", "echo"] {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
        }
        std::fs::write(root.join("etc/old.conf"), "old\n").unwrap();
        std::fs::write(root.join("opt/olddir/a"), "a\n").unwrap();
        std::fs::write(root.join("opt/olddir/b"), "b\n").unwrap();
        let rootfs_tar = corpus.path("rootfs.tar");
        sh(&format!(
            "tar -C '{}' --numeric-owner -cf '{}' .",
            root.display(),
            rootfs_tar.display()
        ));
        let tar = std::fs::read(&rootfs_tar).unwrap();
        write_layout(&corpus.path("base"), "base", &[(tar, Comp::Gzip)]);

        let ctx = corpus.path("ctx");
        std::fs::create_dir_all(ctx.join("app")).unwrap();
        std::fs::write(ctx.join("app/data.txt"), "data ".repeat(600)).unwrap();
        std::fs::write(ctx.join("last.bin"), noise(LAST_FILE_BYTES, 17)).unwrap();
        corpus
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The base as an `oci:` reference.
    fn base(&self) -> String {
        format!("oci:{}:base", self.path("base").display())
    }

    /// The build context, its Dockerfile starting `FROM base`.
    fn context(&self, base: &str) -> PathBuf {
        let ctx = self.path("ctx");
        std::fs::write(ctx.join("Dockerfile"), DOCKERFILE.replace("{base}", base)).unwrap();
        ctx
    }
}

/// Reads every output (the corpus image, each written another way) as tarfile does, diffs
/// `base` against each and the first against the others, and checks the first with a
/// `--max-total` it passes and one it fails.
fn read_all(outputs: &[String], base: &str) {
    for output in outputs {
        let report = report_as_tarfile_reads(output);
        let top = report["layers"].as_array().unwrap().last().cloned();
        assert_eq!(
            top.map(|l| (l["files"].clone(), l["content_bytes"].clone())),
            Some((1.into(), LAST_FILE_BYTES.into())),
            "{output}: the last layer holds the last file"
        );
        assert_eq!(
            (&report["dead_bytes"]["total"], &report["dead_bytes"]["files"]),
            (&DELETED_BYTES.into(), &DELETED_FILES.into()),
            "{output}: the whiteouts hide the deleted file and directory"
        );
    }
    let pairs = outputs
        .iter()
        .map(|o| (base, o))
        .chain(outputs[1..].iter().map(|o| (outputs[0].as_str(), o)));
    for (old, new) in pairs {
        let run = strata(&["diff", old, new, "--format", "json"]);
        assert_eq!(run.code, 0, "diff {old} {new}: {}", run.stderr);
        assert!(run.json()["pull_bytes"].is_u64(), "{}", run.stdout);
    }
    let run = strata(&["check", &outputs[0], "--max-total", "100MB"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let run = strata(&["check", &outputs[0], "--max-total", "1kB"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
}

/// Files and bytes of the base the whiteouts delete: `/etc/old.conf` and the two files of
/// `/opt/olddir`.
const DELETED_FILES: u64 = 3;
const DELETED_BYTES: u64 = 8;

/// The corpus image written by umoci: the base's layout, then one `umoci insert` per change
/// (`--whiteout` for the deletions); returns the `oci:` reference.
fn umoci_image(corpus: &Corpus) -> String {
    require(have("umoci"), "umoci (Debian package)");
    let layout = corpus.path("umoci");
    sh(&format!(
        "cp -r '{}' '{}'",
        corpus.path("base").display(),
        layout.display()
    ));
    let ctx = corpus.path("ctx");
    let more = corpus.path("more");
    std::fs::create_dir_all(&more).unwrap();
    std::fs::write(more.join("one"), "linked\n").unwrap();
    std::fs::hard_link(more.join("one"), more.join("two")).unwrap();
    std::os::unix::fs::symlink("one", more.join("sym")).unwrap();
    let image = format!("{}:base", layout.display());
    let insert = |args: &[&str]| {
        let mut all = vec!["insert", "--image", &image];
        all.extend_from_slice(args);
        tool("umoci", &all, corpus.dir.path());
    };
    insert(&[ctx.join("app").to_str().unwrap(), "/app"]);
    insert(&[more.to_str().unwrap(), "/app/more"]);
    insert(&["--whiteout", "/etc/old.conf"]);
    insert(&["--whiteout", "/opt/olddir"]);
    insert(&[ctx.join("last.bin").to_str().unwrap(), "/zz/last.bin"]);
    format!("oci:{image}")
}

/// The corpus image built by buildah in `format` (`oci` or `docker`) on the base, pushed to
/// `oci:`, `oci-archive:` and `docker-archive:`; returns the buildah (holding the image `app`)
/// and the three references.
fn buildah_image(corpus: &Corpus, format: &str) -> (Buildah, Vec<String>) {
    let buildah = Buildah::new();
    buildah.pull(&corpus.base(), "base");
    let ctx = corpus.context("base");
    buildah.bud(&["--format", format, "-t", "app", "."], &ctx);
    let oci = buildah.push_to_layout("app", &corpus.path("buildah-oci"), "app");
    let archives = [
        ("oci-archive", corpus.path("buildah.oci.tar"), ":app"),
        ("docker-archive", corpus.path("buildah.docker.tar"), ":app:latest"),
    ];
    let mut outputs = vec![oci];
    for (kind, path, tag) in archives {
        let dest = format!("{kind}:{}{tag}", path.display());
        buildah.run(&["push", "-q", "app", &dest], corpus.dir.path());
        outputs.push(format!("{kind}:{}", path.display()));
    }
    (buildah, outputs)
}

fn umoci_insert_and_whiteout_layers_read_as_tarfile_reads() {
    let corpus = Corpus::new();
    let reference = umoci_image(&corpus);
    assert_eq!(
        report_json(&reference)["layers"].as_array().unwrap().last().unwrap()["tar_end"],
        "unpadded_last_entry",
        "umoci 0.4.7 leaves the last file unpadded"
    );
    read_all(&[reference], &corpus.base());
}

/// The corpus image built by the Docker Engine on the base (`docker import`ed from the rootfs
/// tar); returns the images made (removed on drop), the app's name and the base's.
fn docker_image(corpus: &Corpus, name: &str) -> (DockerImages, String, String) {
    require(docker_ok(&["info"]), "a running Docker Engine");
    let mut images = DockerImages::default();
    let name = format!("strata-writers-{name}-{}", std::process::id());
    let (base, app) = (format!("{name}-base:1"), format!("{name}:1"));
    images.0.extend([base.clone(), app.clone()]);
    let rootfs = corpus.path("rootfs.tar");
    tool(
        "docker",
        &["import", rootfs.to_str().unwrap(), &base],
        corpus.dir.path(),
    );
    let ctx = corpus.context(&base);
    tool("docker", &["build", "-q", "-t", &app, "."], &ctx);
    (images, app, base)
}

/// The manifest media type of `reference` (`docker://` in a plain-HTTP registry), as skopeo
/// reads it.
fn manifest_type(reference: &str) -> String {
    let raw = sh(&format!("skopeo inspect --raw --tls-verify=false {reference}"));
    let manifest: serde_json::Value = serde_json::from_str(&raw).unwrap();
    manifest["mediaType"].as_str().unwrap_or_default().to_string()
}

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

fn docker_engine_build_and_save_read_as_tarfile_reads() {
    let corpus = Corpus::new();
    let (_images, app, base) = docker_image(&corpus, "save");
    let saved = DockerImages::save(&app, corpus.dir.path());
    let saved_base = DockerImages::save(&base, corpus.dir.path());
    read_all(&[saved], &saved_base);
}

/// `docker push` to a loopback registry (plain HTTP: Docker trusts 127.0.0.0/8), read from the
/// registry as Python fetches and reads its blobs, and diffed against the `docker save` of the
/// same image.
fn docker_engine_push_reads_as_tarfile_reads() {
    let corpus = Corpus::new();
    let registry = Registry::start(None);
    let (mut images, app, base) = docker_image(&corpus, "push");
    let pushed = format!("{}/writers/docker:1", registry.host);
    images.0.push(pushed.clone());
    tool("docker", &["tag", &app, &pushed], corpus.dir.path());
    tool("docker", &["push", "-q", &pushed], corpus.dir.path());
    let pushed = format!("docker://{pushed}");
    assert_eq!(manifest_type(&pushed), DOCKER_MANIFEST);
    let saved = DockerImages::save(&app, corpus.dir.path());
    let saved_base = DockerImages::save(&base, corpus.dir.path());
    read_all(&[pushed, saved], &saved_base);
}

fn buildah_oci_format_outputs_read_as_tarfile_reads() {
    let corpus = Corpus::new();
    let (_buildah, outputs) = buildah_image(&corpus, "oci");
    read_all(&outputs, &corpus.base());
}

fn buildah_docker_format_outputs_read_as_tarfile_reads() {
    let corpus = Corpus::new();
    let (_buildah, outputs) = buildah_image(&corpus, "docker");
    read_all(&outputs, &corpus.base());
}

/// `buildah push` of the corpus image to a loopback registry in each manifest format.
fn buildah_registry_pushes_read_as_tarfile_reads() {
    require(have("skopeo"), "skopeo");
    let corpus = Corpus::new();
    let registry = Registry::start(None);
    let (buildah, _) = buildah_image(&corpus, "oci");
    let mut outputs = Vec::new();
    for (format, media_type) in [("oci", OCI_MANIFEST), ("docker", DOCKER_MANIFEST)] {
        let dest = format!("docker://{}/writers/buildah-{format}:1", registry.host);
        buildah.run(
            &["push", "-q", "--tls-verify=false", "--format", format, "app", &dest],
            corpus.dir.path(),
        );
        assert_eq!(manifest_type(&dest), media_type, "{dest}");
        outputs.push(dest);
    }
    read_all(&outputs, &corpus.base());
}

fn podman_save_formats_read_as_tarfile_reads() {
    require(have("podman"), "podman (Debian package)");
    let corpus = Corpus::new();
    let (buildah, _) = buildah_image(&corpus, "oci");
    let mut outputs = Vec::new();
    for (format, kind, name) in [
        ("oci-archive", "oci-archive", "podman.oci.tar"),
        ("docker-archive", "docker-archive", "podman.docker.tar"),
        ("oci-dir", "oci", "podman-oci-dir"),
    ] {
        let path = corpus.path(name);
        let path = path.to_str().unwrap();
        buildah.podman(
            &["save", "-q", "--format", format, "-o", path, "app"],
            corpus.dir.path(),
        );
        outputs.push(format!("{kind}:{path}"));
    }
    read_all(&outputs, &corpus.base());
}

fn skopeo_conversions_read_as_tarfile_reads() {
    require(have("skopeo"), "skopeo");
    let corpus = Corpus::new();
    let (_buildah, built) = buildah_image(&corpus, "oci");
    // From buildah's docker-archive, whose layers are uncompressed: skopeo keeps a gzip layer as
    // it is under `--dest-compress-format gzip` (the level applies only when it compresses).
    // Uncompressed layers are skopeo decompressing the OCI layout's into a docker-archive (its
    // `--dest-decompress` is for the `dir:` transport, which strata does not read).
    let plain = corpus.path("skopeo.docker.tar");
    let conversions = [
        (
            "--dest-compress-format zstd",
            &built[2],
            format!("oci:{}:app", corpus.path("zstd").display()),
            "zstd",
        ),
        (
            "--dest-compress-format gzip --dest-compress-level 9",
            &built[2],
            format!("oci:{}:app", corpus.path("gzip9").display()),
            "gzip",
        ),
        (
            "",
            &built[0],
            format!("docker-archive:{}:app:latest", plain.display()),
            "none",
        ),
        // skopeo 1.9 keeps the `tar+gzip` media type over the plain bytes here.
        (
            "--dest-oci-accept-uncompressed-layers",
            &built[2],
            format!("oci:{}:app", corpus.path("plain-oci").display()),
            "none",
        ),
    ];
    let mut outputs = Vec::new();
    for (flags, source, dest, compression) in conversions {
        sh(&format!("skopeo copy --quiet {flags} {source} {dest}"));
        let dest = dest.replace(":app:latest", "");
        for layer in report_json(&dest)["layers"].as_array().unwrap() {
            assert_eq!(layer["compression"], compression, "{dest}");
        }
        outputs.push(dest);
    }
    for layer in tarfile_layers(&outputs[1]) {
        assert_eq!(layer["gzip_xfl"], 2, "{}: gzip at level 9", outputs[1]);
    }
    read_all(&outputs, &built[0]);
}

/// `skopeo copy` of buildah's docker-archive (uncompressed layers) pushed to a loopback
/// registry with `flags`, into a registry of its own: skopeo 1.9 would otherwise reuse the
/// layers it pushed before in another compression (its blob info cache), whatever the flags
/// ask. Returns the registry and the `docker://` reference.
fn skopeo_push(source: &str, flags: &str, name: &str) -> (Registry, String) {
    let registry = Registry::start(None);
    let dest = format!("docker://{}/writers/skopeo-{name}:1", registry.host);
    sh(&format!(
        "skopeo copy --quiet --dest-tls-verify=false --format oci {flags} {source} {dest}"
    ));
    assert_eq!(manifest_type(&dest), OCI_MANIFEST, "{dest}");
    (registry, dest)
}

/// skopeo pushes with an OCI manifest: gzip (skopeo's default) and zstd layers.
fn skopeo_registry_pushes_read_as_tarfile_reads() {
    require(have("skopeo"), "skopeo");
    let corpus = Corpus::new();
    let (_buildah, built) = buildah_image(&corpus, "docker");
    let (mut outputs, mut registries) = (Vec::new(), Vec::new());
    for (flags, name, compression) in [
        ("", "oci", "gzip"),
        ("--dest-compress-format zstd", "zstd", "zstd"),
    ] {
        let (registry, dest) = skopeo_push(&built[2], flags, name);
        registries.push(registry);
        for layer in report_json(&dest)["layers"].as_array().unwrap() {
            assert_eq!(layer["compression"], compression, "{dest}");
        }
        outputs.push(dest);
    }
    read_all(&outputs, &built[0]);
}

/// skopeo 1.9's zstd:chunked push rewrites each tar entry by entry: the entries are kept, but
/// the base layer's GNU tar record padding after the end-of-archive is dropped, and the config
/// keeps the diff_id of the tar as it was. Python's reading of the pushed blobs shows it (the
/// same entries, fewer bytes); strata refuses the layer as a diff_id mismatch (exit 2), as it
/// must.
fn skopeo_zstd_chunked_push_keeps_a_stale_diff_id() {
    require(have("skopeo"), "skopeo");
    let corpus = Corpus::new();
    let (_buildah, built) = buildah_image(&corpus, "docker");
    let (_registry, dest) = skopeo_push(&built[2], "--dest-compress-format zstd:chunked", "chunked");
    let (pushed, archived) = (tarfile_layers(&dest), tarfile_layers(&built[2]));
    assert_eq!(pushed.len(), archived.len());
    for (index, (got, was)) in pushed.iter().zip(&archived).enumerate() {
        assert_eq!(got["compression"], "zstd", "layer {index}");
        for key in ["files", "content_bytes", "entries"] {
            assert_eq!(got[key], was[key], "layer {index}: {key}");
        }
        let same = got["uncompressed_bytes"] == was["uncompressed_bytes"];
        assert_eq!(same, index > 0, "layer {index}: {got} {was}");
    }
    let run = strata(&["report", &dest]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("digest mismatch for layer 0")
            && run.stderr.contains("uncompressed (diff_id)"),
        "{}",
        run.stderr
    );
}

crate::tests![
    umoci_insert_and_whiteout_layers_read_as_tarfile_reads,
    docker_engine_build_and_save_read_as_tarfile_reads,
    docker_engine_push_reads_as_tarfile_reads,
    buildah_oci_format_outputs_read_as_tarfile_reads,
    buildah_docker_format_outputs_read_as_tarfile_reads,
    buildah_registry_pushes_read_as_tarfile_reads,
    podman_save_formats_read_as_tarfile_reads,
    skopeo_conversions_read_as_tarfile_reads,
    skopeo_registry_pushes_read_as_tarfile_reads,
    skopeo_zstd_chunked_push_keeps_a_stale_diff_id,
];
