//! rpm's package database, the SQLite one rpm 4.16 and later write (`rpmdb.sqlite`, the default
//! of Fedora 33+, RHEL 9 and their kin): its `Packages` table holds one RPM header blob per
//! installed package, read here with SQLite itself (rusqlite, bundled) and a header parser of our
//! own. A header is an index of tagged entries over a data store, all big-endian: `il` and `dl`
//! (entry count and store size), then `il` entries of tag, type, offset and count, then the
//! store. Of it only the name, version, release, epoch, architecture and the file list (the
//! compressed form, `DIRNAMES[DIRINDEXES[i]] + BASENAMES[i]`, or the old `OLDFILENAMES`) are read.
//! The blobs are whatever the image holds: every offset and count is checked against the store,
//! and a bad header is an error naming the package's row, never a panic. The older Berkeley DB
//! (`Packages`) and ndb (`Packages.db`) formats are not read.

use std::path::Path;

use crate::error::{Error, Result};

/// One package as its header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpmPackage {
    /// `NAME`.
    pub name: String,
    /// `[EPOCH:]VERSION-RELEASE`, as rpm's queries spell it.
    pub version: String,
    /// `ARCH`, when the header has one (rpm's `gpg-pubkey` entries do not).
    pub arch: Option<String>,
    /// Every path it installs, absolute, as `rpm -ql` lists them.
    pub files: Vec<String>,
}

const NAME: i32 = 1000;
const VERSION: i32 = 1001;
const RELEASE: i32 = 1002;
const EPOCH: i32 = 1003;
const ARCH: i32 = 1022;
const OLDFILENAMES: i32 = 1027;
const DIRINDEXES: i32 = 1116;
const BASENAMES: i32 = 1117;
const DIRNAMES: i32 = 1118;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// rpm's own limits on a header (`HEADER_TAGS_MAX`, `HEADER_DATA_MAX`).
const MAX_ENTRIES: usize = 0xffff;
const MAX_DATA: usize = 0x0fff_ffff;

/// Reads every package of the SQLite database at `db` (a private copy: SQLite may write beside
/// it, replaying a `-wal` file there into it).
pub fn read(db: &Path) -> Result<Vec<RpmPackage>> {
    let sql = |e: rusqlite::Error| Error::invalid(format!("reading the rpm database: {e}"));
    let flags =
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = rusqlite::Connection::open_with_flags(db, flags).map_err(sql)?;
    // The schema is the image's: none of its views or triggers may call functions.
    conn.execute_batch("PRAGMA trusted_schema = OFF; PRAGMA query_only = ON;")
        .map_err(sql)?;
    let mut query = conn
        .prepare("SELECT hnum, blob FROM Packages ORDER BY hnum")
        .map_err(sql)?;
    let mut rows = query.query([]).map_err(sql)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(sql)? {
        let hnum: i64 = row.get(0).map_err(sql)?;
        let blob: Vec<u8> = row.get(1).map_err(sql)?;
        let package = parse_header(&blob)
            .map_err(|e| Error::invalid(format!("rpm database package {hnum}: {e}")))?;
        out.push(package);
    }
    Ok(out)
}

/// One index entry of a header.
struct Entry {
    tag: i32,
    kind: u32,
    offset: usize,
    count: usize,
}

/// A header's index over its data store.
struct Header<'a> {
    entries: Vec<Entry>,
    data: &'a [u8],
}

