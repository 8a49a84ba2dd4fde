//! The seed scenario of issue 18's acceptance, for real: a Debian + Python base, and four versions
//! of an app built by `docker build` (`COPY . /app` of the code and a ~530 MB `.venv` of real PyPI
//! wheels, fixtures/seed/build.sh) — v2 one code line, v3 one dependency added, v4 the same pins
//! reinstalled into a fresh venv. Each is optimized with `--previous` the one before. Python's
//! tarfile reads the final filesystems and the manifests, `strata diff` prices the deploys, umoci
//! unpacks the output and the base's interpreter runs the app in a chroot with `python -v`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::support::debian::{debian_python_base, unpack};
use crate::support::images::{deploy, DockerImages};
use crate::support::registry::Registry;
use crate::support::tarfile::{final_filesystem, Pyc};
use crate::support::{docker_ok, have, require, sh, strata_in};

const VERSIONS: [&str; 4] = ["v1", "v2", "v3", "v4"];

/// The scenario as fixtures/seed/build.sh wrote it (cached per machine), and its optimized chain.
struct Seed {
    /// build.sh's output: `oci/` (tags base, v1..v4), `v1.docker.tar`, `vN.expected`.
    dir: PathBuf,
    /// Holds the optimized layouts until the binary ends.
    _work: tempfile::TempDir,
    /// `oN` (tag `v`): vN optimized, with `--previous` o(N-1) from v2 on.
    optimized: Vec<PathBuf>,
    /// Each run's JSON summary.
    summaries: Vec<serde_json::Value>,
}

impl Seed {
    fn input(&self, version: &str) -> String {
        format!("oci:{}:{version}", self.dir.join("oci").display())
    }

    fn layout(&self) -> PathBuf {
        self.dir.join("oci")
    }
}

fn oci(dir: &Path) -> String {
    format!("oci:{}:v", dir.display())
}

/// Runs `strata optimize SOURCE --base BASE --output oci:OUT:v [--previous oci:PREV:v]` in
/// `cwd`; the JSON summary.
fn optimize(seed_dir: &Path, source: &str, out: &Path, previous: Option<&Path>, cwd: &Path) -> serde_json::Value {
    let base = format!("oci:{}:base", seed_dir.join("oci").display());
    let output = oci(out);
    let mut args = vec!["optimize", source, "--base", &base, "--output", &output, "--format", "json"];
    let previous = previous.map(oci);
    if let Some(previous) = &previous {
        args.extend(["--previous", previous]);
    }
    let run = strata_in(&args, &[], Some(cwd));
    assert_eq!(run.code, 0, "strata {args:?}: {}", run.stderr);
    run.json()
}

/// The scenario and its chain, made once per test binary (a skip, or a failure under CI=true,
/// when root, debootstrap, umoci, docker, skopeo or pip is missing). A failure to make them is
/// kept too: every test fails with it, and the 20 minutes of work are not tried again.
fn seed() -> &'static Seed {
    static SEED: OnceLock<Result<Seed, String>> = OnceLock::new();
    require(docker_ok(&["info"]), "a running Docker Engine");
    require(
        have("skopeo") && have("umoci") && have("flock"),
        "skopeo, umoci and flock",
    );
    let pip = Command::new("python3")
        .args(["-m", "pip", "--version"])
        .stdout(Stdio::null())
        .status();
    require(pip.is_ok_and(|s| s.success()), "the host's python3 -m pip");
    let base = debian_python_base();
    let made = SEED.get_or_init(|| {
        std::panic::catch_unwind(|| make_seed(&base.rootfs, &base.layout)).map_err(|e| {
            e.downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        })
    });
    made.as_ref()
        .unwrap_or_else(|e| panic!("the seed scenario could not be made: {e}"))
}

/// Runs fixtures/seed/build.sh on the base, then optimizes v1..v4 in turn.
fn make_seed(rootfs: &Path, layout: &Path) -> Seed {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seed/build.sh");
    let out = sh(&format!(
        "'{}' '{}' '{}'",
        script.display(),
        rootfs.display(),
        layout.display()
    ));
    let dir = PathBuf::from(out.trim());
    let work = tempfile::tempdir().unwrap();
    let mut optimized: Vec<PathBuf> = Vec::new();
    let mut summaries = Vec::new();
    for version in VERSIONS {
        let out = work.path().join(version.replace('v', "o"));
        let source = format!("oci:{}:{version}", dir.join("oci").display());
        let previous = optimized.last().map(PathBuf::as_path);
        summaries.push(optimize(&dir, &source, &out, previous, work.path()));
        optimized.push(out);
    }
    Seed {
        dir,
        _work: work,
        optimized,
        summaries,
    }
}

