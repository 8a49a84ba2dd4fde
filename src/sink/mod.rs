//! Sinks: where images are written — an OCI layout directory, a `docker load`-able archive that is
//! also an OCI layout, or a registry — behind one small interface, so copying (and later building)
//! is written once. Every sink skips blobs it already has, verifies every blob it receives, and
//! writes the manifest last, so an interrupted write never leaves a tag pointing at missing data.

pub mod archive;
pub mod copy;
pub mod engine;
pub mod layout;
pub mod registry;

use std::io::Read;

use oci_spec::image::Descriptor;

use crate::error::{Error, Result};
use crate::layer::digest::Digest;
use crate::layer::verify::Verifier;
use crate::source::reference::ImageRef;
use crate::source::registry::RegistryOptions;

/// Opens a blob's bytes from the start (again, when a sink retries).
pub type Opener<'a> = dyn FnMut() -> Result<Box<dyn Read + Send>> + 'a;

/// A destination for blobs and one tagged manifest.
pub trait Sink {
    /// Whether the destination already has this blob (then it is neither read nor sent).
    fn has_blob(&mut self, digest: &Digest) -> Result<bool>;

    /// Tries to obtain the blob without sending its bytes (a registry's cross-repository mount
    /// from `origin`, the registry reference that holds it); true when that worked.
    fn mount_blob(&mut self, _digest: &Digest, _origin: Option<&str>) -> Result<bool> {
        Ok(false)
    }

    /// Stores the blob by linking `file` (which holds exactly its bytes) when the sink can, e.g. a
    /// layout on the same filesystem as the layer cache; false means "copy it instead".
    fn link_blob(&mut self, _digest: &Digest, _size: u64, _file: &std::path::Path) -> bool {
        false
    }

    /// Stores a blob of exactly `size` bytes, failing on a digest or size mismatch. `open` yields
    /// the bytes; a sink may call it again to retry after a transient failure.
    fn put_blob(&mut self, digest: &Digest, size: u64, open: &mut Opener<'_>) -> Result<()>;

    /// Stores a small in-memory blob (a manifest, a config) unless it is already there.
    fn put_small(&mut self, bytes: &[u8]) -> Result<Digest> {
        let digest = Digest::sha256_of(bytes);
        if !self.has_blob(&digest)? {
            let owned = bytes.to_vec();
            self.put_blob(&digest, bytes.len() as u64, &mut || {
                Ok(Box::new(std::io::Cursor::new(owned.clone())))
            })?;
        }
        Ok(digest)
    }

    /// Stores the manifest (these exact bytes) and points the tag at it; called last.
    fn put_manifest(&mut self, bytes: &[u8], media_type: &str) -> Result<Digest>;

    /// Stores a manifest (these exact bytes) no tag names: an index's platform manifest, a
    /// referrer. By default a blob (layouts, archives); a registry puts it by digest.
    fn put_untagged(&mut self, bytes: &[u8], _media_type: &str) -> Result<Digest> {
        self.put_small(bytes)
    }

    /// Makes `referrer` (stored with [`Sink::put_untagged`]) findable as a referrer of
    /// `subject`, where the destination does not find referrers itself: a layout lists it in
    /// `index.json`, a registry without the referrers API gets the `sha256-<hex>` tag index.
    fn add_referrer(&mut self, _subject: &Digest, _referrer: &Descriptor) -> Result<()> {
        Ok(())
    }

    /// Why the destination cannot hold a multi-platform index, when it cannot (a docker
    /// archive: `manifest.json` names single images).
    fn refuses_index(&self) -> Option<String> {
        None
    }

    /// Describes the destination for messages.
    fn describe(&self) -> String;
}

/// The check a sink makes of a blob it receives: these bytes must hash to `digest` and number
/// `size`, or the blob is not committed.
fn receipt(digest: &Digest, size: u64) -> Verifier {
    let what = format!("blob {digest} being written");
    Verifier::new(what, digest.algorithm(), Some(digest.clone()), Some(size))
}

/// Opens the destination `dest` names (parsed with [`ImageRef::parse_destination`], which
/// refuses names that could only be a guess).
pub fn open_sink(dest: &ImageRef, opts: &RegistryOptions) -> Result<Box<dyn Sink>> {
    Ok(match dest {
        ImageRef::Layout { dir, tag } => Box::new(layout::LayoutSink::open(dir, tag.clone())?),
        ImageRef::Archive { file, tag, kind } => {
            Box::new(archive::ArchiveSink::create(file, tag.clone(), *kind)?)
        }
        ImageRef::Registry(reference) => {
            Box::new(registry::RegistrySink::connect(reference, opts)?)
        }
        ImageRef::Daemon(name) => Box::new(engine::engine_sink(name)?),
        // `parse_destination` never makes one: a bare name is no destination.
        ImageRef::Named(name) => {
            return Err(Error::usage(format!(
                "destination {name:?} names no registry host: write docker://{name} or \
                 docker-daemon:{name}"
            )))
        }
    })
}
