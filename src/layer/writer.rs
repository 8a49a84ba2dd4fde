//! Writing layers bit for bit reproducibly: entries sorted bytewise with explicit parent
//! directories, uid/gid 0 (or a configured owner) and empty user names, modes normalized to
//! 0644/0755 (execute bits kept), one fixed mtime, no atime/ctime, symlinks kept as links, and a
//! pinned compressor (flate2 on zlib-rs at level 6, or zstd level 3), so the same inputs give the
//! same digests on any machine. The tar is hashed (diff_id) and the compressed stream hashed and
//! counted (digest, size) in the same single pass.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::layer::digest::Digest;

/// The compressor of new layers; part of every layer's cache key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerCompression {
    /// gzip, flate2 on zlib-rs, level 6: readable everywhere.
    Gzip,
    /// zstd level 3: smaller and faster, for runtimes that read it (containerd ≥ 1.5, Docker ≥ 23).
    Zstd,
}

impl LayerCompression {
    /// The OCI media type of layers written with it.
    pub fn media_type(self) -> &'static str {
        match self {
            LayerCompression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
            LayerCompression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
        }
    }

    /// A stable name for cache keys (changes whenever the output bytes could).
    pub fn cache_id(self) -> &'static str {
        match self {
            LayerCompression::Gzip => "gzip-zlib-rs-6",
            LayerCompression::Zstd => "zstd-3",
        }
    }
}

/// What an entry of a new layer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// A directory.
    Dir,
    /// A regular file, read from this source path.
    File(PathBuf),
    /// A symbolic link to this target (kept as data, never followed).
    Symlink(String),
}

/// One entry of a new layer.
#[derive(Debug, Clone)]
pub struct LayerEntry {
    /// Path inside the image, relative to the root (`app/main.py`).
    pub path: String,
    /// What it is.
    pub content: Content,
    /// Whether any execute bit was set at the source (files: 0755 instead of 0644).
    pub executable: bool,
    /// The source's modification time (used only when the normalization keeps mtimes).
    pub mtime: u64,
}

/// Ownership and permissions applied to every entry of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Normalization {
    /// Owner uid and gid (0:0 unless configured).
    pub uid: u64,
    /// Group id.
    pub gid: u64,
    /// Modification time of every entry (SOURCE_DATE_EPOCH, else 1 s after the epoch); `None`
    /// keeps each source's own (for caches of build outputs, where tools compare times).
    pub mtime: Option<u64>,
}

/// The identity of a written layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct WrittenLayer {
    /// Digest of the compressed blob.
    pub digest: String,
    /// Digest of the tar.
    pub diff_id: String,
    /// Bytes of the compressed blob.
    pub size: u64,
    /// Its media type.
    pub media_type: String,
}

/// Hashes and counts what is written through it.
struct Counting<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The entries of a layer with every parent directory made explicit, sorted bytewise, the last
/// entry for a path winning.
pub fn normalize_entries(entries: Vec<LayerEntry>) -> Vec<LayerEntry> {
    let mut by_path = std::collections::BTreeMap::new();
    for e in entries {
        let mut parent = e.path.as_str();
        while let Some((p, _)) = parent.rsplit_once('/') {
            by_path.entry(p.to_string()).or_insert(LayerEntry {
                path: p.to_string(),
                content: Content::Dir,
                executable: true,
                mtime: 0,
            });
            parent = p;
        }
        by_path.insert(e.path.clone(), e);
    }
    by_path.into_values().collect()
}

fn header(e: &LayerEntry, n: &Normalization) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_uid(n.uid);
    h.set_gid(n.gid);
    h.set_mtime(n.mtime.unwrap_or(e.mtime));
    let (kind, mode) = match &e.content {
        Content::Dir => (tar::EntryType::Directory, 0o755),
        Content::File(_) => (
            tar::EntryType::Regular,
            if e.executable { 0o755 } else { 0o644 },
        ),
        Content::Symlink(_) => (tar::EntryType::Symlink, 0o777),
    };
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(0);
    h
}

