//! Timestamp-based `.pyc` files kept valid when mtimes are normalized. CPython accepts a cached
//! `D/__pycache__/NAME.TAG[.opt-N].pyc` for `D/NAME.py` only while its PEP 552 header names the
//! source's mtime and size (both mod 2^32); a re-laid source with a normalized mtime would make
//! every such pyc "stale" and recompiled at each start. So a pyc that was valid for its source in
//! the input gets the mtime field (bytes 8..12) set to the mtime the source is written with;
//! every other byte is kept, and hash-based pycs, unknown flags, stale pycs and sources outside
//! the re-laid layers are left alone. Legacy `D/NAME.pyc` files are never rewritten: CPython
//! loads them only when `D/NAME.py` is absent, and then without checking a timestamp.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Cursor, Read};

use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::optimize::merged::{Kind, Merged, Node, SpoolReader, Stored};

/// Bytes of a PEP 552 header: magic, flags, then source mtime and size (or a hash).
const HEADER: u64 = 16;

/// Python 3.7's first magic number, the one PEP 552's header came with; Python 2's were above
/// [`PYTHON2_MAGIC`], earlier Python 3 headers had no flags field.
const PEP552_MAGIC: u16 = 3392;
/// Below every Python 2 magic number.
const PYTHON2_MAGIC: u16 = 20000;

/// The source CPython checks a cached pyc against (`importlib.util.source_from_cache`):
/// `D/__pycache__/NAME.TAG.pyc` or `D/__pycache__/NAME.TAG.opt-N.pyc` → `D/NAME.py`.
fn source_of(path: &str) -> Option<String> {
    let (dir, file) = path.rsplit_once('/')?;
    let parent = match dir.rsplit_once('/') {
        Some((parent, "__pycache__")) => Some(parent),
        None if dir == "__pycache__" => None,
        _ => return None,
    };
    let stem = file.strip_suffix(".pyc")?;
    let parts: Vec<&str> = stem.split('.').collect();
    let opt_ok = |opt: &str| {
        opt.strip_prefix("opt-")
            .is_some_and(|l| !l.is_empty() && l.chars().all(char::is_alphanumeric))
    };
    let ok = match parts.as_slice() {
        [name, tag] => !name.is_empty() && !tag.is_empty(),
        [name, tag, opt] => !name.is_empty() && !tag.is_empty() && opt_ok(opt),
        _ => false,
    };
    ok.then(|| match parent {
        Some(p) => format!("{p}/{}.py", parts[0]),
        None => format!("{}.py", parts[0]),
    })
}

/// The source mtime and size fields of a timestamp-based header of Python 3.7 or later; `None`
/// for hash-based pycs, unknown flags or what is not such a header.
fn timestamp_fields(head: &[u8; 16]) -> Option<(u32, u32)> {
    let word = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let magic = u16::from_le_bytes([head[0], head[1]]);
    let python3 = (PEP552_MAGIC..PYTHON2_MAGIC).contains(&magic) && head[2..4] == *b"\r\n";
    (python3 && word(4) == 0).then(|| (word(8), word(12)))
}

/// The header to write instead of `head` for a pyc of `source` written with `mtime`: only when
/// `head` was valid for `source` and its mtime field changes.
fn rewritten(head: &[u8; 16], source: &Node, mtime: u64) -> Option<[u8; 16]> {
    let (field, size) = timestamp_fields(head)?;
    // CPython compares both modulo 2^32: the truncations are the point.
    let valid = size == source.size as u32 && field == source.mtime as u32;
    let new = mtime as u32;
    (valid && new != field).then(|| {
        let mut out = *head;
        out[8..12].copy_from_slice(&new.to_le_bytes());
        out
    })
}

/// A pyc's new header and the SHA-256 of its content with it.
#[derive(Debug, Clone)]
struct Rewrite {
    header: [u8; 16],
    sha256: [u8; 32],
}

/// The pycs of a merged filesystem whose header is rewritten, by path: what the re-laid layers
/// write ([`Rewrites::content`]) and what the proof expects of them ([`Rewrites::expected`]).
#[derive(Debug, Default)]
pub struct Rewrites {
    by_path: BTreeMap<String, Rewrite>,
}

