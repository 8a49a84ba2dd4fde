//! Writing layers bit for bit reproducibly: entries sorted bytewise with explicit parent
//! directories, uid/gid 0 (or a configured owner) and empty user names, modes normalized to
//! 0644/0755 (execute bits kept), one fixed mtime, no atime/ctime, symlinks kept as links, and a
//! pinned compressor (block-parallel gzip on zlib-rs at a fixed level and block size, or zstd level
//! 3), so the same inputs give the same digests on any machine and any number of cores. The tar is
//! hashed (diff_id) as it is produced and the compressed stream hashed and counted (digest, size) as
//! it is written, in the same single pass; file contents can be hashed from that same read too.

use std::fs::{File, Metadata};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::layer::digest::Digest;
use crate::layer::parallel_gzip::{default_threads, ParallelGzip};

/// The deflate level of gzip layers (see BENCHMARKS.md for the speed/size trade); it is spelled
/// out in `LayerCompression::cache_id`, which must change with it.
const GZIP_LEVEL: u32 = 1;

/// Bytes read from a source file at a time.
const READ_CHUNK: usize = 256 * 1024;

/// The compressor of new layers; part of every layer's cache key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerCompression {
    /// gzip (block-parallel deflate on zlib-rs, `GZIP_LEVEL`): readable everywhere.
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
            LayerCompression::Gzip => "gzip-parallel-1MiB-dict32k-zlib-rs-1",
            LayerCompression::Zstd => "zstd-3",
        }
    }
}

/// What identifies a source file's content without reading it: if all of these are unchanged
/// (ctime changes on every write, even one that restores the mtime), so is the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FileStamp {
    /// Length in bytes.
    pub size: u64,
    /// Modification time (seconds, nanoseconds).
    pub mtime: (i64, i64),
    /// Status change time (seconds, nanoseconds).
    pub ctime: (i64, i64),
    /// Device and inode.
    pub inode: (u64, u64),
}

impl FileStamp {
    /// The stamp of a file from its metadata.
    pub fn of(meta: &Metadata) -> FileStamp {
        use std::os::unix::fs::MetadataExt;
        FileStamp {
            size: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
            inode: (meta.dev(), meta.ino()),
        }
    }
}

/// Content digests of source files that a layer write can consult and teach: a file whose digest
/// is not known yet is hashed from the same read that puts it in the tar, not read twice.
pub trait ContentDigests {
    /// Whether the digest of `source` with this stamp is already known.
    fn knows(&self, source: &Path, stamp: &FileStamp) -> bool;
    /// Records the [`content_digest`] of `source` as read with this stamp.
    fn learn(&mut self, source: &Path, stamp: FileStamp, digest: String);
}

/// Knows every file: nothing extra is hashed.
struct KnowsAll;

impl ContentDigests for KnowsAll {
    fn knows(&self, _: &Path, _: &FileStamp) -> bool {
        true
    }
    fn learn(&mut self, _: &Path, _: FileStamp, _: String) {}
}

/// What an entry of a new layer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// A directory.
    Dir,
    /// A regular file, read from this source path, with its stamp when it was found.
    File(PathBuf, FileStamp),
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

/// The identity of a written layer (what a manifest and config need to list it; the layer cache
/// records it as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct WrittenLayer {
    /// Digest of the compressed blob.
    pub digest: Digest,
    /// Digest of the tar.
    pub diff_id: Digest,
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
pub fn normalize_entries(mut entries: Vec<LayerEntry>) -> Vec<LayerEntry> {
    let present: std::collections::HashSet<&str> =
        entries.iter().map(|e| e.path.as_str()).collect();
    let mut missing = std::collections::BTreeSet::new();
    for e in &entries {
        let mut parent = e.path.as_str();
        while let Some((p, _)) = parent.rsplit_once('/') {
            if present.contains(p) || !missing.insert(p.to_string()) {
                // Its own parents are there, or were added with it.
                break;
            }
            parent = p;
        }
    }
    entries.extend(missing.into_iter().map(|path| LayerEntry {
        path,
        content: Content::Dir,
        executable: true,
        mtime: 0,
    }));
    // A stable sort keeps entries for one path in the order given; the last of each run wins.
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let mut out: Vec<LayerEntry> = Vec::with_capacity(entries.len());
    for e in entries {
        match out.last_mut() {
            Some(last) if last.path == e.path => *last = e,
            _ => out.push(e),
        }
    }
    out
}

