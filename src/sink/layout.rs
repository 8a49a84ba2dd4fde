//! Writing an OCI image layout: blobs first (temp file, digest verified, then renamed into
//! `blobs/<alg>/<hex>`), then `index.json` last, rewritten atomically under a lock so several tags
//! (and several writers) share one layout and a crash leaves the old index intact. A layout that
//! does not exist yet is written beside its place and renamed there with the manifest, so a
//! failed write (a blob that does not verify) leaves no directory behind.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use oci_spec::image::Descriptor;

use crate::error::{Error, Result};
use crate::layer::digest::Digest;
use crate::layer::verify::{self, VerifyingReader};
use crate::mutate::annotation::REF_NAME;
use crate::mutate::index::{manifest_descriptor, Index};
use crate::sink::{receipt, Opener, Sink};
use crate::temp::{self, TempPath};

/// An OCI layout directory being written, and the tag the manifest gets.
pub struct LayoutSink {
    dir: PathBuf,
    tag: Option<String>,
    /// Where a new layout is written until its manifest commits it to `dir`.
    staging: Option<TempPath>,
    /// Referrers to list in `index.json` (untagged) when the manifest is written.
    referrers: Vec<Descriptor>,
}

/// Writes `bytes` to `path` atomically: a temp file beside it, flushed, then renamed over it.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    TempPath::file(temp::beside(path))
        .and_then(|(tmp, mut f)| {
            f.write_all(bytes)?;
            f.sync_all()?;
            Ok(tmp.persist(path)?)
        })
        .map_err(|e| Error::io(path.display(), e))
}

impl LayoutSink {
    /// Opens (or creates) the layout at `dir`; refuses a non-empty directory that is not a layout.
    /// A new layout is staged beside `dir` ([`LayoutSink::commit`] moves it there); an existing
    /// empty directory becomes one under its lock ([`init_in_place`]). Temp paths killed writers
    /// left, in the layout and staged beside it, are removed first.
    pub fn open(dir: &Path, tag: Option<String>) -> Result<LayoutSink> {
        temp::sweep_beside(dir);
        let staging = match dir.exists() {
            true => {
                init_in_place(dir)?;
                for sub in ["", "blobs", "blobs/sha256"] {
                    // Housekeeping only: a sweep that fails does not stop the write.
                    let _ = temp::sweep(&dir.join(sub), None);
                }
                None
            }
            false => {
                let (root, ()) = TempPath::create(temp::beside(dir), |root| {
                    fs::create_dir_all(root.join("blobs/sha256"))
                })
                .map_err(|e| Error::io(dir.display(), e))?;
                write_layout_file(root.path()).map_err(|e| Error::io(dir.display(), e))?;
                Some(root)
            }
        };
        Ok(LayoutSink {
            dir: dir.to_path_buf(),
            tag,
            staging,
            referrers: Vec::new(),
        })
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.staging
            .as_ref()
            .map_or(self.dir.as_path(), TempPath::path)
            .join(digest.layout_path())
    }

    /// Moves a new layout's staged blobs to its place: the whole directory when the place is
    /// still free, else (another writer created it meanwhile) blob by blob.
    fn commit(&mut self) -> Result<()> {
        let Some(staging) = self.staging.take() else {
            return Ok(());
        };
        let staging = match staging.persist(&self.dir) {
            Ok(()) => return Ok(()),
            Err(failed) => failed.temp,
        };
        // Another writer created the layout meanwhile (or someone put something else there).
        init_in_place(&self.dir)?;
        let blobs = staging.path().join("blobs");
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
        drop(staging);
        moved.map_err(|e| Error::io(self.dir.display(), e))
    }

    /// Adds `descriptors` to `index.json` (a tagged one replacing the tag's old entry, an
    /// untagged one an entry of its digest), holding an exclusive lock so concurrent writers do
    /// not lose each other's tags.
    fn update_index(&self, descriptors: Vec<Descriptor>) -> Result<()> {
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
            for descriptor in descriptors {
                index.put(descriptor);
            }
            write_atomically(&index_path, &index.to_bytes()?)
        });
        let _ = lock.unlock();
        result
    }
}

