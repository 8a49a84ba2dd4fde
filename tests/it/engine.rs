//! The Docker Engine as a source and a sink, against the machine's real engine: an image `docker
//! build` made reads exactly as its `docker save` archive does (bare name, `docker-daemon:`, and
//! through the shared re-export when nothing may be kept in memory), is never written to disk
//! whole, works with diff and check; `strata copy` and `strata build --load` load images Docker
//! then inspects and runs; podman serves through its Docker-compatible socket; a missing image and
//! a missing engine fail with the right exit codes.
//!
//! No image is pulled: the base is `docker import`ed from a rootfs holding the host's static
//! busybox. Every test removes the images it made, passed or not. A missing engine or
//! busybox-static skips these tests on a developer machine and fails them when CI=true.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use crate::support::images::{docker_inspect, DockerImages};
use crate::support::layout::{blob_path, noise, tar_bytes, write_layout, Comp, Item};
use crate::support::listener::Listener;
use crate::support::{docker_ok, require, sh, strata, strata_in, Run};

/// Bytes of the random file the app image's largest layer holds.
const BIG_BYTES: u64 = 8 << 20;

/// Gates the running test on the engine and busybox-static.
fn engine_ready() {
    require(docker_ok(&["info"]), "a running Docker Engine");
    require(
        Path::new("/bin/busybox").is_file(),
        "busybox-static (/bin/busybox)",
    );
}

/// A name for an image of this test run, unique among the tests running at once:
/// `strata-test/engine-WHAT-N:PID`.
fn name(what: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("strata-test/engine-{what}-{n}:{}", std::process::id())
}

/// Imports a busybox rootfs as the image `tag` (recorded in `images` for removal).
fn import_busybox(images: &mut DockerImages, dir: &Path, tag: &str) {
    let rootfs = dir.join("rootfs");
    std::fs::create_dir_all(rootfs.join("bin")).unwrap();
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    for applet in ["sh", "echo", "head", "rm", "cat"] {
        let link = rootfs.join("bin").join(applet);
        if !link.exists() {
            std::os::unix::fs::symlink("busybox", link).unwrap();
        }
    }
    images.0.push(tag.to_string());
    sh(&format!(
        "tar -C '{}' -c . | docker import - {tag}",
        rootfs.display()
    ));
}

/// `docker build`s `dockerfile` (its `FROM` is `{base}`) in `dir` as `tag`.
fn docker_build(images: &mut DockerImages, dir: &Path, tag: &str, dockerfile: &str) {
    let ctx = dir.join(format!("ctx-{}", tag.replace(['/', ':'], "_")));
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();
    let data: Vec<u8> = (0..BIG_BYTES / 4)
        .map(|i| (i.wrapping_mul(2654435761) >> 7) as u8)
        .collect();
    std::fs::write(ctx.join("data.bin"), data).unwrap();
    images.0.push(tag.to_string());
    // BuildKit needs the buildx plugin; without it (Docker 20.10 here) the classic builder.
    let buildkit = docker_ok(&["buildx", "version"]) as u8;
    sh(&format!(
        "DOCKER_BUILDKIT={buildkit} docker build -q -t {tag} '{}'",
        ctx.display()
    ));
}

/// A base and an app image on it: a COPY, a RUN writing `BIG_BYTES` of random data, a `rm`.
fn app_image(images: &mut DockerImages, dir: &Path) -> String {
    let base = name("base");
    import_busybox(images, dir, &base);
    let app = name("app");
    docker_build(
        images,
        dir,
        &app,
        &format!(
            "FROM {base}\nCOPY data.bin /data/data.bin\n\
             RUN head -c {BIG_BYTES} /dev/urandom > /data/big.bin\n\
             RUN rm /data/data.bin\nCMD [\"/bin/sh\"]\n"
        ),
    );
    app
}

/// `docker save`s `tag` into `dir`: the `docker-archive:` reference of the file.
fn saved(tag: &str, dir: &Path) -> String {
    DockerImages::save(tag, dir)
}

/// `run`, which must have succeeded, as JSON.
fn ok_json(run: &Run, what: &str) -> Value {
    assert_eq!(run.code, 0, "{what}: {}", run.stderr);
    run.json()
}