fn header(e: &LayerEntry, n: &Normalization) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_uid(n.uid);
    h.set_gid(n.gid);
    h.set_mtime(n.mtime.unwrap_or(e.mtime));
    let (kind, mode) = match &e.content {
        Content::Dir => (tar::EntryType::Directory, 0o755),
        Content::File(..) => (
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
enum Encoder<W: Write + Send + 'static> {
    Gzip(ParallelGzip<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write + Send + 'static> Encoder<W> {
    fn new(compression: LayerCompression, out: W) -> io::Result<Self> {
        Ok(match compression {
            LayerCompression::Gzip => {
                Encoder::Gzip(ParallelGzip::new(out, GZIP_LEVEL, default_threads()))
            }
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

impl<W: Write + Send + 'static> Write for Encoder<W> {
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

/// The hasher of source file contents for the cache keys: BLAKE3, cryptographic like SHA-256 (a
/// crafted file cannot pass for another and poison the cache) and about 3× faster on one core,
/// which matters on the thread that also builds and hashes the tar.
pub type ContentHasher = blake3::Hasher;

/// The hex digest a [`ContentHasher`] ends with.
pub fn content_digest(hasher: &ContentHasher) -> String {
    hasher.finalize().to_hex().to_string()
}

/// Reads a source file for the tar, hashing its content when asked and counting what it read.
struct SourceReader {
    file: io::Take<File>,
    hasher: Option<ContentHasher>,
    read: u64,
}

impl Read for SourceReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        self.read += n as u64;
        Ok(n)
    }
}

/// Appends the file entry `name` read from `source`; its digest goes to `contents` unless known.
fn append_file(
    builder: &mut LayerTar,
    h: &mut tar::Header,
    name: &str,
    source: &Path,
    contents: &mut dyn ContentDigests,
) -> Result<()> {
    let file = File::open(source).map_err(|err| Error::io(source.display(), err))?;
    let stamp = FileStamp::of(
        &file
            .metadata()
            .map_err(|err| Error::io(source.display(), err))?,
    );
    h.set_size(stamp.size);
    let mut reader = SourceReader {
        file: file.take(stamp.size),
        hasher: (!contents.knows(source, &stamp)).then(ContentHasher::new),
        read: 0,
    };
    builder
        .append_data(h, name, BufReader::with_capacity(READ_CHUNK, &mut reader))
        .map_err(|err| Error::invalid(format!("writing {name}: {err}")))?;
    if reader.read != stamp.size {
        return Err(Error::invalid(format!(
            "{} shrank while it was being read",
            source.display()
        )));
    }
    if let Some(hasher) = &reader.hasher {
        contents.learn(source, stamp, content_digest(hasher));
    }
    Ok(())
}

/// Writes the layer of `entries` (already normalized) to `out`, compressed with `compression`, and
/// returns its identity. File contents stream from disk; nothing is held in memory.
pub fn write_layer(
    entries: &[LayerEntry],
    normalization: &Normalization,
    compression: LayerCompression,
    out: File,
) -> Result<WrittenLayer> {
    write_layer_learning(entries, normalization, compression, out, &mut KnowsAll)
}

/// [`write_layer`], also hashing the content of every file `contents` does not know yet (from the
/// same read) and teaching it the digests.
pub fn write_layer_learning(
    entries: &[LayerEntry],
    normalization: &Normalization,
    compression: LayerCompression,
    out: File,
    contents: &mut dyn ContentDigests,
) -> Result<WrittenLayer> {
    write_tar(compression, out, |builder| {
        for e in entries {
            let mut h = header(e, normalization);
            match &e.content {
                Content::Dir => builder
                    .append_data(&mut h, format!("{}/", e.path), io::empty())
                    .map_err(|err| Error::invalid(format!("writing {}: {err}", e.path))),
                Content::Symlink(target) => builder
                    .append_link(&mut h, &e.path, target)
                    .map_err(|err| Error::invalid(format!("writing {}: {err}", e.path))),
                Content::File(source, _) => append_file(builder, &mut h, &e.path, source, contents),
            }?;
        }
        Ok(())
    })
}

/// The tar stream a layer is written through: hashed for the diff_id, then compressed, hashed
/// and counted for the digest and size.
pub type LayerTar<'a> = tar::Builder<&'a mut dyn Write>;

/// Writes a layer whose entries `fill` appends (in the order it appends them) to `out`,
/// compressed with the pinned `compression`, and returns its identity; the tar is hashed and
/// compressed as it is produced, in one pass. Every writer of new layers goes through it, so
/// they share one compressor and one framing.
pub fn write_tar(
    compression: LayerCompression,
    out: File,
    fill: impl FnOnce(&mut LayerTar) -> Result<()>,
) -> Result<WrittenLayer> {
    let io_err = |e: io::Error| Error::invalid(format!("writing layer: {e}"));
    let compressed = Counting {
        inner: io::BufWriter::with_capacity(READ_CHUNK, out),
        hasher: Sha256::new(),
        bytes: 0,
    };
    let mut tar_side = Counting {
        inner: Encoder::new(compression, compressed).map_err(io_err)?,
        hasher: Sha256::new(),
        bytes: 0,
    };
    let mut builder = tar::Builder::new(&mut tar_side as &mut dyn Write);
    fill(&mut builder)?;
    builder.into_inner().map_err(io_err)?;
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
        digest,
        diff_id,
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
                    content: Content::File(
                        src.clone(),
                        FileStamp::of(&std::fs::metadata(&src).unwrap()),
                    ),
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
