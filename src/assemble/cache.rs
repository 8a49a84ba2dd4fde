//! The layer cache, Jib/ko style: a selector hashed over a layer's inputs (destination paths, file
//! contents, link targets, execute bits, ownership, mtime, compressor) maps to the written layer's
//! identity, and the blob sits in a content store beside it. A hit costs no tar and no compression.
//! Writes are atomic (temp file, then rename; the selector only after its blob), so two builds can
//! share the cache and a killed build never leaves an entry whose blob is missing; an interrupted
//! one removes its temp files ([`crate::temp`]), and `prune` removes those a killed one left.

use std::collections::HashMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::layer::digest::Digest;
use crate::layer::writer::{
    content_digest, write_layer_learning, Content, ContentDigests, ContentHasher, FileStamp,
    LayerCompression, LayerEntry, Normalization, WrittenLayer,
};
use crate::sink::layout::write_atomically;
use crate::temp::{self, TempPath};

/// A layer cache directory.
pub struct LayerCache {
    dir: PathBuf,
}

/// A remembered content digest and the stamp of the file it was read from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Known {
    stamp: FileStamp,
    digest: String,
}

/// Content digests of source files, remembered across builds (`file-digests/SCOPE.json` in the
/// cache, one memo per layer source), so an unchanged 1 GB dependency tree is not read again to
/// compute its layer's selector, and a changed app layer does not load the dependencies' memo.
pub struct FileDigests {
    path: PathBuf,
    known: HashMap<PathBuf, Known>,
    changed: bool,
}

impl ContentDigests for FileDigests {
    fn knows(&self, source: &Path, stamp: &FileStamp) -> bool {
        self.get(source, stamp).is_some()
    }

    fn learn(&mut self, source: &Path, stamp: FileStamp, digest: String) {
        self.known
            .insert(source.to_path_buf(), Known { stamp, digest });
        self.changed = true;
    }
}

impl FileDigests {
    /// The remembered SHA-256 (hex) of `source`, if it was read with this very stamp.
    fn get(&self, source: &Path, stamp: &FileStamp) -> Option<&str> {
        self.known
            .get(source)
            .filter(|k| k.stamp == *stamp)
            .map(|k| k.digest.as_str())
    }

    /// Whether every file of `entries` whose digest is unknown looks like one that was seen: same
    /// path, size and mtime, only its inode or ctime differ (a venv or checkout made again, as
    /// in CI). Such a layer is probably in the cache, so hashing first beats compressing first.
    pub fn probably_known(&self, entries: &[LayerEntry]) -> bool {
        entries.iter().all(|e| match &e.content {
            Content::File(source, stamp) => self
                .known
                .get(source)
                .is_some_and(|k| (k.stamp.size, k.stamp.mtime) == (stamp.size, stamp.mtime)),
            _ => true,
        })
    }

    /// Reads and hashes every file of `entries` whose digest is unknown.
    pub fn hash_unknown(&mut self, entries: &[LayerEntry]) -> Result<()> {
        for e in entries {
            let Content::File(source, stamp) = &e.content else {
                continue;
            };
            if self.knows(source, stamp) {
                continue;
            }
            let mut file = File::open(source).map_err(|e| Error::io(source.display(), e))?;
            let mut content = ContentHasher::new();
            content
                .update_reader(&mut file)
                .map_err(|e| Error::io(source.display(), e))?;
            self.learn(source, *stamp, content_digest(&content));
        }
        Ok(())
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

/// The memo scope of a layer taking `sources` (its resolved source paths and selections): the
/// first 16 hex digits of their SHA-256, so each layer source keeps a memo of its own.
pub fn memo_scope<'a>(sources: impl IntoIterator<Item = &'a str>) -> String {
    let mut hasher = Sha256::new();
    for source in sources {
        hasher.update(source.as_bytes());
        hasher.update(b"\0");
    }
    hex::encode(&hasher.finalize()[..8])
}

/// The default cache directory: `$XDG_CACHE_HOME/strata`, else `~/.cache/strata`.
pub fn default_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("strata")
}

impl LayerCache {
    /// Opens (creating) the cache at `dir` (made absolute: the paths it gives out do not depend
    /// on the directory they are used from).
    pub fn open(dir: &Path) -> Result<LayerCache> {
        let dir = std::path::absolute(dir).map_err(|e| Error::io(dir.display(), e))?;
        for sub in ["selectors", "stamps", "file-digests", "blobs/sha256"] {
            fs::create_dir_all(dir.join(sub)).map_err(|e| Error::io(dir.join(sub).display(), e))?;
        }
        Ok(LayerCache { dir })
    }

