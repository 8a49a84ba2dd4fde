//! Tar archives: `docker save` output (legacy `manifest.json` + `<id>/layer.tar`, kaniko's
//! `.tar.gz` layers, Docker 25+ archives that are also OCI layouts) and OCI archives without
//! `manifest.json`.

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::layer::compression::Compression;
use crate::layer::digest::Digest;
use crate::model::{Image, ImageConfig, Layer};
use crate::source::files::Files;
use crate::source::layout::{open_layout, open_layout_by_config};
use crate::source::manifest::verify_blob;
use crate::source::platform::Platform;
use crate::source::reference::ArchiveKind;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ArchiveEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
    /// Docker 25+: the descriptor of each layer, keyed by diff_id.
    #[serde(default)]
    layer_sources: Option<std::collections::HashMap<String, LayerSource>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LayerSource {
    media_type: String,
    digest: String,
}

/// An image found in an archive, with the archive member holding each layer.
pub struct ArchiveImage {
    /// The image model.
    pub image: Image,
    /// The archive member of each layer, bottom first.
    pub layer_paths: Vec<String>,
}

/// Opens the image `tag` (a `name:tag` for docker archives, a ref name for OCI archives: `kind`
/// says which) or the only image in the archive. An OCI archive is read by its `index.json`
/// even when it also has a `manifest.json` for `docker load` (one without `index.json`, a
/// `docker save` tar, is read as such).
pub fn open_archive(
    files: &dyn Files,
    tag: Option<&str>,
    kind: ArchiveKind,
    platform: &Platform,
    reference: String,
) -> Result<ArchiveImage> {
    if kind == ArchiveKind::Oci && files.open("index.json")?.is_some() {
        return Ok(with_blob_paths(open_layout(
            files, tag, platform, reference,
        )?));
    }
    let Some(manifest) = files.read_small("manifest.json")? else {
        if files.open("index.json")?.is_some() {
            let image = open_layout(files, tag, platform, reference)?;
            return Ok(with_blob_paths(image));
        }
        return Err(Error::invalid(format!(
            "{} is not an image archive: it has neither manifest.json nor index.json (a plain rootfs tar?)",
            files.describe()
        )));
    };
    let entries: Option<Vec<ArchiveEntry>> = serde_json::from_slice(&manifest).map_err(|e| {
        Error::invalid(format!(
            "{}: manifest.json is not a docker archive manifest: {e}",
            files.describe()
        ))
    })?;
    let entries = entries.unwrap_or_default();
    let entry = choose_entry(&entries, tag, &files.describe())?;
    let config_bytes = files.read_small(&entry.config)?.ok_or_else(|| {
        Error::invalid(format!(
            "{}: config {} named in manifest.json is missing",
            files.describe(),
            entry.config
        ))
    })?;
    let config_digest = Digest::sha256_of(&config_bytes);
    if let Some(named) = digest_named_by(&entry.config) {
        verify_blob(&config_bytes, &named, None, "config")?;
        // Docker 25+ archives are also OCI layouts: prefer the manifest, which knows media types,
        // compressed sizes and its own digest.
        if files.open("index.json")?.is_some() {
            if let Some(image) =
                open_layout_by_config(files, &config_digest, platform, reference.clone())
            {
                return Ok(with_blob_paths(image));
            }
        }
    }
    let config = ImageConfig::parse(&config_bytes)?;
    let diff_ids = config.diff_ids_for(entry.layers.len())?;
    let mut layers = Vec::with_capacity(entry.layers.len());
    for (path, diff_id) in entry.layers.iter().zip(diff_ids) {
        let size = files
            .open(path)?
            .ok_or_else(|| {
                Error::invalid(format!(
                    "{}: layer {path} named in manifest.json is missing",
                    files.describe()
                ))
            })?
            .1;
        // Docker 25+ archives record each stored blob's media type; older archives describe the
        // registry's blob there (not the bytes stored), so the entry counts only when it names the
        // very blob the archive holds.
        let digest = digest_named_by(path);
        let media_type = entry
            .layer_sources
            .as_ref()
            .and_then(|sources| sources.get(&diff_id.to_string()))
            .filter(|s| digest.as_ref().is_some_and(|d| d.to_string() == s.digest))
            .map(|s| s.media_type.clone())
            .unwrap_or_default();
        layers.push(Layer {
            digest,
            diff_id: diff_id.clone(),
            annotations: Default::default(),
            compression: Compression::from_media_type(&media_type),
            media_type,
            size: Some(size),
        });
    }
    let image = Image {
        reference,
        manifest_digest: None,
        raw_manifest: None,
        config_bytes,
        config_digest,
        annotations: Default::default(),
        layers,
        config,
    };
    image.validate()?;
    Ok(ArchiveImage {
        image,
        layer_paths: entry.layers.clone(),
    })
}

