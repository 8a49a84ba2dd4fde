//! `strata dockerfile` and `strata base`: the generated files (detection, refusing to overwrite,
//! `--force`), the dependency image's tag (stable under code edits, new with the lockfile or the
//! base Dockerfile), `strata base --exists` against a real registry, and real builds of the
//! generated Dockerfiles: Python with Docker and with buildah, Rust with Docker. A code change
//! reuses the dependency image and ships less than 1 MB.
//!
//! No image can be pulled, so the tests make every base themselves: the runtime base is the
//! Debian + Python base of `support::debian`, the Rust builder its Debian + gcc + host toolchain
//! image, and strata's own image is strata packaged by itself. Each carries the host's CA bundle
//! (Debian's pip and cargo trust the system bundle), so `pip install` and cargo reach PyPI and
//! crates.io through the machine's TLS proxy without anything sandbox-specific in the generated
//! Dockerfiles.

mod support;

use std::path::Path;
use std::process::Command;

use support::debian::{debian_python_base, debian_rust_builder, strata_image_archive};
use support::registry::Registry;
use support::{docker_ok, have, require, sh, strata_in, Run};

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

fn write(dir: &Path, rel: &str, contents: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
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

#[test]
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
    assert!(base.contains("\nFROM ${RUNTIME_BASE}\n"), "{base}");
    assert!(base.contains(
        "apt-get install -y --no-install-recommends libpq5 \\\n && rm -rf /var/lib/apt/lists/*"
    ));
    assert!(base.contains("pip install --no-cache-dir -r /tmp/deps/requirements.txt"));
    assert!(
        !base.contains("COPY . "),
        "the base must not see the code:\n{base}"
    );
    let app = read(dir, "container/Dockerfile");
    assert!(
        app.contains("FROM ${DEPS_IMAGE}:${DEPS_TAG} AS app"),
        "{app}"
    );
    assert!(app.contains("RUN pip install --no-cache-dir --no-deps /app"));
    assert!(app.contains("FROM app AS test\nRUN python3 -c 'import hello' && touch"));
    assert!(app.contains("COPY --from=test /tmp/.tests-passed"));
    assert!(app.contains("USER 10001:10001"));
    assert!(app.contains("HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD python3"));
    assert!(app.ends_with("CMD [\"hello\"]\n"), "{app}");
    let ignore = read(dir, ".dockerignore");
    for entry in ["target/", ".venv/", ".git", "container/"] {
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

#[test]
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

#[test]
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
        .contains("\tstrata recipe --recipe-path container/recipe.json\n"));
    let digests = read(rust.path(), "container/digests.env");
    assert!(
        digests.contains("BUILDER_BASE=rust:1.83@sha256:ab\n"),
        "{digests}"
    );
    assert!(!digests.contains("BUILDER_BASE is not pinned"), "{digests}");
    assert!(digests.contains("RUNTIME_BASE is not pinned"), "{digests}");

    let uv = python_project();
    std::fs::remove_file(uv.path().join("requirements.txt")).unwrap();
    write(uv.path(), "uv.lock", "version = 1\n");
    ok(uv.path(), &["dockerfile", "--ci", "github"]);
    let base = read(uv.path(), "container/Dockerfile.base");
    assert!(
        base.contains("COPY pyproject.toml uv.lock /app/\n"),
        "{base}"
    );
    assert!(base.contains("RUN uv sync --frozen --no-install-project --no-dev"));
    assert!(read(uv.path(), "container/Dockerfile").contains("RUN uv sync --frozen --no-dev"));
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

#[test]
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

#[test]
fn base_exists_asks_the_registry() {
    let Some(registry) = Registry::start(None) else {
        return;
    };
    let project = python_project();
    let dir = project.path();
    ok(dir, &["dockerfile"]);
    let repo = format!("{}/hello-deps", registry.host);
    let missing = run(dir, &["base", "--exists", &repo]);
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    let named = missing.stdout.trim().to_string();
    let tag = named.rsplit(':').next().unwrap();

    let layout = tempfile::tempdir().unwrap();
    let layer = support::layout::tar_bytes(&[support::layout::Item::File("a", b"a")]);
    support::layout::write_layout(layout.path(), "t", &[(layer, support::layout::Comp::Gzip)]);
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

/// Runs `program args` in `dir` with strata's directory first on PATH (the generated Makefile
/// calls `strata base`), panicking with the output on failure; returns stdout and stderr.
fn tool(program: &str, args: &[&str], dir: &Path) -> String {
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

/// A build context holding the host's CA bundle and a Containerfile that puts it over the base's.
fn ca_context(from: &str) -> tempfile::TempDir {
    let ctx = tempfile::tempdir().unwrap();
    std::fs::copy(
        "/etc/ssl/certs/ca-certificates.crt",
        ctx.path().join("ca-certificates.crt"),
    )
    .expect("the host's CA bundle");
    write(
        ctx.path(),
        "Dockerfile",
        &format!("FROM {from}\nCOPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\n"),
    );
    ctx
}

/// `strata diff OLD NEW --format json`: the bytes a deploy of NEW downloads where OLD is, and how
/// many layers the two share.
fn deploy_bytes(old: &str, new: &str) -> (u64, usize) {
    let out = strata_in(&["diff", old, new, "--format", "json"], &[], None);
    let json = out.json();
    (
        json["pull_bytes"].as_u64().expect("pull_bytes"),
        json["shared_layers"]
            .as_array()
            .expect("shared_layers")
            .len(),
    )
}

/// Removes the test's Docker images when the test ends, passed or not.
struct DockerImages(Vec<String>);

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
fn docker_inspect(format: &str, reference: &str) -> String {
    let out = tool(
        "docker",
        &["image", "inspect", "-f", format, reference],
        Path::new("."),
    );
    out.trim().to_string()
}

/// Loads the OCI layout image `reference` into Docker as `name` with the host's CA bundle put
/// over its own (so RUN steps reach PyPI and crates.io through the machine's TLS proxy).
fn docker_image_with_ca(reference: &str, name: &str, images: &mut DockerImages) {
    let raw = format!("{name}-raw");
    images.0.extend([raw.clone(), name.to_string()]);
    sh(&format!(
        "skopeo copy --quiet {reference} docker-daemon:{raw}"
    ));
    let ctx = ca_context(&raw);
    tool("docker", &["build", "-q", "-t", name, "."], ctx.path());
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
    let archive = |name: &str, reference: &str| -> String {
        let path = out.path().join(name);
        tool(
            "docker",
            &["save", reference, "-o", path.to_str().unwrap()],
            dir,
        );
        format!("docker-archive:{}", path.display())
    };
    let (pull, shared) = deploy_bytes(&archive("v1.tar", &v1), &archive("v2.tar", &v2));
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

/// Whether Docker, skopeo and make are there (a skip or, under CI=true, a failure otherwise).
fn docker_ready() -> bool {
    require(docker_ok(&["info"]), "a running Docker Engine")
        && require(have("skopeo") && have("make"), "skopeo and make")
}

#[test]
fn docker_builds_reuse_the_base_and_ship_a_small_app_layer() {
    if !docker_ready() {
        return;
    }
    let Some(debian) = debian_python_base() else {
        return;
    };
    let mut images = DockerImages(Vec::new());
    let id = std::process::id();
    let base = format!("strata-test-dfgen-py-base:{id}");
    docker_image_with_ca(&debian.reference(), &base, &mut images);
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

/// strata packaged by itself (the Rust preset, `--no-cargo`) on `base`, loaded into Docker as
/// `name`: the `STRATA_IMAGE` of the generated Rust Dockerfile.
fn docker_strata_image(base: &str, name: &str, images: &mut DockerImages) {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("strata.tar");
    images.0.push(name.to_string());
    strata_image_archive(base, &archive, name, dir.path());
    sh(&format!("docker load -q -i '{}'", archive.display()));
}

#[test]
fn docker_builds_the_generated_rust_dockerfiles() {
    if !docker_ready() {
        return;
    }
    let (Some(debian), Some(builder)) = (debian_python_base(), debian_rust_builder()) else {
        return;
    };
    let id = std::process::id();
    let mut images = DockerImages(Vec::new());
    let (runtime, builder_name, strata_name) = (
        format!("strata-test-dfgen-rust-base:{id}"),
        format!("strata-test-dfgen-rust-builder:{id}"),
        format!("strata-test-dfgen-rust-strata:{id}"),
    );
    docker_image_with_ca(&debian.reference(), &runtime, &mut images);
    docker_image_with_ca(&builder.reference(), &builder_name, &mut images);
    docker_strata_image(&debian.reference(), &strata_name, &mut images);
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

#[test]
fn buildah_builds_the_generated_python_dockerfiles() {
    if !require(have("buildah"), "buildah (Debian package)") {
        return;
    }
    let Some(debian) = debian_python_base() else {
        return;
    };
    let storage = tempfile::tempdir().unwrap();
    let (root, runroot) = (storage.path().join("root"), storage.path().join("run"));
    let buildah = |args: &[&str], dir: &Path| {
        let mut all = vec![
            "--root",
            root.to_str().unwrap(),
            "--runroot",
            runroot.to_str().unwrap(),
            "--storage-driver",
            "vfs",
        ];
        all.extend_from_slice(args);
        tool("buildah", &all, dir)
    };
    let bud = |args: &[&str], dir: &Path| {
        let mut all = vec!["bud", "--isolation", "chroot", "--layers", "-q"];
        all.extend_from_slice(args);
        buildah(&all, dir)
            .trim()
            .lines()
            .last()
            .unwrap_or_default()
            .to_string()
    };
    let ctx = ca_context(&debian.reference());
    bud(&["-t", "localhost/dfgen-base:ca", "."], ctx.path());

    let project = python_project();
    let dir = project.path();
    ok(dir, &["dockerfile"]);
    let deps_ref = ok(dir, &["base", "localhost/hello-deps"])
        .trim()
        .to_string();
    let deps_tag = deps_ref.rsplit(':').next().unwrap().to_string();
    let build_base = || {
        bud(
            &[
                "-f",
                "container/Dockerfile.base",
                "--build-arg",
                "RUNTIME_BASE=localhost/dfgen-base:ca",
                "-t",
                &deps_ref,
                ".",
            ],
            dir,
        )
    };
    let build_app = |tag: &str| {
        bud(
            &[
                "-f",
                "container/Dockerfile",
                "--build-arg",
                "DEPS_IMAGE=localhost/hello-deps",
                "--build-arg",
                &format!("DEPS_TAG={deps_tag}"),
                "-t",
                &format!("localhost/hello:{tag}"),
                ".",
            ],
            dir,
        )
    };
    let run_app = |tag: &str| {
        let container = buildah(&["from", "-q", &format!("localhost/hello:{tag}")], dir);
        let container = container.trim();
        let out = buildah(
            &["run", "--isolation", "chroot", container, "--", "hello"],
            dir,
        );
        buildah(&["rm", container], dir);
        out
    };
    let deps_id = build_base();
    build_app("v1");
    assert_eq!(run_app("v1").trim(), "hello 1.16.0");

    write_source(dir, "hello again");
    assert_eq!(ok(dir, &["base", "localhost/hello-deps"]).trim(), deps_ref);
    assert_eq!(
        build_base(),
        deps_id,
        "the dependency image comes from the layer cache"
    );
    build_app("v2");
    assert_eq!(run_app("v2").trim(), "hello again 1.16.0");

    let out = tempfile::tempdir().unwrap();
    let archive = |tag: &str| {
        let path = out.path().join(format!("{tag}.tar"));
        let dest = format!("oci-archive:{}", path.display());
        buildah(
            &["push", "-q", &format!("localhost/hello:{tag}"), &dest],
            dir,
        );
        dest
    };
    let (pull, shared) = deploy_bytes(&archive("v1"), &archive("v2"));
    eprintln!("buildah: code change ships {pull} bytes; {shared} layers shared");
    assert!(pull < 1_000_000, "a code change ships {pull} bytes");
    assert!(shared >= 3, "{shared} layers shared");
}

#[test]
fn generated_dockerfiles_lint_clean() {
    for (project, extra) in [
        (python_project(), &[][..]),
        (rust_project(), &[][..]),
        (rust_project(), &["--host-recipe"][..]),
    ] {
        let dir = project.path();
        let mut args = vec!["dockerfile"];
        args.extend_from_slice(extra);
        ok(dir, &args);
        let lint = run(
            dir,
            &[
                "lint",
                "container/Dockerfile.base",
                "container/Dockerfile",
                "--context",
                ".",
                "--format",
                "json",
            ],
        );
        assert_eq!(
            lint.code, 0,
            "strata lint found something in generated files {extra:?}: {}{}",
            lint.stdout, lint.stderr
        );
        // Only the reminder to pin the default bases by digest (info: the tags are placeholders
        // until digests.env is filled in) may remain.
        let report: serde_json::Value = serde_json::from_str(&lint.stdout).unwrap();
        let rules: Vec<String> = report
            .to_string()
            .match_indices("\"SL0")
            .map(|(i, _)| report.to_string()[i + 1..i + 6].to_string())
            .collect();
        assert!(rules.iter().all(|r| r == "SL006"), "{extra:?}: {rules:?}");
    }
}
