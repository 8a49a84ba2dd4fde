//! Copying an image from any source to any sink, sending only what the destination lacks: blobs
//! it has are skipped (not even read), blobs a registry can mount are mounted, the rest stream
//! through. The manifest keeps its exact bytes, so the digest survives the copy; legacy `docker
//! save` archives, which have no manifest, get an OCI manifest written for them.

use std::io::{Cursor, Read};

use oci_spec::image::Descriptor;
use serde::Serialize;

use std::collections::HashSet;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::layer::compression::Compression;
use crate::layer::digest::Digest;
use crate::mutate::image::{descriptor, manifest_for};
use crate::progress::Progress;
use crate::sink::Sink;
use crate::source::manifest::{
    digest_of, media_type_of, parse_document, Document, Store, OCI_MANIFEST,
};
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
    /// What a whole-index copy (`copy --all`) wrote beside the blobs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<IndexStats>,
}

impl CopyStats {
    /// Nothing copied yet of the manifest `manifest` to `sink`.
    fn start(manifest: &[u8], sink: &dyn Sink) -> CopyStats {
        CopyStats {
            manifest_digest: Digest::sha256_of(manifest),
            destination: sink.describe(),
            uploaded: 0,
            uploaded_bytes: 0,
            skipped: 0,
            mounted: 0,
            index: None,
        }
    }

    /// One line for people: where the image went and what was sent.
    pub fn summary(&self) -> String {
        let whole = self.index.as_ref().map_or(String::new(), |i| {
            format!(" ({} manifests, {} referrers)", i.manifests, i.referrers)
        });
        format!(
            "{}{whole} at {}: {} blobs sent ({}), {} already there, {} mounted",
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
    let mut stats = CopyStats::start(manifest, &*sink);
    let mut done = HashSet::new();
    write_blobs(sink, blobs, &mut done, &mut stats, &progress)?;
    sink.put_manifest(manifest, media_type)?;
    Ok(stats)
}

/// One image of a multi-platform build: its blobs and its manifest.
pub struct PlatformImage<'a> {
    /// Every blob the image needs (base layers with their origin, new layers, config).
    pub blobs: Vec<Blob<'a>>,
    /// The manifest's canonical bytes.
    pub manifest: Vec<u8>,
    /// Its media type.
    pub media_type: String,
}

/// Writes each image (its blobs, each blob once across images, then its manifest by digest),
/// then `index` (the image index that lists them, of `index_type`) under the sink's tag.
pub fn write_index(
    sink: &mut dyn Sink,
    images: Vec<PlatformImage<'_>>,
    index: &[u8],
    index_type: &str,
    progress: Arc<dyn Progress>,
) -> Result<CopyStats> {
    if let Some(why) = sink.refuses_index() {
        return Err(Error::usage(why));
    }
    let mut seen = HashSet::new();
    progress.start(
        images
            .iter()
            .flat_map(|i| &i.blobs)
            .filter(|b| seen.insert(b.digest.clone()))
            .map(|b| b.size)
            .sum(),
    );
    let mut stats = CopyStats::start(index, &*sink);
    let mut done = HashSet::new();
    let manifests = images.len();
    for image in images {
        write_blobs(sink, image.blobs, &mut done, &mut stats, &progress)?;
        sink.put_untagged(&image.manifest, &image.media_type)?;
    }
    sink.put_manifest(index, index_type)?;
    stats.index = Some(IndexStats {
        manifests,
        referrers: 0,
    });
    Ok(stats)
}

/// Writes each of `blobs` not in `done` yet: skipped when the sink has it, mounted when it can,
/// else linked or sent; counted in `stats` and `progress`.
fn write_blobs(
    sink: &mut dyn Sink,
    blobs: Vec<Blob<'_>>,
    done: &mut HashSet<Digest>,
    stats: &mut CopyStats,
    progress: &Arc<dyn Progress>,
) -> Result<()> {
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
    Ok(())
}

/// How many manifests and referrers `copy --all` follows at most (a referrer of a referrer
/// counts, so a loop of subjects ends).
const MAX_MANIFESTS: usize = 4096;

/// A manifest of a whole-index copy, read and ready to write.
struct Planned {
    bytes: Vec<u8>,
    media_type: String,
    /// The config and layers of an image manifest (none for an index).
    blobs: Vec<(Digest, u64)>,
    /// The subject this manifest is a referrer of, and its descriptor.
    referrer_of: Option<(Digest, Descriptor)>,
}

/// What `copy --all` wrote beside the blobs: platform manifests and referrers.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IndexStats {
    /// The platform images of the index (attestations included), written by digest.
    pub manifests: usize,
    /// Referrers of the index or of its manifests (signatures, SBOMs), written with their
    /// `subject`.
    pub referrers: usize,
}