fn with_blob_paths(image: Image) -> ArchiveImage {
    let layer_paths = image
        .layers
        .iter()
        .map(|l| {
            l.digest
                .as_ref()
                .map(Digest::layout_path)
                .unwrap_or_default()
        })
        .collect();
    ArchiveImage { image, layer_paths }
}

/// `blobs/sha256/<hex>` and `<hex>.json` names carry the digest of their content.
fn digest_named_by(path: &str) -> Option<Digest> {
    if let Some(rest) = path.strip_prefix("blobs/") {
        let (alg, hex) = rest.split_once('/')?;
        return Digest::parse(&format!("{alg}:{hex}")).ok();
    }
    let hex = path.strip_suffix(".json")?;
    Digest::parse(&format!("sha256:{hex}")).ok()
}

/// `busybox` means `busybox:latest`; `docker.io/library/` is implied.
fn normalize_tag(tag: &str) -> String {
    let t = tag
        .strip_prefix("docker.io/")
        .unwrap_or(tag)
        .strip_prefix("library/")
        .unwrap_or(tag.strip_prefix("docker.io/").unwrap_or(tag));
    let last = t.rsplit('/').next().unwrap_or(t);
    if last.contains(':') || last.contains('@') {
        t.to_string()
    } else {
        format!("{t}:latest")
    }
}

fn choose_entry<'a>(
    entries: &'a [ArchiveEntry],
    tag: Option<&str>,
    archive: &str,
) -> Result<&'a ArchiveEntry> {
    let tags_of = |e: &ArchiveEntry| e.repo_tags.clone().unwrap_or_default();
    match (tag, entries) {
        (_, []) => Err(Error::invalid(format!(
            "{archive}: manifest.json lists no images"
        ))),
        (None, [only]) => Ok(only),
        (None, many) => Err(Error::invalid(format!(
            "{archive} holds {} images; pick one with docker-archive:FILE:NAME:TAG (tags: {})",
            many.len(),
            many.iter().flat_map(tags_of).collect::<Vec<_>>().join(", ")
        ))),
        (Some(tag), entries) => {
            let want = normalize_tag(tag);
            entries
                .iter()
                .find(|e| tags_of(e).iter().any(|t| normalize_tag(t) == want))
                .ok_or_else(|| {
                    Error::not_found(format!(
                        "{archive} has no image tagged {tag} (tags: {})",
                        entries
                            .iter()
                            .flat_map(tags_of)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_normalize_like_docker() {
        assert_eq!(normalize_tag("busybox"), "busybox:latest");
        assert_eq!(normalize_tag("docker.io/library/busybox:1"), "busybox:1");
        assert_eq!(
            normalize_tag("localhost:5000/app"),
            "localhost:5000/app:latest"
        );
        assert_eq!(normalize_tag("a/b:v2"), "a/b:v2");
    }

    #[test]
    fn names_that_carry_digests() {
        let hex = "6e0b05049ed9c17d02e1a55e80d6599dbfcce7f4f4b022e3c673e685789c470e";
        assert_eq!(digest_named_by(&format!("{hex}.json")).unwrap().hex(), hex);
        assert!(digest_named_by(&format!("blobs/sha256/{hex}")).is_some());
        assert!(digest_named_by("abc/layer.tar").is_none());
    }
}
