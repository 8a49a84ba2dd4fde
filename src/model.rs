//! The image model every source produces and every analysis consumes: the layers as the manifest
//! describes them plus the parts of the config that matter for sizing (diff_ids, history, runtime
//! settings). Parsing is lenient about fields strata does not use, strict about the ones it does.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::layer::digest::Digest;
pub use crate::layer::Layer;

/// The most layers an image may have; more is refused (exit 2) as soon as a manifest or a config
/// says so, before anything per layer is allocated. Runtimes mount far fewer (overlayfs stacks at
/// most 128 lower directories under Docker and containerd, and `docker build` stops at 127), and
/// registries hold manifests of a few MiB (distribution and containerd refuse more than 4 MiB,
/// about 20 000 layers); 4 096 is 32 times what any runtime can run, so no real image is refused,
/// while a hostile manifest of 150 000 layers costs no minutes and no gigabyte.
pub const MAX_LAYERS: usize = 4096;

/// Refuses `count` layers above [`MAX_LAYERS`]; `what` names the document that lists them.
pub fn check_layer_count(count: usize, what: &str) -> Result<()> {
    if count > MAX_LAYERS {
        return Err(Error::invalid(format!(
            "{what} lists {count} layers, more than the {MAX_LAYERS} strata reads (no runtime mounts more than 128)"
        )));
    }
    Ok(())
}

/// A history entry of the config (`docker history` rows).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct History {
    /// The command that created the layer (or the config change).
    #[serde(default)]
    pub created_by: Option<String>,
    /// True when the step produced no layer.
    #[serde(default)]
    pub empty_layer: Option<bool>,
    /// When the step ran.
    #[serde(default)]
    pub created: Option<String>,
    /// Free-form comment.
    #[serde(default)]
    pub comment: Option<String>,
}

/// The runtime part of the image config (`config` in OCI, `Config` in docker).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuntimeConfig {
    /// The user the container runs as.
    #[serde(default)]
    pub user: Option<String>,
    /// Environment variables `KEY=value`.
    #[serde(default)]
    pub env: Option<Vec<String>>,
    /// The entrypoint.
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    /// The default command.
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
    /// The working directory.
    #[serde(default)]
    pub working_dir: Option<String>,
    /// Labels.
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    /// Exposed ports (`"80/tcp": {}`).
    #[serde(default)]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct RootFs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct RawConfig {
    #[serde(default)]
    architecture: Option<String>,
    #[serde(default)]
    os: Option<String>,
    #[serde(default)]
    variant: Option<String>,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    config: Option<RuntimeConfig>,
    rootfs: Option<RootFs>,
    #[serde(default)]
    history: Option<Vec<History>>,
}

/// The parsed image config.
#[derive(Debug, Clone)]
pub struct ImageConfig {
    /// CPU architecture (`amd64`).
    pub architecture: String,
    /// Operating system (`linux`).
    pub os: String,
    /// CPU variant (`v8`), when given.
    pub variant: Option<String>,
    /// When the image was built (RFC 3339), when the config says; `strata history` orders tags
    /// by it.
    pub created: Option<String>,
    /// The runtime settings.
    pub runtime: RuntimeConfig,
    /// The uncompressed digest of each layer, in order.
    pub diff_ids: Vec<Digest>,
    /// The history, including entries for steps that made no layer.
    pub history: Vec<History>,
}

impl ImageConfig {
    /// Parses a config blob, requiring `rootfs.diff_ids` (without it, it is not an image config).
    pub fn parse(bytes: &[u8]) -> Result<ImageConfig> {
        let raw: RawConfig = serde_json::from_slice(bytes)
            .map_err(|e| Error::invalid(format!("image config is not valid JSON: {e}")))?;
        let rootfs = raw
            .rootfs
            .ok_or_else(|| Error::invalid("image config has no rootfs: not an image config"))?;
        check_layer_count(rootfs.diff_ids.len(), "the image config")?;
        let diff_ids = rootfs
            .diff_ids
            .iter()
            .map(|d| Digest::parse(d).map_err(|e| e.context("config rootfs.diff_ids")))
            .collect::<Result<Vec<_>>>()?;
        Ok(ImageConfig {
            architecture: raw.architecture.unwrap_or_default(),
            os: raw.os.unwrap_or_default(),
            variant: raw.variant,
            created: raw.created,
            runtime: raw.config.unwrap_or_default(),
            diff_ids,
            history: raw.history.unwrap_or_default(),
        })
    }

