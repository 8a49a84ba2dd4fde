//! Streaming walk over the entries of a layer tar.
//!
//! Only headers are decoded; file contents are skipped or hashed as they stream, and in inspection
//! mode at most the first [`SCAN_LIMIT`] bytes of one file are held at a time. Tars that end without
//! the two end-of-archive blocks (umoci writes them) end cleanly, as with GNU tar; a corrupt header is an error
//! that names the offset where it sits.

use std::io::Read;

use sha2::{Digest as _, Sha256};
use xxhash_rust::xxh3::Xxh3;

use crate::analysis::secrets::{self, SecretHit, SCAN_LIMIT};
use crate::error::{Error, Result};
use crate::layer::compression::describe_read_error;
use crate::layer::exec::{self, ExecInfo};

/// What an entry is, with OCI whiteouts recognized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A regular file (its size counts as content).
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A hard link to an earlier entry.
    Hardlink,
    /// `.wh.NAME`: deletes `NAME` from the layers below. The entry's path is the deleted path.
    Whiteout,
    /// `.wh..wh..opq`: hides everything below the directory in lower layers. The path is the directory.
    Opaque,
    /// Devices, FIFOs and other `.wh..wh.*` markers that carry no content.
    Other,
}

/// One tar entry as analysis needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path relative to the root, cleaned (`usr/bin/ls`; `""` is the root itself). For whiteouts and
    /// opaque markers, the path they act on.
    pub path: String,
    /// The kind of entry.
    pub kind: EntryKind,
    /// The size recorded in the header (bytes of content for regular files).
    pub size: u64,
    /// Permission and special bits from the header.
    pub mode: u32,
    /// The target of a symbolic or hard link.
    pub link: Option<Box<str>>,
    /// SHA-256 of a regular file's content, when the walk was asked to hash contents.
    pub content: Option<[u8; 32]>,
    /// XXH3-128 of a regular file's whole content, when the walk inspects contents: a fast
    /// non-cryptographic fingerprint that finds duplicate files without the cost of SHA-256 (a
    /// byte array, not a `u128`, so the entry keeps an alignment of 8).
    pub xxh3: Option<[u8; 16]>,
    /// Secrets found in a regular file's content, when the walk was asked to inspect contents
    /// (rule and fingerprint only, never the value).
    pub secrets: Box<[SecretHit]>,
    /// How a regular file would be executed (its `#!` interpreter, or its ELF loader, libraries
    /// and strippable bytes), when the walk was asked to inspect contents.
    pub exec: Option<Box<ExecInfo>>,
}

impl Entry {
    /// A regular file entry, for unit tests of the analyses.
    #[cfg(test)]
    pub(crate) fn test_file(path: &str, size: u64) -> Entry {
        Entry {
            path: path.into(),
            kind: EntryKind::File,
            size,
            mode: 0o644,
            link: None,
            content: None,
            xxh3: None,
            secrets: Box::default(),
            exec: None,
        }
    }
}

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_MARKER: &str = ".wh..wh..opq";

/// Cleans a tar entry name the way Go's `path.Clean` does on a rooted path, and returns it without
/// the leading slash: `./a//b/../c/` → `a/c`. `..` never climbs above the root, so no entry can
/// name a path outside the image.
pub fn clean_path(name: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

fn classify(path: String, entry_type: tar::EntryType) -> (String, EntryKind) {
    let (dir, base) = match path.rsplit_once('/') {
        Some((d, b)) => (d, b),
        None => ("", path.as_str()),
    };
    if base == OPAQUE_MARKER {
        return (dir.to_string(), EntryKind::Opaque);
    }
    if base.starts_with(".wh..wh.") {
        return (path, EntryKind::Other);
    }
    if let Some(target) = base
        .strip_prefix(WHITEOUT_PREFIX)
        .filter(|t| !matches!(*t, "" | "." | ".."))
    {
        let deleted = if dir.is_empty() {
            target.to_string()
        } else {
            format!("{dir}/{target}")
        };
        return (deleted, EntryKind::Whiteout);
    }
    let kind = match entry_type {
        tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
            EntryKind::File
        }
        tar::EntryType::Directory => EntryKind::Dir,
        tar::EntryType::Symlink => EntryKind::Symlink,
        tar::EntryType::Link => EntryKind::Hardlink,
        _ => EntryKind::Other,
    };
    (path, kind)
}

