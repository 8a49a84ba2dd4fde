//! Streaming walk over the entries of a layer tar.
//!
//! Only headers are decoded; file contents are skipped or hashed as they stream, or handed to
//! [`Inspector`]s: each regular file's first [`HEAD_LIMIT`] bytes in one piece, then the rest in
//! chunks, one pass feeding every inspector, with at most the head of one file held at a time.
//! What the inspectors learn is theirs to keep (by entry index); the walk knows nothing of it.
//! Tars that end without the two end-of-archive blocks, or inside the padding of their last entry
//! once all of its content is there (umoci 0.4.7 writes both), end cleanly (GNU tar and Python's
//! tarfile read every member of such a tar, then complain of the missing end), and the walk says
//! how the tar ended ([`TarEnd`]); a corrupt header, or an entry whose content stops short, is an
//! error that names the offset where it sits.

use std::io::Read;

use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::layer::compression::describe_read_error;
use crate::layer::long_names::Bounded;
use crate::layer::names;

/// How many leading bytes of each regular file inspectors get in one piece (the rest follows in
/// chunks): enough for the headers of any ELF file and the secrets worth finding in a text file.
pub const HEAD_LIMIT: usize = 1 << 20;

/// The chunk the rest of a file is read in, past its head.
const CHUNK: usize = 64 << 10;

/// Learns something from the content of the regular files a walk streams by (secrets, how a file
/// is executed, a fingerprint); the walk calls it for every regular file, in tar order, and keeps
/// nothing of what it learns.
pub trait Inspector {
    /// A regular file starts: `index` is its position among the layer's entries, `head` its first
    /// [`HEAD_LIMIT`] bytes (the whole content when it is no larger).
    fn on_file(&mut self, index: usize, entry: &Entry, head: &[u8]);
    /// The next bytes of the current file past its head.
    fn on_chunk(&mut self, chunk: &[u8]);
    /// The current file ended (after its head, or its last chunk).
    fn on_end(&mut self);
}

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
    /// opaque markers, the path they act on. Decoded by [`names::decode_name`]: distinct bytes are
    /// distinct paths (bytes that are not UTF-8 escaped), a name past [`names::NAME_LIMIT`] cut.
    pub path: Box<str>,
    /// The kind of entry.
    pub kind: EntryKind,
    /// The size recorded in the header (bytes of content for regular files).
    pub size: u64,
    /// Permission and special bits from the header.
    pub mode: u32,
    /// The target of a symbolic or hard link, decoded as [`Entry::path`] is.
    pub link: Option<Box<str>>,
    /// SHA-256 of a regular file's content, when the walk was asked to hash contents (boxed: most
    /// walks do not hash, and a million entries then carry 8 bytes each for it, not 33).
    pub content: Option<Box<[u8; 32]>>,
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

pub(crate) fn classify(path: String, entry_type: tar::EntryType) -> (String, EntryKind) {
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
    /// Hand each regular file's content to the walk's inspectors: its head in one piece, the
    /// rest in chunks. No SHA-256, which keeps `strata report` close to [`Contents::Skip`]
    /// (SHA-256 of every file would cost about 25 % more CPU).
    Inspect,
}

/// How a layer tar ended: writers differ, and a reader that accepts every ending says which it met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TarEnd {
    /// With the end-of-archive blocks, as POSIX asks.
    #[default]
    EndOfArchive,
    /// Right after the last entry's padding, without end-of-archive blocks.
    NoEndOfArchive,
    /// Inside the last entry's padding, after all of its content: the last file is not padded to
    /// 512 bytes and no end-of-archive blocks follow (umoci 0.4.7, as Debian ships it, writes such
    /// layers; GNU tar and Python's tarfile read every member of them).
    UnpaddedLastEntry,
}

/// What a walk leaves: the stream, and how the tar in it ended.
pub struct Walked<R> {
    /// The reader positioned after the last entry (the caller drains it so digests cover the
    /// whole stream).
    pub rest: R,
    /// How the tar ended.
    pub end: TarEnd,
}

