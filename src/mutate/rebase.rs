//! `rebase`, crane-style: put an image's own layers on a new base without downloading a layer.
//! The old base's layers must be an exact prefix of the image's; the new manifest lists the new
//! base's layers then the image's own, the config gets the new base's diff_ids, history and
//! platform, and the `org.opencontainers.image.base.*` annotations name the new base. Nothing is
//! re-tarred or re-compressed: blobs are referenced, skipped or mounted by the sink.

use crate::error::{Error, Result};
use crate::layer::digest::Digest;
use crate::mutate::image::{ManifestLayer, NewImage};
use crate::sink::copy::{bytes_blob, layer_blobs, manifest_of, write_image, CopyStats};
use crate::sink::Sink;
use crate::source::OpenedImage;

/// `image` as a [`NewImage`] to change (its manifest as stored, or one made for a legacy
/// archive).
pub(crate) fn editable(image: &OpenedImage, digests: &[Digest]) -> Result<NewImage> {
    let (manifest, media_type) = manifest_of(image, digests)?;
    NewImage::from_existing(&manifest, &media_type, &image.image.config_bytes)
        .map_err(|e| e.context(image.image.reference.clone()))
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

    let mut rebased = editable(image, &image_digests)?;
    let base = editable(new_base, &new_digests)?;
    let base_layers = base
        .layers()
        .iter()
        .zip(&new_base.image.config.diff_ids)
        .map(|(d, diff_id)| ManifestLayer {
            descriptor: d.clone(),
            diff_id: diff_id.clone(),
        })
        .collect();
    rebased.replace_layers(0..keep, base_layers, base.config().history().to_vec())?;
    rebased.config_mut().set_platform_of(base.config());
    rebased.set_base(new_base_name, new_base.image.manifest_digest.as_ref());
    let assembled = rebased.finish()?;

    let mut blobs = layer_blobs(new_base, &new_digests, 0);
    blobs.extend(layer_blobs(image, &image_digests, keep));
    blobs.push(bytes_blob(assembled.config));
    write_image(
        sink,
        blobs,
        &assembled.manifest,
        &assembled.media_type,
        progress,
    )
}
