//! Layer roles end to end — base, dependencies, app — the same in every command and format:
//!
//! - a small Python project with a real virtualenv (made by the Debian base's own python in a copy
//!   of its rootfs, `six` from PyPI, the project installed editable) built by `strata build`:
//!   `report` labels its layers base / dependencies / dependencies / app, advises nothing about
//!   the venv, `check --no-dependencies-in-app-layers` passes, and `diff` and `history` between it
//!   and a code-only rebuild label the same layers the same way;
//! - the same project built by the Docker Engine twice: naively (`COPY . /app`, the venv beside
//!   the code: the gate fails, the advice is given, the project's own package is not listed) and
//!   laid out like `strata dockerfile`'s output (a builder stage's `/app/.venv` copied into a layer
//!   of its own, then the code: that layer is dependencies, the gate passes);
//! - a `--base` that shares no layer with the image says so on stderr and in the JSON;
//! - findings of 0 B and the base's setuid files come after the findings that cost bytes.
//!
//! The oracle for every role is python's `tarfile` reading the layers itself (the base's layers
//! by diff_id; a layer whose regular files all lie in `/app/.venv` is dependencies; else app),
//! and `skopeo inspect` for the diff_ids of unrelated images.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

use crate::support::debian::{chroot, debian_python_base};
use crate::support::images::DockerImages;
use crate::support::layout::{tar_bytes, write_layout, Comp, Item};
use crate::support::{docker_ok, have, require, sh, strata, strata_in, Run};

const PYPROJECT: &str = r#"[project]
name = "hello"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["six==1.17.0"]

[project.scripts]
hello = "hello.cli:main"

[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"
"#;

fn cli(greeting: &str) -> String {
    format!("import six\n\n\ndef main():\n    print({greeting:?}, six.__version__)\n    return 0\n")
}

/// Each layer of an image as python's `tarfile` reads it: the blob's size, the diff_id (SHA-256
/// of the uncompressed tar) and the regular files. Reads an OCI layout (`DIR TAG`) or a
/// `docker save` archive (`FILE`).
const LAYERS_PY: &str = r#"
import gzip, hashlib, io, json, os, sys, tarfile
src = sys.argv[1]
if os.path.isdir(src):
    blob = lambda d: open(os.path.join(src, "blobs", *d.split(":")), "rb").read()
    index = json.load(open(os.path.join(src, "index.json")))
    entry = next(m for m in index["manifests"]
                 if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == sys.argv[2])
    raw = [blob(l["digest"]) for l in json.loads(blob(entry["digest"]))["layers"]]
else:
    archive = tarfile.open(src)
    manifest = json.load(archive.extractfile("manifest.json"))[0]
    raw = [archive.extractfile(l).read() for l in manifest["Layers"]]
out = []
for data in raw:
    tar = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    members = tarfile.open(fileobj=io.BytesIO(tar)).getmembers()
    files = [m.name[2:] if m.name.startswith("./") else m.name.lstrip("/") for m in members if m.isreg()]
    out.append({"size": len(data), "diff_id": "sha256:" + hashlib.sha256(tar).hexdigest(), "files": files})
print(json.dumps(out))
"#;

/// One layer as [`LAYERS_PY`] reads it.
struct OracleLayer {
    size: u64,
    diff_id: String,
    files: Vec<String>,
}

/// The layers of `reference` (`DIR TAG` of a layout, or an archive path) read by python.
fn oracle_layers(args: &str) -> Vec<OracleLayer> {
    let script = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(script.path(), LAYERS_PY).unwrap();
    let out: Value =
        serde_json::from_str(&sh(&format!("python3 '{}' {args}", script.path().display())))
            .unwrap();
    out.as_array()
        .unwrap()
        .iter()
        .map(|l| OracleLayer {
            size: l["size"].as_u64().unwrap(),
            diff_id: l["diff_id"].as_str().unwrap().to_string(),
            files: l["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap().to_string())
                .collect(),
        })
        .collect()
}

/// The role each layer must have: base when the base has its diff_id, dependencies when every
/// regular file lies in the venv, app otherwise.
fn expected_roles(layers: &[OracleLayer], base: &HashSet<String>) -> Vec<&'static str> {
    layers
        .iter()
        .map(|l| {
            if base.contains(&l.diff_id) {
                "base"
            } else if !l.files.is_empty() && l.files.iter().all(|f| f.starts_with("app/.venv/")) {
                "dependencies"
            } else {
                "app"
            }
        })
        .collect()
}

/// The Debian base's diff_ids, read by python.
fn base_diff_ids() -> HashSet<String> {
    let base = debian_python_base();
    oracle_layers(&format!("'{}' {}", base.layout.display(), crate::support::debian::TAG))
        .into_iter()
        .map(|l| l.diff_id)
        .collect()
}

/// The roles of a JSON report's layers.
fn roles(report: &Value) -> Vec<String> {
    report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["role"].as_str().unwrap().to_string())
        .collect()
}

