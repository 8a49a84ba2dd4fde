//! Every reader of a layer verifies it: a base layer, a copied layer or a cached cargo build whose
//! bytes were altered (same size, other bytes) is refused with exit 2 by `strata build`, `strata
//! copy` and `strata cook --cache-from`, and nothing is written — no output layout, no archive,
//! nothing in `target/`. The oracle is the image's own manifest and config, written by the tests'
//! independent layout writer; the damage is one flipped byte inside a file's content, so the tar
//! stays valid and only the digests can tell.


use std::path::{Path, PathBuf};

use crate::support::cargo::{cook, package, Project};
use crate::support::layout::{blob_path, sha256, tar_bytes, write_layout, Comp, Item};
use crate::support::strata_in;

/// Flips one byte inside the first file's content of the uncompressed tar blob at `path`.
fn flip_content_byte(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let before = bytes.len();
    bytes[512 + 2] ^= 0x20;
    std::fs::write(path, &bytes).unwrap();
    assert_eq!(std::fs::metadata(path).unwrap().len() as usize, before);
}

/// An OCI layout `dir:base` with a gzip layer and an uncompressed one, the uncompressed one
/// altered after the manifest named it.
fn altered_layout(dir: &Path) {
    let written = write_layout(
        dir,
        "base",
        &[
            (
                tar_bytes(&[Item::Dir("etc"), Item::File("etc/os-release", b"ID=test\n")]),
                Comp::Gzip,
            ),
            (
                tar_bytes(&[Item::File("greeting.txt", b"hello from the base layer")]),
                Comp::None,
            ),
        ],
    );
    flip_content_byte(&blob_path(dir, &written.layer_digests[1]));
}

/// Asserts a refusal: exit 2, a one-line digest error, and nothing at `written`.
fn refused(run: &crate::support::Run, written: &Path, what: &str) {
    assert_eq!(run.code, 2, "{what}: {}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("digest mismatch"),
        "{what}: {}",
        run.stderr
    );
    assert!(
        !written.exists(),
        "{what}: {} was written",
        written.display()
    );
}

/// Every entry of `dir` (to show what a failed command left behind).
fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

fn build_refuses_an_altered_base_layer_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    altered_layout(&base);
    let project = dir.path().join("project");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(project.join("src/app.sh"), "echo app\n").unwrap();
    let base_ref = format!("oci:{}:base", base.display());
    std::fs::write(
        project.join("strata.toml"),
        format!(
            "[image]\nbase = \"{base_ref}\"\n\n[[layer]]\nname = \"app\"\nfrom = [\"src\"]\nto = \"/app\"\n"
        ),
    )
    .unwrap();
    let cache = dir.path().join("cache").display().to_string();
    for (how, extra) in [
        ("strata.toml", vec![]),
        ("--base", vec!["--base", base_ref.as_str()]),
    ] {
        let out = dir
            .path()
            .join(format!("out-{}", how.trim_start_matches('-')));
        let dest = format!("oci:{}:v1", out.display());
        let archive = dir.path().join(format!("{how}.tar"));
        let archive_dest = archive.display().to_string();
        let mut args = vec!["build", "--cache-dir", &cache, "--output", &dest];
        args.extend(extra.iter().copied());
        refused(&strata_in(&args, &[], Some(&project)), &out, how);
        args[4] = &archive_dest;
        refused(&strata_in(&args, &[], Some(&project)), &archive, how);
    }
    assert_eq!(
        entries(dir.path()).len(),
        3,
        "only base, project and cache remain: {:?}",
        entries(dir.path())
    );
}

fn copy_refuses_an_altered_layer_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    altered_layout(&source);
    let src = format!("oci:{}:base", source.display());
    for (written, dest) in [
        (dir.path().join("out"), "oci:{}:copied"),
        (dir.path().join("copied.tar"), "docker-archive:{}"),
    ] {
        let dest = dest.replace("{}", &written.display().to_string());
        let run = strata_in(&["copy", &src, &dest], &[], None);
        refused(&run, &written, &dest);
    }
    assert_eq!(
        entries(dir.path()),
        vec![source],
        "nothing beside the source"
    );
}

/// A legacy `docker save` archive (no manifest digests) whose `layer.tar` was altered: only its
/// diff_id in the config can tell, and copy checks it.
fn copy_checks_the_diff_id_of_a_legacy_archive_layer() {
    let dir = tempfile::tempdir().unwrap();
    let layer = tar_bytes(&[Item::File("greeting.txt", b"hello from a legacy archive")]);
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [sha256(&layer)]},
    });
    let mut altered = layer.clone();
    altered[512 + 2] ^= 0x20;
    let file = dir.path().join("legacy.tar");
    let mut archive = tar::Builder::new(std::fs::File::create(&file).unwrap());
    let manifest = serde_json::json!([{
        "Config": "config.json", "RepoTags": ["legacy:1"], "Layers": ["0123/layer.tar"],
    }]);
    for (name, bytes) in [
        ("manifest.json", serde_json::to_vec(&manifest).unwrap()),
        ("config.json", serde_json::to_vec(&config).unwrap()),
        ("0123/layer.tar", altered),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        archive.append_data(&mut h, name, &bytes[..]).unwrap();
    }
    archive.finish().unwrap();
    drop(archive);
    let out = dir.path().join("out");
    let run = strata_in(
        &[
            "copy",
            &format!("docker-archive:{}", file.display()),
            &format!("oci:{}:copied", out.display()),
        ],
        &[],
        None,
    );
    refused(&run, &out, "legacy archive");
    assert!(run.stderr.contains("diff_id"), "{}", run.stderr);
}

fn the_cargo_cache_restore_refuses_an_altered_layer_and_leaves_target_alone() {
    let p = Project::new();
    p.file("Cargo.toml", &package("nodeps", "0.1.0", ""))
        .file("src/main.rs", "fn main() {}\n");
    p.lock();
    let recipe = p.recipe_json(&[]);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let repo = format!("oci:{}", cache.display());
    // Nothing stored yet: cook names the reference it looked for (the tag is the fingerprint).
    let first = Project::new();
    let run = cook(first.path(), &recipe, &["--offline", "--cache-from", &repo]);
    let looked_for = run
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("strata: no dependency build at "))
        .and_then(|l| l.strip_suffix(" yet; cooking from scratch"))
        .unwrap_or_else(|| panic!("no miss reported: {}", run.stderr))
        .to_string();
    let tag = looked_for.rsplit(':').next().unwrap();
    // The cached build, as a cache image holds it, then altered.
    let written = write_layout(
        &cache,
        tag,
        &[(
            tar_bytes(&[Item::File(
                "debug/planted.txt",
                b"bytes the manifest never named",
            )]),
            Comp::None,
        )],
    );
    flip_content_byte(&blob_path(&cache, &written.layer_digests[0]));
    let second = Project::new();
    let run = cook(
        second.path(),
        &recipe,
        &["--offline", "--cache-from", &repo],
    );
    refused(&run, &second.path().join("target"), "cache restore");
    let left: Vec<String> = entries(second.path())
        .iter()
        .map(|e| e.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|n| n != "recipe.json")
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

crate::tests![
    build_refuses_an_altered_base_layer_and_writes_nothing,
    copy_refuses_an_altered_layer_and_writes_nothing,
    copy_checks_the_diff_id_of_a_legacy_archive_layer,
    the_cargo_cache_restore_refuses_an_altered_layer_and_leaves_target_alone,
];
