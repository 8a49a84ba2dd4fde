//! `strata dockerfile` and `strata base`: the generated files (detection, refusing to overwrite,
//! `--force`), the dependency image's tag (stable under code edits, new with the lockfile or the
//! base Dockerfile), `strata base --exists` against a real registry, the Makefile with and without
//! strata on PATH, and real builds of the generated Dockerfiles: Python with Docker and with buildah, Rust with Docker. A code change
//! reuses the dependency image and ships less than 1 MB.
//!
//! No image can be pulled, so the tests make every base themselves: the runtime base is the
//! Debian + Python base of `crate::support::debian`, the Rust builder its Debian + gcc + host toolchain
//! image, and strata's own image is strata packaged by itself. Each carries the host's CA bundle
//! (Debian's pip and cargo trust the system bundle), so `pip install` and cargo reach PyPI and
//! crates.io through the machine's TLS proxy without anything sandbox-specific in the generated
//! Dockerfiles.


use std::path::Path;
use std::time::Instant;

use crate::support::debian::{
    debian_python_base, debian_rust_builder, strata_image_archive, unpack_and_run,
};
use crate::support::images::{
    deploy, docker_inspect, docker_ready, tool, Buildah, Deploy, DockerImages, HOST_CA,
};
use crate::support::registry::Registry;
use crate::support::uv::UV_VERSION;
use crate::support::{have, read, require, sh, strata_in, write, Run};

const PYPROJECT: &str = "[project]\nname = \"hello\"\nversion = \"0.1.0\"\n\
dependencies = [\"six\"]\n[project.scripts]\nhello = \"hello:main\"\n\
[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n";
const REQUIREMENTS: &str = "six==1.16.0\n";

/// A Python project (flat layout, a console script, pinned requirements) in a temp dir.
fn python_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pyproject.toml", PYPROJECT);
    write(dir.path(), "requirements.txt", REQUIREMENTS);
    write(dir.path(), ".python-version", "3.11\n");
    write_source(dir.path(), "hello");
    dir
}

/// [`python_project`] locked by uv (a stand-in `uv.lock`: the generator reads only its name).
fn uv_project() -> tempfile::TempDir {
    let dir = python_project();
    std::fs::remove_file(dir.path().join("requirements.txt")).unwrap();
    write(dir.path(), "uv.lock", "version = 1\n");
    dir
}

fn write_source(dir: &Path, greeting: &str) {
    write(
        dir,
        "hello/__init__.py",
        &format!("import six\n\ndef main():\n    print(\"{greeting}\", six.__version__)\n"),
    );
}

fn rust_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "Cargo.toml",
        "[package]\nname = \"svc\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    write(dir.path(), "src/main.rs", "fn main() {}\n");
    dir
}

fn run(dir: &Path, args: &[&str]) -> Run {
    strata_in(args, &[], Some(dir))
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert_eq!(out.code, 0, "strata {args:?}: {}", out.stderr);
    out.stdout
}

const WRITTEN: [&str; 5] = [
    "container/Dockerfile.base",
    "container/Dockerfile",
    ".dockerignore",
    "container/digests.env",
    "container/Makefile",
];