/// A compressor whose output can be recovered when it finishes.
enum Encoder<W: Write> {
    Gzip(flate2::write::GzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Encoder<W> {
    fn new(compression: LayerCompression, out: W) -> io::Result<Self> {
        Ok(match compression {
            LayerCompression::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(
                out,
                flate2::Compression::new(6),
            )),
            LayerCompression::Zstd => Encoder::Zstd(zstd::stream::write::Encoder::new(out, 3)?),
        })
    }

    fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Gzip(e) => e.finish(),
            Encoder::Zstd(e) => e.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Gzip(e) => e.write(buf),
            Encoder::Zstd(e) => e.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Gzip(e) => e.flush(),
            Encoder::Zstd(e) => e.flush(),
        }
    }
}

/// Writes the layer of `entries` (already normalized) to `out`, compressed with `compression`, and
/// returns its identity. File contents stream from disk; nothing is held in memory.
pub fn write_layer(
    entries: &[LayerEntry],
    normalization: &Normalization,
    compression: LayerCompression,
    out: File,
) -> Result<WrittenLayer> {
    let io_err = |e: io::Error| Error::invalid(format!("writing layer: {e}"));
    let compressed = Counting {
        inner: io::BufWriter::new(out),
        hasher: Sha256::new(),
        bytes: 0,
    };
    let tar_side = Counting {
        inner: Encoder::new(compression, compressed).map_err(io_err)?,
        hasher: Sha256::new(),
        bytes: 0,
    };
    let mut builder = tar::Builder::new(tar_side);
    for e in entries {
        let mut h = header(e, normalization);
        let name = match e.content {
            Content::Dir => format!("{}/", e.path),
            _ => e.path.clone(),
        };
        match &e.content {
            Content::Dir => builder.append_data(&mut h, &name, io::empty()),
            Content::Symlink(target) => builder.append_link(&mut h, &name, target),
            Content::File(source) => {
                let file = File::open(source).map_err(|err| Error::io(source.display(), err))?;
                let len = file
                    .metadata()
                    .map_err(|err| Error::io(source.display(), err))?
                    .len();
                h.set_size(len);
                builder.append_data(&mut h, &name, io::Read::take(file, len))
            }
        }
        .map_err(|err| Error::invalid(format!("writing {}: {err}", e.path)))?;
    }
    let tar_side = builder.into_inner().map_err(io_err)?;
    let diff_id = Digest::parse(&format!(
        "sha256:{}",
        hex::encode(tar_side.hasher.finalize())
    ))?;
    let compressed = tar_side.inner.finish().map_err(io_err)?;
    let digest = Digest::parse(&format!(
        "sha256:{}",
        hex::encode(compressed.hasher.finalize())
    ))?;
    let file = compressed
        .inner
        .into_inner()
        .map_err(|e| io_err(e.into_error()))?;
    file.sync_all().map_err(io_err)?;
    Ok(WrittenLayer {
        digest: digest.to_string(),
        diff_id: diff_id.to_string(),
        size: compressed.bytes,
        media_type: compression.media_type().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(dir: &std::path::Path, entries: Vec<LayerEntry>, mtime: u64) -> WrittenLayer {
        let out = dir.join(format!("layer-{mtime}"));
        let n = Normalization {
            uid: 0,
            gid: 0,
            mtime: Some(mtime),
        };
        write_layer(
            &normalize_entries(entries),
            &n,
            LayerCompression::Gzip,
            File::create(&out).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn same_inputs_same_digests_and_parents_are_explicit() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("main.py");
        std::fs::write(&src, b"print(1)\n").unwrap();
        let entries = || {
            vec![
                LayerEntry {
                    path: "app/src/main.py".into(),
                    content: Content::File(src.clone()),
                    executable: false,
                    mtime: 0,
                },
                LayerEntry {
                    path: "app/bin".into(),
                    content: Content::Symlink("../src/main.py".into()),
                    executable: false,
                    mtime: 0,
                },
            ]
        };
        let a = layer(dir.path(), entries(), 1);
        let b = layer(dir.path(), entries().into_iter().rev().collect(), 1);
        assert_eq!(a, b, "order of inputs does not matter");
        assert_ne!(
            a.digest,
            layer(dir.path(), entries(), 2).digest,
            "mtime is part of the bytes"
        );
        let paths: Vec<String> = normalize_entries(entries())
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(paths, ["app", "app/bin", "app/src", "app/src/main.py"]);
    }
}