impl Rewrites {
    /// Decides the rewrites of `merged` when its files are written with `mtime` (`None`:
    /// mtimes kept, nothing to rewrite), reading pyc headers from `spool` and hashing each
    /// rewritten content. Paths hard-linked to each other share one content, so they are
    /// rewritten only if every one of them is, the same way.
    pub fn plan(merged: &Merged, spool: &mut SpoolReader, mtime: Option<u64>) -> Result<Rewrites> {
        let Some(mtime) = mtime else {
            return Ok(Rewrites::default());
        };
        let mut headers = BTreeMap::new();
        for (path, node) in &merged.nodes {
            let Some(stored) = node.stored.filter(|_| node.kind == Kind::File) else {
                continue;
            };
            let Some(source) = source_of(path).and_then(|s| merged.nodes.get(&s)) else {
                continue;
            };
            if source.kind != Kind::File || node.size < HEADER {
                continue;
            }
            let mut head = [0u8; 16];
            spool
                .open(stored, HEADER)?
                .read_exact(&mut head)
                .map_err(|e| Error::io(path, e))?;
            if let Some(new) = rewritten(&head, source, mtime) {
                headers.insert(path.clone(), new);
            }
        }
        agree_across_hard_links(merged, &mut headers);
        let mut rewrites = Rewrites::default();
        for (path, header) in headers {
            let node = &merged.nodes[&path];
            let Some(stored) = node.stored else { continue };
            let mut hasher = Sha256::new();
            let mut content = Rewrite {
                header,
                sha256: [0; 32],
            };
            let mut reader = rest(&content, stored, node.size, spool)?;
            io::copy(&mut reader, &mut hasher).map_err(|e| Error::io(&path, e))?;
            content.sha256 = hasher.finalize().into();
            rewrites.by_path.insert(path, content);
        }
        Ok(rewrites)
    }

    /// How many pycs get a new header.
    pub fn len(&self) -> usize {
        self.by_path.len()
    }

    /// Whether no pyc gets a new header.
    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }

    /// The content to write at `path` (a file of `size` bytes spooled at `stored`): the spooled
    /// bytes, behind the new header when it has one. Streamed from the spool.
    pub fn content<'a>(
        &self,
        path: &str,
        stored: Stored,
        size: u64,
        spool: &'a mut SpoolReader,
    ) -> Result<Box<dyn Read + 'a>> {
        match self.by_path.get(path) {
            Some(r) => rest(r, stored, size, spool),
            None => Ok(Box::new(spool.open(stored, size)?)),
        }
    }

    /// The node the re-laid layers must give at `path` for `input`'s: the same, but for the
    /// content digest of a rewritten pyc.
    pub fn expected<'a>(&self, path: &str, input: &'a Node) -> Cow<'a, Node> {
        match self.by_path.get(path) {
            Some(r) => Cow::Owned(Node {
                sha256: r.sha256,
                ..input.clone()
            }),
            None => Cow::Borrowed(input),
        }
    }
}

/// Keeps the `headers` of paths whose hard-linked paths (sharing their content) all get the
/// same header: the content is written once for all of them.
fn agree_across_hard_links(merged: &Merged, headers: &mut BTreeMap<String, [u8; 16]>) {
    let mut agreed: BTreeMap<u64, Option<[u8; 16]>> = BTreeMap::new();
    for (path, node) in &merged.nodes {
        if let Some(s) = node.stored.filter(|_| node.kind == Kind::File) {
            let mine = headers.get(path).copied();
            agreed
                .entry(s.origin)
                .and_modify(|a| *a = a.filter(|h| Some(*h) == mine))
                .or_insert(mine);
        }
    }
    headers.retain(|path, header| {
        let origin = merged.nodes[path].stored.map(|s| s.origin);
        origin.is_some_and(|o| agreed[&o] == Some(*header))
    });
}

