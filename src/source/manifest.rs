//! Manifests and indexes, shared by every source: telling them apart, choosing one manifest from an
//! index by platform, and assembling the [`Image`] model from a manifest and its config.

use std::collections::{BTreeMap, HashMap};

use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};

use crate::error::{Error, Result};
use crate::layer::compression::Compression;
use crate::layer::digest::{Digest, Hasher};
use crate::model::{check_layer_count, Image, ImageConfig, Layer, RawManifest};
use crate::source::platform::Platform;
use crate::source::shape::Shape;

/// The OCI image manifest media type (the default when a manifest does not say).
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// The OCI image index media type.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// The media types strata asks registries for, manifests and indexes of both families.
pub const ACCEPTED_MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// Config media types of container images (anything else is an artifact: Helm charts, WASM, ...).
const IMAGE_CONFIG_TYPES: &[&str] = &[
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
];

/// A manifest-level document: one image, or an index of them.
pub enum Document {
    /// An image manifest (OCI or Docker v2 schema 2).
    Manifest(Box<ImageManifest>),
    /// An image index or Docker manifest list.
    Index(Box<ImageIndex>),
}

/// Parses a manifest or an index, deciding by content (descriptors' media types are not always
/// truthful: some layouts label manifests `application/vnd.oci.descriptor.v1+json`).
pub fn parse_document(bytes: &[u8], what: &str) -> Result<Document> {
    let shape =
        Shape::of(bytes).map_err(|e| Error::invalid(format!("{what} is not valid JSON: {e}")))?;
    let Shape::Object {
        schema_version,
        manifests,
        layers,
    } = shape
    else {
        return Err(Error::invalid(format!("{what} is not a JSON object")));
    };
    if schema_version == Some(1) {
        return Err(Error::invalid(format!(
            "{what} is a Docker schema 1 manifest, which is deprecated and not supported"
        )));
    }
    if manifests {
        let index = ImageIndex::from_reader(bytes)
            .map_err(|e| Error::invalid(format!("{what}: invalid image index: {e}")))?;
        Ok(Document::Index(Box::new(index)))
    } else if let Some(layers) = layers {
        check_layer_count(layers, what)?;
        let manifest = ImageManifest::from_reader(bytes)
            .map_err(|e| Error::invalid(format!("{what}: invalid image manifest: {e}")))?;
        Ok(Document::Manifest(Box::new(manifest)))
    } else {
        Err(Error::invalid(format!(
            "{what} is neither an image manifest nor an index"
        )))
    }
}

/// Converts an oci-spec digest into strata's validated [`Digest`].
pub fn digest_of(descriptor: &Descriptor) -> Result<Digest> {
    Digest::parse(descriptor.digest().as_ref())
}