/// Counts the bytes a reader gave and whether it reached its end, so the walk can tell where a
/// tar stopped from the tar reader's errors without reading their words.
struct Counted<R> {
    inner: R,
    bytes: u64,
    at_eof: bool,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        self.at_eof |= n == 0 && !buf.is_empty();
        Ok(n)
    }
}

/// Walks every entry of the tar stream `reader`, calling `on_entry` for each (and, with
/// [`Contents::Inspect`], feeding each regular file's content to `inspectors`), and returns the
/// reader positioned after the last entry with how the tar ended.
pub fn walk<R: Read>(
    reader: R,
    contents: Contents,
    inspectors: &mut [&mut dyn Inspector],
    mut on_entry: impl FnMut(Entry),
) -> Result<Walked<R>> {
    // Long names are bounded before the tar crate reads them; positions it reports are in the
    // bounded stream, errors name the input's (`input_offset`).
    let (bounded, cuts) = Bounded::new(reader);
    let mut archive = tar::Archive::new(Counted {
        inner: bounded,
        bytes: 0,
        at_eof: false,
    });
    let input_offset = |at: u64| cuts.borrow().input_offset(at);
    let mut next_header_at: u64 = 0;
    // Where the content of the last entry starts and ends (its padding follows up to
    // `next_header_at`).
    let (mut content_start, mut content_end) = (0, 0);
    let mut failed = None;
    // A failure the source carried through `io::Read` (a registry that gave up) stays itself.
    let corrupt = |at: u64, e: std::io::Error| {
        crate::layer::verify::carried(e).unwrap_or_else(|e| {
            Error::corrupt("corrupt tar", input_offset(at), describe_tar_error(&e))
        })
    };
    let mut head = Vec::new();
    let mut chunk = Vec::new();
    let mut index = 0;
    {
        let entries = archive
            .entries()
            .map_err(|e| Error::invalid(format!("reading tar: {e}")))?;
        for entry in entries {
            let mut entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            };
            let header = entry.header();
            let entry_type = header.entry_type();
            if matches!(
                entry_type,
                tar::EntryType::XGlobalHeader | tar::EntryType::XHeader
            ) {
                content_start = entry.raw_file_position();
                content_end = content_start + entry.size();
                next_header_at = entry.raw_file_position() + padded(entry.size());
                continue;
            }
            let cut = cuts.borrow_mut().take(entry.raw_header_position());
            let name = names::decode_name(&entry.path_bytes(), cut.name);
            let (path, kind) = classify(clean_path(&name), entry_type);
            let mode = header.mode().unwrap_or(0);
            let size = entry.size();
            let link = match kind {
                EntryKind::Symlink | EntryKind::Hardlink => entry
                    .link_name_bytes()
                    .map(|l| names::decode_name(&l, cut.link).into()),
                _ => None,
            };
            let data_at = entry.raw_file_position();
            (content_start, content_end) = (data_at, data_at + size);
            next_header_at = data_at + padded(size);
            let mut record = Entry {
                path: path.into_boxed_str(),
                kind,
                size,
                mode,
                link,
                content: None,
            };
            match (contents, kind) {
                (Contents::Hash, EntryKind::File) => {
                    let mut hasher = Sha256::new();
                    feed(&mut entry, &mut chunk, |b| hasher.update(b))
                        .map_err(|e| corrupt(data_at, e))?;
                    record.content = Some(Box::new(hasher.finalize().into()));
                }
                (Contents::Inspect, EntryKind::File) => {
                    head.clear();
                    (&mut entry)
                        .take(HEAD_LIMIT as u64)
                        .read_to_end(&mut head)
                        .map_err(|e| corrupt(data_at, e))?;
                    for inspector in inspectors.iter_mut() {
                        inspector.on_file(index, &record, &head);
                    }
                    feed(&mut entry, &mut chunk, |b| {
                        for inspector in inspectors.iter_mut() {
                            inspector.on_chunk(b);
                        }
                    })
                    .map_err(|e| corrupt(data_at, e))?;
                    for inspector in inspectors.iter_mut() {
                        inspector.on_end();
                    }
                }
                _ => {}
            }
            on_entry(record);
            index += 1;
        }
    }
    let counted = archive.into_inner();
    let end = match failed {
        // The stream ended within the last entry's padding: its content is all there.
        Some(_) if counted.at_eof && (content_end..next_header_at).contains(&counted.bytes) => {
            TarEnd::UnpaddedLastEntry
        }
        Some(_) if counted.at_eof && counted.bytes < content_end => {
            return Err(Error::corrupt(
                "corrupt tar",
                input_offset(content_start),
                format!(
                    "entry content ends after {} of {} bytes",
                    counted.bytes.saturating_sub(content_start),
                    content_end - content_start
                ),
            ))
        }
        Some(e) => return Err(corrupt(next_header_at, e)),
        None if counted.bytes == next_header_at => TarEnd::NoEndOfArchive,
        None => TarEnd::EndOfArchive,
    };
    Ok(Walked {
        rest: counted.inner.into_inner(),
        end,
    })
}

