//! Layers: what an image says of each one ([`Layer`]), compression, digests, the verified streams
//! every reader goes through, the streaming tar walk (reading) and the reproducible writer.

pub mod compression;
pub mod digest;
pub mod elf;
pub mod exec;
pub mod long_names;
pub mod names;
pub mod parallel_gzip;
pub mod push_size;
pub mod readahead;
pub mod verify;
pub mod walk;
pub mod writer;

use std::collections::BTreeMap;
use std::io::Read;

use crate::error::Result;
use compression::Compression;
use digest::{Algorithm, Digest};
use verify::{LayerStream, Verifier};

/// One layer as the image describes it, before any byte of it is read, and the way to read it:
/// [`Layer::uncompressed`] checks the bytes against this description as they stream and fails
/// at the end of any that do not match. (Its blob as stored goes to sinks, which check it on
/// receipt with the same [`verify::VerifyingReader`].)
#[derive(Debug, Clone)]
pub struct Layer {
    /// The compressed blob digest, when the source names it (legacy `docker save` archives do not;
    /// strata computes it while reading).
    pub digest: Option<Digest>,
    /// The digest of the uncompressed tar, from the config's `rootfs.diff_ids`.
    pub diff_id: Digest,
    /// The media type: from the manifest, or the docker tar type for legacy archives.
    pub media_type: String,
    /// The compressed size, when known before reading.
    pub size: Option<u64>,
    /// The compression the media type promises (`None` when nothing is promised).
    pub compression: Option<Compression>,
    /// The descriptor's annotations.
    pub annotations: BTreeMap<String, String>,
}

impl Layer {
    /// The tar stream `raw` decodes to, checked against the diff_id, with the blob under it
    /// checked against digest and size; `on_bytes` hears of every chunk of the blob read.
    pub fn uncompressed(
        &self,
        what: &str,
        raw: Box<dyn Read + Send>,
        on_bytes: impl Fn(u64) + Send + 'static,
    ) -> Result<LayerStream> {
        LayerStream::open(
            raw,
            Verifier::new(what, Algorithm::Sha256, self.digest.clone(), self.size),
            self.compression,
            &self.diff_id,
            what,
            on_bytes,
        )
    }
}
