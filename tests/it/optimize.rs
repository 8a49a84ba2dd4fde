//! `strata optimize`: a naive image (base + one app layer holding a venv and the code, a
//! whiteout of a base file, a file written then deleted) re-laid above its base. Python's
//! tarfile, applying whiteouts itself, is the oracle of both final filesystems; the layouts'
//! manifests are the oracle of the layers kept and written.

use std::path::{Path, PathBuf};

use crate::support::layout::{tar_bytes_at, write_layout, Comp, Item};
use crate::support::naive::{base, base_layer, naive, naive_with, SP};
use crate::support::tarfile::{final_filesystem, Pyc};
use crate::support::{docker_ok, have, require, sh, strata, strata_in};

fn oci(dir: &Path, tag: &str) -> String {
    format!("oci:{}:{tag}", dir.display())
}

/// Optimizes `src` above `base` into `out` (tag `v`), run in `cwd`; the JSON summary.
fn optimize(src: &Path, base: &Path, out: &Path, cwd: &Path) -> serde_json::Value {
    let run = optimize_run(src, out, &["--base", &oci(base, "v")], &[], Some(cwd));
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()
}

/// Runs `strata optimize` of `src` into `out` (tag `v`) with `extra` arguments, JSON out.
fn optimize_run(
    src: &Path,
    out: &Path,
    extra: &[&str],
    env: &[(&str, &Path)],
    cwd: Option<&Path>,
) -> crate::support::Run {
    let (src, out) = (oci(src, "v"), oci(out, "v"));
    let mut args = vec!["optimize", &src, "--output", &out, "--format", "json"];
    args.extend(extra);
    strata_in(&args, env, cwd)
}

fn the_base_is_kept_and_the_filesystem_is_the_same() {
    require(have("python3"), "python3");
    let d = tempfile::tempdir().unwrap();
    let (src, b, out) = (d.path().join("src"), d.path().join("base"), d.path().join("out"));
    let naive_img = naive(&src, 100, b"print('v1')\n");
    let base_img = base(&b);
    let summary = optimize(&src, &b, &out, d.path());
    let (before, after) = (final_filesystem(&src, None, Pyc::AsIs), final_filesystem(&out, None, Pyc::AsIs));
    let man = &after["manifest"];
    assert_eq!(
        man["layers"][0]["digest"], base_img.layer_digests[0],
        "the base layer is the same blob"
    );
    assert_eq!(naive_img.layer_digests[0], base_img.layer_digests[0]);
    let mut want = before["fs"].clone();
    let mut got = after["fs"].clone();
    // mtimes are normalized, and not compared: every other field must be equal.
    assert_eq!(got, want, "the final filesystem is the same");
    assert!(want.as_object_mut().unwrap().remove("etc/old.conf").is_none());
    assert!(got.as_object_mut().unwrap().get("app/scratch.bin").is_none());
    // base + one layer per dist (three, fewer than --max-layers) + app.
    let layers = after["layer_paths"].as_array().unwrap();
    assert_eq!(layers.len(), 5, "{layers:?}");
    for deps in &layers[1..4] {
        for p in deps.as_array().unwrap() {
            let p = p.as_str().unwrap();
            assert!(
                "app/.venv/lib/python3.11/site-packages".starts_with(p)
                    || p.starts_with("app/.venv/lib/python3.11/site-packages/"),
                "a dependency layer holds only dist files: {p}"
            );
        }
    }
    assert!(layers[1]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p == "app/.venv/lib/python3.11/site-packages/alpha/__init__.py"));
    let app: Vec<&str> = layers[4].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    assert!(app.contains(&"app/src/main.py") && app.contains(&"etc/.wh.old.conf"), "{app:?}");
    assert!(!app.iter().any(|p| p.contains("site-packages/")), "{app:?}");
    assert_eq!(summary["layers_before"], 3);
    assert_eq!(summary["layers_after"], 5);
    assert_eq!(summary["layers"][0]["holds"], "python deps: alpha 1.0");
    // The config is kept but for the diff_ids and history of the new layers.
    let config = |dir: &Path| -> serde_json::Value {
        let m = final_filesystem(dir, None, Pyc::AsIs)["manifest"].clone();
        let digest = m["config"]["digest"].as_str().unwrap().split(':').nth(1).unwrap().to_string();
        serde_json::from_str(&std::fs::read_to_string(dir.join("blobs/sha256").join(digest)).unwrap()).unwrap()
    };
    let (c1, c2) = (config(&src), config(&out));
    assert_eq!(c1["config"], c2["config"]);
    assert_eq!(c1["architecture"], c2["architecture"]);
    assert_eq!(c2["rootfs"]["diff_ids"].as_array().unwrap().len(), 5);
}

fn same_input_same_digest_and_mtimes_do_not_matter() {
    let d = tempfile::tempdir().unwrap();
    let (src, b) = (d.path().join("src"), d.path().join("base"));
    naive(&src, 100, b"print('v1')\n");
    base(&b);
    let other = tempfile::tempdir().unwrap();
    let one = optimize(&src, &b, &d.path().join("one"), d.path());
    let two = optimize(&src, &b, &other.path().join("two"), other.path());
    assert_eq!(one["written"]["manifest_digest"], two["written"]["manifest_digest"]);
    let rebuilt = d.path().join("rebuilt");
    naive(&rebuilt, 999_999, b"print('v1')\n");
    let three = optimize(&rebuilt, &b, &d.path().join("three"), d.path());
    assert_eq!(one["layers"], three["layers"], "other mtimes, the same layers");
}

/// In `dir`: `v1` and `v2` (one code line apart, built at other times) and their `base`.
fn two_versions(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let (v1, v2, b) = (dir.join("v1"), dir.join("v2"), dir.join("base"));
    naive(&v1, 100, b"print('v1')\n");
    naive(&v2, 200, b"print('v2')\n");
    base(&b);
    (v1, v2, b)
}

fn a_code_change_ships_only_the_app_layer() {
    require(have("python3"), "python3");
    let d = tempfile::tempdir().unwrap();
    let (v1, v2, b) = two_versions(d.path());
    let (o1, o2) = (d.path().join("o1"), d.path().join("o2"));
    optimize(&v1, &b, &o1, d.path());
    optimize(&v2, &b, &o2, d.path());
    let (m1, m2) = (final_filesystem(&o1, None, Pyc::AsIs)["manifest"].clone(), final_filesystem(&o2, None, Pyc::AsIs)["manifest"].clone());
    let (l1, l2) = (m1["layers"].as_array().unwrap(), m2["layers"].as_array().unwrap());
    assert_eq!(l1[..4], l2[..4], "base and dependency layers are the same blobs");
    assert_ne!(l1[4]["digest"], l2[4]["digest"]);
    assert!(l2[4]["size"].as_u64().unwrap() < 100_000, "{}", l2[4]);
    // strata diff agrees: the deploy of v2 where v1 is downloads the app layer alone.
    let diff = strata(&["diff", &oci(&o1, "v"), &oci(&o2, "v"), "--format", "json"]);
    assert_eq!(diff.code, 0, "{}", diff.stderr);
    let diff = diff.json();
    assert_eq!(diff["added_layers"].as_array().unwrap().len(), 1, "{diff}");
    assert_eq!(diff["pull_bytes"], l2[4]["size"], "{diff}");
}

