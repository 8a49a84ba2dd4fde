//! The layer cache, Jib/ko style: a selector hashed over a layer's inputs (destination paths, file
//! contents, link targets, execute bits, ownership, mtime, compressor) maps to the written layer's
//! identity, and the blob sits in a content store beside it. A hit costs no tar and no compression.
//! Writes are atomic (temp file, then rename; the selector only after its blob), so two builds can
//! share the cache and a killed build never leaves an entry whose blob is missing.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::layer::digest::Digest;
use crate::layer::writer::{
    write_layer, Content, LayerCompression, LayerEntry, Normalization, WrittenLayer,
};
use crate::sink::layout::write_atomically;

/// A layer cache directory.
pub struct LayerCache {
    dir: PathBuf,
}

/// What identifies a file's content without reading it: if all of these are unchanged (ctime
/// changes on every write, even one that restores the mtime), so is the content.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Stamp {
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    inode: (u64, u64),
    digest: String,
}

/// Content digests of source files, remembered across builds (`file-digests.json` in the cache),
/// so an unchanged 1 GB dependency tree is not read again to compute its layer's selector.
pub struct FileDigests {
    path: PathBuf,
    known: HashMap<PathBuf, Stamp>,
    changed: bool,
}

impl FileDigests {
    /// The SHA-256 (hex) of `source`'s content: remembered, or read now.
    pub fn digest(&mut self, source: &Path) -> Result<String> {
        use std::os::unix::fs::MetadataExt;
        let meta = fs::metadata(source).map_err(|e| Error::io(source.display(), e))?;
        let (size, mtime, ctime, inode) = (
            meta.len(),
            (meta.mtime(), meta.mtime_nsec()),
            (meta.ctime(), meta.ctime_nsec()),
            (meta.dev(), meta.ino()),
        );
        if let Some(s) = self.known.get(source) {
            if (s.size, s.mtime, s.ctime, s.inode) == (size, mtime, ctime, inode) {
                return Ok(s.digest.clone());
            }
        }
        let mut file = File::open(source).map_err(|e| Error::io(source.display(), e))?;
        let mut content = Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = file
                .read(&mut buf)
                .map_err(|e| Error::io(source.display(), e))?;
            if n == 0 {
                break;
            }
            content.update(&buf[..n]);
        }
        let digest = hex::encode(content.finalize());
        self.known.insert(
            source.to_path_buf(),
            Stamp {
                size,
                mtime,
                ctime,
                inode,
                digest: digest.clone(),
            },
        );
        self.changed = true;
        Ok(digest)
    }

    /// Remembers what was learnt (atomically; a concurrent build's record may win, which is fine).
    pub fn save(&self) -> Result<()> {
        if !self.changed {
            return Ok(());
        }
        let bytes = serde_json::to_vec(&self.known).map_err(|e| Error::invalid(e.to_string()))?;
        write_atomically(&self.path, &bytes)
    }
}

/// The default cache directory: `$XDG_CACHE_HOME/strata`, else `~/.cache/strata`.
pub fn default_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("strata")
}

fn unique_tmp(dir: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".tmp-{}-{n}", std::process::id()))
}

impl LayerCache {
    /// Opens (creating) the cache at `dir`.
    pub fn open(dir: &Path) -> Result<LayerCache> {
        for sub in ["selectors", "blobs/sha256"] {
            fs::create_dir_all(dir.join(sub)).map_err(|e| Error::io(dir.join(sub).display(), e))?;
        }
        Ok(LayerCache {
            dir: dir.to_path_buf(),
        })
    }

    /// The selector of a layer: a digest of everything that decides its bytes. File contents
    /// come from `memo`, which re-reads a file only when its size, times or inode changed.
    pub fn selector(
        memo: &mut FileDigests,
        entries: &[LayerEntry],
        n: &Normalization,
        compression: LayerCompression,
    ) -> Result<String> {
        let mut h = Sha256::new();
        h.update(format!(
            "strata-layer-v1 {} {} {} {:?}\n",
            compression.cache_id(),
            n.uid,
            n.gid,
            n.mtime
        ));
        for e in entries {
            h.update(e.path.as_bytes());
            if n.mtime.is_none() {
                h.update(e.mtime.to_le_bytes());
            }
            match &e.content {
                Content::Dir => h.update(b"\0d\n"),
                Content::Symlink(t) => {
                    h.update(b"\0l");
                    h.update(t.as_bytes());
                    h.update(b"\n");
                }
                Content::File(source) => {
                    h.update(if e.executable { b"\0x" } else { b"\0f" });
                    h.update(memo.digest(source)?.as_bytes());
                    h.update(b"\n");
                }
            }
        }
        Ok(hex::encode(h.finalize()))
    }