    /// The diff_ids of an image whose manifest lists `layers` layers: one each, or an error.
    pub fn diff_ids_for(&self, layers: usize) -> Result<&[Digest]> {
        if layers != self.diff_ids.len() {
            return Err(Error::invalid(format!(
                "the manifest lists {layers} layers but the config has {} diff_ids",
                self.diff_ids.len()
            )));
        }
        Ok(&self.diff_ids)
    }

    /// The history entry that produced each layer: entries with `empty_layer` are skipped, as docker
    /// and dive do. A layer without an entry gets `None`.
    pub fn layer_history(&self, layer_count: usize) -> Vec<Option<&History>> {
        let mut with_layers = self
            .history
            .iter()
            .filter(|h| !h.empty_layer.unwrap_or(false));
        (0..layer_count).map(|_| with_layers.next()).collect()
    }
}

/// A manifest's exact bytes and media type: copies push these bytes, so digests are preserved.
#[derive(Debug, Clone)]
pub struct RawManifest {
    /// The bytes that hash to the manifest digest.
    pub bytes: Vec<u8>,
    /// Its media type (OCI or Docker v2 schema 2).
    pub media_type: String,
}

/// An image resolved to one manifest: what strata reports on.
#[derive(Debug, Clone)]
pub struct Image {
    /// The reference as the user gave it (normalized).
    pub reference: String,
    /// The digest of the manifest, when the image has one (legacy docker archives do not).
    pub manifest_digest: Option<Digest>,
    /// The digest of the config blob.
    pub config_digest: Digest,
    /// The config blob, exactly as stored (small; kept so copies preserve its digest).
    pub config_bytes: Vec<u8>,
    /// The manifest exactly as stored, when the image has one (legacy docker archives do not).
    pub raw_manifest: Option<RawManifest>,
    /// The manifest's annotations (base image name/digest live here).
    pub annotations: BTreeMap<String, String>,
    /// The layers, bottom first.
    pub layers: Vec<Layer>,
    /// The config.
    pub config: ImageConfig,
}

impl Image {
    /// Bytes of the config blob.
    pub fn config_size(&self) -> u64 {
        self.config_bytes.len() as u64
    }

    /// Bytes of the manifest, when the image has one.
    pub fn manifest_size(&self) -> Option<u64> {
        self.raw_manifest.as_ref().map(|m| m.bytes.len() as u64)
    }

    /// Checks the invariants analysis relies on: one diff_id per layer.
    pub fn validate(&self) -> Result<()> {
        self.config.diff_ids_for(self.layers.len())?;
        for layer in &self.layers {
            if !layer.media_type.is_empty() && layer.compression.is_none() {
                return Err(Error::invalid(format!(
                    "unknown layer media type {:?}",
                    layer.media_type
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_is_aligned_with_layers_skipping_empty_layer_entries() {
        let cfg = ImageConfig::parse(
            br#"{"rootfs":{"type":"layers","diff_ids":[]},"history":[
                {"created_by":"ADD rootfs"},{"created_by":"ENV A=1","empty_layer":true},
                {"created_by":"RUN make"}]}"#,
        )
        .unwrap();
        let h: Vec<_> = cfg
            .layer_history(3)
            .into_iter()
            .map(|h| h.and_then(|h| h.created_by.clone()))
            .collect();
        assert_eq!(
            h,
            vec![Some("ADD rootfs".into()), Some("RUN make".into()), None]
        );
    }

    #[test]
    fn a_json_without_rootfs_is_not_a_config() {
        let err = ImageConfig::parse(br#"{"architecture":"amd64"}"#).unwrap_err();
        assert!(err.to_string().contains("not an image config"));
    }
}