/// A report without the reference it was asked for: what must not differ between sources.
fn figures(mut report: Value) -> Value {
    report["image"]
        .as_object_mut()
        .expect("image")
        .remove("reference");
    report
}

fn engine_images_read_as_their_saved_archives() {
    engine_ready();
    let dir = tempfile::tempdir().unwrap();
    let mut images = DockerImages::default();
    let app = app_image(&mut images, dir.path());
    let archive = saved(&app, dir.path());
    let from_archive = ok_json(
        &strata(&["report", &archive, "--format", "json"]),
        "the archive",
    );
    let layers = from_archive["layers"].as_array().expect("layers");
    let diff_ids: Vec<String> =
        serde_json::from_str(&docker_inspect("{{json .RootFS.Layers}}", &app)).unwrap();
    let reported: Vec<&str> = layers.iter().map(|l| l["diff_id"].as_str().unwrap()).collect();
    assert_eq!(reported, diff_ids, "the archive's layers are Docker's");
    assert!(layers.iter().any(|l| l["uncompressed_bytes"].as_u64() > Some(BIG_BYTES)));
    let none = Path::new("0");
    for (reference, env) in [
        (app.clone(), vec![]),
        (format!("docker-daemon:{app}"), vec![]),
        // Nothing kept in memory: every layer comes from the shared re-export.
        (format!("docker-daemon:{app}"), vec![("STRATA_ENGINE_MEMORY", none)]),
    ] {
        let run = strata_in(&["report", &reference, "--format", "json"], &env, None);
        let from_engine = ok_json(&run, &reference);
        assert_eq!(
            figures(from_engine),
            figures(from_archive.clone()),
            "{reference} {env:?} reads as docker save's archive"
        );
    }
    let id = docker_inspect("{{.Id}}", &app);
    assert_eq!(from_archive["image"]["config_digest"], id.trim());
    // One export serves a whole report when the image fits in memory: the engine's own count.
    let since = unix_now();
    let run = strata(&["report", &format!("docker-daemon:{app}"), "--format", "json"]);
    ok_json(&run, "the engine's image");
    assert_eq!(exports(id.trim(), since), 1, "exports of {app} for one report");
}

/// Now, in Unix seconds with nanoseconds, as `docker events --since` reads a time.
fn unix_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    format!("{}.{:09}", now.as_secs(), now.subsec_nanos())
}

/// How many times the engine exported the image `id` (its `save` events) since `since` until
/// now.
fn exports(id: &str, since: String) -> usize {
    let until = unix_now();
    let events = sh(&format!(
        "docker events --since {since} --until {until} --filter type=image \
         --filter event=save --filter image={id} --format '{{{{.ID}}}}'"
    ));
    events.lines().filter(|l| !l.trim().is_empty()).count()
}

/// Runs `strata ARGS` with files limited to `limit` bytes, `memory` MiB of an export kept, and
/// temp files in `tmp`: a write of anything larger kills it (SIGXFSZ).
fn with_file_limit(args: &[&str], limit: u64, memory: &str, tmp: &Path) -> std::process::Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -f {}; exec \"$0\" \"$@\"", limit / 512))
        .arg(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .env("STRATA_ENGINE_MEMORY", memory)
        .env("TMPDIR", tmp)
        .env("XDG_CACHE_HOME", tmp)
        .current_dir(tmp)
        .output()
        .expect("run strata")
}

