//! `rebase`, crane-style: put an image's own layers on a new base without downloading a layer.
//! The old base's layers must be an exact prefix of the image's; the new manifest lists the new
//! base's layers then the image's own, the config gets the new base's diff_ids, history and
//! platform, and the `org.opencontainers.image.base.*` annotations name the new base. Nothing is
//! re-tarred or re-compressed: blobs are referenced, skipped or mounted by the sink.

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::layer::digest::Digest;
use crate::sink::copy::{bytes_blob, layer_blobs, manifest_of, write_image, CopyStats};
use crate::sink::Sink;
use crate::source::manifest::layer_type_in;
use crate::source::OpenedImage;

const BASE_NAME: &str = "org.opencontainers.image.base.name";
const BASE_DIGEST: &str = "org.opencontainers.image.base.digest";

fn json_of(bytes: &[u8], what: &str) -> Result<Value> {
    serde_json::from_slice(bytes).map_err(|e| Error::invalid(format!("{what}: {e}")))
}

fn to_bytes(v: &Value) -> Result<Vec<u8>> {
    // serde_json's map is ordered by key: the output is canonical (sorted keys).
    serde_json::to_vec(v).map_err(|e| Error::invalid(e.to_string()))
}

/// History entries of a config that stand for its first `layers` layers (entries without a layer
/// included), so the image's own history can be split from its base's.
fn history_prefix_len(history: &[Value], layers: usize) -> usize {
    let mut seen = 0;
    for (i, h) in history.iter().enumerate() {
        if seen == layers {
            return i;
        }
        if !h["empty_layer"].as_bool().unwrap_or(false) {
            seen += 1;
        }
    }
    history.len()
}

/// Rebases `image` from `old_base` onto `new_base` (named `new_base_name` in the annotations) and
/// writes the result to `sink`.
pub fn rebase(
    image: &OpenedImage,
    old_base: &OpenedImage,
    new_base: &OpenedImage,
    new_base_name: &str,
    sink: &mut dyn Sink,
    progress: std::sync::Arc<dyn crate::progress::Progress>,
) -> Result<CopyStats> {
    let (image_digests, old_digests, new_digests) = (
        image.layer_digests()?,
        old_base.layer_digests()?,
        new_base.layer_digests()?,
    );
    let keep = old_digests.len();
    if image_digests.len() < keep || image_digests[..keep] != old_digests[..] {
        return Err(Error::invalid(format!(
            "{} is not based on {}: the old base's {keep} layers are not the first layers of the image",
            image.image.reference, old_base.image.reference
        )));
    }

    let (image_manifest, media_type) = manifest_of(image, &image_digests)?;
    let (new_manifest, _) = manifest_of(new_base, &new_digests)?;
    let mut manifest = json_of(&image_manifest, "image manifest")?;
    let new_manifest = json_of(&new_manifest, "new base manifest")?;
    let own_layers: Vec<Value> =
        manifest["layers"].as_array().cloned().unwrap_or_default()[keep..].to_vec();
    let mut layers: Vec<Value> = new_manifest["layers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for layer in &mut layers {
        let t = layer["mediaType"].as_str().unwrap_or_default().to_string();
        layer["mediaType"] = json!(layer_type_in(&media_type, &t));
    }
    layers.extend(own_layers);

    let mut config = json_of(&image.image.config_bytes, "image config")?;
    let new_config = json_of(&new_base.image.config_bytes, "new base config")?;
    let old_config = json_of(&old_base.image.config_bytes, "old base config")?;
    let diff_ids: Vec<String> = new_base
        .image
        .config
        .diff_ids
        .iter()
        .chain(&image.image.config.diff_ids[keep..])
        .map(Digest::to_string)
        .collect();
    config["rootfs"] = json!({"type": "layers", "diff_ids": diff_ids});
    let image_history = config["history"].as_array().cloned().unwrap_or_default();
    let old_len = history_prefix_len(
        old_config["history"]
            .as_array()
            .map_or(&[][..], Vec::as_slice),
        keep,
    );
    let mut history = new_config["history"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    history.extend(image_history.into_iter().skip(old_len));
    config["history"] = json!(history);
    for key in ["os", "architecture", "variant", "os.version"] {
        match new_config.get(key) {
            Some(v) => config[key] = v.clone(),
            None => {
                if let Some(obj) = config.as_object_mut() {
                    obj.remove(key);
                }
            }
        }
    }
    let config_bytes = to_bytes(&config)?;
    let config_blob = bytes_blob(config_bytes);

    manifest["config"]["digest"] = json!(config_blob.digest.to_string());
    manifest["config"]["size"] = json!(config_blob.size);
    manifest["layers"] = json!(layers);
    let mut annotations = manifest["annotations"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    annotations.insert(BASE_NAME.into(), json!(new_base_name));
    match &new_base.image.manifest_digest {
        Some(d) => annotations.insert(BASE_DIGEST.into(), json!(d.to_string())),
        None => annotations.remove(BASE_DIGEST),
    };
    manifest["annotations"] = Value::Object(annotations);
    let manifest_bytes = to_bytes(&manifest)?;

    let mut blobs = layer_blobs(new_base, &new_digests, 0);
    blobs.extend(layer_blobs(image, &image_digests, keep));
    blobs.push(config_blob);
    write_image(sink, blobs, &manifest_bytes, &media_type, progress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_split_skips_empty_layer_entries() {
        let h = vec![
            json!({"created_by": "ADD rootfs"}),
            json!({"created_by": "ENV A=1", "empty_layer": true}),
            json!({"created_by": "RUN x"}),
            json!({"created_by": "COPY app"}),
        ];
        assert_eq!(history_prefix_len(&h, 1), 1);
        assert_eq!(history_prefix_len(&h, 2), 3);
        assert_eq!(history_prefix_len(&h, 3), 4);
    }
}
