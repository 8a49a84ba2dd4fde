//! Random access to the files that hold an image: a directory (OCI layout) or a tar archive
//! (`docker save`, OCI archive) indexed once by its headers, so any blob inside can be streamed
//! without extracting the archive.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::layer::walk::{clean_path, describe_tar_error};

/// Manifests, indexes and configs above this size are refused: they are JSON documents of a few KB,
/// and a bogus size must not make strata allocate gigabytes.
pub const MAX_METADATA_BYTES: u64 = 32 << 20;

/// A set of named files an image lives in.
pub trait Files: Send + Sync {
    /// Opens `path` (relative, `/`-separated) for streaming, with its size; `None` if absent.
    fn open(&self, path: &str) -> Result<Option<(Box<dyn Read + Send>, u64)>>;

    /// A short description for error messages (`archive.tar`, `dir/`).
    fn describe(&self) -> String;

    /// Reads a small metadata file whole; `None` if absent.
    fn read_small(&self, path: &str) -> Result<Option<Vec<u8>>> {
        let Some((reader, size)) = self.open(path)? else {
            return Ok(None);
        };
        if size > MAX_METADATA_BYTES {
            return Err(Error::invalid(format!(
                "{}: {path} claims {size} bytes, too large for image metadata",
                self.describe()
            )));
        }
        let mut buf = Vec::with_capacity(size as usize);
        reader
            .take(MAX_METADATA_BYTES)
            .read_to_end(&mut buf)
            .map_err(|e| Error::io(format!("{}: {path}", self.describe()), e))?;
        Ok(Some(buf))
    }
}

/// A directory on disk, such as an OCI image layout.
pub struct DirFiles {
    root: PathBuf,
}

impl DirFiles {
    /// Serves files below `root`.
    pub fn new(root: &Path) -> Self {
        DirFiles {
            root: root.to_path_buf(),
        }
    }
}

impl Files for DirFiles {
    fn open(&self, path: &str) -> Result<Option<(Box<dyn Read + Send>, u64)>> {
        let full = self.root.join(clean_path(path));
        match File::open(&full) {
            Ok(f) => {
                let size = f
                    .metadata()
                    .map_err(|e| Error::io(full.display(), e))?
                    .len();
                Ok(Some((Box::new(f), size)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(full.display(), e)),
        }
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }
}

/// A member of a tar archive as an index of it keeps it: data (located by `T`), or a link to
/// another member. Shared by the file index here and the Docker Engine's export stream
/// (`source::engine`), so both resolve `docker save`'s linked layers the same way.
#[derive(Debug, Clone)]
pub(crate) enum Member<T> {
    /// A regular file: where its bytes are.
    Data(T),
    /// A symlink or hard link, to the member named `target`.
    Link {
        /// The member linked to, its path cleaned and made relative to the archive's root.
        target: String,
    },
}

/// The cleaned name of a tar `entry` and, for the members an image index needs (regular files
/// and links), the link target if it is one; `None` for directories and other entry types.
pub(crate) fn tar_member<R: Read>(entry: &tar::Entry<'_, R>) -> Option<(String, Option<String>)> {
    let name = clean_path(&crate::layer::names::decode(&entry.path_bytes()));
    match entry.header().entry_type() {
        tar::EntryType::Symlink => {
            let target = link_target(entry);
            let dir = name.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
            let joined = if target.starts_with('/') {
                target
            } else {
                format!("{dir}/{target}")
            };
            Some((name, Some(clean_path(&joined))))
        }
        tar::EntryType::Link => Some((name, Some(clean_path(&link_target(entry))))),
        tar::EntryType::Regular | tar::EntryType::Continuous => Some((name, None)),
        _ => None,
    }
}

/// The data of the member `name` in `members`, following links (at most 16, so a loop ends).
pub(crate) fn resolve_member<'a, T>(
    members: &'a HashMap<String, Member<T>>,
    name: &str,
) -> Option<(String, &'a T)> {
    let mut name = clean_path(name);
    for _ in 0..16 {
        match members.get(&name)? {
            Member::Data(data) => return Some((name, data)),
            Member::Link { target } => name = target.clone(),
        }
    }
    None
}

/// A tar archive indexed by member name. Symlinked and hard-linked members (some `docker save`
/// writers link identical layers) resolve to the data they point at.
pub struct TarFiles {
    path: PathBuf,
    members: HashMap<String, Member<(u64, u64)>>,
}

impl TarFiles {
    /// Reads every header of the archive at `path` once, seeking over the contents. A file that
    /// does not start with a tar header is refused in one line that says what it is not, and no
    /// error quotes the file's bytes (it may be a `.env` of secrets, or binary noise).
    pub fn index(path: &Path) -> Result<TarFiles> {
        let mut file = File::open(path).map_err(|e| Error::io(path.display(), e))?;
        let mut head = Vec::with_capacity(BLOCK);
        (&mut file)
            .take(BLOCK as u64)
            .read_to_end(&mut head)
            .and_then(|_| file.seek(SeekFrom::Start(0)))
            .map_err(|e| Error::io(path.display(), e))?;
        if let Some(what) = not_a_tar(&head) {
            return Err(Error::invalid(format!(
                "{}: not an image: {what} (strata reads `docker save` output, OCI archives and \
                 OCI layout directories)",
                path.display()
            )));
        }
        let mut archive = tar::Archive::new(file);
        let mut members = HashMap::new();
        let unreadable = |e: std::io::Error| {
            Error::invalid(format!(
                "{}: not a readable tar archive: {}",
                path.display(),
                describe_tar_error(&e)
            ))
        };
        let entries = archive.entries_with_seek().map_err(unreadable)?;
        for entry in entries {
            let entry = entry.map_err(unreadable)?;
            let Some((name, link)) = tar_member(&entry) else {
                continue;
            };
            let member = match link {
                Some(target) => Member::Link { target },
                None => Member::Data((entry.raw_file_position(), entry.size())),
            };
            members.insert(name, member);
        }
        let file_len = std::fs::metadata(path)
            .map_err(|e| Error::io(path.display(), e))?
            .len();
        for (name, m) in &members {
            if let Member::Data((offset, size)) = m {
                if offset.saturating_add(*size) > file_len {
                    return Err(Error::invalid(format!(
                        "{}: member {name} extends past the end of the archive (truncated file?)",
                        path.display()
                    )));
                }
            }
        }
        Ok(TarFiles {
            path: path.to_path_buf(),
            members,
        })
    }