/// Annotations in a stable order.
fn sorted(annotations: &Option<HashMap<String, String>>) -> BTreeMap<String, String> {
    annotations
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Whether an index entry is an attestation (buildx's provenance and SBOM manifests): annotated
/// `vnd.docker.reference.type`, or of platform `unknown/unknown`.
fn is_attestation(d: &Descriptor) -> bool {
    let unknown = d.platform().as_ref().is_some_and(|p| {
        p.os().to_string() == "unknown" && p.architecture().to_string() == "unknown"
    });
    unknown
        || d.annotations()
            .as_ref()
            .is_some_and(|a| a.contains_key("vnd.docker.reference.type"))
}

/// The platform an index entry declares, `None` for an entry without one.
pub fn platform_of(d: &Descriptor) -> Option<Platform> {
    d.platform().as_ref().map(|p| Platform {
        os: p.os().to_string(),
        architecture: p.architecture().to_string(),
        variant: p.variant().clone(),
    })
}

/// The images of an index by platform, in its order, and what was left out (attestations,
/// entries without a platform), each said in a line.
pub struct PlatformEntries<'a> {
    /// Each image entry and its platform.
    pub images: Vec<(Platform, &'a Descriptor)>,
    /// What was skipped and why.
    pub skipped: Vec<String>,
}

/// Splits an index into its platform images and the entries a whole-index read skips.
pub fn platform_entries(index: &ImageIndex) -> PlatformEntries<'_> {
    let mut entries = PlatformEntries {
        images: Vec::new(),
        skipped: Vec::new(),
    };
    for d in index.manifests() {
        let digest = d.digest().to_string();
        match platform_of(d) {
            _ if is_attestation(d) => entries
                .skipped
                .push(format!("{digest}: an attestation manifest, not an image")),
            Some(p) => entries.images.push((p, d)),
            None => entries
                .skipped
                .push(format!("{digest}: an entry without a platform")),
        }
    }
    entries
}

/// Manifests and blobs by digest, as one layout, archive or registry repository holds them: what
/// reading or copying a whole index needs beside the single-image model.
pub trait Store {
    /// The manifest or index the reference names: its bytes and media type.
    fn top(&self) -> Result<(Vec<u8>, String)>;
    /// The manifest or index `digest` (verified against it).
    fn manifest(&self, digest: &Digest, size: Option<u64>) -> Result<Vec<u8>>;
    /// Opens blob `digest` (unverified: sinks verify on receipt).
    fn open_blob(&self, digest: &Digest) -> Result<Box<dyn std::io::Read + Send>>;
    /// The manifests whose `subject` is `digest` (OCI 1.1 referrers: signatures, SBOMs).
    fn referrers(&self, subject: &Digest) -> Result<Vec<Descriptor>>;
    /// The registry reference blobs can be mounted from, for a registry store.
    fn origin(&self) -> Option<String> {
        None
    }
}

/// The media type of a manifest or index document: its `mediaType`, else what its shape says.
pub fn media_type_of(bytes: &[u8]) -> String {
    let value: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    match value.get("mediaType").and_then(|m| m.as_str()) {
        Some(m) => m.to_string(),
        None if value.get("manifests").is_some() => OCI_INDEX.to_string(),
        None => OCI_MANIFEST.to_string(),
    }
}

fn describe_platform(d: &Descriptor) -> String {
    match d.platform() {
        Some(p) => {
            let mut s = format!("{}/{}", p.os(), p.architecture());
            if let Some(v) = p.variant() {
                s.push('/');
                s.push_str(v);
            }
            s
        }
        None => "unknown".into(),
    }
}

/// Picks the entry of an index that runs on `platform`. An index with a single entry (ignoring
/// attestations) is taken as it is.
pub fn choose_from_index<'a>(
    index: &'a ImageIndex,
    platform: &Platform,
    what: &str,
) -> Result<&'a Descriptor> {
    let candidates: Vec<&Descriptor> = index
        .manifests()
        .iter()
        .filter(|d| !is_attestation(d))
        .collect();
    if let [only] = candidates.as_slice() {
        if only.platform().is_none() {
            return Ok(only);
        }
    }
    let chosen = candidates.iter().find(|d| {
        d.platform().as_ref().is_some_and(|p| {
            platform.matches(
                &p.os().to_string(),
                &p.architecture().to_string(),
                p.variant().as_deref(),
            )
        })
    });
    match chosen {
        Some(d) => Ok(d),
        None => {
            let available: Vec<String> = candidates.iter().map(|d| describe_platform(d)).collect();
            Err(Error::invalid(format!(
                "{what} has no image for platform {platform} (available: {}); choose one with --platform",
                if available.is_empty() { "none".to_string() } else { available.join(", ") }
            )))
        }
    }
}

/// The media type a layer gets in a manifest of `manifest_type`: Docker v2 schema 2 manifests
/// carry Docker layer types, OCI manifests OCI ones (registries reject mixed families); the bytes
/// are the same.
pub fn layer_type_in(manifest_type: &str, layer_type: &str) -> String {
    let docker = manifest_type.contains("docker");
    match (docker, layer_type) {
        (true, "application/vnd.oci.image.layer.v1.tar+gzip") => {
            "application/vnd.docker.image.rootfs.diff.tar.gzip".into()
        }
        (true, "application/vnd.oci.image.layer.v1.tar") => {
            "application/vnd.docker.image.rootfs.diff.tar".into()
        }
        (false, "application/vnd.docker.image.rootfs.diff.tar.gzip") => {
            "application/vnd.oci.image.layer.v1.tar+gzip".into()
        }
        (false, "application/vnd.docker.image.rootfs.diff.tar") => {
            "application/vnd.oci.image.layer.v1.tar".into()
        }
        (_, other) => other.into(),
    }
}