fn be32(bytes: &[u8], at: usize) -> std::result::Result<u32, String> {
    let b = bytes
        .get(at..at + 4)
        .ok_or_else(|| format!("cut short at byte {at}"))?;
    Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

impl<'a> Header<'a> {
    fn parse(blob: &'a [u8]) -> std::result::Result<Header<'a>, String> {
        let il = be32(blob, 0)? as usize;
        let dl = be32(blob, 4)? as usize;
        if il > MAX_ENTRIES || dl > MAX_DATA {
            return Err(format!("{il} entries over {dl} bytes is past rpm's limits"));
        }
        let start = 8 + 16 * il;
        let data = blob.get(start..start + dl).ok_or_else(|| {
            format!(
                "{il} entries and {dl} bytes of data do not fit in {} bytes",
                blob.len()
            )
        })?;
        let mut entries = Vec::with_capacity(il);
        for i in 0..il {
            let at = 8 + 16 * i;
            let (tag, kind) = (be32(blob, at)? as i32, be32(blob, at + 4)?);
            let (offset, count) = (be32(blob, at + 8)? as usize, be32(blob, at + 12)? as usize);
            entries.push(Entry {
                tag,
                kind,
                offset,
                count,
            });
        }
        Ok(Header { entries, data })
    }

    fn entry(&self, tag: i32) -> Option<&Entry> {
        self.entries.iter().find(|e| e.tag == tag)
    }

    /// The strings of `tag` (a string, a string array, an i18n string), `None` when absent.
    fn strings(&self, tag: i32) -> std::result::Result<Option<Vec<String>>, String> {
        let Some(e) = self.entry(tag) else {
            return Ok(None);
        };
        if ![TYPE_STRING, TYPE_STRING_ARRAY, TYPE_I18NSTRING].contains(&e.kind) {
            return Err(format!("tag {tag} is of type {}, not strings", e.kind));
        }
        let mut out = Vec::new();
        let mut at = e.offset;
        for _ in 0..e.count {
            let rest = self
                .data
                .get(at..)
                .filter(|r| !r.is_empty())
                .ok_or_else(|| format!("tag {tag}: string {} is past the data", out.len()))?;
            let len = memchr::memchr(0, rest)
                .ok_or_else(|| format!("tag {tag}: string {} has no end", out.len()))?;
            let text = std::str::from_utf8(&rest[..len])
                .map_err(|_| format!("tag {tag}: string {} is not UTF-8", out.len()))?;
            out.push(text.to_string());
            at += len + 1;
        }
        Ok(Some(out))
    }

    /// The one string of `tag`.
    fn string(&self, tag: i32) -> std::result::Result<Option<String>, String> {
        Ok(self.strings(tag)?.and_then(|s| s.into_iter().next()))
    }

    /// The 32-bit integers of `tag`, `None` when absent.
    fn int32s(&self, tag: i32) -> std::result::Result<Option<Vec<u32>>, String> {
        let Some(e) = self.entry(tag) else {
            return Ok(None);
        };
        if e.kind != TYPE_INT32 {
            return Err(format!(
                "tag {tag} is of type {}, not 32-bit integers",
                e.kind
            ));
        }
        let end = e
            .count
            .checked_mul(4)
            .and_then(|n| n.checked_add(e.offset))
            .filter(|end| *end <= self.data.len())
            .ok_or_else(|| format!("tag {tag}: {} integers are past the data", e.count))?;
        let values = self.data[e.offset..end]
            .chunks_exact(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Ok(Some(values))
    }
}

/// One header blob as the database stores it (no lead, no magic).
pub fn parse_header(blob: &[u8]) -> std::result::Result<RpmPackage, String> {
    let h = Header::parse(blob)?;
    let required = |tag, what: &str| -> std::result::Result<String, String> {
        h.string(tag)?.ok_or_else(|| format!("no {what}"))
    };
    let name = required(NAME, "name")?;
    let mut version = format!(
        "{}-{}",
        required(VERSION, "version")?,
        required(RELEASE, "release")?
    );
    if let Some(epoch) = h.int32s(EPOCH)?.and_then(|e| e.first().copied()) {
        version = format!("{epoch}:{version}");
    }
    let files = match (
        h.strings(BASENAMES)?,
        h.strings(DIRNAMES)?,
        h.int32s(DIRINDEXES)?,
    ) {
        (Some(base), Some(dirs), Some(index)) => {
            if base.len() != index.len() {
                return Err(format!(
                    "{} base names but {} dir indexes",
                    base.len(),
                    index.len()
                ));
            }
            let mut files = Vec::with_capacity(base.len());
            for (name, i) in base.iter().zip(index) {
                let dir = dirs
                    .get(i as usize)
                    .ok_or_else(|| format!("dir index {i} of {} dirs", dirs.len()))?;
                files.push(format!("{dir}{name}"));
            }
            files
        }
        (None, _, _) => h.strings(OLDFILENAMES)?.unwrap_or_default(),
        _ => return Err("base names without their dir names or indexes".to_string()),
    };
    Ok(RpmPackage {
        name,
        version,
        arch: h.string(ARCH)?,
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header blob of `entries` (tag, type, count, data), laid out as rpm does.
    fn header(entries: &[(i32, u32, u32, Vec<u8>)]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut data: Vec<u8> = Vec::new();
        for (tag, kind, count, bytes) in entries {
            for v in [*tag as u32, *kind, data.len() as u32, *count] {
                index.extend(v.to_be_bytes());
            }
            data.extend(bytes);
        }
        let mut blob = Vec::new();
        blob.extend((entries.len() as u32).to_be_bytes());
        blob.extend((data.len() as u32).to_be_bytes());
        blob.extend(index);
        blob.extend(data);
        blob
    }

    fn strs(s: &[&str]) -> Vec<u8> {
        s.iter()
            .flat_map(|s| [s.as_bytes(), b"\0"].concat())
            .collect()
    }

    fn ints(v: &[u32]) -> Vec<u8> {
        v.iter().flat_map(|v| v.to_be_bytes()).collect()
    }

    fn hello() -> Vec<(i32, u32, u32, Vec<u8>)> {
        vec![
            (NAME, TYPE_STRING, 1, strs(&["hello"])),
            (VERSION, TYPE_STRING, 1, strs(&["1.0"])),
            (RELEASE, TYPE_STRING, 1, strs(&["1"])),
            (ARCH, TYPE_STRING, 1, strs(&["noarch"])),
            (DIRINDEXES, TYPE_INT32, 3, ints(&[0, 1, 1])),
            (
                BASENAMES,
                TYPE_STRING_ARRAY,
                3,
                strs(&["hello", "README", "hello"]),
            ),
            (
                DIRNAMES,
                TYPE_STRING_ARRAY,
                2,
                strs(&["/usr/bin/", "/usr/share/doc/hello/"]),
            ),
        ]
    }

    #[test]
    fn a_header_names_its_package_and_files() {
        let p = parse_header(&header(&hello())).unwrap();
        assert_eq!((p.name.as_str(), p.version.as_str()), ("hello", "1.0-1"));
        assert_eq!(p.arch.as_deref(), Some("noarch"));
        assert_eq!(
            p.files,
            [
                "/usr/bin/hello",
                "/usr/share/doc/hello/README",
                "/usr/share/doc/hello/hello"
            ]
        );
        let mut with_epoch = hello();
        with_epoch.push((EPOCH, TYPE_INT32, 1, ints(&[2])));
        assert_eq!(
            parse_header(&header(&with_epoch)).unwrap().version,
            "2:1.0-1"
        );
    }

    #[test]
    fn hostile_headers_are_errors() {
        let good = header(&hello());
        // Every truncation, and every single corrupted byte of the index, errs or parses: never
        // panics.
        for len in 0..good.len() {
            let _ = parse_header(&good[..len]);
        }
        for at in 0..8 + 16 * hello().len() {
            for byte in [0x00, 0x7f, 0xff] {
                let mut bad = good.clone();
                bad[at] = byte;
                let _ = parse_header(&bad);
            }
        }
        let mut out_of_range = hello();
        out_of_range[4] = (DIRINDEXES, TYPE_INT32, 3, ints(&[0, 1, 7]));
        let err = parse_header(&header(&out_of_range)).unwrap_err();
        assert!(err.contains("dir index 7 of 2"), "{err}");
        let mut huge = header(&hello());
        huge[..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(parse_header(&huge).unwrap_err().contains("limits"));
        let mut unterminated = hello();
        unterminated[0] = (NAME, TYPE_STRING, 1, b"hel".to_vec());
        unterminated.truncate(1);
        assert!(parse_header(&header(&unterminated))
            .unwrap_err()
            .contains("no end"));
        let mut many = hello();
        many[5].2 = u32::MAX;
        assert!(parse_header(&header(&many)).is_err());
    }
}