/// Writes the `oci-layout` file of the layout at `root`, atomically.
fn write_layout_file(root: &Path) -> std::io::Result<()> {
    let path = root.join("oci-layout");
    let (tmp, mut f) = TempPath::file(temp::beside(&path))?;
    f.write_all(br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    f.sync_all()?;
    Ok(tmp.persist(&path)?)
}

/// Makes the existing directory `dir` a layout if it is empty (but for temp paths), holding an
/// `flock` on the directory so concurrent writers see either no layout or a whole one; the
/// kernel releases the lock when its holder dies. A layout is left as it is; anything else is
/// refused.
fn init_in_place(dir: &Path) -> Result<()> {
    let io_error = |e| Error::io(dir.display(), e);
    let lock = fs::File::open(dir).map_err(io_error)?;
    lock.lock().map_err(io_error)?;
    if !dir.join("oci-layout").is_file() {
        let mut listing = fs::read_dir(dir).map_err(io_error)?;
        let foreign = listing.any(|entry| {
            entry.map_or(true, |e| {
                e.file_name().to_str().and_then(temp::owner_of).is_none()
            })
        });
        if foreign {
            return Err(Error::usage(format!(
                "{} exists and is not an OCI image layout; refusing to write into it",
                dir.display()
            )));
        }
        write_layout_file(dir).map_err(io_error)?;
    }
    fs::create_dir_all(dir.join("blobs/sha256")).map_err(io_error)
}

/// `descriptor` without a tag (`org.opencontainers.image.ref.name`), as a referrer is listed.
pub fn untagged(descriptor: &Descriptor) -> Descriptor {
    let mut d = descriptor.clone();
    if let Some(mut annotations) = d.annotations().clone() {
        annotations.remove(REF_NAME);
        d.set_annotations((!annotations.is_empty()).then_some(annotations));
    }
    d
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
        let (tmp, mut file) =
            TempPath::file(temp::beside(&path)).map_err(|e| Error::io(path.display(), e))?;
        let io_error = |e| Error::io(tmp.path().display(), e);
        let mut verified = VerifyingReader::new(reader, receipt(digest, size));
        std::io::copy(&mut verified, &mut file)
            .map_err(|e| verify::carried(e).unwrap_or_else(io_error))?;
        verified.finish()?;
        file.sync_all().map_err(io_error)?;
        tmp.persist(&path)
            .map_err(|e| Error::io(path.display(), e.into()))
    }

    fn link_blob(&mut self, digest: &Digest, size: u64, file: &std::path::Path) -> bool {
        let path = self.blob_path(digest);
        let linked = (|| {
            if fs::metadata(file).ok()?.len() != size {
                return None;
            }
            fs::create_dir_all(path.parent()?).ok()?;
            let (tmp, ()) =
                TempPath::create(temp::beside(&path), |t| fs::hard_link(file, t)).ok()?;
            tmp.persist(&path).ok()
        })();
        linked.is_some()
    }

    fn put_manifest(&mut self, bytes: &[u8], media_type: &str) -> Result<Digest> {
        let digest = self.put_small(bytes)?;
        self.commit()?;
        let tag: Vec<(&str, &str)> = self.tag.iter().map(|t| (REF_NAME, t.as_str())).collect();
        let descriptor = manifest_descriptor(media_type, bytes, &tag)?;
        let mut descriptors = std::mem::take(&mut self.referrers);
        descriptors.push(descriptor);
        self.update_index(descriptors)?;
        Ok(digest)
    }

    /// The image layout keeps referrers as untagged entries of `index.json`, written with the
    /// manifest.
    fn add_referrer(&mut self, _subject: &Digest, referrer: &Descriptor) -> Result<()> {
        self.referrers.push(untagged(referrer));
        Ok(())
    }

    fn describe(&self) -> String {
        match &self.tag {
            Some(t) => format!("oci:{}:{t}", self.dir.display()),
            None => format!("oci:{}", self.dir.display()),
        }
    }
}
