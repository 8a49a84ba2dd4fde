//! Copying an image from any source to any sink, sending only what the destination lacks: blobs
//! it has are skipped (not even read), blobs a registry can mount are mounted, the rest stream
//! through. The manifest keeps its exact bytes, so the digest survives the copy; legacy `docker
//! save` archives, which have no manifest, get an OCI manifest written for them.

use std::io::{Cursor, Read};

use serde::Serialize;
use serde_json::json;

use crate::error::Result;
use crate::layer::compression::Compression;
use crate::layer::digest::Digest;
use crate::sink::Sink;
use crate::source::manifest::OCI_MANIFEST;
use crate::source::OpenedImage;

/// What a copy did.
#[derive(Debug, Clone, Serialize)]
pub struct CopyStats {
    /// The digest of the manifest written.
    pub manifest_digest: Digest,
    /// The destination.
    pub destination: String,
    /// Blobs sent.
    pub uploaded: usize,
    /// Bytes sent.
    pub uploaded_bytes: u64,
    /// Blobs the destination already had.
    pub skipped: usize,
    /// Blobs mounted from another repository of the same registry.
    pub mounted: usize,
}

fn oci_layer_type(c: Compression) -> &'static str {
    match c {
        Compression::None => "application/vnd.oci.image.layer.v1.tar",
        Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
        Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
    }
}

/// An OCI manifest for an image that has none (legacy archives): layer types come from the bytes.
fn synthesize_manifest(src: &OpenedImage, digests: &[Digest]) -> Result<Vec<u8>> {
    let mut layers = Vec::new();
    for (i, digest) in digests.iter().enumerate() {
        let mut magic = Vec::with_capacity(4);
        src.layers
            .open_layer(i)?
            .take(4)
            .read_to_end(&mut magic)
            .map_err(|e| crate::error::Error::io(format!("layer {i}"), e))?;
        layers.push(json!({
            "mediaType": oci_layer_type(Compression::sniff(&magic)),
            "digest": digest.to_string(),
            "size": src.image.layers[i].size.unwrap_or(0),
        }));
    }
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": src.image.config_digest.to_string(),
            "size": src.image.config_size(),
        },
        "layers": layers,
    });
    serde_json::to_vec(&manifest).map_err(|e| crate::error::Error::invalid(e.to_string()))
}

/// Copies `src` into `sink`.
pub fn copy_image(src: &OpenedImage, sink: &mut dyn Sink) -> Result<CopyStats> {
    let digests = src.layer_digests()?;
    let (manifest, media_type) = match &src.image.raw_manifest {
        Some(raw) => (raw.bytes.clone(), raw.media_type.clone()),
        None => (
            synthesize_manifest(src, &digests)?,
            OCI_MANIFEST.to_string(),
        ),
    };
    let mut stats = CopyStats {
        manifest_digest: Digest::sha256_of(&manifest),
        destination: sink.describe(),
        uploaded: 0,
        uploaded_bytes: 0,
        skipped: 0,
        mounted: 0,
    };
    let mut done = std::collections::HashSet::new();
    let config = src.image.config_bytes.clone();
    let blobs = digests
        .iter()
        .enumerate()
        .map(|(i, d)| (d.clone(), src.image.layers[i].size.unwrap_or(0), Some(i)))
        .chain(std::iter::once((
            src.image.config_digest.clone(),
            src.image.config_size(),
            None,
        )));
    for (digest, size, layer) in blobs {
        if !done.insert(digest.clone()) {
            continue;
        }
        if sink.has_blob(&digest)? {
            stats.skipped += 1;
        } else if sink.mount_blob(&digest)? {
            stats.mounted += 1;
        } else {
            let mut open = || -> Result<Box<dyn Read + Send>> {
                match layer {
                    Some(i) => src.layers.open_layer(i),
                    None => Ok(Box::new(Cursor::new(config.clone()))),
                }
            };
            sink.put_blob(&digest, size, &mut open)?;
            stats.uploaded += 1;
            stats.uploaded_bytes += size;
        }
    }
    sink.put_manifest(&manifest, &media_type)?;
    Ok(stats)
}