/// What a walk records beyond headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Contents {
    /// Headers only; file contents are skipped (the fast path of `strata report`).
    #[default]
    Skip,
    /// Also hash each regular file's content (to tell identical files from changed ones).
    Hash,
    /// Look for secrets in the first [`SCAN_LIMIT`] bytes of each regular file (see
    /// [`crate::analysis::secrets`]), fingerprint the whole content with XXH3-128 as it streams
    /// past (for duplicates), and record how it would be executed (see [`crate::layer::exec`]; ELF
    /// files also yield the few ranges their facts need from the rest of their content). No
    /// SHA-256, which keeps `strata report` close to [`Contents::Skip`] (SHA-256 of every file
    /// would cost about 25 % more CPU).
    Inspect,
}

/// Walks every entry of the tar stream `reader`, calling `on_entry` for each, and returns the reader
/// positioned after the last entry (the caller drains it so digests cover the whole stream).
pub fn walk<R: Read>(reader: R, contents: Contents, mut on_entry: impl FnMut(Entry)) -> Result<R> {
    let mut archive = tar::Archive::new(reader);
    let mut next_header_at: u64 = 0;
    let mut head = Vec::new();
    {
        let entries = archive
            .entries()
            .map_err(|e| Error::invalid(format!("reading tar: {e}")))?;
        let corrupt =
            |at: u64, e: std::io::Error| Error::corrupt("corrupt tar", at, describe_read_error(&e));
        for entry in entries {
            let mut entry = entry.map_err(|e| corrupt(next_header_at, e))?;
            let header = entry.header();
            let entry_type = header.entry_type();
            if matches!(
                entry_type,
                tar::EntryType::XGlobalHeader | tar::EntryType::XHeader
            ) {
                next_header_at = entry.raw_file_position() + padded(entry.size());
                continue;
            }
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let (path, kind) = classify(clean_path(&name), entry_type);
            let mode = header.mode().unwrap_or(0);
            let size = entry.size();
            let link = match kind {
                EntryKind::Symlink | EntryKind::Hardlink => entry
                    .link_name_bytes()
                    .map(|l| String::from_utf8_lossy(&l).into()),
                _ => None,
            };
            let data_at = entry.raw_file_position();
            next_header_at = data_at + padded(size);
            let (content, xxh3, secrets, exec) = match (contents, kind) {
                (Contents::Hash, EntryKind::File) => {
                    let mut hasher = Sha256::new();
                    let mut tee = Tee {
                        inner: &mut entry,
                        feed: |b: &[u8]| hasher.update(b),
                    };
                    std::io::copy(&mut tee, &mut std::io::sink())
                        .map_err(|e| corrupt(data_at, e))?;
                    (Some(hasher.finalize().into()), None, Box::default(), None)
                }
                (Contents::Inspect, EntryKind::File) => {
                    head.clear();
                    (&mut entry)
                        .take(SCAN_LIMIT as u64)
                        .read_to_end(&mut head)
                        .map_err(|e| corrupt(data_at, e))?;
                    let mut hasher = Xxh3::new();
                    hasher.update(&head);
                    let mut rest = Tee {
                        inner: &mut entry,
                        feed: |b: &[u8]| hasher.update(b),
                    };
                    let exec =
                        exec::inspect(&head, size, &mut rest).map_err(|e| corrupt(data_at, e))?;
                    std::io::copy(&mut rest, &mut std::io::sink())
                        .map_err(|e| corrupt(data_at, e))?;
                    let found = secrets::scan(&path, &head).into_boxed_slice();
                    (
                        None,
                        Some(hasher.digest128().to_le_bytes()),
                        found,
                        exec.map(Box::new),
                    )
                }
                _ => (None, None, Box::default(), None),
            };
            on_entry(Entry {
                path,
                kind,
                size,
                mode,
                link,
                content,
                xxh3,
                secrets,
                exec,
            });
        }
    }
    Ok(archive.into_inner())
}

/// Passes every byte read from `inner` to `feed` too (a hasher's update), so the ELF reader and
/// the fingerprint see the same single pass over a file's content.
struct Tee<R, F> {
    inner: R,
    feed: F,
}

impl<R: Read, F: FnMut(&[u8])> Read for Tee<R, F> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.feed)(&buf[..n]);
        Ok(n)
    }
}