/// The new header of `r` followed by the spooled content after the old one.
fn rest<'a>(
    r: &Rewrite,
    stored: Stored,
    size: u64,
    spool: &'a mut SpoolReader,
) -> Result<Box<dyn Read + 'a>> {
    let after = Stored {
        offset: stored.offset + HEADER,
        ..stored
    };
    let tail = spool.open(after, size - HEADER)?;
    Ok(Box::new(Cursor::new(r.header).chain(tail)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header with `magic`, `flags`, and the two words after them.
    fn head(magic: u16, flags: u32, a: u32, b: u32) -> [u8; 16] {
        let mut h = [0u8; 16];
        h[0..2].copy_from_slice(&magic.to_le_bytes());
        h[2..4].copy_from_slice(b"\r\n");
        h[4..8].copy_from_slice(&flags.to_le_bytes());
        h[8..12].copy_from_slice(&a.to_le_bytes());
        h[12..16].copy_from_slice(&b.to_le_bytes());
        h
    }

    fn source(mtime: u64, size: u64) -> Node {
        Node {
            kind: Kind::File,
            mode: 0o644,
            owner: (0, 0),
            names: Default::default(),
            mtime,
            xattrs: Vec::new(),
            link: None,
            device: (0, 0),
            size,
            sha256: [0; 32],
            stored: None,
            layer: 1,
        }
    }

    /// CPython 3.11's magic number.
    const PY311: u16 = 3495;

    #[test]
    fn cached_pycs_name_their_source() {
        let cases = [
            ("a/b/__pycache__/mod.cpython-311.pyc", Some("a/b/mod.py")),
            ("a/__pycache__/mod.cpython-311.opt-1.pyc", Some("a/mod.py")),
            (
                "a/__pycache__/__init__.cpython-312.opt-2.pyc",
                Some("a/__init__.py"),
            ),
            ("__pycache__/top.pypy39.pyc", Some("top.py")),
            // Legacy pycs beside their source are never loaded while it exists.
            ("a/mod.pyc", None),
            ("a/__pycache__/mod.pyc", None),
            ("a/__pycache__/mod.cpython-311.opt.pyc", None),
            ("a/__pycache__/mod.cpython-311.x-1.pyc", None),
            ("a/__pycache__/a.b.cpython-311.opt-1.pyc", None),
            ("a/__pycache__/mod.cpython-311.py", None),
            ("a/xpycache__/mod.cpython-311.pyc", None),
            ("a/__pycache__/.cpython-311.pyc", None),
        ];
        for (pyc, want) in cases {
            assert_eq!(source_of(pyc).as_deref(), want, "{pyc}");
        }
    }

    #[test]
    fn only_timestamp_headers_of_python_3_7_on_have_fields() {
        assert_eq!(timestamp_fields(&head(PY311, 0, 7, 9)), Some((7, 9)));
        assert_eq!(
            timestamp_fields(&head(PY311, 1, 7, 9)),
            None,
            "unchecked hash"
        );
        assert_eq!(
            timestamp_fields(&head(PY311, 3, 7, 9)),
            None,
            "checked hash"
        );
        assert_eq!(
            timestamp_fields(&head(PY311, 4, 7, 9)),
            None,
            "unknown flags"
        );
        assert_eq!(
            timestamp_fields(&head(3379, 0, 7, 9)),
            None,
            "3.6: no flags"
        );
        assert_eq!(timestamp_fields(&head(62211, 0, 7, 9)), None, "Python 2.7");
        let mut bad = head(PY311, 0, 7, 9);
        bad[3] = b'x';
        assert_eq!(timestamp_fields(&bad), None, "no \\r\\n after the magic");
    }

    #[test]
    fn a_valid_header_gets_the_new_mtime_and_nothing_else() {
        let old = head(PY311, 0, 1_700_000_000, 120);
        let new = rewritten(&old, &source(1_700_000_000, 120), 1).expect("rewritten");
        assert_eq!(new[8..12], 1u32.to_le_bytes());
        assert_eq!(new[..8], old[..8]);
        assert_eq!(new[12..], old[12..]);
    }

    #[test]
    fn fields_compare_modulo_2_32() {
        let big = (1u64 << 32) + 5;
        let old = head(PY311, 0, 5, 3);
        let new = rewritten(&old, &source(big, (1 << 32) + 3), big + 10).expect("rewritten");
        assert_eq!(new[8..12], 15u32.to_le_bytes());
    }

    #[test]
    fn hard_linked_pycs_are_rewritten_only_all_alike() {
        let mut merged = Merged::default();
        let stored = |origin| Stored { offset: 0, origin };
        for (path, origin) in [
            ("a.pyc", 1),
            ("b.pyc", 1),
            ("c.pyc", 2),
            ("d.pyc", 2),
            ("e.pyc", 3),
        ] {
            let mut node = source(0, 20);
            node.stored = Some(stored(origin));
            merged.nodes.insert(path.to_string(), node);
        }
        let h = |m| head(PY311, 0, m, 20);
        let mut headers: BTreeMap<String, [u8; 16]> = [
            ("a.pyc", h(1)),
            ("b.pyc", h(1)),
            ("c.pyc", h(1)),
            ("e.pyc", h(1)),
        ]
        .into_iter()
        .map(|(p, h)| (p.to_string(), h))
        .collect();
        agree_across_hard_links(&merged, &mut headers);
        let kept: Vec<&str> = headers.keys().map(String::as_str).collect();
        // c.pyc shares its content with d.pyc, which keeps its header: neither changes.
        assert_eq!(kept, ["a.pyc", "b.pyc", "e.pyc"]);
        let mut differing: BTreeMap<String, [u8; 16]> =
            [("a.pyc".to_string(), h(1)), ("b.pyc".to_string(), h(2))].into();
        agree_across_hard_links(&merged, &mut differing);
        assert!(differing.is_empty(), "two headers for one content: none");
    }

    #[test]
    fn stale_hash_based_or_unchanged_headers_are_left_alone() {
        let src = source(1_700_000_000, 120);
        let size_differs = head(PY311, 0, 1_700_000_000, 121);
        assert_eq!(rewritten(&size_differs, &src, 1), None);
        let mtime_differs = head(PY311, 0, 1_699_999_999, 120);
        assert_eq!(rewritten(&mtime_differs, &src, 1), None);
        let hashed = head(PY311, 3, 1_700_000_000, 120);
        assert_eq!(rewritten(&hashed, &src, 1), None);
        let already = head(PY311, 0, 1_700_000_000, 120);
        assert_eq!(rewritten(&already, &src, 1_700_000_000), None);
    }
}