/// What went wrong reading a tar, in words and never in the input's bytes: the tar reader's own
/// messages quote the header field it could not parse and the entry's name (a secret-bearing
/// file or terminal escapes when the input is not a tar at all), so those keep only the field.
pub fn describe_tar_error(e: &std::io::Error) -> String {
    let message = e.to_string();
    if !message.starts_with("numeric field") {
        return describe_read_error(e);
    }
    let field = message
        .split_once(" when getting ")
        .and_then(|(_, rest)| rest.split_whitespace().next());
    match field {
        Some(field) => format!("header field {field} is not a number"),
        None => "a numeric header field is not a number".to_string(),
    }
}

/// Reads the rest of `reader` through the reusable buffer `chunk`, passing every piece to `sink`.
fn feed(
    reader: &mut impl Read,
    chunk: &mut Vec<u8>,
    mut sink: impl FnMut(&[u8]),
) -> std::io::Result<()> {
    chunk.resize(CHUNK, 0);
    loop {
        match reader.read(chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => sink(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn padded(size: u64) -> u64 {
    size.div_ceil(512) * 512
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn tar_errors_name_the_field_never_the_bytes() {
        let quoted = std::io::Error::other(
            "numeric field was not a number: hunter2 when getting cksum for DB_PASSWORD=hunter2",
        );
        assert_eq!(
            describe_tar_error(&quoted),
            "header field cksum is not a number"
        );
        let raw = std::io::Error::other("numeric field did not have utf-8 text: \u{1b}[2J");
        assert_eq!(
            describe_tar_error(&raw),
            "a numeric header field is not a number"
        );
        let plain = std::io::Error::other("archive header checksum mismatch");
        assert_eq!(
            describe_tar_error(&plain),
            "archive header checksum mismatch"
        );
    }

    /// A tar of (name, type, content) entries, mode 0644.
    pub(crate) fn tar_of(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
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
        walk(data, Contents::Hash, &mut [], |e| out.push(e))?;
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
            entries[0].content.as_deref().map(hex::encode).as_deref(),
            Some("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        );
        assert_eq!(entries[1].link.as_deref(), Some("f"));
    }

    /// What an inspector was shown: per file, its index, path, head and the rest's bytes.
    #[derive(Default)]
    struct Recorder {
        files: Vec<(usize, String, Vec<u8>, Vec<u8>)>,
        ended: usize,
    }

    impl Inspector for Recorder {
        fn on_file(&mut self, index: usize, entry: &Entry, head: &[u8]) {
            self.files
                .push((index, entry.path.to_string(), head.to_vec(), Vec::new()));
        }
        fn on_chunk(&mut self, chunk: &[u8]) {
            self.files.last_mut().unwrap().3.extend_from_slice(chunk);
        }
        fn on_end(&mut self) {
            self.ended += 1;
        }
    }

    #[test]
    fn inspectors_see_every_file_once_as_its_head_then_the_rest() {
        let big: Vec<u8> = (0..HEAD_LIMIT + 3 * CHUNK + 5).map(|i| i as u8).collect();
        let data = tar_of(&[
            ("dir", tar::EntryType::Directory, b""),
            ("small", tar::EntryType::Regular, b"hello"),
            ("big", tar::EntryType::Regular, &big),
            ("l", tar::EntryType::Symlink, b""),
            ("empty", tar::EntryType::Regular, b""),
        ]);
        let (mut a, mut b) = (Recorder::default(), Recorder::default());
        let mut entries = Vec::new();
        walk(
            data.as_slice(),
            Contents::Inspect,
            &mut [&mut a, &mut b],
            |e| entries.push(e),
        )
        .unwrap();
        assert_eq!(entries.len(), 5);
        for r in [&a, &b] {
            let seen: Vec<(usize, &str, usize, usize)> = r
                .files
                .iter()
                .map(|(i, p, h, rest)| (*i, p.as_str(), h.len(), rest.len()))
                .collect();
            assert_eq!(
                seen,
                [
                    (1, "small", 5, 0),
                    (2, "big", HEAD_LIMIT, 3 * CHUNK + 5),
                    (4, "empty", 0, 0)
                ]
            );
            let whole = [r.files[1].2.as_slice(), &r.files[1].3].concat();
            assert_eq!(whole, big);
            assert_eq!(r.ended, 3);
        }
        let mut none = Recorder::default();
        walk(data.as_slice(), Contents::Hash, &mut [&mut none], |_| {}).unwrap();
        assert!(none.files.is_empty(), "only inspection feeds inspectors");
    }

    /// How `data` ends, walked headers-only and with contents hashed, and its entries' sizes.
    fn ending(data: &[u8]) -> Result<(TarEnd, Vec<u64>)> {
        let mut sizes = Vec::new();
        let skipped = walk(data, Contents::Skip, &mut [], |e| sizes.push(e.size))?.end;
        let hashed = walk(data, Contents::Hash, &mut [], |_| {})?.end;
        assert_eq!(
            skipped, hashed,
            "the ending does not depend on what is read"
        );
        Ok((skipped, sizes))
    }

    #[test]
    fn says_how_a_tar_ends() {
        let data = tar_of(&[("f", tar::EntryType::Regular, b"abc")]);
        assert_eq!(ending(&data).unwrap(), (TarEnd::EndOfArchive, vec![3]));
        // Header and one data block, no trailing zero blocks.
        assert_eq!(
            ending(&data[..1024]).unwrap(),
            (TarEnd::NoEndOfArchive, vec![3])
        );
    }

    #[test]
    fn an_unpadded_last_file_ends_the_archive() {
        let body: Vec<u8> = (0..700u32).map(|i| i as u8).collect();
        let data = tar_of(&[
            ("d", tar::EntryType::Directory, b""),
            ("f", tar::EntryType::Regular, &body),
        ]);
        // As umoci 0.4.7 writes it: the last file's content, then nothing.
        let unpadded = &data[..1024 + 700];
        assert_eq!(
            ending(unpadded).unwrap(),
            (TarEnd::UnpaddedLastEntry, vec![0, 700])
        );
        // A partial pad is still the end.
        assert_eq!(
            ending(&data[..1024 + 800]).unwrap().0,
            TarEnd::UnpaddedLastEntry
        );
        let entries = walk_all(unpadded).unwrap();
        assert_eq!(
            entries[1].content,
            Some(Box::new(Sha256::digest(&body).into()))
        );
    }

    #[test]
    fn a_last_file_short_of_its_content_is_an_error() {
        let data = tar_of(&[
            ("d", tar::EntryType::Directory, b""),
            ("f", tar::EntryType::Regular, &[7u8; 700]),
        ]);
        for contents in [Contents::Skip, Contents::Hash, Contents::Inspect] {
            let err = walk(&data[..1024 + 699], contents, &mut [], |_| {})
                .err()
                .expect("a truncated file is an error")
                .to_string();
            assert!(
                err.contains("offset 1024") && err.contains("699 of 700 bytes"),
                "{contents:?}: {err}"
            );
        }
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