fn padded(size: u64) -> u64 {
    size.div_ceil(512) * 512
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, ty, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*ty);
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn walk_all(data: &[u8]) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        walk(data, Contents::Hash, |e| out.push(e))?;
        Ok(out)
    }

    #[test]
    fn cleans_paths_like_go_path_clean() {
        assert_eq!(clean_path("./usr//bin/../lib/"), "usr/lib");
        assert_eq!(clean_path("/../../etc/passwd"), "etc/passwd");
        assert_eq!(clean_path("./"), "");
    }

    #[test]
    fn recognizes_whiteouts_and_opaque_markers() {
        let data = tar_of(&[
            ("a/.wh.gone", tar::EntryType::Regular, b""),
            ("d/.wh..wh..opq", tar::EntryType::Regular, b""),
            ("f.txt", tar::EntryType::Regular, b"hello"),
            (".wh..wh..plnk/x", tar::EntryType::Regular, b""),
            ("d/.wh..", tar::EntryType::Regular, b""),
        ]);
        let kinds: Vec<_> = walk_all(&data)
            .unwrap()
            .into_iter()
            .map(|e| (e.path, e.kind, e.size))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("a/gone".into(), EntryKind::Whiteout, 0),
                ("d".into(), EntryKind::Opaque, 0),
                ("f.txt".into(), EntryKind::File, 5),
                (".wh..wh..plnk/x".into(), EntryKind::File, 0),
                ("d/.wh..".into(), EntryKind::File, 0),
            ]
        );
    }

    #[test]
    fn hashes_contents_and_keeps_link_targets() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(5);
        b.append_data(&mut h, "f", &b"hello"[..]).unwrap();
        let mut l = tar::Header::new_gnu();
        l.set_entry_type(tar::EntryType::Symlink);
        l.set_size(0);
        b.append_link(&mut l, "l", "f").unwrap();
        let entries = walk_all(&b.into_inner().unwrap()).unwrap();
        assert_eq!(
            entries[0].content.map(hex::encode).as_deref(),
            Some("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        );
        assert_eq!(entries[1].link.as_deref(), Some("f"));
    }

    #[test]
    fn inspection_records_secrets_in_the_scanned_head_only() {
        let token = format!("ghp_{}", "x9".repeat(18));
        let late = format!("{}{token}", " ".repeat(SCAN_LIMIT));
        let data = tar_of(&[
            ("app/ci.sh", tar::EntryType::Regular, token.as_bytes()),
            ("app/big.txt", tar::EntryType::Regular, late.as_bytes()),
            ("app/next", tar::EntryType::Regular, b"ok"),
        ]);
        let mut out = Vec::new();
        walk(data.as_slice(), Contents::Inspect, |e| out.push(e)).unwrap();
        let rules: Vec<Vec<&str>> = out
            .iter()
            .map(|e| e.secrets.iter().map(|h| h.rule).collect())
            .collect();
        assert_eq!(rules, [vec!["secret-github-token"], vec![], vec![]]);
        assert_eq!(out[2].size, 2);
    }

    #[test]
    fn inspection_fingerprints_whole_contents_past_the_scanned_head() {
        let big = vec![7u8; SCAN_LIMIT + 10];
        let mut changed_tail = big.clone();
        changed_tail[SCAN_LIMIT + 5] = 8;
        let data = tar_of(&[
            ("a", tar::EntryType::Regular, &big),
            ("b", tar::EntryType::Regular, &big),
            ("c", tar::EntryType::Regular, &changed_tail),
            ("d", tar::EntryType::Regular, b"small"),
            ("dir", tar::EntryType::Directory, b""),
        ]);
        let mut out = Vec::new();
        walk(data.as_slice(), Contents::Inspect, |e| out.push(e)).unwrap();
        let hashes: Vec<Option<[u8; 16]>> = out.iter().map(|e| e.xxh3).collect();
        let of = |b: &[u8]| Some(xxhash_rust::xxh3::xxh3_128(b).to_le_bytes());
        assert_eq!(
            hashes,
            [of(&big), of(&big), of(&changed_tail), of(b"small"), None]
        );
        assert_ne!(hashes[0], hashes[2]);
    }

    #[test]
    fn accepts_a_tar_without_end_of_archive_blocks() {
        let mut data = tar_of(&[("f", tar::EntryType::Regular, b"abc")]);
        data.truncate(1024); // header + one data block, no trailing zero blocks
        assert_eq!(walk_all(&data).unwrap().len(), 1);
    }

    #[test]
    fn corrupt_header_names_its_offset() {
        let mut data = tar_of(&[
            ("f", tar::EntryType::Regular, b"abc"),
            ("g", tar::EntryType::Regular, b"def"),
        ]);
        data[1024 + 100] ^= 0xff; // damage the second header (at offset 1024)
        let err = walk_all(&data).unwrap_err().to_string();
        assert!(err.contains("offset 1024"), "{err}");
    }

    #[test]
    fn a_header_claiming_more_than_the_stream_holds_is_an_error() {
        let mut h = tar::Header::new_gnu();
        h.set_path("huge").unwrap();
        h.set_size(10 << 30);
        h.set_cksum();
        let mut data = h.as_bytes().to_vec();
        data.extend_from_slice(&[0u8; 512]);
        assert!(walk_all(&data).is_err());
    }
}
