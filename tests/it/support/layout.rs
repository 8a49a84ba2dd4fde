//! A minimal OCI image-layout writer for tests: builds layers from a list of entries and writes
//! blobs, config, manifest, `index.json` and `oci-layout`, so tests can make exactly the image (or
//! the exact damage) they need. (strata's own image writer belongs to `strata build`.)

use std::io::Write;
use std::path::Path;

use sha2::{Digest as _, Sha256};

/// One entry of a test layer.
#[derive(Clone, Copy)]
pub enum Item<'a> {
    /// A regular file.
    File(&'a str, &'a [u8]),
    /// A directory.
    Dir(&'a str),
    /// `.wh.NAME` for the given path.
    Whiteout(&'a str),
    /// `DIR/.wh..wh..opq`.
    Opaque(&'a str),
}

/// How a test layer is compressed.
#[derive(Clone, Copy)]
pub enum Comp {
    /// Plain tar.
    None,
    /// gzip at the default level.
    Gzip,
    /// gzip at the fastest level (the same tar compresses to other bytes).
    GzipFast,
    /// zstd.
    Zstd,
}

/// The tar bytes of `items`, every entry with mtime 1.
pub fn tar_bytes(items: &[Item]) -> Vec<u8> {
    tar_bytes_at(items, 1)
}

/// The tar bytes of `items` with every entry's mtime set to `mtime` (a rebuild at another time).
pub fn tar_bytes_at(items: &[Item], mtime: u64) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for item in items {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(mtime);
        let (path, data): (String, &[u8]) = match item {
            Item::File(p, d) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                (p.to_string(), d)
            }
            Item::Dir(p) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                (format!("{p}/"), &[])
            }
            Item::Whiteout(p) => {
                h.set_entry_type(tar::EntryType::Regular);
                let (dir, base) = p.rsplit_once('/').map_or(("", *p), |(d, b)| (d, b));
                let sep = if dir.is_empty() { "" } else { "/" };
                (format!("{dir}{sep}.wh.{base}"), &[])
            }
            Item::Opaque(dir) => {
                h.set_entry_type(tar::EntryType::Regular);
                (format!("{dir}/.wh..wh..opq"), &[])
            }
        };
        h.set_size(data.len() as u64);
        b.append_data(&mut h, path, data).expect("append");
    }
    b.into_inner().expect("tar")
}

/// `len` bytes no compressor can shrink (xorshift64 from `seed`), the same on every machine:
/// layers and files whose compressed size is about their size.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407)
        | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn compress(tar: &[u8], comp: Comp) -> (Vec<u8>, &'static str) {
    match comp {
        Comp::None => (tar.to_vec(), "application/vnd.oci.image.layer.v1.tar"),
        Comp::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(tar).expect("gzip");
            (
                e.finish().expect("gzip"),
                "application/vnd.oci.image.layer.v1.tar+gzip",
            )
        }
        Comp::GzipFast => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(tar).expect("gzip");
            (
                e.finish().expect("gzip"),
                "application/vnd.oci.image.layer.v1.tar+gzip",
            )
        }
        Comp::Zstd => (
            zstd::encode_all(tar, 3).expect("zstd"),
            "application/vnd.oci.image.layer.v1.tar+zstd",
        ),
    }
}

/// What [`write_layout`] wrote.
pub struct Written {
    /// The manifest digest.
    pub manifest_digest: String,
    /// The compressed digest of each layer.
    pub layer_digests: Vec<String>,
    /// The diff_id of each layer.
    pub diff_ids: Vec<String>,
    /// The config digest.
    pub config_digest: String,
}

fn put_blob(dir: &Path, bytes: &[u8]) -> String {
    let digest = sha256(bytes);
    let path = dir.join("blobs/sha256").join(&digest["sha256:".len()..]);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, bytes).expect("write blob");
    digest
}

/// Writes an image with `layers` (tar bytes + compression) and one history entry per layer into
/// the OCI layout `dir`, tagged `tag`. `tweak_config` may edit the config JSON before it is
/// written (to make a broken image on purpose).
pub fn write_layout_with(
    dir: &Path,
    tag: &str,
    layers: &[(Vec<u8>, Comp)],
    tweak_config: impl FnOnce(&mut serde_json::Value),
) -> Written {
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)
        .expect("oci-layout");
    let mut descriptors = Vec::new();
    let mut diff_ids = Vec::new();
    let mut layer_digests = Vec::new();
    for (tar, comp) in layers {
        let (blob, media_type) = compress(tar, *comp);
        let digest = put_blob(dir, &blob);
        diff_ids.push(sha256(tar));
        layer_digests.push(digest.clone());
        descriptors.push(
            serde_json::json!({"mediaType": media_type, "digest": digest, "size": blob.len()}),
        );
    }
    let history: Vec<_> = (0..layers.len())
        .map(|i| serde_json::json!({"created_by": format!("layer {i}")}))
        .collect();
    let mut config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    });
    tweak_config(&mut config);
    let config_bytes = serde_json::to_vec(&config).expect("config");
    let config_digest = put_blob(dir, &config_bytes);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_bytes.len()},
        "layers": descriptors,
    });
    let manifest_bytes = serde_json::to_vec(&manifest).expect("manifest");
    let manifest_digest = put_blob(dir, &manifest_bytes);
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest, "size": manifest_bytes.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }],
    });
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&index).expect("index"),
    )
    .expect("index");
    Written {
        manifest_digest,
        layer_digests,
        diff_ids,
        config_digest,
    }
}

/// [`write_layout_with`] without changes to the config.
pub fn write_layout(dir: &Path, tag: &str, layers: &[(Vec<u8>, Comp)]) -> Written {
    write_layout_with(dir, tag, layers, |_| {})
}

/// The path of a blob in the layout.
pub fn blob_path(dir: &Path, digest: &str) -> std::path::PathBuf {
    dir.join("blobs/sha256").join(&digest["sha256:".len()..])
}

/// Makes `tag` in the layout an image index over already written images, one per platform
/// (`"linux/arm64/v8"`), as multi-platform builds publish them.
pub fn write_platform_index(dir: &Path, tag: &str, images: &[(&str, &Written)]) -> String {
    let manifests: Vec<_> = images
        .iter()
        .map(|(platform, written)| {
            let parts: Vec<&str> = platform.split('/').collect();
            let mut p = serde_json::json!({"os": parts[0], "architecture": parts[1]});
            if let Some(v) = parts.get(2) {
                p["variant"] = (*v).into();
            }
            let size = std::fs::metadata(blob_path(dir, &written.manifest_digest))
                .expect("manifest")
                .len();
            serde_json::json!({
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": written.manifest_digest, "size": size, "platform": p,
            })
        })
        .collect();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    });
    let bytes = serde_json::to_vec(&index).expect("index");
    let digest = put_blob(dir, &bytes);
    let top = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": digest, "size": bytes.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }],
    });
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&top).expect("index"),
    )
    .expect("index");
    digest
}