    /// The cache directory (absolute).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where presets stage the files they generate (a Python venv's launchers, a stripped
    /// binary): inside the cache, so `strata cache prune` sees them.
    pub fn staging_dir(&self) -> PathBuf {
        self.dir.join("staging")
    }

    /// The selector of a layer: a digest of everything that decides its bytes, or `None` while
    /// `memo` does not know the content digest of every file (as found when collected).
    pub fn selector(
        memo: &FileDigests,
        entries: &[LayerEntry],
        n: &Normalization,
        compression: LayerCompression,
    ) -> Option<String> {
        inputs_digest(
            "strata-layer-v2",
            entries,
            n,
            compression,
            n.mtime.is_none(),
            |h, source, stamp| {
                h.update(memo.get(source, stamp)?.as_bytes());
                Some(())
            },
        )
    }

    /// A digest of a layer's inputs as found on disk: the selector's inputs with each file's
    /// stamp (path, size, times, inode) in place of its content digest. Unchanged stamps mean an
    /// unchanged selector, so a rebuild finds it without loading the file-digest memo.
    pub fn stamp_key(
        entries: &[LayerEntry],
        n: &Normalization,
        compression: LayerCompression,
    ) -> String {
        let digest = inputs_digest(
            "strata-stamps-v1",
            entries,
            n,
            compression,
            true,
            |h, source, st| {
                h.update(source.as_os_str().as_encoded_bytes());
                h.update(b"\0");
                for v in [st.mtime.0, st.mtime.1, st.ctime.0, st.ctime.1] {
                    h.update(v.to_le_bytes());
                }
                for v in [st.size, st.inode.0, st.inode.1] {
                    h.update(v.to_le_bytes());
                }
                Some(())
            },
        );
        digest.unwrap_or_default()
    }