/// The filesystem of a [`final_filesystem`] reading, every path's fields but the mtime.
fn fs(reading: &serde_json::Value) -> &serde_json::Map<String, serde_json::Value> {
    reading["fs"].as_object().expect("fs")
}

/// Asserts two final filesystems are equal, naming the first paths that differ.
fn assert_same_fs(got: &serde_json::Value, want: &serde_json::Value, what: &str) {
    let (got, want) = (fs(got), fs(want));
    let differ: Vec<&String> = want
        .keys()
        .chain(got.keys())
        .filter(|p| got.get(*p) != want.get(*p))
        .take(5)
        .collect();
    assert!(differ.is_empty(), "{what}: {} vs {} paths, differing: {differ:?}", got.len(), want.len());
}

/// The first `n` items of a JSON array.
fn first(array: &serde_json::Value, n: usize) -> &[serde_json::Value] {
    &array.as_array().expect("an array")[..n]
}

fn seed_optimized_keeps_the_base_and_the_filesystem() {
    let seed = seed();
    let base = final_filesystem(&seed.layout(), Some("base"), Pyc::MtimeMasked);
    let n_base = base["layers"].as_array().unwrap().len();
    // The base as debootstrap + umoci made it: the same tar, whatever its compression.
    let made = final_filesystem(&debian_python_base().layout, Some(crate::support::debian::TAG), Pyc::MtimeMasked);
    assert_eq!(base["diff_ids"], made["diff_ids"], "the base loaded into Docker is the same tar");
    for (version, out) in VERSIONS.iter().zip(&seed.optimized) {
        let input = final_filesystem(&seed.layout(), Some(version), Pyc::MtimeMasked);
        let output = final_filesystem(out, Some("v"), Pyc::MtimeMasked);
        assert_eq!(first(&input["layers"], n_base), first(&base["layers"], n_base), "{version} is built on the base");
        assert_eq!(first(&output["layers"], n_base), first(&base["layers"], n_base), "{version}: the base layers are kept");
        assert_eq!(first(&output["diff_ids"], n_base), first(&base["diff_ids"], n_base));
        assert!(output["layers"].as_array().unwrap().len() > n_base + 2, "{version}: re-laid");
        assert_same_fs(&output, &input, &format!("{version}: the final filesystem"));
    }
}

/// What `/app/main.py` prints in vN as built (the script ran it in the build chroot).
fn expected(seed: &Seed, version: &str) -> String {
    std::fs::read_to_string(seed.dir.join(format!("{version}.expected"))).unwrap()
}

