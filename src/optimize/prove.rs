//! The proof that the new layers give the image's filesystem: the new layers (and those reused
//! from a previous image) are read back as any layer is (their blobs verified against the
//! digests and diff_ids the manifest will name), merged the same way, and compared path by path
//! with the input's merge — type, mode, owner, size, content digest, link target, xattrs, device
//! (and mtime when mtimes were kept), plus the deleted and hidden base paths. Over the same base
//! layers, equal merges are equal filesystems.
//! A pyc whose header was rewritten must have exactly the content digest of its rewrite.
//! [`while_writing`] runs the proof on its own thread, so each layer is read back while the next
//! one compresses.

use std::fs::File;
use std::sync::mpsc::sync_channel;
use std::thread;

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

/// Runs `write` (which writes the new layers bottom first, handing each one's verified tar
/// stream, [`read_back`] or a reused layer's, to the callback it is given as soon as it has it)
/// while [`prove`] reads those streams on another thread, and returns what `write` returned once
/// the proof holds. One stream waits at most (the callback blocks until the proof takes the one
/// before), so memory stays bounded; a failed write is the error even if the proof also failed
/// (it was missing layers), and a proof that failed early leaves the callback returning at once.
pub fn while_writing<T>(
    expected: &Merged,
    groups: &[Group],
    trusted: &[usize],
    first: usize,
    mtimes: bool,
    rewrites: &Rewrites,
    write: impl FnOnce(&mut dyn FnMut(Result<LayerStream>)) -> Result<T>,
) -> Result<T> {
    thread::scope(|scope| {
        let (tx, rx) = sync_channel(1);
        let prover =
            scope.spawn(move || prove(expected, rx, groups, trusted, first, mtimes, rewrites));
        // A send fails only once the proof has stopped on an error, which the join returns.
        let written = write(&mut |stream| {
            let _ = tx.send(stream);
        });
        drop(tx);
        let proof = prover
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let written = written?;
        proof.map(|()| written)
    })
}

/// Checks that the verified tar `streams` of the new layers (numbered from `first`: written
/// ones [`read_back`], reused ones read from the previous image), with the entries of the
/// `trusted` of `groups` as `expected` has them (reused blobs `optimize::proven` records say
/// hold them), merge to `expected`; `mtimes` says whether mtimes were kept (and so must be
/// equal); the pycs of `rewrites` must have their rewritten content.
fn prove(
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

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::layer::digest::Digest;
    use crate::optimize::merged::Spool;
    use crate::optimize::relay::write_group;

    /// A plain tar of a directory and two files, as layer 1 of an image.
    fn layer() -> LayerStream {
        let mut b = tar::Builder::new(Vec::new());
        let mut add = |path: &str, data: &[u8]| {
            let mut h = tar::Header::new_gnu();
            h.set_mode(0o644);
            h.set_size(data.len() as u64);
            b.append_data(&mut h, path, data).unwrap();
        };
        add("app/main.py", b"print('v1')\n");
        add("app/data.bin", &[7; 70_000]);
        let bytes = b.into_inner().unwrap();
        let digest = Digest::sha256_of(&bytes);
        let layer = Layer {
            digest: Some(digest.clone()),
            diff_id: digest,
            media_type: "application/vnd.oci.image.layer.v1.tar".to_string(),
            size: Some(bytes.len() as u64),
            compression: Some(Compression::None),
            annotations: Default::default(),
        };
        layer
            .uncompressed("layer 1", Box::new(Cursor::new(bytes)), |_| {})
            .unwrap()
    }

    /// The layer merged (its contents spooled in `dir`), one app group of every path, and that
    /// group written as a new layer.
    fn written(dir: &std::path::Path) -> (Merged, Vec<Group>, Relaid) {
        let mut spool = Spool::create(dir).unwrap();
        let merged = Merged::read([Ok(layer())], 1, Some(&mut spool)).unwrap();
        let group = Group {
            role: LayerRole::App,
            packages: Vec::new(),
            paths: merged.nodes.keys().cloned().collect(),
            bytes: 0,
        };
        let groups = vec![group];
        let mut reader = spool.reader().unwrap();
        let rewrites = Rewrites::default();
        let relaid =
            write_group(&merged, &groups, 0, &mut reader, Some(1), &rewrites, dir).unwrap();
        (merged, groups, relaid)
    }

    fn proof(merged: &Merged, groups: &[Group], relaid: &Relaid) -> Result<()> {
        while_writing(
            merged,
            groups,
            &[],
            1,
            false,
            &Rewrites::default(),
            |hand_over| {
                hand_over(read_back(relaid, 1));
                Ok(())
            },
        )
    }

    #[test]
    fn the_written_layer_is_read_back_and_proven_on_another_thread() {
        let dir = tempfile::tempdir().unwrap();
        let (merged, groups, relaid) = written(dir.path());
        proof(&merged, &groups, &relaid).unwrap();
        // Another content in the image than in the layer: the proof says which path.
        let mut other = Merged::read([Ok(layer())], 1, None).unwrap();
        other.nodes.get_mut("app/main.py").unwrap().sha256 = [0; 32];
        let err = proof(&other, &groups, &relaid).unwrap_err().to_string();
        assert!(err.contains("/app/main.py differs in content"), "{err}");
    }

    #[test]
    fn a_flipped_byte_of_the_written_blob_fails_the_proof() {
        let dir = tempfile::tempdir().unwrap();
        let (merged, groups, relaid) = written(dir.path());
        let mut blob = std::fs::read(relaid.file.path()).unwrap();
        let at = blob.len() / 2;
        blob[at] ^= 0xff;
        std::fs::write(relaid.file.path(), blob).unwrap();
        let err = proof(&merged, &groups, &relaid).unwrap_err().to_string();
        assert!(err.starts_with("layer 1: "), "{err}");
    }

    #[test]
    fn a_failed_write_is_the_error_not_the_proof_it_cut_short() {
        let dir = tempfile::tempdir().unwrap();
        let (merged, groups, _) = written(dir.path());
        let failed: Result<()> = while_writing(
            &merged,
            &groups,
            &[],
            1,
            false,
            &Rewrites::default(),
            |_| Err(Error::invalid("the disk is full")),
        );
        let err = failed.unwrap_err().to_string();
        assert!(
            err.contains("the disk is full") && !err.contains("missing"),
            "{err}"
        );
    }
}