/// The Python project in a copy of the base's rootfs, its venv at `/app/.venv`, and two
/// `strata build`s of it: `v1`, then `v2` after a code-only change.
struct Project {
    _dir: tempfile::TempDir,
    app: PathBuf,
    v1: PathBuf,
    v2: PathBuf,
    /// The build's JSON output of v1 (layer names).
    built: Value,
}

impl Project {
    fn image(layout: &Path, tag: &str) -> String {
        format!("oci:{}:{tag}", layout.display())
    }

    fn v1(&self) -> String {
        Project::image(&self.v1, "v1")
    }

    fn v2(&self) -> String {
        Project::image(&self.v2, "v2")
    }
}

/// The shared project, made and built once.
fn project() -> &'static Project {
    static PROJECT: OnceLock<Project> = OnceLock::new();
    PROJECT.get_or_init(|| {
        let base = debian_python_base();
        require(have("pip"), "pip (host) to download wheels");
        let dir = tempfile::tempdir().unwrap();
        let rootfs = dir.path().join("rootfs");
        base.copy_rootfs(&rootfs);
        let app = rootfs.join("app");
        std::fs::create_dir_all(app.join("src/hello")).unwrap();
        std::fs::write(app.join("pyproject.toml"), PYPROJECT).unwrap();
        std::fs::write(app.join("requirements.txt"), "six==1.17.0\n").unwrap();
        std::fs::write(app.join("src/hello/__init__.py"), "").unwrap();
        std::fs::write(app.join("src/hello/cli.py"), cli("hello")).unwrap();
        sh(&format!(
            "pip download -q --only-binary=:all: -d '{}/wheels' six==1.17.0 wheel",
            rootfs.display()
        ));
        let env = vec![
            ("PATH".to_string(), "/usr/local/bin:/usr/bin:/bin".to_string()),
            ("HOME".to_string(), "/tmp".to_string()),
        ];
        let pip = |args: &[&str]| {
            let mut all = vec!["/app/.venv/bin/pip", "install", "-q", "--no-index"];
            all.extend_from_slice(args);
            chroot(&rootfs, &all, &env);
        };
        chroot(
            &rootfs,
            &["/usr/bin/python3", "-m", "venv", "/app/.venv"],
            &env,
        );
        pip(&["--find-links", "/wheels", "-r", "/app/requirements.txt", "wheel"]);
        pip(&["--no-deps", "--no-build-isolation", "-e", "/app"]);
        let cache = dir.path().join("cache");
        let build = |layout: &Path, tag: &str| -> Value {
            let run = strata_in(
                &[
                    "build",
                    "--base",
                    &base.reference(),
                    "--cache-dir",
                    cache.to_str().unwrap(),
                    "--output",
                    &Project::image(layout, tag),
                    "--format",
                    "json",
                    "--no-progress",
                    // Beside requirements.txt: the venv made on the base is packaged.
                    "--venv",
                    ".venv",
                ],
                &[],
                Some(&app),
            );
            assert_eq!(run.code, 0, "strata build: {}", run.stderr);
            run.json()
        };
        let (v1, v2) = (dir.path().join("v1"), dir.path().join("v2"));
        let built = build(&v1, "v1");
        std::fs::write(app.join("src/hello/cli.py"), cli("hello again")).unwrap();
        build(&v2, "v2");
        Project {
            _dir: dir,
            app,
            v1,
            v2,
            built,
        }
    })
}

