//! The proof that the new layers give the image's filesystem: the new layers (and those reused
//! from a previous image) are read back as any layer is (their blobs verified against the
//! digests and diff_ids the manifest will name), merged the same way, and compared path by path
//! with the input's merge — type, mode, owner, size, content digest, link target, xattrs, device
//! (and mtime when mtimes were kept), plus the deleted and hidden base paths. Over the same base
//! layers, equal merges are equal filesystems.
//! A pyc whose header was rewritten must have exactly the content digest of its rewrite.

use std::fs::File;

use crate::error::{Error, Result};
use crate::layer::compression::Compression;
use crate::layer::verify::LayerStream;
use crate::layer::Layer;
use crate::optimize::merged::{Merged, Node};
use crate::optimize::plan::{Group, LayerRole};
use crate::optimize::pyc::Rewrites;
use crate::optimize::relay::Relaid;

/// The first difference between two nodes, in words.
fn differs(a: &Node, b: &Node, mtimes: bool) -> Option<&'static str> {
    if a.kind != b.kind {
        Some("type")
    } else if a.mode != b.mode {
        Some("mode")
    } else if a.owner != b.owner {
        Some("owner")
    } else if a.size != b.size || a.sha256 != b.sha256 {
        Some("content")
    } else if a.link != b.link {
        Some("link target")
    } else if a.xattrs != b.xattrs {
        Some("xattrs")
    } else if a.device != b.device {
        Some("device")
    } else if mtimes && a.mtime != b.mtime {
        Some("mtime")
    } else {
        None
    }
}

/// The tar stream of `relaid`, new layer `index` of the image, read back from its temp file
/// and verified against the digest and diff_id the manifest will name.
pub fn read_back(relaid: &Relaid, index: usize) -> Result<LayerStream> {
    let w = &relaid.written;
    let layer = Layer {
        digest: Some(w.digest.clone()),
        diff_id: w.diff_id.clone(),
        media_type: w.media_type.clone(),
        size: Some(w.size),
        compression: Compression::from_media_type(&w.media_type),
        annotations: Default::default(),
    };
    let path = relaid.file.path();
    let file = File::open(path).map_err(|e| Error::io(path.display(), e))?;
    layer.uncompressed(&format!("new layer {index}"), Box::new(file), |_| {})
}

/// Checks that the verified tar `streams` of the new layers (numbered from `first`: written
/// ones [`read_back`], reused ones read from the previous image), with the entries of the
/// `trusted` of `groups`
/// entries as `expected` has them (reused blobs `optimize::proven` records say hold them), merge
/// to `expected`; `mtimes`
/// says whether mtimes were kept (and so must be equal); the pycs of `rewrites` must have
/// their rewritten content.
pub fn prove(
    expected: &Merged,
    streams: impl IntoIterator<Item = Result<LayerStream>>,
    groups: &[Group],
    trusted: &[usize],
    first: usize,
    mtimes: bool,
    rewrites: &Rewrites,
) -> Result<()> {
    let mut got = Merged::read(streams, first, None)?;
    for &index in trusted {
        let group = &groups[index];
        for path in &group.paths {
            let node = rewrites.expected(path, &expected.nodes[path]).into_owned();
            got.nodes.insert(path.clone(), node);
        }
        if group.role == LayerRole::App {
            got.deleted.extend(expected.deleted.iter().cloned());
        }
        // The lowest new layer carries the opaque markers (`relay`).
        if index == 0 {
            got.opaque.extend(expected.opaque.iter().cloned());
        }
    }
    let mismatch = |what: String| {
        Err(Error::invalid(format!(
            "the optimized layers do not give the image's filesystem: {what}; nothing was written"
        )))
    };
    for (path, want) in &expected.nodes {
        match got.nodes.get(path) {
            None => return mismatch(format!("/{path} is missing")),
            Some(have) => {
                if let Some(field) = differs(&rewrites.expected(path, want), have, mtimes) {
                    return mismatch(format!("/{path} differs in {field}"));
                }
            }
        }
    }
    if let Some(extra) = got.nodes.keys().find(|p| !expected.nodes.contains_key(*p)) {
        return mismatch(format!("/{extra} is extra"));
    }
    if got.deleted != expected.deleted {
        return mismatch("the deleted base paths differ".to_string());
    }
    if got.opaque != expected.opaque {
        return mismatch("the hidden base directories differ".to_string());
    }
    Ok(())
}