    /// The selector last found for these stamps, if any.
    pub fn selector_by_stamps(&self, stamp_key: &str) -> Option<String> {
        let s = fs::read_to_string(self.dir.join("stamps").join(stamp_key)).ok()?;
        (s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())).then_some(s)
    }

    /// Remembers the selector found for these stamps.
    pub fn remember_stamps(&self, stamp_key: &str, selector: &str) -> Result<()> {
        write_atomically(
            &self.dir.join("stamps").join(stamp_key),
            selector.as_bytes(),
        )
    }

    /// The remembered file digests of the layer source `scope` (a name without `/`, see
    /// [`memo_scope`]).
    pub fn file_digests(&self, scope: &str) -> FileDigests {
        let path = self.dir.join("file-digests").join(format!("{scope}.json"));
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
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.dir.join(digest.layout_path())
    }

    /// The cached layer for `selector`, if both its record and its blob are present.
    pub fn lookup(&self, selector: &str) -> Option<WrittenLayer> {
        let bytes = fs::read(self.selector_path(selector)).ok()?;
        let layer: WrittenLayer = serde_json::from_slice(&bytes).ok()?;
        let blob = self.blob_path(&layer.digest);
        let len = fs::metadata(&blob).ok()?.len();
        if len != layer.size {
            return None;
        }
        // Mark it used (for `strata cache prune`).
        let _ = File::open(self.selector_path(selector))
            .and_then(|f| f.set_modified(SystemTime::now()));
        Some(layer)
    }

    /// Writes the layer, stores its blob, then records its selector (returned with it): the one
    /// given, else the one computed from the file digests `memo` learns while the layer is written.
    pub fn store(
        &self,
        selector: Option<&str>,
        memo: &mut FileDigests,
        entries: &[LayerEntry],
        n: &Normalization,
        compression: LayerCompression,
    ) -> Result<(WrittenLayer, String)> {
        let blobs = self.dir.join("blobs");
        let (tmp, file) =
            TempPath::file(temp::unique_in(&blobs)).map_err(|e| Error::io(blobs.display(), e))?;
        let layer = write_layer_learning(entries, n, compression, file, memo)?;
        let blob = self.blob_path(&layer.digest);
        tmp.persist(&blob)
            .map_err(|e| Error::io(blob.display(), e.into()))?;
        let selector = match selector {
            Some(s) => s.to_string(),
            None => Self::selector(memo, entries, n, compression).ok_or_else(|| {
                Error::invalid(
                    "source files changed while the layer was being written; build again",
                )
            })?,
        };
        let record = serde_json::to_vec(&layer).map_err(|e| Error::invalid(e.to_string()))?;
        write_atomically(&self.selector_path(&selector), &record)?;
        Ok((layer, selector))
    }

    /// Removes the temp files and directories interrupted or killed builds left (see
    /// [`temp::left_over`]), then selectors unused for `older_than`, then blobs no selector names,
    /// stamps of removed selectors and memos unchanged for that long.
    pub fn prune(&self, older_than: Duration) -> Result<Pruned> {
        let now = SystemTime::now();
        let swept = self.sweep()?;
        let mut pruned = Pruned {
            temp_files: swept.paths,
            temp_bytes: swept.bytes,
            ..Pruned::default()
        };
        let mut keep = std::collections::HashSet::new();
        for path in self.entries("selectors")? {
            let age = age_of(&path, now);
            let layer: Option<WrittenLayer> = fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
            match layer {
                Some(l) if age < older_than => {
                    keep.insert(l.digest.to_string());
                }
                _ => {
                    fs::remove_file(&path).map_err(|e| Error::io(path.display(), e))?;
                    pruned.entries += 1;
                }
            }
        }
        for path in self.entries("stamps")? {
            let live =
                fs::read_to_string(&path).is_ok_and(|s| self.selector_path(s.trim()).is_file());
            if !live {
                fs::remove_file(&path).map_err(|e| Error::io(path.display(), e))?;
            }
        }
        // A memo unchanged for that long goes too: it only spares reading files again.
        for path in self.entries("file-digests")? {
            if age_of(&path, now) >= older_than {
                fs::remove_file(&path).map_err(|e| Error::io(path.display(), e))?;
            }
        }
        for sub in ["blobs/sha256", "blobs"] {
            for path in self.entries(sub)? {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                if path.is_file() && !keep.contains(&format!("sha256:{name}")) {
                    pruned.blob_bytes += fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                    fs::remove_file(&path).map_err(|e| Error::io(path.display(), e))?;
                }
            }
        }
        Ok(pruned)
    }

    /// The entries of the cache directory `sub`, temp names left out (they belong to a writer,
    /// or to [`LayerCache::sweep`]).
    fn entries(&self, sub: &str) -> Result<Vec<PathBuf>> {
        let dir = self.dir.join(sub);
        let listing = match fs::read_dir(&dir) {
            Ok(listing) => listing,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(dir.display(), e)),
        };
        let mut paths = Vec::new();
        for entry in listing {
            let entry = entry.map_err(|e| Error::io(dir.display(), e))?;
            if entry
                .file_name()
                .to_str()
                .and_then(temp::owner_of)
                .is_none()
            {
                paths.push(entry.path());
            }
        }
        Ok(paths)
    }

    /// Removes the temp paths of writers that are gone ([`temp::sweep`]), wherever the cache
    /// has them: beside blobs, records and memos, and among the files presets stage (one level
    /// down too). A build calls it when it opens the cache, `prune` first of all.
    pub fn sweep(&self) -> Result<temp::Swept> {
        let subs = [
            "blobs",
            "blobs/sha256",
            "selectors",
            "stamps",
            "file-digests",
        ];
        let mut dirs: Vec<PathBuf> = subs.iter().map(|sub| self.dir.join(sub)).collect();
        dirs.push(self.staging_dir());
        dirs.extend(self.entries("staging")?.into_iter().filter(|p| p.is_dir()));
        let mut swept = temp::Swept::default();
        for dir in dirs {
            swept += temp::sweep(&dir, None).map_err(|e| Error::io(dir.display(), e))?;
        }
        Ok(swept)
    }
}

/// What `strata cache prune` removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Layer records (selectors) unused for the given time, or unreadable.
    pub entries: usize,
    /// Bytes of the blobs no remaining record names.
    pub blob_bytes: u64,
    /// Temp files and directories interrupted or killed builds left.
    pub temp_files: usize,
    /// Their bytes.
    pub temp_bytes: u64,
}

/// How long ago `path` was last modified (zero when that cannot be told).
fn age_of(path: &Path, now: SystemTime) -> Duration {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|m| now.duration_since(m).ok())
        .unwrap_or_default()
}

