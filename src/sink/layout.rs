//! Writing an OCI image layout: blobs first (temp file, digest verified, then renamed into
//! `blobs/<alg>/<hex>`), then `index.json` last, rewritten atomically under a lock so several tags
//! (and several writers) share one layout and a crash leaves the old index intact. A layout that
//! does not exist yet is written beside its place and renamed there with the manifest, so a
//! failed write (a blob that does not verify) leaves no directory behind.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use oci_spec::image::Descriptor;

use crate::error::{Error, Result};
use crate::layer::digest::Digest;
use crate::layer::verify::{self, VerifyingReader};
use crate::mutate::annotation::REF_NAME;
use crate::mutate::index::{manifest_descriptor, Index};
use crate::sink::{receipt, Opener, Sink};

/// An OCI layout directory being written, and the tag the manifest gets.
pub struct LayoutSink {
    dir: PathBuf,
    tag: Option<String>,
    /// Where a new layout is written until its manifest commits it to `dir`.
    staging: Option<PathBuf>,
}

/// Writes `bytes` to `path` atomically: a temp file beside it, flushed, then renamed over it.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_beside(path);
    let result = File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all()))
        .and_then(|_| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|e| Error::io(path.display(), e))
}

fn temp_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or("blob".into(), |n| n.to_string_lossy());
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

impl LayoutSink {
    /// Opens (or creates) the layout at `dir`; refuses a non-empty directory that is not a layout.
    pub fn open(dir: &Path, tag: Option<String>) -> Result<LayoutSink> {
        if dir.exists() && !dir.join("oci-layout").is_file() {
            let empty = fs::read_dir(dir)
                .map_err(|e| Error::io(dir.display(), e))?
                .next()
                .is_none();
            if !empty {
                return Err(Error::usage(format!(
                    "{} exists and is not an OCI image layout; refusing to write into it",
                    dir.display()
                )));
            }
        }
        let staging = (!dir.exists()).then(|| temp_beside(dir));
        let root = staging.as_deref().unwrap_or(dir);
        fs::create_dir_all(root.join("blobs/sha256")).map_err(|e| Error::io(dir.display(), e))?;
        if !root.join("oci-layout").is_file() {
            write_atomically(
                &root.join("oci-layout"),
                br#"{"imageLayoutVersion":"1.0.0"}"#,
            )?;
        }
        Ok(LayoutSink {
            dir: dir.to_path_buf(),
            tag,
            staging,
        })
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.staging
            .as_deref()
            .unwrap_or(&self.dir)
            .join(digest.layout_path())
    }

    /// Moves a new layout's staged blobs to its place: the whole directory when the place is
    /// still free, else (another writer created it meanwhile) blob by blob.
    fn commit(&mut self) -> Result<()> {
        let Some(staging) = self.staging.take() else {
            return Ok(());
        };
        if fs::rename(&staging, &self.dir).is_ok() {
            return Ok(());
        }
        let blobs = staging.join("blobs");
        let moved = (|| -> std::io::Result<()> {
            for algorithm in fs::read_dir(&blobs)? {
                let algorithm = algorithm?;
                let into = self.dir.join("blobs").join(algorithm.file_name());
                fs::create_dir_all(&into)?;
                for blob in fs::read_dir(algorithm.path())? {
                    let blob = blob?;
                    fs::rename(blob.path(), into.join(blob.file_name()))?;
                }
            }
            Ok(())
        })();
        let _ = fs::remove_dir_all(&staging);
        moved.map_err(|e| Error::io(self.dir.display(), e))
    }

    /// Adds `descriptor` to `index.json` under the tag (replacing the tag's old entry), holding
    /// an exclusive lock so concurrent writers do not lose each other's tags.
    fn update_index(&self, descriptor: Descriptor) -> Result<()> {
        let lock_path = self.dir.join("index.json.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io(lock_path.display(), e))?;
        lock.lock().map_err(|e| Error::io(lock_path.display(), e))?;
        let index_path = self.dir.join("index.json");
        let index = match fs::read(&index_path) {
            Ok(bytes) => Index::parse(
                &bytes,
                &format!("{}: invalid index.json", self.dir.display()),
            ),
            Err(_) => Ok(Index::new()),
        };
        let result = index.and_then(|mut index| {
            index.put(descriptor);
            write_atomically(&index_path, &index.to_bytes()?)
        });
        let _ = lock.unlock();
        result
    }
}

impl Drop for LayoutSink {
    fn drop(&mut self) {
        if let Some(staging) = &self.staging {
            let _ = fs::remove_dir_all(staging);
        }
    }
}

impl Sink for LayoutSink {
    fn has_blob(&mut self, digest: &Digest) -> Result<bool> {
        Ok(self.blob_path(digest).is_file())
    }

    fn put_blob(&mut self, digest: &Digest, size: u64, open: &mut Opener<'_>) -> Result<()> {
        let reader = open()?;
        let path = self.blob_path(digest);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io(parent.display(), e))?;
        }
        let tmp = temp_beside(&path);
        let written = (|| {
            let mut file = File::create(&tmp).map_err(|e| Error::io(tmp.display(), e))?;
            let mut verified = VerifyingReader::new(reader, receipt(digest, size));
            std::io::copy(&mut verified, &mut file)
                .map_err(|e| verify::carried(e).unwrap_or_else(|e| Error::io(tmp.display(), e)))?;
            verified.finish()?;
            file.sync_all().map_err(|e| Error::io(tmp.display(), e))?;
            fs::rename(&tmp, &path).map_err(|e| Error::io(path.display(), e))
        })();
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written
    }

    fn link_blob(&mut self, digest: &Digest, size: u64, file: &std::path::Path) -> bool {
        let path = self.blob_path(digest);
        let linked = (|| {
            if fs::metadata(file).ok()?.len() != size {
                return None;
            }
            fs::create_dir_all(path.parent()?).ok()?;
            let tmp = temp_beside(&path);
            let done = fs::hard_link(file, &tmp).and_then(|()| fs::rename(&tmp, &path));
            if done.is_err() {
                let _ = fs::remove_file(&tmp);
            }
            done.ok()
        })();
        linked.is_some()
    }

    fn put_manifest(&mut self, bytes: &[u8], media_type: &str) -> Result<Digest> {
        let digest = self.put_small(bytes)?;
        self.commit()?;
        let tag: Vec<(&str, &str)> = self.tag.iter().map(|t| (REF_NAME, t.as_str())).collect();
        let descriptor = manifest_descriptor(media_type, bytes, &tag)?;
        self.update_index(descriptor)?;
        Ok(digest)
    }

    fn describe(&self) -> String {
        match &self.tag {
            Some(t) => format!("oci:{}:{t}", self.dir.display()),
            None => format!("oci:{}", self.dir.display()),
        }
    }
}
