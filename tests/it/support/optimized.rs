//! The checks every `strata optimize` scenario on a real image makes, whatever its ecosystem:
//! the base's layers are kept (skopeo reads both configs), the final filesystem is the input's
//! (Python's tarfile over both, [`super::tarfile::final_filesystem`]), the config is the input's, and the
//! optimized image runs (unpacked by umoci, started under chroot) printing what the input prints.

use std::path::Path;

use super::debian::unpack_and_run;
use super::sh;
use super::tarfile::{final_filesystem, Pyc};

/// What the checks read of the optimized image, for a test's own assertions on its layers.
pub struct Checked {
    /// [`final_filesystem`] of the optimized layout: `fs`, `layer_paths`, `manifest`, ….
    pub after: serde_json::Value,
    /// What the optimized image's process printed.
    pub stdout: String,
    /// How many layers the base has.
    pub base_layers: usize,
}

/// `skopeo inspect --config REF`.
fn config(reference: &str) -> serde_json::Value {
    serde_json::from_str(&sh(&format!("skopeo inspect --config {reference}"))).unwrap()
}

/// Asserts that the OCI layout `out` (tag `tag`), which strata optimized from the image held by
/// the OCI layout `input` (same tag; made by a tool other than strata), keeps the layers of
/// `base` (any skopeo reference), holds the input's final filesystem and config, and runs as the
/// input does (both unpacked and started under chroot in a directory of `dir`).
pub fn assert_optimized(input: &Path, base: &str, out: &Path, tag: &str, dir: &Path) -> Checked {
    let reference = |p: &Path| format!("oci:{}:{tag}", p.display());
    let (c_in, c_out, c_base) = (
        config(&reference(input)),
        config(&reference(out)),
        config(base),
    );
    let base_ids = c_base["rootfs"]["diff_ids"]
        .as_array()
        .expect("the base's diff_ids");
    let out_ids = c_out["rootfs"]["diff_ids"]
        .as_array()
        .expect("the output's diff_ids");
    assert!(
        out_ids.len() > base_ids.len(),
        "layers above the base: {out_ids:?}"
    );
    assert_eq!(
        &out_ids[..base_ids.len()],
        &base_ids[..],
        "the base's layers are kept"
    );
    let raw = |r: &str| -> Vec<serde_json::Value> {
        let m: serde_json::Value =
            serde_json::from_str(&sh(&format!("skopeo inspect --raw {r}"))).unwrap();
        let layers = m["layers"].as_array().expect("a manifest's layers");
        layers.iter().map(|l| l["digest"].clone()).collect()
    };
    assert_eq!(
        raw(&reference(out))[..base_ids.len()],
        raw(base)[..],
        "the base's layers are its blobs"
    );
    assert_eq!(
        c_out["config"], c_in["config"],
        "entrypoint, cmd, env, … kept"
    );
    let (before, after) = (
        final_filesystem(input, None, Pyc::AsIs),
        final_filesystem(out, None, Pyc::AsIs),
    );
    assert_eq!(
        after["fs"], before["fs"],
        "the final filesystem is the input's"
    );
    let runs = tempfile::tempdir_in(dir).unwrap();
    let (_, want, _) = unpack_and_run(input, tag, &runs.path().join("input"));
    let (_, stdout, _) = unpack_and_run(out, tag, &runs.path().join("output"));
    assert_eq!(
        stdout, want,
        "the optimized image prints what the input prints"
    );
    Checked {
        after,
        stdout,
        base_layers: base_ids.len(),
    }
}
