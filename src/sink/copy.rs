//! Copying an image from any source to any sink, sending only what the destination lacks: blobs
//! it has are skipped (not even read), blobs a registry can mount are mounted, the rest stream
//! through. The manifest keeps its exact bytes, so the digest survives the copy; legacy `docker
//! save` archives, which have no manifest, get an OCI manifest written for them.

use std::io::{Cursor, Read};

use serde::Serialize;

use std::collections::HashSet;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::layer::compression::Compression;
use crate::layer::digest::Digest;
use crate::mutate::image::{descriptor, manifest_for};
use crate::progress::Progress;
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

impl CopyStats {
    /// One line for people: where the image went and what was sent.
    pub fn summary(&self) -> String {
        format!(
            "{} at {}: {} blobs sent ({}), {} already there, {} mounted",
            self.manifest_digest,
            self.destination,
            self.uploaded,
            crate::units::human_bytes(self.uploaded_bytes),
            self.skipped,
            self.mounted
        )
    }
}

fn oci_layer_type(c: Compression) -> &'static str {
    match c {
        Compression::None => "application/vnd.oci.image.layer.v1.tar",
        Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
        Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
    }
}

/// A blob to write: its digest and size, where it lives (a registry reference blobs can be mounted
/// from), and how to read it (again, when a sink retries).
pub struct Blob<'a> {
    /// The digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    /// The registry repository that holds it, if any.
    pub origin: Option<String>,
    /// Opens its bytes from the start.
    pub open: Box<dyn Fn() -> Result<Box<dyn Read + Send>> + 'a>,
    /// A local file holding exactly these bytes (a layer cache blob), which a sink on the same
    /// filesystem may link instead of copying.
    pub file: Option<std::path::PathBuf>,
}

/// A blob stored in a local file (the layer cache's content store).
pub fn file_blob<'a>(digest: Digest, size: u64, path: std::path::PathBuf) -> Blob<'a> {
    let file = Some(path.clone());
    Blob {
        digest,
        size,
        origin: None,
        open: Box::new(move || {
            let f = std::fs::File::open(&path).map_err(|e| Error::io(path.display(), e))?;
            Ok(Box::new(f) as Box<dyn Read + Send>)
        }),
        file,
    }
}

/// The layers of an opened image as blobs (`digests` from [`OpenedImage::layer_digests`], which
/// verifies the diff_id of layers no manifest names), from index `from` on. Their bytes are
/// verified where they land: every sink checks digest and size on receipt and commits a blob
/// (and a new layout or archive) only once it matched.
pub fn layer_blobs<'a>(src: &'a OpenedImage, digests: &[Digest], from: usize) -> Vec<Blob<'a>> {
    let origin = src.layers.is_remote().then(|| src.image.reference.clone());
    (from..digests.len())
        .map(|i| Blob {
            digest: digests[i].clone(),
            size: src.image.layers[i].size.unwrap_or(0),
            origin: origin.clone(),
            open: Box::new(move || src.layers.open_layer(i)),
            file: None,
        })
        .collect()
}

/// A small in-memory blob (a config).
pub fn bytes_blob<'a>(bytes: Vec<u8>) -> Blob<'a> {
    Blob {
        digest: Digest::sha256_of(&bytes),
        size: bytes.len() as u64,
        origin: None,
        open: Box::new(move || Ok(Box::new(Cursor::new(bytes.clone())))),
        file: None,
    }
}

/// The manifest of an opened image as JSON, with its media type: the stored one, or (legacy
/// archives) an OCI manifest made for it with layer types read from the bytes.
pub fn manifest_of(src: &OpenedImage, digests: &[Digest]) -> Result<(Vec<u8>, String)> {
    if let Some(raw) = &src.image.raw_manifest {
        return Ok((raw.bytes.clone(), raw.media_type.clone()));
    }
    let mut layers = Vec::new();
    for (i, digest) in digests.iter().enumerate() {
        let mut magic = Vec::with_capacity(4);
        src.layers
            .open_layer(i)?
            .take(4)
            .read_to_end(&mut magic)
            .map_err(|e| Error::io(format!("layer {i}"), e))?;
        layers.push(descriptor(
            oci_layer_type(Compression::sniff(&magic)),
            digest,
            src.image.layers[i].size.unwrap_or(0),
        )?);
    }
    let bytes = manifest_for(&src.image.config_digest, src.image.config_size(), layers)?;
    Ok((bytes, OCI_MANIFEST.to_string()))
}

/// Counts the bytes read through it for a progress bar.
struct Counted {
    inner: Box<dyn Read + Send>,
    progress: Arc<dyn Progress>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

/// Writes `blobs` (each once, skipping or mounting what the sink can get without bytes), then
/// the manifest, reporting bytes to `progress`.
pub fn write_image(
    sink: &mut dyn Sink,
    blobs: Vec<Blob<'_>>,
    manifest: &[u8],
    media_type: &str,
    progress: Arc<dyn Progress>,
) -> Result<CopyStats> {
    progress.start(blobs.iter().map(|b| b.size).sum());
    let mut stats = CopyStats {
        manifest_digest: Digest::sha256_of(manifest),
        destination: sink.describe(),
        uploaded: 0,
        uploaded_bytes: 0,
        skipped: 0,
        mounted: 0,
    };
    let mut done = HashSet::new();
    for blob in blobs {
        if !done.insert(blob.digest.clone()) {
            continue;
        }
        if sink.has_blob(&blob.digest)? {
            stats.skipped += 1;
            progress.advance(blob.size);
        } else if sink.mount_blob(&blob.digest, blob.origin.as_deref())? {
            stats.mounted += 1;
            progress.advance(blob.size);
        } else if blob
            .file
            .as_deref()
            .is_some_and(|f| sink.link_blob(&blob.digest, blob.size, f))
        {
            stats.uploaded += 1;
            stats.uploaded_bytes += blob.size;
            progress.advance(blob.size);
        } else {
            let counted = progress.clone();
            sink.put_blob(&blob.digest, blob.size, &mut || {
                Ok(Box::new(Counted {
                    inner: (blob.open)()?,
                    progress: counted.clone(),
                }) as Box<dyn Read + Send>)
            })?;
            stats.uploaded += 1;
            stats.uploaded_bytes += blob.size;
        }
    }
    sink.put_manifest(manifest, media_type)?;
    Ok(stats)
}

/// Copies `src` into `sink`.
pub fn copy_image(
    src: &OpenedImage,
    sink: &mut dyn Sink,
    progress: Arc<dyn Progress>,
) -> Result<CopyStats> {
    let digests = src.layer_digests()?;
    let (manifest, media_type) = manifest_of(src, &digests)?;
    let mut blobs = layer_blobs(src, &digests, 0);
    let mut config = bytes_blob(src.image.config_bytes.clone());
    config.origin = src.layers.is_remote().then(|| src.image.reference.clone());
    blobs.push(config);
    write_image(sink, blobs, &manifest, &media_type, progress)
}