fn a_corrupt_source_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let (src, b, out) = (d.path().join("src"), d.path().join("base"), d.path().join("out"));
    let img = naive(&src, 100, b"print('v1')\n");
    base(&b);
    let blob = src.join("blobs/sha256").join(img.layer_digests[1].split(':').nth(1).unwrap());
    let mut bytes = std::fs::read(&blob).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0xff;
    std::fs::write(&blob, bytes).unwrap();
    let run = strata(&["optimize", &oci(&src, "v"), "--base", &oci(&b, "v"), "--output", &oci(&out, "v")]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("layer 1"), "{}", run.stderr);
    assert!(!out.join("index.json").exists(), "nothing was written at DEST");
    let unwritable = strata(&[
        "optimize",
        &oci(&b, "v"),
        "--output",
        "oci:/proc/strata-cannot-write:v",
    ]);
    assert_ne!(unwritable.code, 0);
    assert!(unwritable.stderr.starts_with("strata: error:"), "{}", unwritable.stderr);
}

/// Appends an entry owned by 1000:1001 with mtime 7.
fn owned(b: &mut tar::Builder<Vec<u8>>, path: &str, kind: tar::EntryType, mode: u32, link: Option<&str>, data: &[u8]) {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(1000);
    h.set_gid(1001);
    h.set_mtime(7);
    h.set_size(data.len() as u64);
    match link {
        Some(target) => b.append_link(&mut h, path, target).unwrap(),
        None => b.append_data(&mut h, path, data).unwrap(),
    }
}

/// An app layer with owners, modes, a symlink, a hard link and an xattr.
fn owned_layer() -> Vec<u8> {
    use tar::EntryType::{Directory, Link, Regular, Symlink};
    let mut b = tar::Builder::new(Vec::new());
    owned(&mut b, "app/", Directory, 0o750, None, b"");
    owned(&mut b, "app/src/", Directory, 0o700, None, b"");
    owned(&mut b, "app/src/run.sh", Regular, 0o700, None, b"#!/bin/sh\necho hi\n");
    owned(&mut b, "app/src/again.sh", Link, 0o700, Some("app/src/run.sh"), b"");
    owned(&mut b, "app/current", Symlink, 0o777, Some("src/run.sh"), b"");
    b.append_pax_extensions([("SCHILY.xattr.user.origin", b"test".as_slice())])
        .unwrap();
    owned(&mut b, "app/tagged.txt", Regular, 0o640, None, b"tagged\n");
    b.into_inner().unwrap()
}

fn owners_modes_links_and_xattrs_are_kept() {
    require(have("python3"), "python3");
    let d = tempfile::tempdir().unwrap();
    let (src, b, out) = (d.path().join("src"), d.path().join("base"), d.path().join("out"));
    write_layout(&src, "v", &[(base_layer(), Comp::Gzip), (owned_layer(), Comp::Gzip)]);
    base(&b);
    optimize(&src, &b, &out, d.path());
    let (before, after) = (final_filesystem(&src, None, Pyc::AsIs), final_filesystem(&out, None, Pyc::AsIs));
    assert_eq!(after["fs"], before["fs"], "owners, modes, links and xattrs are kept");
    assert_eq!(after["fs"]["app/src/run.sh"][2], 1000);
    assert_eq!(after["fs"]["app/tagged.txt"][7]["SCHILY.xattr.user.origin"], "test");
    assert_eq!(after["links"][1], 1, "the hard link stays a hard link");
}