    fn resolve(&self, name: &str) -> Option<(u64, u64)> {
        resolve_member(&self.members, name).map(|(_, &located)| located)
    }
}

/// The size of a tar block, and of the header that starts an archive.
const BLOCK: usize = 512;

/// What a file starting with `head` (its first [`BLOCK`] bytes, fewer if it is shorter) is not,
/// when it cannot be a tar archive: compressed, or no valid tar header (its checksum, the sum of
/// the header's bytes, does not match). An all-zero block is an empty archive.
fn not_a_tar(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(&[0x1f, 0x8b]) {
        return Some("it is gzip-compressed, not a tar archive (gunzip it first)");
    }
    if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Some("it is zstd-compressed, not a tar archive (zstd -d it first)");
    }
    if head.len() < BLOCK {
        return Some("it is not a tar archive (shorter than one tar header)");
    }
    if head.iter().all(|&b| b == 0) || header_checksum_matches(head) {
        return None;
    }
    Some("it is not a tar archive (no tar header at its start)")
}

/// Whether the checksum field of the tar header `block` (octal, bytes 148..156) is the sum of
/// the header's bytes with that field counted as spaces, unsigned or (old tars) signed.
fn header_checksum_matches(block: &[u8]) -> bool {
    let field = &block[148..156];
    let digits: String = field
        .iter()
        .map(|&b| b as char)
        .take_while(|c| *c != '\0')
        .collect();
    let Ok(claimed) = i64::from_str_radix(digits.trim(), 8) else {
        return false;
    };
    let spaces = 8 * i64::from(b' ');
    let outside = |i: &usize| !(148..156).contains(i);
    let unsigned: i64 = spaces
        + (0..BLOCK)
            .filter(outside)
            .map(|i| i64::from(block[i]))
            .sum::<i64>();
    let signed: i64 = spaces
        + (0..BLOCK)
            .filter(outside)
            .map(|i| i64::from(block[i] as i8))
            .sum::<i64>();
    claimed == unsigned || claimed == signed
}

fn link_target<R: Read>(entry: &tar::Entry<'_, R>) -> String {
    entry
        .link_name_bytes()
        .map(|b| crate::layer::names::decode(&b))
        .unwrap_or_default()
}

impl Files for TarFiles {
    fn open(&self, path: &str) -> Result<Option<(Box<dyn Read + Send>, u64)>> {
        let Some((offset, size)) = self.resolve(path) else {
            return Ok(None);
        };
        let mut f = File::open(&self.path).map_err(|e| Error::io(self.path.display(), e))?;
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| Error::io(self.path.display(), e))?;
        Ok(Some((Box::new(f.take(size)), size)))
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_symlinked_members_relative_to_their_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tar");
        let mut b = tar::Builder::new(File::create(&path).unwrap());
        let mut h = tar::Header::new_gnu();
        h.set_size(5);
        b.append_data(&mut h, "one/layer.tar", &b"hello"[..])
            .unwrap();
        let mut l = tar::Header::new_gnu();
        l.set_entry_type(tar::EntryType::Symlink);
        l.set_size(0);
        b.append_link(&mut l, "two/layer.tar", "../one/layer.tar")
            .unwrap();
        b.finish().unwrap();
        drop(b);
        let files = TarFiles::index(&path).unwrap();
        assert_eq!(
            files.read_small("two/layer.tar").unwrap().unwrap(),
            b"hello"
        );
        assert!(files.open("three").unwrap().is_none());
    }

    #[test]
    fn only_a_tar_header_starts_an_archive() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_size(1);
        b.append_data(&mut h, "a", &b"a"[..]).unwrap();
        let tar = b.into_inner().unwrap();
        assert_eq!(not_a_tar(&tar[..BLOCK]), None);
        assert_eq!(not_a_tar(&[0; BLOCK]), None, "an empty archive");
        let mut damaged = tar[..BLOCK].to_vec();
        damaged[0] ^= 1;
        assert!(not_a_tar(&damaged).unwrap().contains("no tar header"));
        assert!(not_a_tar(b"KEY=value\n").unwrap().contains("shorter"));
        assert!(not_a_tar(&[0x1f, 0x8b, 8, 0]).unwrap().contains("gzip"));
    }
}
