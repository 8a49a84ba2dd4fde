//! File-level comparison of two images: the change set of the stacked filesystems (whiteouts
//! applied) and a content fingerprint per layer, which tells a layer rebuilt with identical files
//! (new mtimes, another compressor) from a real change.

use std::collections::BTreeSet;

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::analysis::dead::Stacked;
use crate::analysis::scan::LayerScan;
use crate::layer::walk::{Entry, EntryKind};

/// How a path changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Only in the new image.
    Added,
    /// Only in the old image.
    Removed,
    /// Content, size, type or link target changed.
    Modified,
    /// Same content; only permissions changed.
    MetadataOnly,
}

/// One changed path.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileChange {
    /// Rooted path.
    pub path: String,
    /// How it changed.
    pub change: Change,
    /// Bytes in the old image (absent when added).
    pub old_bytes: Option<u64>,
    /// Bytes in the new image (absent when removed).
    pub new_bytes: Option<u64>,
}

/// A digest of what a layer puts in the filesystem — paths, types, contents, link targets and
/// permission bits — but not timestamps, owners' names or the tar's byte layout. Needs entries
/// walked with content hashing.
pub fn layer_fingerprint(entries: &[Entry]) -> [u8; 32] {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut h = Sha256::new();
    for e in sorted {
        h.update(e.path.as_bytes());
        h.update([0, e.kind as u8]);
        h.update(e.content.as_deref().copied().unwrap_or_default());
        h.update(e.link.as_deref().unwrap_or("").as_bytes());
        h.update((e.mode & 0o7777).to_le_bytes());
    }
    h.finalize().into()
}

/// Gives each regular file of a scan walked with [`crate::layer::walk::Contents::Inspect`] its
/// content digest from the inspectors' XXH3-128 fingerprint (zero-padded), so that scans made
/// for `report` compare as [`file_changes`] and [`layer_fingerprint`] expect — against other
/// scans given theirs the same way, never against SHA-256 ones.
pub fn content_from_fingerprints(scan: &mut LayerScan) {
    for (i, entry) in scan.entries.iter_mut().enumerate() {
        if let Some(fingerprint) = scan.inspected.fingerprint(i) {
            let mut content = [0; 32];
            content[..16].copy_from_slice(&fingerprint);
            entry.content = Some(Box::new(content));
        }
    }
}

fn entry_at<'a>(layers: &[&'a [Entry]], at: (usize, usize)) -> &'a Entry {
    &layers[at.0][at.1]
}

/// The changed non-directory paths between two stacked filesystems, most bytes first (ties by
/// path).
pub fn file_changes(
    old: &Stacked,
    old_layers: &[&[Entry]],
    new: &Stacked,
    new_layers: &[&[Entry]],
) -> Vec<FileChange> {
    let paths: BTreeSet<&str> = old.visible.paths().chain(new.visible.paths()).collect();
    let mut out = Vec::new();
    for path in paths {
        let o = old.visible.get(path).map(|at| entry_at(old_layers, at));
        let n = new.visible.get(path).map(|at| entry_at(new_layers, at));
        let is_dir = |e: Option<&Entry>| e.is_some_and(|e| e.kind == EntryKind::Dir);
        if is_dir(o) && is_dir(n) {
            continue;
        }
        let bytes = |e: Option<&Entry>| e.filter(|e| e.kind != EntryKind::Dir).map(|e| e.size);
        let change = match (o, n) {
            (None, Some(n)) if n.kind != EntryKind::Dir => Change::Added,
            (Some(o), None) if o.kind != EntryKind::Dir => Change::Removed,
            (Some(o), Some(n)) => {
                let same_content = o.kind == n.kind
                    && o.size == n.size
                    && o.link == n.link
                    && match (&o.content, &n.content) {
                        (Some(a), Some(b)) => a == b,
                        _ => true,
                    };
                if !same_content {
                    Change::Modified
                } else if o.mode & 0o7777 != n.mode & 0o7777 {
                    Change::MetadataOnly
                } else {
                    continue;
                }
            }
            _ => continue,
        };
        out.push(FileChange {
            path: format!("/{path}"),
            change,
            old_bytes: bytes(o),
            new_bytes: bytes(n),
        });
    }
    let weight = |c: &FileChange| c.old_bytes.unwrap_or(0).max(c.new_bytes.unwrap_or(0));
    out.sort_by(|a, b| weight(b).cmp(&weight(a)).then_with(|| a.path.cmp(&b.path)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::dead::stack_layers;

    fn file(path: &str, content: &[u8], mode: u32) -> Entry {
        Entry {
            mode,
            content: Some(Box::new(Sha256::digest(content).into())),
            ..Entry::test_file(path, content.len() as u64)
        }
    }

    #[test]
    fn classifies_every_kind_of_change() {
        let old = [
            file("a", b"same", 0o644),
            file("b", b"old", 0o644),
            file("c", b"gone", 0o644),
            file("d", b"mode", 0o644),
        ];
        let new = [
            file("a", b"same", 0o644),
            file("b", b"new!", 0o644),
            file("d", b"mode", 0o755),
            file("e", b"added", 0o644),
        ];
        let (ol, nl): (Vec<&[Entry]>, Vec<&[Entry]>) = (vec![&old], vec![&new]);
        let changes = file_changes(&stack_layers(&ol), &ol, &stack_layers(&nl), &nl);
        let summary: Vec<_> = changes
            .iter()
            .map(|c| (c.path.as_str(), c.change))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("/e", Change::Added),
                ("/b", Change::Modified),
                ("/c", Change::Removed),
                ("/d", Change::MetadataOnly),
            ]
        );
    }

    #[test]
    fn fingerprints_ignore_order_but_not_content() {
        let a = [file("x", b"1", 0o644), file("y", b"2", 0o644)];
        let b = [file("y", b"2", 0o644), file("x", b"1", 0o644)];
        let c = [file("y", b"2", 0o644), file("x", b"9", 0o644)];
        assert_eq!(layer_fingerprint(&a), layer_fingerprint(&b));
        assert_ne!(layer_fingerprint(&a), layer_fingerprint(&c));
    }
}