fn engine_images_are_never_written_to_disk() {
    engine_ready();
    let dir = tempfile::tempdir().unwrap();
    let mut images = DockerImages::default();
    let app = app_image(&mut images, dir.path());
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let limit = 1 << 20;
    let source = format!("docker-daemon:{app}");
    for memory in ["512", "0"] {
        let out = with_file_limit(&["report", &source, "--format", "json"], limit, memory, &tmp);
        assert!(
            out.status.success(),
            "strata wrote a file over {limit} bytes or failed (memory {memory} MiB): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
        assert!(left.is_empty(), "files left in TMPDIR: {left:?}");
    }
    // The oracle: the same limit stops a writer of the whole image, so it would catch one.
    let whole = tmp.join("whole.tar");
    let out = with_file_limit(&["copy", &source, whole.to_str().unwrap()], limit, "512", &tmp);
    assert!(!out.status.success(), "an archive of the image fit in {limit} bytes");
}

fn diff_and_check_read_engine_images() {
    engine_ready();
    let dir = tempfile::tempdir().unwrap();
    let mut images = DockerImages::default();
    let app = app_image(&mut images, dir.path());
    let next = name("next");
    docker_build(
        &mut images,
        dir.path(),
        &next,
        &format!("FROM {app}\nRUN echo v2 > /data/version\n"),
    );
    let old = format!("docker-daemon:{app}");
    let new = format!("docker-daemon:{next}");
    let diff = ok_json(&strata(&["diff", &old, &new, "--format", "json"]), "diff");
    let app_layers: Vec<String> =
        serde_json::from_str(&docker_inspect("{{json .RootFS.Layers}}", &app)).unwrap();
    assert_eq!(
        diff["shared_layers"].as_array().unwrap().len(),
        app_layers.len(),
        "{diff}"
    );
    let archives = ok_json(
        &strata(&[
            "diff",
            &saved(&app, dir.path()),
            &saved(&next, dir.path()),
            "--format",
            "json",
        ]),
        "diff of the archives",
    );
    assert_eq!(diff["pull_bytes"], archives["pull_bytes"]);
    let passed = strata(&["check", &new, "--max-total", "1GB"]);
    assert_eq!(passed.code, 0, "{}", passed.stderr);
    let failed = strata(&["check", &new, "--max-total", "1MB"]);
    assert_eq!(failed.code, 1, "{}{}", failed.stdout, failed.stderr);
}

fn missing_images_say_where_strata_looked() {
    engine_ready();
    let dir = tempfile::tempdir().unwrap();
    let missing = name("nosuch");
    let listener = Listener::start();
    let run = listener.strata(&["report", &missing, "--timeout", "2"], dir.path());
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(listener.connections() > 0, "Docker Hub was not asked");
    let first = run.stderr.lines().next().unwrap_or_default();
    for place in ["no file or directory here", "not in the Docker Engine at unix://", "Docker Hub"] {
        assert!(first.contains(place), "{place:?} missing: {}", run.stderr);
    }
    let run = strata(&["report", &format!("docker-daemon:{missing}")]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("no such image in the Docker Engine"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

/// A loopback TCP port that forwards every connection to the engine's unix socket: the engine
/// as `DOCKER_HOST=tcp://…` reaches it. Returns that `DOCKER_HOST`.
fn engine_over_tcp() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("tcp://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let Ok(unix) = std::os::unix::net::UnixStream::connect("/var/run/docker.sock") else {
                continue;
            };
            let (mut tcp_in, mut unix_out) = (tcp.try_clone().unwrap(), unix.try_clone().unwrap());
            std::thread::spawn(move || std::io::copy(&mut tcp_in, &mut unix_out));
            let (mut unix_in, mut tcp_out) = (unix, tcp);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut unix_in, &mut tcp_out);
                let _ = tcp_out.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    host
}

fn docker_host_tcp_reaches_the_engine() {
    engine_ready();
    require(
        Path::new("/var/run/docker.sock").exists(),
        "the engine on /var/run/docker.sock",
    );
    let dir = tempfile::tempdir().unwrap();
    let mut images = DockerImages::default();
    let base = name("tcp");
    import_busybox(&mut images, dir.path(), &base);
    let host = PathBuf::from(engine_over_tcp());
    let env = [("DOCKER_HOST", host.as_path())];
    let reference = format!("docker-daemon:{base}");
    let run = strata_in(&["report", &reference, "--format", "json"], &env, None);
    let over_tcp = ok_json(&run, "over tcp://");
    let id = docker_inspect("{{.Id}}", &base);
    assert_eq!(over_tcp["image"]["config_digest"], id.trim());
    let copied = name("tcp-copy");
    images.0.push(copied.clone());
    let run = strata_in(&["copy", &reference, &format!("docker-daemon:{copied}")], &env, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(docker_inspect("{{.Id}}", &copied), id);
}

fn an_unreachable_engine_is_a_network_error() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("no-docker.sock");
    let host = PathBuf::from(format!("unix://{}", socket.display()));
    let env = [("DOCKER_HOST", host.as_path())];
    for args in [
        vec!["report", "docker-daemon:app:1"],
        vec!["copy", "oci:fixtures/sample-app:latest", "docker-daemon:app:1"],
    ] {
        let run = strata_in(&args, &env, None);
        assert_eq!(run.code, 3, "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(
            run.stderr.contains("cannot reach the Docker Engine")
                && run.stderr.contains(&socket.display().to_string())
                && run.stderr.contains("DOCKER_HOST"),
            "{}",
            run.stderr
        );
    }
    // A bare name goes on to Docker Hub, and the error says why the engine was not asked.
    let listener = Listener::start();
    let run = listener.strata_with(&["report", "app:1", "--timeout", "2"], dir.path(), &env);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(listener.connections() > 0, "Docker Hub was not asked");
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(first.contains("cannot reach the Docker Engine"), "{}", run.stderr);
    assert!(first.contains("Docker Hub"), "{}", run.stderr);
}

/// strata's `config_digest` and diff_ids of `reference`.
fn config_and_diff_ids(reference: &str) -> (String, Vec<String>) {
    let report = ok_json(&strata(&["report", reference, "--format", "json"]), reference);
    let config = report["image"]["config_digest"].as_str().unwrap().to_string();
    let diff_ids = report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["diff_id"].as_str().unwrap().to_string())
        .collect();
    (config, diff_ids)
}

/// Docker's image ID (the config digest) and `RootFS.Layers` of `tag`.
fn docker_config_and_diff_ids(tag: &str) -> (String, Vec<String>) {
    let id = docker_inspect("{{.Id}}", tag).trim().to_string();
    let layers = serde_json::from_str(&docker_inspect("{{json .RootFS.Layers}}", tag)).unwrap();
    (id, layers)
}

fn copy_loads_images_into_the_engine() {
    engine_ready();
    let source = "oci:fixtures/sample-app:latest";
    let mut images = DockerImages::default();
    let tag = name("copy");
    images.0.push(tag.clone());
    let run = strata(&["copy", source, &format!("docker-daemon:{tag}")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(docker_config_and_diff_ids(&tag), config_and_diff_ids(source));
    // And back: the loaded image reads as the layout it came from.
    let (config, diff_ids) = config_and_diff_ids(&format!("docker-daemon:{tag}"));
    assert_eq!((config, diff_ids), config_and_diff_ids(source));
    let refused = strata(&["copy", source, &format!("docker-daemon:{tag}@sha256:{}", "0".repeat(64))]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
}

fn a_failed_load_leaves_no_tag() {
    engine_ready();
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let big = noise(2 << 20, 7);
    let written = write_layout(
        &layout,
        "v1",
        &[
            (tar_bytes(&[Item::File("a", b"a")]), Comp::Gzip),
            (tar_bytes(&[Item::File("big", &big)]), Comp::None),
        ],
    );
    // The second layer's bytes no longer match its digest: the copy fails after streaming it.
    let blob = blob_path(&layout, &written.layer_digests[1]);
    let mut bytes = std::fs::read(&blob).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0xff;
    std::fs::write(&blob, bytes).unwrap();
    let mut images = DockerImages::default();
    let tag = name("torn");
    images.0.push(tag.clone());
    let source = format!("oci:{}:v1", layout.display());
    let run = strata(&["copy", &source, &format!("docker-daemon:{tag}")]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("digest"), "{}", run.stderr);
    assert!(!docker_ok(&["image", "inspect", &tag]), "the engine tagged a torn image");
}

fn build_load_runs_in_docker() {
    engine_ready();
    let dir = tempfile::tempdir().unwrap();
    let mut images = DockerImages::default();
    let base = name("build-base");
    import_busybox(&mut images, dir.path(), &base);
    let project = dir.path().join("project");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(project.join("src/run.sh"), "echo hello from the engine\n").unwrap();
    std::fs::write(
        project.join("strata.toml"),
        format!(
            "[image]\nbase = \"docker-daemon:{base}\"\n\
             entrypoint = [\"/bin/sh\", \"/app/src/run.sh\"]\n\n\
             [[layer]]\nname = \"app\"\nfrom = [\"src\"]\nto = \"/app/src\"\n"
        ),
    )
    .unwrap();
    let tag = name("built");
    images.0.push(tag.clone());
    let cache = dir.path().join("cache");
    let run = strata_in(
        &["build", "--cache-dir", cache.to_str().unwrap(), "--load", &tag],
        &[],
        Some(&project),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = sh(&format!("docker run --rm {tag}"));
    assert_eq!(out.trim(), "hello from the engine");
    let (_, base_layers) = docker_config_and_diff_ids(&base);
    let (_, built_layers) = docker_config_and_diff_ids(&tag);
    assert_eq!(built_layers.len(), base_layers.len() + 1);
    assert_eq!(built_layers[..base_layers.len()], base_layers[..]);
}

/// podman's Docker-compatible API (`podman system service`) on a socket of the test's own,
/// stopped (and the socket gone) when dropped.
struct PodmanService {
    child: std::process::Child,
    socket: PathBuf,
}

impl PodmanService {
    fn start(dir: &Path) -> PodmanService {
        let socket = dir.join("podman.sock");
        let child = Command::new("podman")
            .args(["system", "service", "--time=0"])
            .arg(format!("unix://{}", socket.display()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("podman system service");
        for _ in 0..100 {
            if socket.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert!(socket.exists(), "podman's API socket did not appear");
        PodmanService { child, socket }
    }

    /// `DOCKER_HOST` for this service.
    fn docker_host(&self) -> PathBuf {
        PathBuf::from(format!("unix://{}", self.socket.display()))
    }
}

impl Drop for PodmanService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// podman's image ID and `RootFS.Layers` of `tag`, as podman itself tells them.
fn podman_config_and_diff_ids(tag: &str) -> (String, Vec<String>) {
    let inspect = |format: &str| {
        let out = Command::new("podman")
            .args(["image", "inspect", "--format", format, tag])
            .output()
            .expect("podman image inspect");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let id = format!("sha256:{}", inspect("{{.Id}}").trim_start_matches("sha256:"));
    (id, serde_json::from_str(&inspect("{{json .RootFS.Layers}}")).unwrap())
}

/// podman through its Docker-compatible socket, as `DOCKER_HOST`: strata loads an image into it
/// (podman's own inspect agrees on config and diff_ids) and reads it back as the layout it came
/// from.
fn podman_serves_as_the_engine_through_its_docker_socket() {
    require(crate::support::have("podman"), "podman");
    let dir = tempfile::tempdir().unwrap();
    let service = PodmanService::start(dir.path());
    let host = service.docker_host();
    let env = [("DOCKER_HOST", host.as_path())];
    let source = "oci:fixtures/sample-app:latest";
    let tag = format!("localhost/strata-test/podman-{}:1", std::process::id());
    let run = strata_in(&["copy", source, &format!("docker-daemon:{tag}")], &env, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let expected = config_and_diff_ids(source);
    let loaded = podman_config_and_diff_ids(&tag);
    let reference = format!("docker-daemon:{tag}");
    let read = strata_in(&["report", &reference, "--format", "json"], &env, None);
    let _ = Command::new("podman").args(["rmi", "-f", &tag]).output();
    assert_eq!(loaded, expected);
    let report = ok_json(&read, "podman's image");
    assert_eq!(report["image"]["config_digest"], expected.0.as_str());
    let diff_ids: Vec<&str> = report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["diff_id"].as_str().unwrap())
        .collect();
    assert_eq!(diff_ids, expected.1);
}

crate::tests![
    engine_images_read_as_their_saved_archives,
    engine_images_are_never_written_to_disk,
    diff_and_check_read_engine_images,
    missing_images_say_where_strata_looked,
    an_unreachable_engine_is_a_network_error,
    docker_host_tcp_reaches_the_engine,
    copy_loads_images_into_the_engine,
    a_failed_load_leaves_no_tag,
    build_load_runs_in_docker,
    podman_serves_as_the_engine_through_its_docker_socket,
];