    /// The remembered file digests of this cache.
    pub fn file_digests(&self) -> FileDigests {
        let path = self.dir.join("file-digests.json");
        let known = fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        FileDigests {
            path,
            known,
            changed: false,
        }
    }

    fn selector_path(&self, selector: &str) -> PathBuf {
        self.dir.join("selectors").join(format!("{selector}.json"))
    }

    /// Where the blob of `digest` lives in the cache.
    pub fn blob_path(&self, digest: &str) -> Result<PathBuf> {
        Ok(self.dir.join(Digest::parse(digest)?.layout_path()))
    }

    /// The cached layer for `selector`, if both its record and its blob are present.
    pub fn lookup(&self, selector: &str) -> Option<WrittenLayer> {
        let bytes = fs::read(self.selector_path(selector)).ok()?;
        let layer: WrittenLayer = serde_json::from_slice(&bytes).ok()?;
        let blob = self.blob_path(&layer.digest).ok()?;
        let len = fs::metadata(&blob).ok()?.len();
        if len != layer.size {
            return None;
        }
        // Mark it used (for `strata cache prune`).
        let _ = File::open(self.selector_path(selector))
            .and_then(|f| f.set_modified(SystemTime::now()));
        Some(layer)
    }

    /// Writes the layer, stores its blob, then records the selector.
    pub fn store(
        &self,
        selector: &str,
        entries: &[LayerEntry],
        n: &Normalization,
        compression: LayerCompression,
    ) -> Result<WrittenLayer> {
        let tmp = unique_tmp(&self.dir.join("blobs"));
        let file = File::create(&tmp).map_err(|e| Error::io(tmp.display(), e))?;
        let written = write_layer(entries, n, compression, file).and_then(|layer| {
            let blob = self.blob_path(&layer.digest)?;
            fs::rename(&tmp, &blob).map_err(|e| Error::io(blob.display(), e))?;
            Ok(layer)
        });
        let layer = match written {
            Ok(l) => l,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        };
        let record = serde_json::to_vec(&layer).map_err(|e| Error::invalid(e.to_string()))?;
        write_atomically(&self.selector_path(selector), &record)?;
        Ok(layer)
    }

    /// Removes selectors unused for `older_than`, then blobs no selector names, and stray temp
    /// files; returns (entries, bytes) removed.
    pub fn prune(&self, older_than: Duration) -> Result<(usize, u64)> {
        let now = SystemTime::now();
        let mut keep = std::collections::HashSet::new();
        let mut removed = (0, 0);
        let selectors = self.dir.join("selectors");
        for entry in fs::read_dir(&selectors).map_err(|e| Error::io(selectors.display(), e))? {
            let path = entry.map_err(|e| Error::io(selectors.display(), e))?.path();
            let meta = fs::metadata(&path).map_err(|e| Error::io(path.display(), e))?;
            let age = meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .unwrap_or_default();
            let layer: Option<WrittenLayer> = fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
            match layer {
                Some(l) if age < older_than => {
                    keep.insert(l.digest);
                }
                _ => {
                    fs::remove_file(&path).map_err(|e| Error::io(path.display(), e))?;
                    removed.0 += 1;
                }
            }
        }
        for dir in [self.dir.join("blobs/sha256"), self.dir.join("blobs")] {
            for entry in fs::read_dir(&dir).map_err(|e| Error::io(dir.display(), e))? {
                let path = entry.map_err(|e| Error::io(dir.display(), e))?.path();
                if path.is_dir() {
                    continue;
                }
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let age = fs::metadata(&path)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|m| now.duration_since(m).ok())
                    .unwrap_or_default();
                // A temp file may belong to a build running right now: only stale ones go.
                let busy = name.starts_with(".tmp-") && age < Duration::from_secs(3600);
                if !busy && !keep.contains(&format!("sha256:{name}")) {
                    removed.1 += fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                    fs::remove_file(&path).map_err(|e| Error::io(path.display(), e))?;
                }
            }
        }
        Ok(removed)
    }
}