/// Whether some line of a table shows layer `index` with `role` (cells split at the box rules).
fn table_shows(table: &str, index: usize, role: &str) -> bool {
    table.lines().any(|line| {
        let cells: Vec<&str> = line
            .split(['│', '┆'])
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        cells.windows(2).any(|w| w == [index.to_string().as_str(), role])
    })
}

/// `strata report IMAGE --format FORMAT`, asserting success.
fn report_in(image: &str, format: &str) -> String {
    let run = strata(&["report", image, "--format", format, "--no-progress"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout
}

fn an_image_strata_builds_has_base_dependency_and_app_layers() {
    let p = project();
    let oracle = oracle_layers(&format!("'{}' v1", p.v1.display()));
    let expected = expected_roles(&oracle, &base_diff_ids());
    let report: Value = serde_json::from_str(&report_in(&p.v1(), "json")).unwrap();
    assert_eq!(roles(&report), expected);
    // The build's own layers: the base's, then deps, venv (its bin/ and pyvenv.cfg) and app.
    let names: Vec<&str> = p.built["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["deps", "venv", "app"]);
    assert_eq!(expected[expected.len() - 3..], ["dependencies", "dependencies", "app"]);
    assert!(expected[..expected.len() - 3].iter().all(|r| *r == "base"));
    assert_eq!(report["image"]["base_matched_layers"], expected.len() - 3);

    let findings = report["findings"].as_array().unwrap();
    assert!(
        !findings.iter().any(|f| f["kind"] == "dependencies"),
        "{findings:?}"
    );
    let advice = report["advice"].to_string();
    assert!(!advice.contains("into a dependency layer"), "{advice}");
    let check = strata(&["check", &p.v1(), "--no-dependencies-in-app-layers", "--no-progress"]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);

    let (table, markdown, html) = (
        report_in(&p.v1(), "table"),
        report_in(&p.v1(), "markdown"),
        report_in(&p.v1(), "html"),
    );
    for (index, role) in expected.iter().enumerate() {
        assert!(table_shows(&table, index, role), "layer {index} {role}:\n{table}");
        assert!(
            markdown.contains(&format!("\n| {index} | {role} | `")),
            "layer {index} {role}:\n{markdown}"
        );
        assert!(
            html.contains(&format!("data-layer=\"{index}\" data-role=\"{role}\"")),
            "layer {index} {role}"
        );
    }
}

fn a_code_change_diff_and_history_label_the_same_roles() {
    let p = project();
    let base = base_diff_ids();
    let oracle = oracle_layers(&format!("'{}' v2", p.v2.display()));
    let expected = expected_roles(&oracle, &base);
    let run = strata(&["diff", &p.v1(), &p.v2(), "--format", "json", "--no-progress"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let diff = run.json();
    let of = |list: &str| -> Vec<(usize, String)> {
        diff[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                let i = l["index"].as_u64().unwrap() as usize;
                assert_eq!(l["diff_id"], oracle[i].diff_id.as_str());
                (i, l["role"].as_str().unwrap().to_string())
            })
            .collect()
    };
    let (shared, added) = (of("shared_layers"), of("added_layers"));
    // A code-only change re-ships the app layer alone; every layer keeps its role.
    assert_eq!(added.iter().map(|(_, r)| r.as_str()).collect::<Vec<_>>(), ["app"]);
    for (i, role) in shared.iter().chain(&added) {
        assert_eq!(role, expected[*i], "layer {i}");
    }
    let table = strata(&["diff", &p.v1(), &p.v2(), "--no-progress"]).stdout;
    for (i, role) in shared.iter().chain(&added) {
        assert!(table_shows(&table, *i, role), "layer {i} {role}:\n{table}");
    }

    let run = strata(&["history", &p.v1(), &p.v2(), "--format", "json", "--no-progress"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let history = run.json();
    let bytes_of = |role: &str| -> u64 {
        oracle
            .iter()
            .zip(&expected)
            .filter(|(_, r)| **r == role)
            .map(|(l, _)| l.size)
            .sum()
    };
    let count_of = |role: &str| expected.iter().filter(|r| **r == role).count();
    let newest = &history["tags"][0];
    assert_eq!(newest["dependency_layers"], count_of("dependencies"));
    assert_eq!(newest["dependency_bytes"], bytes_of("dependencies"));
    assert_eq!(newest["app_layers"], count_of("app"));
    assert_eq!(newest["app_bytes"], bytes_of("app"));
    assert_eq!(history["shared_layers"], count_of("base"));
    assert_eq!(history["shared_bytes"], bytes_of("base"));
    let table = strata(&["history", &p.v1(), &p.v2(), "--no-progress"]).stdout;
    assert!(table.contains("Dependencies"), "{table}");
    let markdown = strata(&["history", &p.v1(), &p.v2(), "--format", "markdown"]).stdout;
    assert!(markdown.contains("| Dependencies | App |"), "{markdown}");
}

/// The project built by the Docker Engine two ways, saved as archives.
struct DockerBuilt {
    _dir: tempfile::TempDir,
    /// `COPY . /app`: the venv and the code in one layer.
    naive: PathBuf,
    /// A builder stage's `/app/.venv` copied into a layer of its own, then the code.
    split: PathBuf,
}

fn docker_built() -> &'static DockerBuilt {
    static BUILT: OnceLock<DockerBuilt> = OnceLock::new();
    BUILT.get_or_init(|| {
        let p = project();
        require(docker_ok(&["info"]), "a running Docker Engine");
        require(have("skopeo"), "skopeo");
        let pid = std::process::id();
        let dir = tempfile::tempdir().unwrap();
        let mut images = DockerImages::default();
        let base = format!("strata-test/roles-base:{pid}");
        images.load(&debian_python_base().reference(), &base);
        let buildkit = docker_ok(&["buildx", "version"]) as u8;
        let build = |name: &str, dockerfile: String| -> PathBuf {
            let file = dir.path().join(format!("{name}.Dockerfile"));
            std::fs::write(&file, dockerfile).unwrap();
            let tag = format!("strata-test/roles-{name}:{pid}");
            sh(&format!(
                "DOCKER_BUILDKIT={buildkit} docker build -q -f '{}' -t {tag} '{}'",
                file.display(),
                p.app.display()
            ));
            let archive = dir.path().join(format!("{name}.tar"));
            sh(&format!("docker save {tag} -o '{}'", archive.display()));
            sh(&format!("docker rmi {tag}"));
            archive
        };
        let naive = build("naive", format!("FROM {base}\nCOPY . /app\n"));
        let split = build(
            "split",
            format!(
                "FROM {base} AS builder\nCOPY .venv /app/.venv\n\n\
                 FROM {base}\nCOPY --from=builder /app/.venv /app/.venv\n\
                 COPY pyproject.toml /app/\nCOPY src /app/src\n"
            ),
        );
        drop(images);
        DockerBuilt {
            _dir: dir,
            naive,
            split,
        }
    })
}

/// `strata report ARCHIVE --base DEBIAN --format json`.
fn docker_report(archive: &Path) -> Value {
    let run = strata(&[
        "report",
        archive.to_str().unwrap(),
        "--base",
        &debian_python_base().reference(),
        "--format",
        "json",
        "--top",
        "50",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()
}

fn gate(archive: &Path) -> Run {
    strata(&[
        "check",
        archive.to_str().unwrap(),
        "--base",
        &debian_python_base().reference(),
        "--no-dependencies-in-app-layers",
    ])
}

fn a_venv_in_the_code_layer_still_fails_the_gate_with_the_advice() {
    let built = docker_built();
    let oracle = oracle_layers(&format!("'{}'", built.naive.display()));
    let expected = expected_roles(&oracle, &base_diff_ids());
    let report = docker_report(&built.naive);
    assert_eq!(roles(&report), expected);
    let top = expected.len() - 1;
    assert_eq!(expected[top], "app");
    assert!(oracle[top].files.iter().any(|f| f.starts_with("app/.venv/")));
    let dep = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "dependencies")
        .expect("a dependency finding");
    assert_eq!((dep["path"].as_str(), dep["layer"].as_u64()), (Some("/app/.venv"), Some(top as u64)));
    let packages: Vec<&str> = dep["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(packages.contains(&"six"), "{packages:?}");
    // The project itself, installed editable into the venv, is code.
    assert!(!packages.contains(&"hello"), "{packages:?}");
    assert!(
        report["advice"][0]["action"]
            .as_str()
            .unwrap()
            .starts_with("move /app/.venv into a dependency layer"),
        "{}",
        report["advice"]
    );
    let run = gate(&built.naive);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(&format!("/app/.venv in layer {top}")),
        "{}",
        run.stdout
    );
}

fn a_docker_build_copying_the_venv_into_its_own_layer_is_dependencies() {
    let built = docker_built();
    let oracle = oracle_layers(&format!("'{}'", built.split.display()));
    let expected = expected_roles(&oracle, &base_diff_ids());
    assert_eq!(expected[expected.len() - 3..], ["dependencies", "app", "app"]);
    let report = docker_report(&built.split);
    assert_eq!(roles(&report), expected);
    assert!(!report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["kind"] == "dependencies"));
    let run = gate(&built.split);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

/// The diff_ids of an image, as skopeo reads its config.
fn skopeo_diff_ids(reference: &str) -> HashSet<String> {
    let config: Value =
        serde_json::from_str(&sh(&format!("skopeo inspect --config '{reference}'"))).unwrap();
    config["rootfs"]["diff_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_string())
        .collect()
}

fn a_base_that_matches_no_layer_says_so() {
    require(have("skopeo"), "skopeo");
    let dir = tempfile::tempdir().unwrap();
    let (image_dir, other_dir) = (dir.path().join("image"), dir.path().join("other"));
    let base = tar_bytes(&[Item::File("etc/os-release", b"ID=test\n")]);
    let app = tar_bytes(&[Item::File("app/main.py", b"print(1)\n")]);
    write_layout(&image_dir, "1", &[(base, Comp::Gzip), (app, Comp::Gzip)]);
    let unrelated = tar_bytes(&[Item::File("etc/os-release", b"ID=other\n")]);
    write_layout(&other_dir, "1", &[(unrelated, Comp::Gzip)]);
    let (image, other) = (
        format!("oci:{}:1", image_dir.display()),
        format!("oci:{}:1", other_dir.display()),
    );
    assert!(skopeo_diff_ids(&image).is_disjoint(&skopeo_diff_ids(&other)));
    let run = strata(&["report", &image, "--base", &other, "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("warning") && run.stderr.contains("shares no layer"),
        "{}",
        run.stderr
    );
    let v = run.json();
    assert_eq!(v["image"]["base"], other.as_str());
    assert_eq!(v["image"]["base_matched_layers"], 0);
    assert!(roles(&v).iter().all(|r| r != "base"), "{:?}", roles(&v));
    let table = strata(&["report", &image, "--base", &other]).stdout;
    assert!(table.contains("matched none of the image's layers"), "{table}");
}

/// A tar holding `path` with `mode` (a setuid binary) and `bytes` of content.
fn tar_with_mode(path: &str, mode: u32, bytes: usize) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(mode);
    h.set_mtime(1);
    h.set_size(bytes as u64);
    b.append_data(&mut h, path, &vec![7u8; bytes][..]).unwrap();
    b.into_inner().unwrap()
}

fn costless_findings_come_after_costly_ones_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let (base_dir, image_dir) = (dir.path().join("base"), dir.path().join("image"));
    let base = tar_with_mode("usr/bin/su", 0o4755, 50_000);
    let cache: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let app = tar_bytes(&[
        Item::File("root/.cache/pip/http/a/b", &cache),
        Item::File("app/main.py", b"print(1)\n"),
    ]);
    write_layout(&base_dir, "1", &[(base.clone(), Comp::Gzip)]);
    write_layout(&image_dir, "1", &[(base, Comp::Gzip), (app, Comp::Gzip)]);
    let image = format!("oci:{}:1", image_dir.display());
    let base_ref = format!("oci:{}:1", base_dir.display());
    let report = |format: &str| {
        let run = strata(&["report", &image, "--base", &base_ref, "--format", format]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
    };
    let v: Value = serde_json::from_str(&report("json")).unwrap();
    let findings = v["findings"].as_array().unwrap();
    // An entrypoint that cannot start (the layout's `/bin/sh` is not there) leads whatever its
    // bytes; after it, what costs bytes.
    assert_eq!(findings[0]["kind"], "wont_start");
    let trailing = |f: &Value| {
        f["kind"] != "wont_start" && f["bytes"] == 0 || (f["kind"] == "permission" && v["layers"][f["layer"].as_u64().unwrap() as usize]["role"] == "base")
    };
    let rules: Vec<&str> = findings.iter().map(|f| f["rule"].as_str().unwrap()).collect();
    // The image has all three: a cache that costs bytes, the config's root user (0 B) and the
    // base's setuid su; the first is listed first although it is the least severe.
    for rule in ["pip-cache", "runs-as-root", "setuid"] {
        assert!(rules.contains(&rule), "{rules:?}");
    }
    let first_trailing = findings.iter().position(trailing).unwrap();
    assert!(
        findings[first_trailing..].iter().all(trailing),
        "costly findings after costless ones: {rules:?}"
    );
    assert!(findings[..first_trailing].iter().any(|f| f["rule"] == "pip-cache"));
    // Every format lists them in the JSON's order.
    let positions = |text: &str| -> Vec<usize> {
        ["/root/.cache/pip", "(config) User", "/usr/bin/su"]
            .iter()
            .map(|needle| text.find(needle).unwrap_or_else(|| panic!("{needle}:\n{text}")))
            .collect()
    };
    let order_in_json: HashMap<&str, usize> = findings
        .iter()
        .enumerate()
        .map(|(i, f)| (f["path"].as_str().unwrap(), i))
        .collect();
    let mut expected: Vec<&str> = vec!["/root/.cache/pip", "(config) User", "/usr/bin/su"];
    expected.sort_by_key(|p| order_in_json[p]);
    for (format, heading) in [
        ("table", "\nFindings\n"),
        ("markdown", "#### Findings"),
        ("html", "<h2>Findings</h2>"),
    ] {
        let page = report(format);
        let text = &page[page.find(heading).unwrap_or_else(|| panic!("{heading}:\n{page}"))..];
        let found = positions(text);
        let mut by_position: Vec<(usize, &str)> = found
            .into_iter()
            .zip(["/root/.cache/pip", "(config) User", "/usr/bin/su"])
            .collect();
        by_position.sort();
        let listed: Vec<&str> = by_position.into_iter().map(|(_, p)| p).collect();
        assert_eq!(listed, expected, "{format}");
    }
}

/// `strata diff --base` labels the layers of both images against the base it is given, as
/// `strata report --base` does (the oracle: report's roles by layer digest); without it (the
/// sample names no base in its annotations) no layer is base.
fn diff_takes_the_base_report_takes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample-app");
    let (old, new) = (
        format!("oci:{}:base", root.display()),
        format!("oci:{}:latest", root.display()),
    );
    let report = strata(&["report", &new, "--base", &old, "--format", "json"]).json();
    let by_digest: HashMap<String, String> = report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["digest"].as_str().unwrap().into(), l["role"].as_str().unwrap().into()))
        .collect();
    assert!(by_digest.values().any(|r| r == "base"), "{by_digest:?}");
    let diff_roles = |extra: &[&str]| -> Vec<(String, String)> {
        let mut args = vec!["diff", &old, &new, "--format", "json"];
        args.extend_from_slice(extra);
        let run = strata(&args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let v = run.json();
        ["shared_layers", "added_layers"]
            .iter()
            .flat_map(|k| v[*k].as_array().unwrap().clone())
            .map(|l| (l["digest"].as_str().unwrap().into(), l["role"].as_str().unwrap().into()))
            .collect()
    };
    let with_base = diff_roles(&["--base", &old]);
    assert_eq!(with_base.len(), by_digest.len());
    for (digest, role) in &with_base {
        assert_eq!(Some(role), by_digest.get(digest), "{digest}");
    }
    assert!(diff_roles(&[]).iter().all(|(_, r)| r != "base"));
}

crate::tests![
    diff_takes_the_base_report_takes,
    an_image_strata_builds_has_base_dependency_and_app_layers,
    a_code_change_diff_and_history_label_the_same_roles,
    a_venv_in_the_code_layer_still_fails_the_gate_with_the_advice,
    a_docker_build_copying_the_venv_into_its_own_layer_is_dependencies,
    a_base_that_matches_no_layer_says_so,
    costless_findings_come_after_costly_ones_in_every_format,
];