/// Checks that `bytes` are what `descriptor` names: size and digest.
pub fn verify_blob(bytes: &[u8], expected: &Digest, size: Option<u64>, what: &str) -> Result<()> {
    if let Some(size) = size {
        if bytes.len() as u64 != size {
            return Err(Error::invalid(format!(
                "{what} {expected}: descriptor says {size} bytes, blob has {}",
                bytes.len()
            )));
        }
    }
    let mut hasher = Hasher::new(expected.algorithm());
    hasher.update(bytes);
    expected.verify(&hasher.finish(), what)
}

/// A manifest as fetched: its digest and bytes, and the parsed document.
pub struct FetchedManifest<'a> {
    /// Digest of the manifest bytes.
    pub digest: Digest,
    /// The manifest bytes.
    pub bytes: &'a [u8],
    /// The parsed manifest.
    pub manifest: &'a ImageManifest,
}

/// Assembles the image model from a manifest and its (already verified) config bytes.
pub fn image_from_manifest(
    reference: String,
    fetched: FetchedManifest<'_>,
    config_bytes: &[u8],
) -> Result<Image> {
    let manifest = fetched.manifest;
    let config_type = manifest.config().media_type().to_string();
    if !IMAGE_CONFIG_TYPES.contains(&config_type.as_str()) {
        return Err(Error::invalid(format!(
            "{reference} is an OCI artifact (config media type {config_type}), not a container image"
        )));
    }
    let config = ImageConfig::parse(config_bytes)?;
    let diff_ids = config.diff_ids_for(manifest.layers().len())?;
    let layers = manifest
        .layers()
        .iter()
        .zip(diff_ids)
        .map(|(d, diff_id)| {
            let media_type = d.media_type().to_string();
            Ok(Layer {
                digest: Some(digest_of(d)?),
                diff_id: diff_id.clone(),
                compression: Compression::from_media_type(&media_type),
                media_type,
                size: Some(d.size()),
                annotations: sorted(d.annotations()),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let annotations = sorted(manifest.annotations());
    let image = Image {
        reference,
        manifest_digest: Some(fetched.digest),
        raw_manifest: Some(RawManifest {
            bytes: fetched.bytes.to_vec(),
            media_type: manifest
                .media_type()
                .as_ref()
                .map_or(OCI_MANIFEST.to_string(), |m| m.to_string()),
        }),
        config_digest: digest_of(manifest.config())?,
        config_bytes: config_bytes.to_vec(),
        annotations,
        layers,
        config,
    };
    image.validate()?;
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attestations_and_entries_without_a_platform_are_skipped() {
        let d = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
        let entry = |platform: serde_json::Value, annotations: serde_json::Value| {
            serde_json::json!({"mediaType": OCI_MANIFEST, "digest": d, "size": 1,
                "platform": platform, "annotations": annotations})
        };
        let index = serde_json::json!({"schemaVersion": 2, "manifests": [
            entry(serde_json::json!({"os": "linux", "architecture": "arm64", "variant": "v8"}), serde_json::json!({})),
            entry(serde_json::json!({"os": "unknown", "architecture": "unknown"}), serde_json::json!({})),
            entry(serde_json::json!({"os": "linux", "architecture": "amd64"}),
                serde_json::json!({"vnd.docker.reference.type": "attestation-manifest"})),
            {"mediaType": OCI_MANIFEST, "digest": d, "size": 1},
        ]});
        let index: ImageIndex = serde_json::from_value(index).unwrap();
        let entries = platform_entries(&index);
        let platforms: Vec<String> = entries.images.iter().map(|(p, _)| p.to_string()).collect();
        assert_eq!(platforms, ["linux/arm64/v8"]);
        assert_eq!(entries.skipped.len(), 3);
        assert!(entries.skipped[0].contains("attestation"));
        assert!(entries.skipped[2].contains("without a platform"));
    }

    #[test]
    fn layer_types_follow_the_manifest_family() {
        assert_eq!(
            layer_type_in(
                "application/vnd.docker.distribution.manifest.v2+json",
                "application/vnd.oci.image.layer.v1.tar+gzip"
            ),
            "application/vnd.docker.image.rootfs.diff.tar.gzip"
        );
        assert_eq!(
            layer_type_in(OCI_MANIFEST, "application/vnd.docker.image.rootfs.diff.tar"),
            "application/vnd.oci.image.layer.v1.tar"
        );
        assert_eq!(
            layer_type_in(OCI_MANIFEST, "application/vnd.oci.image.layer.v1.tar+zstd"),
            "application/vnd.oci.image.layer.v1.tar+zstd"
        );
    }
}