/// The digest both cache keys share: a scheme tag, the compressor and owner, then per entry its
/// path (and mtime when `with_mtime`), kind, link target or execute bit, with `file` hashing
/// what stands for a file's content; `None` when `file` cannot say.
fn inputs_digest(
    scheme: &str,
    entries: &[LayerEntry],
    n: &Normalization,
    compression: LayerCompression,
    with_mtime: bool,
    mut file: impl FnMut(&mut Sha256, &std::path::Path, &FileStamp) -> Option<()>,
) -> Option<String> {
    let mut h = Sha256::new();
    h.update(format!(
        "{scheme} {} {} {} {:?}\n",
        compression.cache_id(),
        n.uid,
        n.gid,
        n.mtime
    ));
    for e in entries {
        h.update(e.path.as_bytes());
        if with_mtime {
            h.update(e.mtime.to_le_bytes());
        }
        match &e.content {
            Content::Dir => h.update(b"\0d\n"),
            Content::Symlink(t) => {
                h.update(b"\0l");
                h.update(t.as_bytes());
                h.update(b"\n");
            }
            Content::File(source, stamp) => {
                h.update(if e.executable { b"\0x" } else { b"\0f" });
                file(&mut h, source, stamp)?;
                h.update(b"\n");
            }
        }
    }
    Some(hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::writer::normalize_entries;

    fn entries(dir: &Path) -> Vec<LayerEntry> {
        let file = |name: &str| {
            let path = dir.join(name);
            LayerEntry {
                path: format!("app/{name}"),
                content: Content::File(path.clone(), FileStamp::of(&fs::metadata(&path).unwrap())),
                executable: false,
                mtime: 0,
            }
        };
        normalize_entries(vec![file("a.py"), file("big.bin")])
    }

    const N: Normalization = Normalization {
        uid: 0,
        gid: 0,
        mtime: Some(1),
    };

    #[test]
    fn a_cold_write_learns_the_digests_a_separate_read_would_give() {
        let src = tempfile::tempdir().unwrap();
        fs::write(src.path().join("a.py"), "print(1)\n").unwrap();
        fs::write(src.path().join("big.bin"), vec![7u8; 3 << 20]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cache = LayerCache::open(dir.path()).unwrap();
        let e = entries(src.path());
        let mut memo = cache.file_digests("test");
        assert_eq!(
            LayerCache::selector(&memo, &e, &N, LayerCompression::Gzip),
            None
        );
        let (layer, stored) = cache
            .store(None, &mut memo, &e, &N, LayerCompression::Gzip)
            .unwrap();
        let learnt = LayerCache::selector(&memo, &e, &N, LayerCompression::Gzip).unwrap();
        memo.save().unwrap();

        let mut read = FileDigests {
            path: dir.path().join("unused.json"),
            known: HashMap::new(),
            changed: false,
        };
        read.hash_unknown(&e).unwrap();
        let hashed = LayerCache::selector(&read, &e, &N, LayerCompression::Gzip).unwrap();
        assert_eq!((&learnt, &stored), (&hashed, &hashed));
        assert_eq!(cache.lookup(&hashed), Some(layer));
        // The next build knows every file without reading any.
        let again = cache.file_digests("test");
        assert_eq!(
            LayerCache::selector(&again, &e, &N, LayerCompression::Gzip),
            Some(hashed)
        );
    }

    #[test]
    fn recreated_files_are_probably_known_edited_ones_are_not() {
        let src = tempfile::tempdir().unwrap();
        let a = src.path().join("a.py");
        fs::write(&a, "print(1)\n").unwrap();
        fs::write(src.path().join("big.bin"), b"data").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut memo = LayerCache::open(dir.path()).unwrap().file_digests("test");
        memo.hash_unknown(&entries(src.path())).unwrap();

        // Same content, size and mtime, new inode: as a venv made again.
        let mtime = fs::metadata(&a).unwrap().modified().unwrap();
        fs::remove_file(&a).unwrap();
        fs::write(&a, "print(1)\n").unwrap();
        File::options()
            .write(true)
            .open(&a)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        let e = entries(src.path());
        assert_eq!(
            LayerCache::selector(&memo, &e, &N, LayerCompression::Gzip),
            None
        );
        assert!(memo.probably_known(&e));

        fs::write(&a, "print(2) # edited\n").unwrap();
        assert!(!memo.probably_known(&entries(src.path())));
    }
}
