//! The layers this machine has proven: after an optimize's proof holds, each new layer's blob
//! digest is recorded with its diff_id and content key (`relay::content_key`) under the cache
//! directory (`<cache>/optimize-proven/blobs/sha256/<hex>`, one small JSON file each, written to a temp
//! file and renamed). A later optimize over that image as `--previous` that reuses such a blob
//! for a group of the same content key takes the record instead of reading the blob back: the
//! blob digest fixes the bytes, the record says what they hold. Without a record (another
//! machine, a cleared cache) the blob is read back as before. A record that cannot be written is
//! not an error: it only costs the next run a read.

use std::fs;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::layer::digest::Digest;
use crate::temp::{unique_in, TempPath};

/// What a record says of one blob.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Record {
    /// The digest of the blob's uncompressed tar.
    diff_id: Digest,
    /// The content key of the entries it holds.
    key: Digest,
}

/// The records, in a directory (none: every reused blob is read back).
#[derive(Debug, Clone, Default)]
pub struct Proven {
    dir: Option<PathBuf>,
}

impl Proven {
    /// The records under `cache` (`<cache>/optimize-proven`).
    pub fn under(cache: PathBuf) -> Proven {
        Proven {
            dir: Some(cache.join("optimize-proven")),
        }
    }

    /// The records under strata's default cache directory (`$XDG_CACHE_HOME/strata`), where
    /// the commands that optimize keep them.
    pub fn in_default_cache() -> Proven {
        Proven::under(crate::assemble::cache::default_dir())
    }

    /// Where the record of `blob` is.
    fn path(&self, blob: &Digest) -> Option<PathBuf> {
        Some(self.dir.as_ref()?.join(blob.layout_path()))
    }

    /// Whether `blob` was proven to have `diff_id` and hold the entries of `key`.
    pub fn holds(&self, blob: &Digest, diff_id: &Digest, key: &Digest) -> bool {
        let Some(path) = self.path(blob) else {
            return false;
        };
        let Ok(text) = fs::read(path) else {
            return false;
        };
        serde_json::from_slice::<Record>(&text)
            .is_ok_and(|r| &r.diff_id == diff_id && &r.key == key)
    }

    /// Records that `blob` has `diff_id` and holds the entries of `key` (best effort).
    pub fn record(&self, blob: &Digest, diff_id: &Digest, key: &Digest) {
        let Some(path) = self.path(blob) else {
            return;
        };
        let Some(dir) = path.parent() else {
            return;
        };
        let record = Record {
            diff_id: diff_id.clone(),
            key: key.clone(),
        };
        let write = || -> std::io::Result<()> {
            fs::create_dir_all(dir)?;
            let (temp, mut file) = TempPath::file(unique_in(dir))?;
            serde_json::to_writer(&mut file, &record)?;
            file.sync_all()?;
            Ok(temp.persist(&path)?)
        };
        let _ = write();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_holds_only_what_it_says() {
        let dir = tempfile::tempdir().unwrap();
        let proven = Proven::under(dir.path().to_path_buf());
        let [blob, diff_id, key, other] = [1u8, 2, 3, 4].map(|n| Digest::sha256_of(&[n]));
        assert!(!proven.holds(&blob, &diff_id, &key));
        proven.record(&blob, &diff_id, &key);
        assert!(proven.holds(&blob, &diff_id, &key));
        assert!(!proven.holds(&blob, &diff_id, &other), "another key");
        assert!(!proven.holds(&blob, &other, &key), "another diff_id");
        assert!(!proven.holds(&other, &diff_id, &key), "another blob");
        assert!(!Proven::default().holds(&blob, &diff_id, &key));
    }
}