fn python_files_are_written_once_and_force_overwrites() {
    let project = python_project();
    let dir = project.path();
    let out = ok(
        dir,
        &[
            "dockerfile",
            "--system-package",
            "libpq5",
            "--healthcheck",
            "python3 -c 'import hello'",
            "--test-cmd",
            "python3 -c 'import hello'",
        ],
    );
    for file in WRITTEN {
        assert!(out.contains(&format!("wrote {file}")), "{out}");
    }
    let base = read(dir, "container/Dockerfile.base");
    assert!(
        base.contains("ARG RUNTIME_BASE=python:3.11-slim\n"),
        "{base}"
    );
    assert!(base.contains("\nFROM ${RUNTIME_BASE} AS runtime\n"), "{base}");
    assert!(base.contains(
        "apt-get install -y --no-install-recommends libpq5 \\\n && rm -rf /var/lib/apt/lists/*"
    ));
    assert!(base.contains(
        "RUN /opt/pip/bin/pip --python /opt/venv/bin/python install --no-cache-dir --no-compile \\\n    -r /tmp/deps/requirements.txt\n"
    ), "{base}");
    assert!(
        base.ends_with("FROM runtime\nENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH \\\n    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1\nCOPY --from=pip /opt/venv /opt/venv\n"),
        "the image gets the venv alone, without pip:\n{base}"
    );
    assert!(
        !base.contains("COPY . "),
        "the base must not see the code:\n{base}"
    );
    let app = read(dir, "container/Dockerfile");
    assert!(
        app.contains("FROM ${DEPS_IMAGE}:${DEPS_TAG} AS app"),
        "{app}"
    );
    assert!(
        app.contains("RUN printf '%s\\n' '#!/opt/venv/bin/python' 'import sys' 'from hello import main'"),
        "the console script's launcher: {app}"
    );
    assert!(app.contains("ENV PYTHONPATH=/app\n") && !app.contains("pip install"), "{app}");
    assert!(app.contains("FROM app AS test\nRUN python3 -c 'import hello' && touch"));
    assert!(app.contains("COPY --from=test /tmp/.tests-passed"));
    assert!(app.contains("USER 10001:10001"));
    assert!(app.contains("HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD python3"));
    assert!(app.ends_with("CMD [\"hello\"]\n"), "{app}");
    let ignore = read(dir, ".dockerignore");
    for entry in [".dockerignore", "target/", ".venv/", ".git", "container/"] {
        assert!(ignore.lines().any(|l| l == entry), "{entry}: {ignore}");
    }
    assert!(read(dir, "container/digests.env").contains("RUNTIME_BASE=python:3.11-slim\n"));

    // A second run refuses, naming every file, and writes nothing (an edit survives).
    write(dir, "container/Dockerfile", "# mine\n");
    std::fs::remove_file(dir.join("container/Makefile")).unwrap();
    let again = run(dir, &["dockerfile"]);
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(
        again
            .stderr
            .contains("container/Dockerfile.base, container/Dockerfile, .dockerignore"),
        "{}",
        again.stderr
    );
    assert_eq!(read(dir, "container/Dockerfile"), "# mine\n");
    assert!(
        !dir.join("container/Makefile").exists(),
        "nothing is written"
    );

    ok(dir, &["dockerfile", "--force"]);
    assert!(read(dir, "container/Dockerfile").contains("FROM ${DEPS_IMAGE}"));
    assert!(dir.join("container/Makefile").exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.join("container"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn languages_are_detected_and_a_wrong_lang_is_refused() {
    let rust = rust_project();
    let out = run(rust.path(), &["dockerfile", "--lang", "python"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("Rust project"), "{}", out.stderr);
    assert!(!rust.path().join("container").exists());
    ok(
        rust.path(),
        &["dockerfile", "--lang", "rust", "--out", "docker"],
    );
    let base = read(rust.path(), "docker/Dockerfile.base");
    assert!(base.contains("FROM strata AS planner"), "{base}");
    assert!(base.contains("COPY --from=planner /app/recipe.json recipe.json"));
    assert!(base.contains("RUN strata cook --release --locked --recipe-path recipe.json"));
    let app = read(rust.path(), "docker/Dockerfile");
    assert!(
        app.contains("RUN cargo build --release --locked --bin svc"),
        "{app}"
    );
    assert!(app.contains("FROM ${RUNTIME_BASE}\nCOPY --from=build /app/target/release/svc"));
    assert!(
        app.ends_with("ENTRYPOINT [\"/usr/local/bin/svc\"]\n"),
        "{app}"
    );

    let empty = tempfile::tempdir().unwrap();
    let out = run(empty.path(), &["dockerfile"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("neither a Python project"),
        "{}",
        out.stderr
    );
    let out = run(
        rust.path(),
        &["dockerfile", "--out", "../elsewhere", "--force"],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
}

fn host_recipe_uv_and_github_variants() {
    let rust = rust_project();
    ok(
        rust.path(),
        &[
            "dockerfile",
            "--host-recipe",
            "--builder-base",
            "rust:1.83@sha256:ab",
        ],
    );
    let base = read(rust.path(), "container/Dockerfile.base");
    assert!(!base.contains("planner"), "{base}");
    assert!(base.contains("COPY container/recipe.json recipe.json"));
    assert!(read(rust.path(), ".dockerignore").contains("\n!container/recipe.json\n"));
    assert!(read(rust.path(), "container/Makefile")
        .contains("\t$(STRATA) recipe --recipe-path container/recipe.json\n"));
    let digests = read(rust.path(), "container/digests.env");
    assert!(
        digests.contains("BUILDER_BASE=rust:1.83@sha256:ab\n"),
        "{digests}"
    );
    assert!(!digests.contains("BUILDER_BASE is not pinned"), "{digests}");
    assert!(digests.contains("RUNTIME_BASE is not pinned"), "{digests}");

    let uv = uv_project();
    ok(uv.path(), &["dockerfile", "--ci", "github"]);
    let base = read(uv.path(), "container/Dockerfile.base");
    assert!(
        base.contains("COPY pyproject.toml uv.lock /app/\n"),
        "{base}"
    );
    assert!(base.contains("RUN /opt/uv/bin/uv sync --frozen --no-install-project --no-dev"));
    let pin = format!("/opt/uv/bin/pip install --no-cache-dir uv=={UV_VERSION}\n");
    assert!(base.contains(&pin) && !base.contains("ghcr.io"), "uv comes from PyPI: {base}");
    let final_stage = &base[base.rfind("\nFROM ").unwrap()..];
    assert!(!final_stage.contains("/opt/uv"), "uv stays in its stage: {final_stage}");
    assert!(
        !base.contains("COMPILE_BYTECODE"),
        "no bytecode, as strata build: {base}"
    );
    let app = read(uv.path(), "container/Dockerfile");
    assert!(!app.contains("uv"), "the app image needs no uv: {app}");
    let workflow = read(uv.path(), ".github/workflows/image.yml");
    assert!(
        workflow.contains("strata base --exists \"$DEPS_IMAGE\""),
        "{workflow}"
    );
    assert!(workflow.contains("if [ $rc = 1 ]; then make -f container/Makefile build-base"));

    let poetry = tempfile::tempdir().unwrap();
    write(poetry.path(), "pyproject.toml", PYPROJECT);
    write(poetry.path(), "poetry.lock", "");
    let out = run(poetry.path(), &["dockerfile"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("poetry export"), "{}", out.stderr);
}

fn tag_of(dir: &Path) -> String {
    let out = ok(dir, &["base", "registry.example/hello-deps"]);
    let tag = out
        .trim()
        .strip_prefix("registry.example/hello-deps:")
        .unwrap_or_else(|| panic!("{out}"));
    assert!(tag.starts_with("deps-") && tag.len() == 21, "{tag}");
    tag.to_string()
}

fn base_tag_ignores_code_and_follows_lockfile_and_base_dockerfile() {
    let project = python_project();
    let dir = project.path();
    // Without a Dockerfile.base the tag is the dependency fingerprint alone.
    assert_eq!(tag_of(dir), ok(dir, &["fingerprint"]).trim());
    ok(dir, &["dockerfile"]);
    let first = tag_of(dir);
    assert_ne!(first, ok(dir, &["fingerprint"]).trim());
    write_source(dir, "hello, edited");
    write(dir, "README.md", "new docs\n");
    assert_eq!(tag_of(dir), first, "code edits keep the tag");

    write(dir, "requirements.txt", "six==1.17.0\n");
    let bumped = tag_of(dir);
    assert_ne!(bumped, first, "a new pin is a new dependency image");
    write(dir, "requirements.txt", REQUIREMENTS);
    assert_eq!(tag_of(dir), first);

    let base = read(dir, "container/Dockerfile.base");
    write(
        dir,
        "container/Dockerfile.base",
        &base.replace("3.11-slim", "3.12-slim"),
    );
    assert_ne!(
        tag_of(dir),
        first,
        "another base Dockerfile is another image"
    );
    write(dir, "container/Dockerfile.base", &base);
    let digests = read(dir, "container/digests.env");
    write(
        dir,
        "container/digests.env",
        &format!("{digests}RUNTIME_BASE=other\n"),
    );
    assert_ne!(tag_of(dir), first, "another digests.env is another image");

    let out = run(dir, &["base", "registry.example/hello-deps:v1"]);
    assert_eq!(out.code, 2, "a tag is refused: {}", out.stderr);
}

fn base_exists_asks_the_registry() {
    let registry = Registry::start(None);
    let project = python_project();
    let dir = project.path();
    ok(dir, &["dockerfile"]);
    let repo = format!("{}/hello-deps", registry.host);
    let missing = run(dir, &["base", "--exists", &repo]);
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    let named = missing.stdout.trim().to_string();
    let tag = named.rsplit(':').next().unwrap();

    let layout = tempfile::tempdir().unwrap();
    let layer = crate::support::layout::tar_bytes(&[crate::support::layout::Item::File("a", b"a")]);
    crate::support::layout::write_layout(layout.path(), "t", &[(layer, crate::support::layout::Comp::Gzip)]);
    let src = format!("oci:{}:t", layout.path().display());
    registry.push(&src, &format!("hello-deps:{tag}"), None);
    let present = run(dir, &["base", "--exists", &repo]);
    assert_eq!(present.code, 0, "{}", present.stderr);
    assert_eq!(present.stdout.trim(), named);

    let unreachable = run(
        dir,
        &[
            "base",
            "--exists",
            "127.0.0.1:1/hello-deps",
            "--timeout",
            "2",
        ],
    );
    assert_eq!(unreachable.code, 3, "{}", unreachable.stderr);
}

/// The digest skopeo reads for `image` in a plain-HTTP registry.
fn skopeo_digest(image: &str) -> String {
    sh(&format!(
        "skopeo inspect --tls-verify=false --format '{{{{.Digest}}}}' docker://{image}"
    ))
    .trim()
    .to_string()
}

fn named_bases_are_pinned_by_digest_unless_unreachable_or_no_pin() {
    let registry = Registry::start(None);
    let layout = tempfile::tempdir().unwrap();
    for (tag, content) in [("runtime", b"r"), ("builder", b"b")] {
        let layer = crate::support::layout::tar_bytes(&[crate::support::layout::Item::File("a", content)]);
        let dir = layout.path().join(tag);
        crate::support::layout::write_layout(&dir, tag, &[(layer, crate::support::layout::Comp::Gzip)]);
        let src = format!("oci:{}:{tag}", dir.display());
        registry.push(&src, &format!("bases/{tag}:1"), None);
    }
    let runtime = format!("{}/bases/runtime:1", registry.host);
    let builder = format!("{}/bases/builder:1", registry.host);
    let (runtime_digest, builder_digest) = (skopeo_digest(&runtime), skopeo_digest(&builder));
    assert_ne!(runtime_digest, builder_digest);

    let rust = rust_project();
    let dir = rust.path();
    let out = run(
        dir,
        &[
            "dockerfile",
            "--runtime-base",
            &runtime,
            "--builder-base",
            &builder,
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
    let (runtime_pin, builder_pin) = (
        format!("{runtime}@{runtime_digest}"),
        format!("{builder}@{builder_digest}"),
    );
    assert!(
        read(dir, "container/Dockerfile").contains(&format!("ARG RUNTIME_BASE={runtime_pin}\n"))
    );
    assert!(read(dir, "container/Dockerfile.base")
        .contains(&format!("ARG BUILDER_BASE={builder_pin}\n")));
    let digests = read(dir, "container/digests.env");
    assert!(
        digests.contains(&format!("\nRUNTIME_BASE={runtime_pin}\n")),
        "{digests}"
    );
    assert!(
        digests.contains(&format!("\nBUILDER_BASE={builder_pin}\n")),
        "{digests}"
    );
    assert!(!digests.contains("RUNTIME_BASE is not pinned"), "{digests}");

    // --no-pin writes them as given; so does a registry that is down or lacks the tag, with a
    // warning each (and exit 0: the files are still useful).
    let missing = format!("{}/bases/runtime:2", registry.host);
    for (args, warnings) in [
        (vec!["--no-pin", "--runtime-base", &runtime], 0),
        (
            vec![
                "--runtime-base",
                &missing,
                "--builder-base",
                "127.0.0.1:1/rust:1",
                "--timeout",
                "2",
            ],
            2,
        ),
    ] {
        let mut all = vec!["dockerfile", "--force"];
        all.extend(args.iter().copied());
        let out = run(dir, &all);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert_eq!(
            out.stderr.matches("warning").count(),
            warnings,
            "{args:?}: {}",
            out.stderr
        );
        let digests = read(dir, "container/digests.env");
        let given = args[args.iter().position(|a| *a == "--runtime-base").unwrap() + 1];
        assert!(
            digests.contains(&format!("\nRUNTIME_BASE={given}\n")),
            "{digests}"
        );
        assert!(digests.contains("RUNTIME_BASE is not pinned"), "{digests}");
    }

    // A Python project has no builder: its --builder-base is not looked up.
    let python = python_project();
    let out = run(
        python.path(),
        &[
            "dockerfile",
            "--runtime-base",
            &runtime,
            "--builder-base",
            "127.0.0.1:1/x:1",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
    let base = read(python.path(), "container/Dockerfile.base");
    assert!(
        base.contains(&format!("ARG RUNTIME_BASE={runtime_pin}\n")),
        "{base}"
    );
}

/// What [`docker_rebuild`] found.
struct Rebuild {
    /// The dependency image, `IMAGE-deps:deps-<hash>`.
    deps_ref: String,
    /// The layers the two app images share.
    shared: usize,
}

/// Builds `dir`'s images twice with the generated Makefile and Docker, as `image:v1` and
/// `image:v2` (`make_vars` name the base images): the first build makes the dependency image and the app prints `outputs[0]`; after
/// `edit` the second reuses the dependency image (same id) and prints `outputs[1]`, and a deploy
/// of it where the first one runs downloads less than 1 MB.
fn docker_rebuild(
    dir: &Path,
    image: &str,
    make_vars: &[String],
    images: &mut DockerImages,
    edit: impl FnOnce(),
    outputs: [&str; 2],
) -> Rebuild {
    let deps_ref = ok(dir, &["base", &format!("{image}-deps")])
        .trim()
        .to_string();
    let (v1, v2) = (format!("{image}:v1"), format!("{image}:v2"));
    images.0.extend([v1.clone(), v2.clone(), deps_ref.clone()]);
    let make = |tag: &str| {
        let mut vars = vec![format!("IMAGE={image}"), format!("TAG={tag}")];
        vars.extend_from_slice(make_vars);
        let mut args = vec!["-f", "container/Makefile", "build"];
        args.extend(vars.iter().map(String::as_str));
        tool("make", &args, dir)
    };
    let first = make("v1");
    assert!(first.contains("< container/Dockerfile.base"), "{first}");
    let deps_id = docker_inspect("{{.Id}}", &deps_ref);
    let ran = tool("docker", &["run", "--rm", &v1], dir);
    assert_eq!(ran.trim(), outputs[0]);

    edit();
    let second = make("v2");
    assert!(
        !second.contains("Dockerfile.base"),
        "the dependency image is reused, not rebuilt:\n{second}"
    );
    assert_eq!(docker_inspect("{{.Id}}", &deps_ref), deps_id);
    let ran = tool("docker", &["run", "--rm", &v2], dir);
    assert_eq!(ran.trim(), outputs[1]);

    let out = tempfile::tempdir().unwrap();
    let Deploy { pull, shared } = deploy(
        &DockerImages::save(&v1, out.path()),
        &DockerImages::save(&v2, out.path()),
    );
    eprintln!("docker: code change ships {pull} bytes; {shared} layers shared");
    assert!(pull < 1_000_000, "a code change ships {pull} bytes");
    Rebuild { deps_ref, shared }
}

/// The number of layers of a Docker image.
fn layer_count(reference: &str) -> usize {
    docker_inspect("{{len .RootFS.Layers}}", reference)
        .parse()
        .unwrap()
}

fn docker_builds_reuse_the_base_and_ship_a_small_app_layer() {
    docker_ready();
    let debian = debian_python_base();
    let mut images = DockerImages::default();
    let id = std::process::id();
    let base = format!("strata-test-dfgen-py-base:{id}");
    images.load_with_ca(&debian.reference(), &base);
    let project = python_project();
    let dir = project.path();
    ok(
        dir,
        &["dockerfile", "--test-cmd", "python3 -c 'import hello'"],
    );
    let rebuild = docker_rebuild(
        dir,
        &format!("strata-test-dfgen-py-{id}"),
        &[format!("RUNTIME_BASE={base}")],
        &mut images,
        || write_source(dir, "hello again"),
        ["hello 1.16.0", "hello again 1.16.0"],
    );
    let deps_layers = layer_count(&rebuild.deps_ref);
    assert!(
        rebuild.shared >= deps_layers,
        "{} shared < {deps_layers}",
        rebuild.shared
    );
}

/// A Rust project with one crates.io dependency (itoa) and its Cargo.lock, printing
/// `GREETING 42`.
fn rust_itoa_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "Cargo.toml",
        "[package]\nname = \"svc\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
         [dependencies]\nitoa = \"1\"\n",
    );
    write_rust_source(dir.path(), "hello");
    sh(&format!(
        "cd '{}' && cargo generate-lockfile --quiet",
        dir.path().display()
    ));
    dir
}

fn write_rust_source(dir: &Path, greeting: &str) {
    write(
        dir,
        "src/main.rs",
        &format!(
            "fn main() {{\n    let mut buffer = itoa::Buffer::new();\n    \
             println!(\"{greeting} {{}}\", buffer.format(42));\n}}\n"
        ),
    );
}

fn docker_builds_the_generated_rust_dockerfiles() {
    docker_ready();
    let (debian, builder) = (debian_python_base(), debian_rust_builder());
    let id = std::process::id();
    let mut images = DockerImages::default();
    let (runtime, builder_name, strata_name) = (
        format!("strata-test-dfgen-rust-base:{id}"),
        format!("strata-test-dfgen-rust-builder:{id}"),
        format!("strata-test-dfgen-rust-strata:{id}"),
    );
    images.load_with_ca(&debian.reference(), &runtime);
    images.load_with_ca(&builder.reference(), &builder_name);
    images.load_strata(&debian.reference(), &strata_name);
    let project = rust_itoa_project();
    let dir = project.path();
    ok(dir, &["dockerfile"]);
    let rebuild = docker_rebuild(
        dir,
        &format!("strata-test-dfgen-rust-{id}"),
        &[
            format!("RUNTIME_BASE={runtime}"),
            format!("BUILDER_BASE={builder_name}"),
            format!("STRATA_IMAGE={strata_name}"),
        ],
        &mut images,
        || write_rust_source(dir, "hello again"),
        ["hello 42", "hello again 42"],
    );
    let runtime_layers = layer_count(&runtime);
    assert!(
        rebuild.shared >= runtime_layers,
        "{} shared < {runtime_layers}",
        rebuild.shared
    );
}

/// Builds `dir`'s images twice with buildah (`-v` puts the host's CA bundle into the RUN steps,
/// `bases` are `NAME=IMAGE` build arguments of both Dockerfiles) as `localhost/NAME:v1` and `:v2`,
/// pushing each into an OCI layout and running it chrooted into its unpacked rootfs: the first
/// prints `outputs[0]`; after `edit` the dependency image comes from the layer cache (same id),
/// the second prints `outputs[1]`, and a deploy of it where the first runs downloads < 1 MB.
fn buildah_rebuild(
    buildah: &Buildah,
    dir: &Path,
    name: &str,
    bases: &[String],
    edit: impl FnOnce(),
    outputs: [&str; 2],
) -> Deploy {
    let deps_repo = format!("localhost/{name}-deps");
    let deps_ref = ok(dir, &["base", &deps_repo]).trim().to_string();
    let deps_tag = deps_ref.rsplit(':').next().unwrap();
    let ca = format!("{HOST_CA}:{HOST_CA}:ro");
    let bud = |file: &str, image: &str, args: &[String]| {
        let file = format!("container/{file}");
        let mut all = vec!["-f", &file, "-v", &ca, "-t", image];
        for arg in bases.iter().chain(args) {
            all.extend(["--build-arg", arg]);
        }
        all.push(".");
        buildah.bud(&all, dir)
    };
    let app_args = [
        format!("DEPS_IMAGE={deps_repo}"),
        format!("DEPS_TAG={deps_tag}"),
    ];
    let layout = tempfile::tempdir().unwrap();
    let build_and_run = |tag: &str, output: &str| {
        let image = format!("localhost/{name}:{tag}");
        bud("Dockerfile", &image, &app_args);
        let reference = buildah.push_to_layout(&image, layout.path(), tag);
        let run = tempfile::tempdir().unwrap();
        let (_, out, _) = unpack_and_run(layout.path(), tag, run.path());
        assert_eq!(out.trim(), output, "{image}");
        reference
    };
    let started = Instant::now();
    let deps_id = bud("Dockerfile.base", &deps_ref, &[]);
    let v1 = build_and_run("v1", outputs[0]);
    eprintln!("buildah {name}: first build {:?}", started.elapsed());

    let started = Instant::now();
    edit();
    assert_eq!(ok(dir, &["base", &deps_repo]).trim(), deps_ref);
    assert_eq!(
        bud("Dockerfile.base", &deps_ref, &[]),
        deps_id,
        "the dependency image comes from the layer cache"
    );
    let v2 = build_and_run("v2", outputs[1]);
    eprintln!("buildah {name}: rebuild {:?}", started.elapsed());
    let cost = deploy(&v1, &v2);
    let Deploy { pull, shared } = cost;
    eprintln!("buildah {name}: code change ships {pull} bytes; {shared} layers shared");
    assert!(pull < 1_000_000, "a code change ships {pull} bytes");
    cost
}

fn buildah_builds_the_generated_python_dockerfiles() {
    let (buildah, debian) = (Buildah::new(), debian_python_base());
    buildah.pull(&debian.reference(), "localhost/dfgen-python");
    let project = python_project();
    let dir = project.path();
    ok(dir, &["dockerfile"]);
    let deploy = buildah_rebuild(
        &buildah,
        dir,
        "hello",
        &["RUNTIME_BASE=localhost/dfgen-python".into()],
        || write_source(dir, "hello again"),
        ["hello 1.16.0", "hello again 1.16.0"],
    );
    // The base's layer and the dependency image's (venv, WORKDIR, ...) are shared.
    assert!(deploy.shared >= 3, "{} layers shared", deploy.shared);
}

/// The generated Rust Dockerfiles built by buildah alone: the builder (Debian + gcc + the host's
/// toolchain) and the runtime base come from their OCI layouts, strata's image from the archive
/// strata writes of itself; no Docker is involved. The recipe is made on the host
/// (`--host-recipe`; the Docker test covers the planner stage): vfs copies the ~800 MB builder
/// rootfs for every step, and a planner stage would add three steps, two of them re-run on
/// every code change.
fn buildah_builds_the_generated_rust_dockerfiles() {
    let (buildah, debian, builder) =
        (Buildah::new(), debian_python_base(), debian_rust_builder());
    buildah.pull(&debian.reference(), "localhost/dfgen-runtime");
    buildah.pull(&builder.reference(), "localhost/dfgen-builder");
    let strata = tempfile::tempdir().unwrap();
    let archive = strata.path().join("strata.tar");
    strata_image_archive(
        &debian.reference(),
        &archive,
        "localhost/dfgen-strata:test",
        strata.path(),
    );
    buildah.pull(
        &format!("docker-archive:{}", archive.display()),
        "localhost/dfgen-strata",
    );
    let project = rust_itoa_project();
    let dir = project.path();
    ok(dir, &["dockerfile", "--host-recipe"]);
    let recipe = || ok(dir, &["recipe", "--recipe-path", "container/recipe.json"]);
    recipe();
    let deploy = buildah_rebuild(
        &buildah,
        dir,
        "svc",
        &[
            "RUNTIME_BASE=localhost/dfgen-runtime".into(),
            "BUILDER_BASE=localhost/dfgen-builder".into(),
            "STRATA_IMAGE=localhost/dfgen-strata".into(),
        ],
        || {
            write_rust_source(dir, "hello again");
            recipe();
        },
        ["hello 42", "hello again 42"],
    );
    assert!(deploy.shared >= 1, "the runtime base's layer is shared");
}

/// `make -f container/Makefile build` with `DOCKER=echo` (the docker commands printed, not run)
/// and `PATH` set to `path`.
fn make_build(dir: &Path, path: &str) -> std::process::Output {
    std::process::Command::new("make")
        .args(["-f", "container/Makefile", "build", "DOCKER=echo"])
        .current_dir(dir)
        .env("PATH", path)
        .output()
        .expect("run make")
}

/// The Makefile names the dependency image with `strata base`: without strata on PATH it stops,
/// saying so, before any docker command (instead of `docker build -t  .`); with it, the app is
/// built on exactly the tag `strata base` prints.
fn the_makefile_stops_without_strata_and_builds_on_its_tag_with_it() {
    require(have("make"), "make");
    let project = python_project();
    let dir = project.path();
    ok(dir, &["dockerfile"]);
    let system = "/usr/local/bin:/usr/bin:/bin";
    let without = make_build(dir, system);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&without.stdout),
        String::from_utf8_lossy(&without.stderr),
    );
    assert!(!without.status.success(), "{stdout}{stderr}");
    assert!(stderr.contains("put strata on PATH"), "{stderr}");
    assert!(!stdout.contains("build -f -"), "docker was asked to build:\n{stdout}");

    let strata_dir = Path::new(env!("CARGO_BIN_EXE_strata")).parent().unwrap();
    let with = make_build(dir, &format!("{}:{system}", strata_dir.display()));
    let stdout = String::from_utf8_lossy(&with.stdout);
    assert!(with.status.success(), "{stdout}{}", String::from_utf8_lossy(&with.stderr));
    let deps = ok(dir, &["base", "hello-deps"]);
    let tag = deps.trim().rsplit(':').next().unwrap();
    assert!(
        stdout.contains(&format!(
            "echo build -f - --build-arg DEPS_IMAGE=hello-deps --build-arg DEPS_TAG={tag} -t hello:latest ."
        )),
        "{stdout}"
    );
}

/// Generated Dockerfiles of Python (pip and uv) and Rust projects lint clean, both with
/// `--context .` and without (their `COPY .` says the context is the project directory, whose
/// `.dockerignore` the generator writes).
fn generated_dockerfiles_lint_clean() {
    let contexts: &[&[&str]] = &[&["--context", "."], &[]];
    for (project, extra) in [
        (python_project(), &[][..]),
        (uv_project(), &[][..]),
        (rust_project(), &[][..]),
        (rust_project(), &["--host-recipe"][..]),
    ] {
        let dir = project.path();
        let mut args = vec!["dockerfile"];
        args.extend_from_slice(extra);
        ok(dir, &args);
        for context in contexts {
            let mut args = vec![
                "lint",
                "container/Dockerfile.base",
                "container/Dockerfile",
                "--format",
                "json",
            ];
            args.extend_from_slice(context);
            let lint = run(dir, &args);
            assert_eq!(
                lint.code, 0,
                "strata lint {context:?} found something in generated files {extra:?}: {}{}",
                lint.stdout, lint.stderr
            );
            // Only the reminder to pin the default bases by digest (info: the tags are
            // placeholders until digests.env is filled in) may remain.
            let text = lint.stdout;
            let rules: Vec<&str> = text
                .match_indices("\"SL0")
                .map(|(i, _)| &text[i + 1..i + 6])
                .collect();
            assert!(
                rules.iter().all(|r| *r == "SL006"),
                "{extra:?} {context:?}: {rules:?}"
            );
        }
    }
}

crate::tests![
    python_files_are_written_once_and_force_overwrites,
    languages_are_detected_and_a_wrong_lang_is_refused,
    host_recipe_uv_and_github_variants,
    base_tag_ignores_code_and_follows_lockfile_and_base_dockerfile,
    base_exists_asks_the_registry,
    named_bases_are_pinned_by_digest_unless_unreachable_or_no_pin,
    docker_builds_reuse_the_base_and_ship_a_small_app_layer,
    docker_builds_the_generated_rust_dockerfiles,
    buildah_builds_the_generated_python_dockerfiles,
    buildah_builds_the_generated_rust_dockerfiles,
    generated_dockerfiles_lint_clean,
    the_makefile_stops_without_strata_and_builds_on_its_tag_with_it,
];