/// Reads every manifest the top of `store` reaches: an index's entries (nested indexes
/// followed), and the referrers of each, depth first, children before what names them.
fn plan(store: &dyn Store) -> Result<(Vec<Planned>, IndexStats)> {
    let (top, top_type) = store.top()?;
    let mut planned = Vec::new();
    let mut stats = IndexStats::default();
    let mut seen = HashSet::new();
    // (media type, bytes, referrer_of): the work list, the top last to be written.
    let mut work = vec![(top_type, top, None::<(Digest, Descriptor)>)];
    while let Some((media_type, bytes, referrer_of)) = work.pop() {
        let digest = Digest::sha256_of(&bytes);
        if !seen.insert(digest.clone()) {
            continue;
        }
        if seen.len() > MAX_MANIFESTS {
            return Err(Error::invalid(format!(
                "the index reaches more than {MAX_MANIFESTS} manifests"
            )));
        }
        let mut blobs = Vec::new();
        match parse_document(&bytes, &format!("manifest {digest}"))? {
            Document::Index(index) => {
                for child in index.manifests() {
                    let child_digest = digest_of(child)?;
                    let child_bytes = store.manifest(&child_digest, Some(child.size()))?;
                    if referrer_of.is_none() {
                        stats.manifests += 1;
                    }
                    work.push((media_type_of(&child_bytes), child_bytes, None));
                }
            }
            Document::Manifest(manifest) => {
                for d in std::iter::once(manifest.config()).chain(manifest.layers()) {
                    blobs.push((digest_of(d)?, d.size()));
                }
            }
        }
        for referrer in store.referrers(&digest)? {
            let referrer_digest = digest_of(&referrer)?;
            let referrer_bytes = store.manifest(&referrer_digest, Some(referrer.size()))?;
            stats.referrers += 1;
            work.push((
                media_type_of(&referrer_bytes),
                referrer_bytes,
                Some((digest.clone(), referrer)),
            ));
        }
        planned.push(Planned {
            bytes,
            media_type,
            blobs,
            referrer_of,
        });
    }
    // A manifest is written after everything it names: the reverse of the order found.
    planned.reverse();
    Ok((planned, stats))
}

/// `copy --all`: the index `store`'s reference names, byte for byte (its digest kept), every
/// manifest it lists with their blobs, and the referrers of the index and of each manifest
/// (written by digest with their `subject`, and where the sink does not find referrers itself,
/// listed as its [`Sink::add_referrer`] says); the tag last.
pub fn copy_index(
    store: &dyn Store,
    sink: &mut dyn Sink,
    progress: Arc<dyn Progress>,
) -> Result<CopyStats> {
    let (planned, index_stats) = plan(store)?;
    let Some((top, rest)) = planned.split_last() else {
        return Err(Error::invalid("nothing to copy"));
    };
    if parse_document(&top.bytes, "the top manifest").is_ok_and(|d| matches!(d, Document::Index(_)))
    {
        if let Some(why) = sink.refuses_index() {
            return Err(Error::usage(why));
        }
    }
    let unique: HashSet<&(Digest, u64)> = planned.iter().flat_map(|p| &p.blobs).collect();
    progress.start(unique.iter().map(|b| b.1).sum());
    let mut stats = CopyStats::start(&top.bytes, &*sink);
    let mut done = HashSet::new();
    let origin = store.origin();
    let blobs_of = |manifest: &Planned| -> Vec<Blob<'_>> {
        manifest
            .blobs
            .iter()
            .map(|(digest, size)| {
                let digest = digest.clone();
                Blob {
                    digest: digest.clone(),
                    size: *size,
                    origin: origin.clone(),
                    open: Box::new(move || store.open_blob(&digest)),
                    file: None,
                }
            })
            .collect()
    };
    for manifest in rest {
        write_blobs(sink, blobs_of(manifest), &mut done, &mut stats, &progress)?;
        sink.put_untagged(&manifest.bytes, &manifest.media_type)?;
        if let Some((subject, descriptor)) = &manifest.referrer_of {
            sink.add_referrer(subject, descriptor)?;
        }
    }
    write_blobs(sink, blobs_of(top), &mut done, &mut stats, &progress)?;
    sink.put_manifest(&top.bytes, &top.media_type)?;
    stats.index = Some(index_stats);
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