/// A naive image as a team builds it: `docker import` of a base, `COPY . /app` of a context
/// holding the `.venv` and the code, `docker save`; optimized from the archive.
fn a_docker_built_image_is_optimized_from_its_save() {
    require(docker_ok(&["info"]), "a running Docker Engine");
    require(have("skopeo"), "skopeo");
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let sp = p.join("ctx/.venv/lib/python3.11/site-packages");
    std::fs::create_dir_all(sp.join("alpha")).unwrap();
    std::fs::create_dir_all(sp.join("alpha-1.0.dist-info")).unwrap();
    std::fs::create_dir_all(p.join("ctx/src")).unwrap();
    std::fs::create_dir_all(p.join("root/etc")).unwrap();
    std::fs::write(p.join("root/etc/os-release"), "ID=test\n").unwrap();
    std::fs::write(sp.join("alpha/__init__.py"), crate::support::layout::noise(100_000, 9)).unwrap();
    std::fs::write(sp.join("alpha-1.0.dist-info/RECORD"), "alpha/__init__.py,,\n").unwrap();
    std::fs::write(p.join("ctx/src/main.py"), "print(1)\n").unwrap();
    let tag = format!("strata-optimize-it-{}", std::process::id());
    std::fs::write(
        p.join("ctx/Dockerfile"),
        format!("FROM {tag}-base:t\nCOPY . /app\nCMD [\"python3\", \"/app/src/main.py\"]\n"),
    )
    .unwrap();
    let dir = p.display();
    sh(&format!(
        "tar -C {dir}/root -c . | docker import - {tag}-base:t >/dev/null && \
         DOCKER_BUILDKIT=0 docker build -q -t {tag}-app:t {dir}/ctx >/dev/null && \
         docker save {tag}-base:t -o {dir}/base.tar && docker save {tag}-app:t -o {dir}/app.tar"
    ));
    let mut images = crate::support::images::DockerImages::default();
    images.0.extend([format!("{tag}-app:t"), format!("{tag}-base:t"), format!("{tag}-opt:t")]);
    let run = strata(&[
        "optimize",
        &format!("docker-archive:{dir}/app.tar"),
        "--base",
        &format!("docker-archive:{dir}/base.tar"),
        "--output",
        &oci(&p.join("out"), "v"),
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // skopeo, not strata, turns the save into a layout the oracle reads.
    sh(&format!("skopeo copy -q docker-archive:{dir}/app.tar oci:{dir}/in:v"));
    let (before, after) = (final_filesystem(&p.join("in"), None, Pyc::AsIs), final_filesystem(&p.join("out"), None, Pyc::AsIs));
    assert_eq!(after["fs"], before["fs"], "the same final filesystem");
    assert_eq!(after["layers"].as_array().unwrap().len(), 3, "base, alpha, app");
    let config = |r: String| sh(&format!("skopeo inspect --config {r}"));
    let (c1, c2): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&config(format!("oci:{dir}/in:v"))).unwrap(),
        serde_json::from_str(&config(format!("oci:{dir}/out:v"))).unwrap(),
    );
    assert_eq!(c1["config"], c2["config"], "entrypoint, cmd, env, … kept");
    // skopeo recompresses the save's plain tars, so the base is compared by its tar's digest.
    assert_eq!(
        c1["rootfs"]["diff_ids"][0], c2["rootfs"]["diff_ids"][0],
        "the base layer is the same tar"
    );
    // From the engine and back into it: the image `docker save` then reads is the same.
    let run = strata(&[
        "optimize",
        &format!("docker-daemon:{tag}-app:t"),
        "--base",
        &format!("docker-daemon:{tag}-base:t"),
        "--output",
        &format!("docker-daemon:{tag}-opt:t"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    sh(&format!(
        "docker save {tag}-opt:t -o {dir}/opt.tar && skopeo copy -q docker-archive:{dir}/opt.tar oci:{dir}/engine:v"
    ));
    let engine = final_filesystem(&p.join("engine"), None, Pyc::AsIs);
    assert_eq!(engine["fs"], before["fs"], "the same final filesystem through the engine");
    assert_eq!(engine["layers"].as_array().unwrap().len(), 3, "base, alpha, app");
}

fn past_max_layers_the_smallest_packages_share_a_layer() {
    require(have("python3"), "python3");
    require(have("skopeo"), "skopeo");
    let d = tempfile::tempdir().unwrap();
    let (src, b, out) = (d.path().join("src"), d.path().join("base"), d.path().join("out"));
    naive(&src, 100, b"print('v1')\n");
    base(&b);
    let run = optimize_run(&src, &out, &["--base", &oci(&b, "v"), "--max-layers", "3"], &[], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let holds: Vec<String> = run.json()["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["holds"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        holds,
        ["python deps: alpha 1.0", "python deps: beta 2.5, gamma 0.3", "app"],
        "the largest alone, the rest together, the code last"
    );
    assert_eq!(final_filesystem(&out, None, Pyc::AsIs)["fs"], final_filesystem(&src, None, Pyc::AsIs)["fs"]);
    let history = sh(&format!("skopeo inspect --config oci:{}:v", out.display()));
    assert!(history.contains("strata optimize: python deps: beta 2.5, gamma 0.3"), "{history}");
}


/// Makes `pkg` in `argv[1]` with the host's python3, every source at mtime `argv[2]`:
/// `__init__.py` with the timestamp pyc compiled for it, `stale.py` whose pyc was compiled
/// when its mtime was another, `hashed.py` with a checked-hash pyc. Prints the cache tag.
const COMPILE: &str = r#"
import os, py_compile, sys, importlib.util as u
d, at = sys.argv[1], int(sys.argv[2])
M = py_compile.PycInvalidationMode
os.makedirs(d + "/pkg")
def make(name, text, mode, compiled_at):
    py = d + "/pkg/" + name
    open(py, "w").write(text)
    os.utime(py, (compiled_at, compiled_at))
    py_compile.compile(py, cfile=u.cache_from_source(py), invalidation_mode=mode, doraise=True)
    os.utime(py, (at, at))
make("__init__.py", "from . import hashed\nVALUE = 42\n", M.TIMESTAMP, at)
make("stale.py", "X = 1\n", M.TIMESTAMP, at - 100)
make("hashed.py", "Y = 2\n", M.CHECKED_HASH, at)
print(sys.implementation.cache_tag)
"#;

/// Extracts the layers of the layout image at `argv[1]` into `argv[2]` (mtimes kept, as a
/// runtime's unpack does; the image has no whiteouts).
const UNPACK: &str = r#"
import json, sys, tarfile
d, dest = sys.argv[1], sys.argv[2]
idx = json.load(open(d + "/index.json"))
blob = lambda dg: d + "/blobs/sha256/" + dg.split(":")[1]
for l in json.load(open(blob(idx["manifests"][-1]["digest"])))["layers"]:
    tarfile.open(blob(l["digest"]), "r:*").extractall(dest)
"#;

fn python(script: &str, args: &[&Path]) -> String {
    let args: Vec<String> = args.iter().map(|a| a.display().to_string()).collect();
    sh(&format!("python3 -c '{}' {}", script.replace('\'', "'\\''"), args.join(" ")))
}

/// What `python3 -v` says importing `pkg` and `pkg.stale` from `root/app`, bytecode never
/// written.
fn import_verbose(root: &Path) -> String {
    let out = std::process::Command::new("python3")
        .args(["-v", "-c", "import pkg, pkg.stale; assert pkg.VALUE == 42"])
        .env("PYTHONPATH", root.join("app"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("PYTHONHOME")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    stderr
}

fn pyc_headers_follow_their_sources_normalized_mtimes() {
    require(have("python3"), "python3");
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let at = 1_700_000_000u64;
    let tag = python(COMPILE, &[&p.join("py"), Path::new(&at.to_string())]);
    let tag = tag.trim();
    let read = |rel: &str| std::fs::read(p.join("py/pkg").join(rel)).unwrap();
    let names = ["__init__", "stale", "hashed"];
    let files: Vec<(String, Vec<u8>)> = names
        .iter()
        .flat_map(|n| {
            let pyc = format!("__pycache__/{n}.{tag}.pyc");
            [(format!("app/pkg/{n}.py"), read(&format!("{n}.py"))), (format!("app/pkg/{pyc}"), read(&pyc))]
        })
        .collect();
    let mut items = vec![Item::Dir("app"), Item::Dir("app/pkg"), Item::Dir("app/pkg/__pycache__")];
    items.extend(files.iter().map(|(path, data)| Item::File(path, data)));
    let (src, b, out) = (p.join("src"), p.join("base"), p.join("out"));
    write_layout(&src, "v", &[(base_layer(), Comp::Gzip), (tar_bytes_at(&items, at), Comp::Gzip)]);
    base(&b);
    let summary = optimize(&src, &b, &out, p);
    assert_eq!(summary["pyc_headers_rewritten"], 1, "{summary}");

    // The oracle: every path as it was, but for the one rewritten pyc's content digest.
    let init_pyc = format!("app/pkg/__pycache__/__init__.{tag}.pyc");
    let (before, after) = (final_filesystem(&src, None, Pyc::AsIs)["fs"].clone(), final_filesystem(&out, None, Pyc::AsIs)["fs"].clone());
    let (mut want, mut got) = (before.clone(), after.clone());
    assert_ne!(want[&init_pyc][5], got[&init_pyc][5], "the valid pyc is rewritten");
    want[&init_pyc][5] = serde_json::Value::Null;
    got[&init_pyc][5] = serde_json::Value::Null;
    assert_eq!(got, want, "the same filesystem but for the pyc's content");
    for n in ["stale", "hashed"] {
        let pyc = format!("app/pkg/__pycache__/{n}.{tag}.pyc");
        assert_eq!(after[&pyc], before[&pyc], "{pyc} is left as it was");
    }

    // Unpacked, the output's pyc differs from the input's in its mtime field alone, which is
    // the mtime its source was written with; the interpreter uses it.
    let (in_root, out_root) = (p.join("in-root"), p.join("out-root"));
    python(UNPACK, &[&src, &in_root]);
    python(UNPACK, &[&out, &out_root]);
    let (old, new) = (std::fs::read(in_root.join(&init_pyc)).unwrap(), std::fs::read(out_root.join(&init_pyc)).unwrap());
    assert_eq!((old.len(), &old[..8], &old[12..]), (new.len(), &new[..8], &new[12..]));
    let source = out_root.join("app/pkg/__init__.py");
    let written = std::fs::metadata(&source).unwrap().modified().unwrap();
    let secs = written.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert_ne!(secs, at, "the source's mtime was normalized");
    assert_eq!(new[8..12], (secs as u32).to_le_bytes());
    let log = import_verbose(&out_root);
    let pyc = out_root.join(&init_pyc);
    assert!(log.contains(&format!("# {} matches {}", pyc.display(), source.display())), "{log}");
    assert!(log.contains(&format!("# code object from '{}'", pyc.display())), "{log}");
    assert!(!log.contains("bytecode is stale for 'pkg'"), "{log}");
    assert!(log.contains("bytecode is stale for 'pkg.stale'"), "the stale pyc stays stale: {log}");
    let hashed = out_root.join(format!("app/pkg/__pycache__/hashed.{tag}.pyc"));
    assert!(log.contains(&format!("# code object from '{}'", hashed.display())), "{log}");

    // The input's pyc was valid for its source, and with the normalized mtime but the old
    // header the interpreter would recompile it.
    let log = import_verbose(&in_root);
    assert!(log.contains(&format!("# code object from '{}'", in_root.join(&init_pyc).display())), "{log}");
    let input_source = std::fs::File::options().write(true).open(in_root.join("app/pkg/__init__.py")).unwrap();
    input_source.set_modified(written).unwrap();
    let log = import_verbose(&in_root);
    assert!(log.contains("bytecode is stale for 'pkg'"), "{log}");

    // Over this output as --previous, with another SOURCE_DATE_EPOCH, the plan's normalized
    // mtime is kept: the layer holding the rewritten pyc is the previous one's blob.
    let again = p.join("again");
    let prev = oci(&out, "v");
    let args = ["--base", &oci(&b, "v"), "--previous", &prev];
    let run = optimize_run(&src, &again, &args, &epoch("5000"), None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["pyc_headers_rewritten"], 1);
    assert_eq!(layer_digests(&again), layer_digests(&out), "every layer reused");

    // Mtimes kept: nothing to rewrite, every byte as it was.
    let kept = p.join("kept");
    let run = optimize_run(&src, &kept, &["--base", &oci(&b, "v"), "--keep-mtimes"], &[], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["pyc_headers_rewritten"], 0);
    assert_eq!(final_filesystem(&kept, None, Pyc::AsIs)["fs"], before);
}

/// The digests of the layers of the layout image at `dir`, from its manifest (read by Python).
fn layer_digests(dir: &Path) -> Vec<String> {
    final_filesystem(dir, None, Pyc::AsIs)["manifest"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_string())
        .collect()
}

/// `SOURCE_DATE_EPOCH=epoch`, as `strata_in` takes it.
fn epoch(seconds: &str) -> [(&str, &Path); 1] {
    [("SOURCE_DATE_EPOCH", Path::new(seconds))]
}

fn with_previous_the_unchanged_layers_are_its_blobs() {
    require(have("python3"), "python3");
    let d = tempfile::tempdir().unwrap();
    let (v1, v2, b) = two_versions(d.path());
    let (o1, o2, fresh) = (d.path().join("o1"), d.path().join("o2"), d.path().join("fresh"));
    let base_arg = ["--base".to_string(), oci(&b, "v")];
    let base_arg: Vec<&str> = base_arg.iter().map(String::as_str).collect();
    // Each CI build has its own SOURCE_DATE_EPOCH: written afresh, no layer above the base is
    // the same blob (the control).
    let run = optimize_run(&v1, &o1, &base_arg, &epoch("1000"), None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = optimize_run(&v2, &fresh, &base_arg, &epoch("2000"), None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (l1, lf) = (layer_digests(&o1), layer_digests(&fresh));
    assert!(l1[1..].iter().all(|l| !lf.contains(l)), "{l1:?} {lf:?}");
    // With --previous (and no --base: the base is the previous plan's), the dependency layers
    // are o1's blobs, the app layer alone is new.
    let previous = ["--previous".to_string(), oci(&o1, "v")];
    let previous: Vec<&str> = previous.iter().map(String::as_str).collect();
    let run = optimize_run(&v2, &o2, &previous, &epoch("2000"), None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let summary = run.json();
    assert_eq!(summary["warnings"], serde_json::json!([]), "{summary}");
    let (m1, m2) = (final_filesystem(&o1, None, Pyc::AsIs)["manifest"].clone(), final_filesystem(&o2, None, Pyc::AsIs)["manifest"].clone());
    let (m1, m2) = (m1["layers"].as_array().unwrap(), m2["layers"].as_array().unwrap());
    assert_eq!(m1.len(), 5);
    assert_eq!(m1[..4], m2[..4], "base and dependency descriptors are o1's");
    assert_ne!(m1[4]["digest"], m2[4]["digest"]);
    let reused: Vec<bool> = summary["layers"].as_array().unwrap().iter().map(|l| l["reused"].as_bool().unwrap()).collect();
    assert_eq!(reused, [true, true, true, false]);
    assert_eq!(summary["shipped_from_previous"], m2[4]["size"], "{summary}");
    assert_eq!(final_filesystem(&o2, None, Pyc::AsIs)["fs"], final_filesystem(&v2, None, Pyc::AsIs)["fs"], "the same final filesystem");
    // strata diff agrees: the deploy of o2 where o1 is downloads the app layer alone.
    let diff = strata(&["diff", &oci(&o1, "v"), &oci(&o2, "v"), "--format", "json"]);
    assert_eq!(diff.code, 0, "{}", diff.stderr);
    let diff = diff.json();
    assert_eq!(diff["added_layers"].as_array().unwrap().len(), 1, "{diff}");
    assert_eq!(diff["pull_bytes"], m2[4]["size"], "{diff}");
    // The plan recorded: versioned, packages without versions, a key per layer.
    let plan: serde_json::Value = serde_json::from_str(
        final_filesystem(&o2, None, Pyc::AsIs)["manifest"]["annotations"]["dev.strata.optimize.plan"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(plan["version"], 1);
    assert_eq!(plan["base_layers"], 1);
    assert_eq!(plan["layers"][0]["packages"], serde_json::json!([["python", "alpha"]]));
    assert_eq!(plan["layers"][3]["role"], "app");
    // Deterministic: the same input and previous give the same image elsewhere.
    let other = tempfile::tempdir().unwrap();
    let again = optimize_run(&v2, &other.path().join("o2"), &previous, &epoch("2000"), Some(other.path()));
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.json()["written"]["manifest_digest"], summary["written"]["manifest_digest"]);
    let table = strata_in(
        &["optimize", &oci(&v2, "v"), "--previous", &oci(&o1, "v"), "--output", &oci(&d.path().join("t"), "v")],
        &epoch("2000"),
        None,
    );
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(table.stdout.contains("reused") && table.stdout.contains("3 of 4 new layers reused"), "{}", table.stdout);
}

fn a_new_package_moves_no_other() {
    require(have("python3"), "python3");
    let d = tempfile::tempdir().unwrap();
    let (v1, v3, b) = (d.path().join("v1"), d.path().join("v3"), d.path().join("base"));
    naive(&v1, 100, b"print('v1')\n");
    // delta is bigger than gamma: planned afresh, it would sit below gamma and move it.
    let delta = crate::support::layout::noise(10_000, 4);
    let extra: [(&str, &[u8]); 2] = [("delta.py", &delta), ("delta-0.1.dist-info/RECORD", b"delta.py,,\n")];
    naive_with(&v3, 300, b"print('v1')\n", &extra);
    base(&b);
    for max in ["8", "4", "3"] {
        let (o1, o3) = (d.path().join(format!("o1-{max}")), d.path().join(format!("o3-{max}")));
        let base_arg = oci(&b, "v");
        let run = optimize_run(&v1, &o1, &["--base", &base_arg, "--max-layers", max], &epoch("1000"), None);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let previous = oci(&o1, "v");
        let args = ["--previous", &previous, "--max-layers", max];
        let run = optimize_run(&v3, &o3, &args, &epoch("2000"), None);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let summary = run.json();
        let holds: Vec<&str> = summary["layers"].as_array().unwrap().iter().map(|l| l["holds"].as_str().unwrap()).collect();
        let (l1, l3) = (layer_digests(&o1), layer_digests(&o3));
        if max == "8" {
            // Room for a layer: delta gets its own, just below the app layer.
            assert_eq!(
                holds,
                ["python deps: alpha 1.0", "python deps: beta 2.5", "python deps: gamma 0.3", "python deps: delta 0.1", "app"]
            );
            assert_eq!(l1[..4], l3[..4], "every package layer is o1's blob");
        } else if max == "4" {
            // Three packages for three layers: o1 left one free (beta and gamma share), and
            // delta gets it.
            assert_eq!(holds, ["python deps: alpha 1.0", "python deps: beta 2.5, gamma 0.3", "python deps: delta 0.1", "app"]);
            assert_eq!(l1[..3], l3[..3], "every package layer is o1's blob");
        } else {
            // Two layers, none left free: into the last dependency layer, alpha's untouched.
            assert_eq!(holds, ["python deps: alpha 1.0", "python deps: beta 2.5, delta 0.1, gamma 0.3", "app"]);
            assert_eq!(l1[..2], l3[..2], "alpha's layer is o1's blob");
            assert_ne!(l1[2], l3[2]);
        }
        let (got, want) = (final_filesystem(&o3, None, Pyc::AsIs), final_filesystem(&v3, None, Pyc::AsIs));
        assert_eq!(got["fs"], want["fs"], "the same final filesystem");
        let delta_layer = &got["layer_paths"][holds.len() - 1];
        assert!(
            delta_layer.as_array().unwrap().iter().any(|p| p.as_str().unwrap() == format!("{SP}/delta.py")),
            "{delta_layer}"
        );
    }
}

/// Optimizes `src` above `base` into `out` with `--previous` the layout image at `previous`,
/// whose plan is ignored: `warning` in stderr and the JSON's warnings, the filesystem still the
/// same. The JSON summary.
fn with_ignored_previous(src: &Path, base: &Path, previous: &Path, out: &Path, warning: &str) -> serde_json::Value {
    let (base, previous) = (oci(base, "v"), oci(previous, "v"));
    let run = optimize_run(src, out, &["--base", &base, "--previous", &previous], &[], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains(warning), "{}", run.stderr);
    let summary = run.json();
    let warnings = summary["warnings"].as_array().unwrap();
    assert!(warnings.iter().any(|w| w.as_str().unwrap().contains(warning)), "{summary}");
    assert_eq!(final_filesystem(out, None, Pyc::AsIs)["fs"], final_filesystem(src, None, Pyc::AsIs)["fs"], "the same final filesystem");
    summary
}

fn a_previous_that_is_not_optimized_is_ignored_and_said_so() {
    require(have("python3"), "python3");
    let d = tempfile::tempdir().unwrap();
    let (v1, v2, b) = two_versions(d.path());
    let out = d.path().join("out");
    let warning = "no dev.strata.optimize.plan annotation): its plan is ignored";
    let summary = with_ignored_previous(&v2, &b, &v1, &out, warning);
    assert!(summary["layers"].as_array().unwrap().iter().all(|l| l["reused"] == false));
    assert_eq!(final_filesystem(&out, None, Pyc::AsIs)["layers"].as_array().unwrap().len(), 5);
    let base_arg = oci(&b, "v");
    // One that cannot be opened is an error, and nothing is written.
    let missing = oci(&d.path().join("nowhere"), "v");
    let gone = d.path().join("gone");
    let run = optimize_run(&v2, &gone, &["--base", &base_arg, "--previous", &missing], &[], None);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.starts_with("strata: error: --previous: "), "{}", run.stderr);
    assert!(!gone.exists());
}

fn a_previous_over_another_base_is_ignored_and_said_so() {
    require(have("python3"), "python3");
    let d = tempfile::tempdir().unwrap();
    let (v1, v2, b) = two_versions(d.path());
    // o1 was optimized with no base: every layer re-laid, its plan over 0 base layers.
    let o1 = d.path().join("o1");
    let run = optimize_run(&v1, &o1, &[], &[], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let warning = "it was optimized over other base layers than the 1 kept now: its plan is ignored";
    let summary = with_ignored_previous(&v2, &b, &o1, &d.path().join("out"), warning);
    assert_eq!(summary["base_layers"], 1);
}

fn a_dest_that_cannot_be_written_tags_nothing() {
    let d = tempfile::tempdir().unwrap();
    let (v1, b) = (d.path().join("v1"), d.path().join("base"));
    naive(&v1, 100, b"print('v1')\n");
    base(&b);
    let base_arg = oci(&b, "v");
    // A file where the layout's directory should be.
    let file = d.path().join("file");
    std::fs::write(&file, b"not a directory").unwrap();
    let run = optimize_run(&v1, &file.join("out"), &["--base", &base_arg], &[], None);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.starts_with("strata: error:") && run.stderr.trim_end().lines().count() == 1, "{}", run.stderr);
    assert_eq!(std::fs::read(&file).unwrap(), b"not a directory");
    // A layout whose blob store is a file: the write fails and its index gains no tag.
    let out = d.path().join("out");
    optimize(&v1, &b, &out, d.path());
    let index = std::fs::read(out.join("index.json")).unwrap();
    std::fs::remove_dir_all(out.join("blobs/sha256")).unwrap();
    std::fs::write(out.join("blobs/sha256"), b"").unwrap();
    let args = ["optimize", &oci(&v1, "v"), "--base", &base_arg, "--output", &format!("oci:{}:other", out.display())];
    let run = strata(&args);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.starts_with("strata: error:") && run.stderr.trim_end().lines().count() == 1, "{}", run.stderr);
    assert_eq!(std::fs::read(out.join("index.json")).unwrap(), index, "no tag was added");
}

/// The CI use: the live image in a registry, the next one pushed beside it in another
/// repository; the registry mounts the base and dependency layers from the live image's
/// repository, and only the app layer and config are uploaded.
fn a_deploy_to_the_registry_mounts_the_unchanged_layers() {
    require(have("python3"), "python3");
    require(have("skopeo"), "skopeo");
    let registry = crate::support::registry::Registry::start(None);
    let d = tempfile::tempdir().unwrap();
    let (v1, v2, b) = two_versions(d.path());
    let o1 = d.path().join("o1");
    optimize(&v1, &b, &o1, d.path());
    let live = format!("docker://{}", registry.push(&oci(&o1, "v"), "team/app:live", None));
    let next = format!("docker://{}/team/app-next:v2", registry.host);
    let run = strata(&["optimize", &oci(&v2, "v"), "--previous", &live, "--output", &next, "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let written = run.json()["written"].clone();
    assert_eq!((written["mounted"].as_u64(), written["uploaded"].as_u64()), (Some(4), Some(2)), "{written}");
    let log = registry.log();
    let mounts: Vec<&str> = log.lines().filter(|l| l.contains("POST /v2/team/app-next/blobs/uploads/?mount=") && l.contains(" 201 ")).collect();
    assert_eq!(mounts.len(), 4, "{log}");
    let raw = sh(&format!("skopeo inspect --raw --tls-verify=false {next}"));
    let pushed: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let pushed: Vec<&str> = pushed["layers"].as_array().unwrap().iter().map(|l| l["digest"].as_str().unwrap()).collect();
    assert_eq!(pushed[..4], layer_digests(&o1)[..4], "base and dependency layers are the live image's");
}

/// The Debian packages the OS-package test installs above the base: jq with its two libraries;
/// ed, which ships `/bin/ed` (on merged-usr bookworm, `usr/bin/ed`); vim-tiny and vim-runtime,
/// which both ship vim's `help.txt` and `tags`, vim-runtime diverting vim-tiny's (its preinst's
/// `dpkg-divert --package vim-runtime`) to `help.txt.vim-tiny`.
const DEBS: &str = "jq libjq1 libonig5 ed vim-common vim-tiny vim-runtime";

/// Every non-directory path `dpkg -L` lists for [`DEBS`] in the unpacked `rootfs`, with its
/// directories resolved in that rootfs (`/bin/ed` → `usr/bin/ed`), as Python's realpath does.
/// ([`DEBS`] ship no symbolic link to a directory, so every path that is one is skipped.) A path
/// another package or the admin diverted is where dpkg says it was diverted to.
const DPKG_FILES: &str = r#"
import json, os, subprocess, sys
root = sys.argv[1]
listed = subprocess.run(["dpkg-query", "--admindir=" + root + "/var/lib/dpkg", "-L"] + sys.argv[2:],
                        check=True, capture_output=True, text=True).stdout.split("\n")
paths = []
for line in listed:
    if line.startswith("/"):
        paths.append(line)
    elif line.startswith(("diverted by ", "locally diverted to: ")):
        paths[-1] = line.split(" to: ", 1)[1]
files = set()
for p in paths:
    full = root + p
    # Directories, and the base's links to them (`/bin` → usr/bin): these packages ship no link
    # to a directory.
    if os.path.isdir(full): continue
    parent = os.path.relpath(os.path.realpath(os.path.dirname(full)), os.path.realpath(root))
    files.add(os.path.join(parent, os.path.basename(p)).removeprefix("./"))
print(json.dumps(sorted(files)))
"#;

/// The paths of layer `n` of an image's [`final_filesystem`] that are not directories.
fn files_of(image: &serde_json::Value, n: usize) -> std::collections::BTreeSet<String> {
    image["layer_paths"][n]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .filter(|p| !p.is_empty() && image["fs"][p.as_str()][0] != "5")
        .collect()
}

/// A naive image as a team builds it: the Debian base, then one layer (made by umoci from the
/// rootfs, as a build's `RUN` would) holding real packages installed by the base's own dpkg,
/// a venv with one dist, and the code. Optimized, the packages and dpkg's database are one
/// layer right above the base, and the binaries run from the unpacked result.
fn deb_packages_installed_above_the_base_are_the_lowest_layer() {
    require(have("python3"), "python3");
    require(have("apt-get") && have("dpkg-query"), "apt-get and dpkg-query");
    let base = crate::support::debian::debian_python_base();
    let d = tempfile::tempdir().unwrap();
    let (p, tag) = (d.path().display(), crate::support::debian::TAG);
    let sp = "app/.venv/lib/python3.11/site-packages";
    sh(&format!(
        "set -e; cp -a '{}' {p}/src; umoci unpack --image {p}/src:{tag} {p}/bundle
         r={p}/bundle/rootfs; mkdir -p $r/tmp/debs $r/{sp}/alpha $r/{sp}/alpha-1.0.dist-info
         cd $r/tmp/debs && apt-get download -q {DEBS} >/dev/null
         chroot $r dpkg-divert --local --divert /usr/share/man/man1/ed.distrib.1.gz --add /usr/share/man/man1/ed.1.gz >/dev/null
         chroot $r sh -c 'dpkg -i /tmp/debs/*.deb' >/dev/null; rm -r $r/tmp/debs
         echo 'x = 1' > $r/{sp}/alpha/__init__.py; echo 'alpha/__init__.py,,' > $r/{sp}/alpha-1.0.dist-info/RECORD
         echo 'print(1)' > $r/app/main.py
         umoci repack --image {p}/src:{tag} {p}/bundle; umoci gc --layout {p}/src",
        base.layout.display()
    ));
    let run = |out: &str, extra: &[&str]| -> serde_json::Value {
        let (src, out) = (format!("oci:{p}/src:{tag}"), format!("oci:{p}/{out}:v"));
        let base = base.reference();
        let mut args = vec!["optimize", &src, "--base", &base, "--output", &out];
        args.extend(extra);
        args.extend(["--format", "json"]);
        let run = strata(&args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.json()
    };
    let summary = run("out", &[]);
    let (before, after) = (final_filesystem(&d.path().join("src"), None, Pyc::AsIs), final_filesystem(&d.path().join("out"), None, Pyc::AsIs));
    assert_eq!(after["fs"], before["fs"], "the final filesystem is the same");
    let holds: Vec<&str> = summary["layers"].as_array().unwrap().iter().map(|l| l["holds"].as_str().unwrap()).collect();
    // dpkg-query reads the versions from the database of the unpacked result.
    sh(&format!("umoci unpack --image {p}/out:v {p}/unpacked"));
    let rootfs = d.path().join("unpacked/rootfs");
    let versions = sh(&format!(
        "dpkg-query --admindir={}/var/lib/dpkg -W -f '${{Package}} ${{Version}} ${{db:Status-Abbrev}}\\n' {DEBS} | sort",
        rootfs.display()
    ));
    let mut want = Vec::new();
    for line in versions.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[2], "ii", "installed in the result's database: {line}");
        want.push(format!("{} {}", fields[0], fields[1]));
    }
    assert_eq!(want.len(), 7, "{versions}");
    assert_eq!(holds, [format!("deb packages: {}", want.join(", ")).as_str(), "python deps: alpha 1.0", "app"]);
    // The OS layer, right above the base: exactly the packages' files, plus dpkg's (and its
    // install's) state; none of either anywhere else.
    let listed: std::collections::BTreeSet<String> = serde_json::from_str::<Vec<String>>(&sh(&format!(
        "python3 -c '{}' {} {DEBS}",
        DPKG_FILES.replace('\'', "'\\''"),
        rootfs.display()
    )))
    .unwrap()
    .into_iter()
    .collect();
    assert!(listed.contains("usr/bin/ed") && listed.contains("usr/bin/jq"), "{listed:?}");
    // The diversions are real: vim-runtime's of vim-tiny's help, and the local one of ed's page.
    let diversions = sh(&format!("dpkg-divert --admindir {}/var/lib/dpkg --list", rootfs.display()));
    let help = "usr/share/vim/vim90/doc/help.txt";
    for line in [
        format!("diversion of /{help} to /{help}.vim-tiny by vim-runtime"),
        "local diversion of /usr/share/man/man1/ed.1.gz to /usr/share/man/man1/ed.distrib.1.gz".to_string(),
    ] {
        assert!(diversions.lines().any(|l| l == line), "{line} in {diversions}");
    }
    assert!(listed.contains(help) && listed.contains(&format!("{help}.vim-tiny")), "{listed:?}");
    assert!(listed.contains("usr/share/man/man1/ed.distrib.1.gz") && !listed.contains("usr/share/man/man1/ed.1.gz"));
    let os = files_of(&after, 1);
    let upper = files_of(&before, 1);
    let installed: std::collections::BTreeSet<String> = upper.iter().filter(|f| !f.starts_with("app/")).cloned().collect();
    assert_eq!(os, installed, "all the install wrote, and nothing else, is in the OS layer");
    // Of it, all but dpkg's state and what the install left beside it is the packages' files.
    // Every alternative the installs registered (ed's editor, vim-tiny's vi, ex, …): its links.
    let alternative = sh(&format!(
        "cd {r}/var/lib/dpkg/alternatives && for a in *; do
           update-alternatives --admindir {r}/var/lib/dpkg/alternatives --altdir {r}/etc/alternatives --query $a | sed '/^Status:/,$d'
         done",
        r = rootfs.display()
    ));
    let links: Vec<&str> = alternative
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter(|l| l.starts_with('/'))
        .map(|l| l.trim_start_matches('/'))
        .collect();
    assert!(links.contains(&"usr/bin/editor") && links.contains(&"usr/bin/vi"), "{alternative}");
    let state = |f: &str| {
        ["var/lib/dpkg/", "var/log/", "var/cache/", "etc/alternatives/"].iter().any(|d| f.starts_with(d))
            || f == "etc/ld.so.cache"
            || links.contains(&f)
    };
    let owned: std::collections::BTreeSet<String> = os.iter().filter(|f| !state(f)).cloned().collect();
    assert_eq!(owned, listed, "the OS layer holds exactly the packages' files");
    assert!(os.contains("var/lib/dpkg/status") && os.contains("var/lib/dpkg/info/jq.list") && os.contains("var/lib/dpkg/info/ed.md5sums"));
    for n in [2, 3] {
        let files = files_of(&after, n);
        assert!(files.iter().all(|f| !listed.contains(f) && !f.starts_with("var/lib/dpkg/")), "layer {n}: {files:?}");
    }
    assert!(files_of(&after, 3).contains("app/main.py"));
    // The binaries run from the unpacked result.
    let env = [("PATH".to_string(), "/usr/bin:/bin".to_string())];
    let jq = crate::support::debian::chroot(&rootfs, &["jq", "--version"], &env);
    assert!(jq.starts_with("jq-1."), "{jq}");
    let ed = crate::support::debian::chroot(&rootfs, &["/bin/ed", "--version"], &env);
    assert!(ed.starts_with("GNU ed"), "{ed}");
    // Two layers: the packages, OS and Python, share the one below the code.
    let two = run("two", &["--max-layers", "2"]);
    let holds: Vec<&str> = two["layers"].as_array().unwrap().iter().map(|l| l["holds"].as_str().unwrap()).collect();
    assert_eq!(holds, [format!("deb packages: {}; python deps: alpha 1.0", want.join(", ")).as_str(), "app"]);
    assert_eq!(final_filesystem(&d.path().join("two"), None, Pyc::AsIs)["fs"], before["fs"]);
}

/// An Alpine-style install above the base, as `apk add jq` leaves it: the files, apk's one
/// database naming every package (the base's musl too) and the world file; beside it the code.
/// Only jq's files and apk's state go to the OS layer, named from the database.
fn apk_packages_installed_above_the_base_are_one_layer() {
    require(have("python3"), "python3");
    let d = tempfile::tempdir().unwrap();
    let (src, b, out) = (d.path().join("src"), d.path().join("base"), d.path().join("out"));
    let installed = b"C:Q1aa=\nP:musl\nV:1.2.4-r2\nA:x86_64\nF:lib\nR:ld-musl-x86_64.so.1\n\n\
        C:Q1bb=\nP:jq\nV:1.7.1-r0\nA:x86_64\nF:usr/bin\nR:jq\nF:usr/share/doc/jq\nR:README\n";
    let jq = crate::support::layout::noise(40_000, 4);
    let upper = tar_bytes_at(
        &[
            Item::File("usr/bin/jq", &jq),
            Item::File("usr/share/doc/jq/README", b"jq\n"),
            Item::File("lib/apk/db/installed", installed),
            Item::File("etc/apk/world", b"jq\n"),
            Item::File("app/main.py", b"print(1)\n"),
        ],
        100,
    );
    write_layout(&src, "v", &[(base_layer(), Comp::Gzip), (upper, Comp::Gzip)]);
    base(&b);
    let summary = optimize(&src, &b, &out, d.path());
    let holds: Vec<&str> = summary["layers"].as_array().unwrap().iter().map(|l| l["holds"].as_str().unwrap()).collect();
    assert_eq!(holds, ["apk packages: jq 1.7.1-r0", "app"]);
    let (before, after) = (final_filesystem(&src, None, Pyc::AsIs), final_filesystem(&out, None, Pyc::AsIs));
    assert_eq!(after["fs"], before["fs"], "the final filesystem is the same");
    let os: Vec<String> = files_of(&after, 1).into_iter().collect();
    assert_eq!(os, ["etc/apk/world", "lib/apk/db/installed", "usr/bin/jq", "usr/share/doc/jq/README"]);
    assert_eq!(files_of(&after, 2).into_iter().collect::<Vec<_>>(), ["app/main.py"]);
    // One layer in all: nothing is split off, the OS packages neither.
    let one = strata(&["optimize", &oci(&src, "v"), "--base", &oci(&b, "v"), "--output", &oci(&d.path().join("one"), "v"), "--max-layers", "1", "--format", "json"]);
    assert_eq!(one.code, 0, "{}", one.stderr);
    assert_eq!(one.json()["layers"].as_array().unwrap().len(), 1);
    assert_eq!(final_filesystem(&d.path().join("one"), None, Pyc::AsIs)["fs"], before["fs"]);
}

/// Two tiny packages (a script, a link to it, a config file, a doc; data in a directory of its
/// own), with an epoch, for the rpm test.
const RPM_SPEC: &str = r#"%define debug_package %{nil}
%define __os_install_post %{nil}
Name: hello-strata
Epoch: 2
Version: 1.0
Release: 3
Summary: strata's rpm test package
License: MIT
BuildArch: noarch
%description
A script, a link to it, a config file and a doc.
%package data
Summary: strata's rpm test data
%description data
Data in a directory of its own.
%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/etc %{buildroot}/usr/share/doc/hello-strata %{buildroot}/usr/share/hello-strata
printf '#!/bin/sh\necho hello\n' > %{buildroot}/usr/bin/hello-strata
chmod 755 %{buildroot}/usr/bin/hello-strata
ln -s hello-strata %{buildroot}/usr/bin/hi
echo greeting=hello > %{buildroot}/etc/hello-strata.conf
echo readme > %{buildroot}/usr/share/doc/hello-strata/README
echo data > %{buildroot}/usr/share/hello-strata/data.txt
%files
/usr/bin/hello-strata
/usr/bin/hi
%config /etc/hello-strata.conf
%dir /usr/share/doc/hello-strata
/usr/share/doc/hello-strata/README
%files data
%dir /usr/share/hello-strata
/usr/share/hello-strata/data.txt
"#;

/// Packages built by rpmbuild and installed by rpm (Debian's) into a root with its SQLite
/// database, at the old place and at Fedora 36's, laid above the base with the code beside them:
/// the OS layer holds exactly the files `rpm -ql` lists and rpm's database, and is named as
/// `rpm -qa` names the packages.
fn rpm_packages_installed_above_the_base_are_one_layer() {
    require(have("python3"), "python3");
    require(have("rpm") && have("rpmbuild"), "rpm and rpmbuild (Debian's rpm package)");
    let d = tempfile::tempdir().unwrap();
    let p = d.path().display();
    std::fs::write(d.path().join("hello.spec"), RPM_SPEC).unwrap();
    sh(&format!("rpmbuild --quiet --define '_topdir {p}/build' -bb {p}/hello.spec"));
    let b = d.path().join("base");
    base(&b);
    for (n, dbpath) in ["/var/lib/rpm", "/usr/lib/sysimage/rpm"].iter().enumerate() {
        let root = d.path().join(format!("root{n}"));
        let rpm = |args: &str| {
            let root = root.display();
            sh(&format!("rpm --root {root} --dbpath {dbpath} --define '_db_backend sqlite' {args} 2>/dev/null"))
        };
        rpm(&format!("-i --nodeps --ignorearch {p}/build/RPMS/noarch/*.rpm"));
        assert!(root.join(dbpath.trim_start_matches('/')).join("rpmdb.sqlite").is_file());
        std::fs::create_dir(root.join("app")).unwrap();
        std::fs::write(root.join("app/main.py"), "print(1)\n").unwrap();
        let (src, out) = (d.path().join(format!("src{n}")), d.path().join(format!("out{n}")));
        sh(&format!("tar -C {} --numeric-owner -cf {p}/upper.tar .", root.display()));
        let upper = std::fs::read(d.path().join("upper.tar")).unwrap();
        write_layout(&src, "v", &[(base_layer(), Comp::Gzip), (upper, Comp::Gzip)]);
        let summary = optimize(&src, &b, &out, d.path());
        let mut named: Vec<String> = rpm("-qa --qf '%{NAME} %{EPOCH}:%{VERSION}-%{RELEASE}\\n'").lines().map(str::to_string).collect();
        named.sort();
        let holds: Vec<&str> = summary["layers"].as_array().unwrap().iter().map(|l| l["holds"].as_str().unwrap()).collect();
        assert_eq!(holds, [format!("rpm packages: {}", named.join(", ")).as_str(), "app"]);
        let (before, after) = (final_filesystem(&src, None, Pyc::AsIs), final_filesystem(&out, None, Pyc::AsIs));
        assert_eq!(after["fs"], before["fs"], "the final filesystem is the same");
        // What rpm lists (directories aside) and rpm's database directory: the OS layer.
        let mut want: std::collections::BTreeSet<String> = rpm("-ql hello-strata hello-strata-data")
            .lines()
            .map(|l| l.trim_start_matches('/').to_string())
            .filter(|l| !root.join(l).is_dir())
            .collect();
        assert!(want.contains("usr/bin/hi") && want.contains("etc/hello-strata.conf"), "{want:?}");
        let db = sh(&format!("cd {} && find {} -type f", root.display(), dbpath.trim_start_matches('/')));
        want.extend(db.lines().map(str::to_string));
        assert!(want.iter().any(|f| f.ends_with("/rpmdb.sqlite")), "{want:?}");
        assert_eq!(files_of(&after, 1), want, "{dbpath}: the OS layer holds the packages' files and rpm's database");
        assert_eq!(files_of(&after, 2).into_iter().collect::<Vec<_>>(), ["app/main.py"]);
    }
}

/// The `read_back` flag of each new layer in an optimize summary.
fn read_backs(summary: &serde_json::Value) -> Vec<bool> {
    summary["layers"].as_array().unwrap().iter().map(|l| l["read_back"].as_bool().unwrap()).collect()
}

fn a_reused_layer_this_machine_proved_is_not_read_back() {
    require(have("python3"), "python3");
    let d = tempfile::tempdir().unwrap();
    let (v1, v2, b) = two_versions(d.path());
    let (cache, fresh) = (d.path().join("cache"), d.path().join("fresh"));
    let base_ref = oci(&b, "v");
    let run = optimize_run(&v1, &d.path().join("o1"), &["--base", &base_ref], &[("XDG_CACHE_HOME", &cache)], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(read_backs(&run.json()).iter().all(|r| *r), "nothing to trust the first time");
    let previous = oci(&d.path().join("o1"), "v");
    let args = ["--base", &base_ref, "--previous", &previous];
    let second = |out: &str, cache: &Path| {
        let run = optimize_run(&v2, &d.path().join(out), &args, &[("XDG_CACHE_HOME", cache)], None);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.json()
    };
    // With the records o1's proof left: the reused layers are not read back, the app layer is.
    let trusted = second("o2", &cache);
    let reused: Vec<bool> = trusted["layers"].as_array().unwrap().iter().map(|l| l["reused"].as_bool().unwrap()).collect();
    assert_eq!(reused, [true, true, true, false], "{trusted}");
    assert_eq!(read_backs(&trusted), [false, false, false, true]);
    assert_eq!(final_filesystem(&d.path().join("o2"), None, Pyc::AsIs)["fs"], final_filesystem(&v2, None, Pyc::AsIs)["fs"], "the same final filesystem");
    // Without them (another machine), every layer is read back, and the image is the same.
    let read = second("o2-fresh", &fresh);
    assert_eq!(read_backs(&read), [true, true, true, true]);
    assert_eq!(read["written"]["manifest_digest"], trusted["written"]["manifest_digest"]);
    // A record that says something else of the blob is not taken.
    let records = cache.join("strata/optimize-proven/blobs/sha256");
    let other = format!("{{\"diff_id\":\"sha256:{0}\",\"key\":\"sha256:{0}\"}}", "0".repeat(64));
    for entry in std::fs::read_dir(&records).unwrap() {
        std::fs::write(entry.unwrap().path(), &other).unwrap();
    }
    let doubted = second("o2-doubted", &cache);
    assert_eq!(read_backs(&doubted), [true, true, true, true]);
    assert_eq!(doubted["written"]["manifest_digest"], trusted["written"]["manifest_digest"]);
}

crate::tests![
    a_reused_layer_this_machine_proved_is_not_read_back,
    pyc_headers_follow_their_sources_normalized_mtimes,
    a_deploy_to_the_registry_mounts_the_unchanged_layers,
    with_previous_the_unchanged_layers_are_its_blobs,
    a_new_package_moves_no_other,
    a_previous_that_is_not_optimized_is_ignored_and_said_so,
    a_previous_over_another_base_is_ignored_and_said_so,
    a_dest_that_cannot_be_written_tags_nothing,
    apk_packages_installed_above_the_base_are_one_layer,
    rpm_packages_installed_above_the_base_are_one_layer,
    deb_packages_installed_above_the_base_are_the_lowest_layer,
    past_max_layers_the_smallest_packages_share_a_layer,
    a_docker_built_image_is_optimized_from_its_save,
    owners_modes_links_and_xattrs_are_kept,
    the_base_is_kept_and_the_filesystem_is_the_same,
    same_input_same_digest_and_mtimes_do_not_matter,
    a_code_change_ships_only_the_app_layer,
    a_corrupt_source_writes_nothing,
];