fn seed_optimized_images_run_with_their_bytecode_valid() {
    let seed = seed();
    for (index, version) in [(0, "v1"), (3, "v4")] {
        let dir = tempfile::tempdir().unwrap();
        let image = unpack(&seed.optimized[index], "v", dir.path());
        // The image's CMD, with the interpreter told to say how it loads each module.
        let (program, rest) = image.args.split_first().expect("a CMD");
        assert_eq!(program, "/app/.venv/bin/python", "{:?}", image.args);
        let out = Command::new("/usr/sbin/chroot")
            .arg(&image.rootfs)
            .arg(program)
            .arg("-v")
            .args(rest)
            .env_clear()
            .envs(image.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .output()
            .expect("run chroot");
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{version}: {stderr}");
        assert_eq!(stdout, expected(seed, version), "{version}: what the app prints");
        assert!(stdout.starts_with(&format!("seed app v{}", if index == 0 { 1 } else { 2 })));
        let stale: Vec<&str> = stderr.lines().filter(|l| l.contains("bytecode is stale") || l.starts_with("# created '/app/.venv/")).take(5).collect();
        assert!(stale.is_empty(), "{version}: bytecode rejected: {stale:?}");
        let sp = "/app/.venv/lib/python3.11/site-packages";
        let mut packages = vec!["numpy", "pandas", "scipy", "sklearn", "pyarrow"];
        if version == "v4" {
            packages.push("six");
        }
        for package in packages {
            let init = if package == "six" { format!("{sp}/six.py") } else { format!("{sp}/{package}/__init__.py") };
            let pyc = Path::new(&init).parent().unwrap().join("__pycache__");
            let matches = format!("{}/", pyc.display());
            assert!(
                stderr.lines().any(|l| l.starts_with(&format!("# {matches}")) && l.ends_with(&format!(" matches {init}"))),
                "{version}: no valid .pyc of {package} in `python -v`"
            );
        }
    }
}

fn seed_deploys_ship_kilobytes_instead_of_the_venv() {
    let seed = seed();
    let limits = [100_000, 2_000_000, 2_000_000];
    for (step, limit) in limits.iter().enumerate() {
        let (old, new) = (VERSIONS[step], VERSIONS[step + 1]);
        let built = deploy(&seed.input(old), &seed.input(new)).pull;
        let optimized = deploy(&oci(&seed.optimized[step]), &oci(&seed.optimized[step + 1])).pull;
        eprintln!("seed deploy {old}→{new}: as built {built} bytes, optimized {optimized} bytes");
        assert!(built > 100_000_000, "{old}→{new} as built ships the venv again: {built}");
        assert!(optimized < *limit, "{old}→{new} optimized ships {optimized} bytes (limit {limit})");
    }
}

fn seed_the_same_input_elsewhere_gives_the_same_digest() {
    let seed = seed();
    let other = tempfile::tempdir().unwrap();
    let out = other.path().join("nested/again");
    let again = optimize(&seed.dir, &seed.input("v1"), &out, None, other.path());
    assert_eq!(
        again["written"]["manifest_digest"], seed.summaries[0]["written"]["manifest_digest"],
        "another cwd and output path, the same image"
    );
}

fn seed_a_docker_save_loaded_into_the_engine_optimizes_the_same() {
    let seed = seed();
    let saved = seed.dir.join("v1.docker.tar");
    let loaded = sh(&format!("docker load -q -i '{}'", saved.display()));
    let as_saved = loaded.trim().rsplit(": ").next().unwrap().to_string();
    let tag = format!("strata-seed-it/app:{}", std::process::id());
    let mut images = DockerImages::default();
    images.0.extend([tag.clone(), as_saved.clone()]);
    sh(&format!("docker tag '{as_saved}' '{tag}' && docker rmi '{as_saved}' >/dev/null"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("engine");
    optimize(&seed.dir, &format!("docker-daemon:{tag}"), &out, None, dir.path());
    assert_same_fs(
        &final_filesystem(&out, Some("v"), Pyc::MtimeMasked),
        &final_filesystem(&seed.layout(), Some("v1"), Pyc::MtimeMasked),
        "from the engine: the final filesystem",
    );
}

/// Bytes of the deploys v1→v2→v3→v4 as built, from the layout's manifests: per deploy, the
/// sizes of the layers the older image's manifest does not list.
const SHIPPED: &str = r#"
import json, sys
d = sys.argv[1]
index = json.load(open(d + "/index.json"))
def layers(tag):
    m, = [m for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == tag]
    return json.load(open(d + "/blobs/sha256/" + m["digest"].split(":")[1]))["layers"]
tags = ["v1", "v2", "v3", "v4"]
total = 0
for old, new in zip(tags, tags[1:]):
    have = {l["digest"] for l in layers(old)}
    total += sum(l["size"] for l in {l["digest"]: l for l in layers(new)}.values() if l["digest"] not in have)
print(total)
"#;

/// The replay of issue 18: the four versions pushed as tags to a loopback registry, then
/// `strata history --optimize`; the pushed layout's manifests (read by Python; skopeo pushes them
/// unchanged) are the oracle of what the deploys shipped as built.
fn seed_replay_ships_megabytes_where_the_builds_shipped_the_venv_thrice() {
    let seed = seed();
    let registry = Registry::start(None);
    for version in VERSIONS {
        registry.push(&seed.input(version), &format!("seed:{version}"), None);
    }
    let tmp = tempfile::tempdir().unwrap();
    let base = format!("oci:{}:base", seed.layout().display());
    let repo = format!("docker://{}/seed", registry.host);
    let args = ["history", &repo, "--optimize", "--base", &base, "--format", "json"];
    let run = strata_in(&args, &[("TMPDIR", tmp.path())], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let replay = run.json();
    let built: u64 = sh(&format!("python3 -c '{SHIPPED}' '{}'", seed.layout().display())).trim().parse().unwrap();
    let (shipped, optimized) = (
        replay["shipped_bytes"].as_u64().unwrap(),
        replay["optimized_shipped_bytes"].as_u64().unwrap(),
    );
    eprintln!("seed replay: shipped {shipped} bytes as built, {optimized} optimized");
    assert_eq!(shipped, built, "as built: each deploy's new layers");
    assert!(shipped > 3 * 150_000_000, "three deploys of the ~160 MB app layer: {shipped}");
    assert!(optimized < 5_000_000, "optimized: {optimized}");
    let tags: Vec<&str> = replay["tags"].as_array().unwrap().iter().map(|t| t["tag"].as_str().unwrap()).collect();
    assert_eq!(tags, VERSIONS, "oldest first");
}

crate::tests![
    seed_replay_ships_megabytes_where_the_builds_shipped_the_venv_thrice,
    seed_optimized_keeps_the_base_and_the_filesystem,
    seed_optimized_images_run_with_their_bytecode_valid,
    seed_deploys_ship_kilobytes_instead_of_the_venv,
    seed_the_same_input_elsewhere_gives_the_same_digest,
    seed_a_docker_save_loaded_into_the_engine_optimizes_the_same,
];
