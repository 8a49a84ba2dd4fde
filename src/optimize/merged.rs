//! The merged filesystem of the layers above an image's base, as a container runtime stacks
//! them: each layer's whiteouts and opaque markers act on the layers below it, then its entries
//! land, each replacing what held its path. What stays is what the base needs laid over it to
//! give the image's final filesystem: every node (with its full header: mode, owner, names,
//! mtime, xattrs, link target, device) and the paths of the base deleted or hidden. A file
//! written and later deleted or replaced leaves no node: its bytes are dead.
//!
//! Content is spooled (append-only) to one temp file while the layers stream, so a layer is
//! never held in memory nor extracted; the same reader without a spool hashes only, which is
//! how the written image is proven equal.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::layer::long_names::{Bounded, EntryCuts, PAX_LIMIT};
use crate::layer::names::NAME_LIMIT;
use crate::layer::verify::LayerStream;
use crate::layer::walk::{classify, clean_path, EntryKind};
use crate::temp::{unique_in, TempPath};

/// What a node of the merged filesystem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file (a hard link resolves to the file it links to).
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A device, FIFO or other entry without content, with its tar entry type.
    Special(u8),
}

/// Where a file's content sits in the spool, and which tar entry provided it (paths sharing
/// one `origin` were hard links to each other).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// Offset in the spool.
    pub offset: u64,
    /// The tar entry that provided the content (its number among all entries read).
    pub origin: u64,
}

/// One path of the merged filesystem, with everything its tar header said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// What it is.
    pub kind: Kind,
    /// Permission and special bits.
    pub mode: u32,
    /// Owner uid and gid.
    pub owner: (u64, u64),
    /// Owner user and group names as written.
    pub names: (String, String),
    /// Modification time (seconds).
    pub mtime: u64,
    /// Extended attributes (`SCHILY.xattr.*` PAX records), sorted by key.
    pub xattrs: Vec<(String, Vec<u8>)>,
    /// A symbolic link's target.
    pub link: Option<String>,
    /// Device major and minor numbers.
    pub device: (u32, u32),
    /// Bytes of content.
    pub size: u64,
    /// SHA-256 of the content.
    pub sha256: [u8; 32],
    /// The content in the spool, when one was kept.
    pub stored: Option<Stored>,
    /// The layer (from the bottom of the image) whose entry provided it.
    pub layer: usize,
}

/// The layers above a base, merged.
#[derive(Debug, Default)]
pub struct Merged {
    /// Every path the layers leave, by path (relative to the root, no trailing slash).
    pub nodes: BTreeMap<String, Node>,
    /// Paths deleted (whiteouts) that no layer recreated: they may be base paths.
    pub deleted: BTreeSet<String>,
    /// Directories whose lower (base) contents are hidden.
    pub opaque: BTreeSet<String>,
}

/// The temp file content is spooled to, readable by offset.
pub struct Spool {
    temp: TempPath,
    out: BufWriter<File>,
    written: u64,
}

impl Spool {
    /// A new spool in `dir`.
    pub fn create(dir: &std::path::Path) -> Result<Spool> {
        let path: PathBuf = unique_in(dir);
        let (temp, file) =
            TempPath::file(path.clone()).map_err(|e| Error::io(path.display(), e))?;
        Ok(Spool {
            temp,
            out: BufWriter::with_capacity(1 << 20, file),
            written: 0,
        })
    }

    /// Opens the spool for reading what was spooled so far.
    pub fn reader(&mut self) -> Result<SpoolReader> {
        let path = self.temp.path().to_path_buf();
        self.out.flush().map_err(|e| Error::io(path.display(), e))?;
        let file = File::open(&path).map_err(|e| Error::io(path.display(), e))?;
        Ok(SpoolReader { file, path })
    }
}

/// Reads spooled contents back.
pub struct SpoolReader {
    file: File,
    path: PathBuf,
}

impl SpoolReader {
    /// The directory the spool is in, for the other temp files of the same run.
    pub fn dir(&self) -> &std::path::Path {
        self.path.parent().unwrap_or(std::path::Path::new("."))
    }

    /// The `size` bytes of content stored at `stored`.
    pub fn open(&mut self, stored: Stored, size: u64) -> Result<impl Read + '_> {
        self.file
            .seek(SeekFrom::Start(stored.offset))
            .map_err(|e| Error::io(self.path.display(), e))?;
        Ok((&mut self.file).take(size))
    }
}

/// One entry of a layer, read but not yet stacked.
struct Read1 {
    path: String,
    kind: EntryKind,
    hard_link: Option<String>,
    node: Node,
}

impl Merged {
    /// Merges `layers` (bottom first, each numbered from `first`), spooling contents to `spool`
    /// when one is given. Each layer is verified to its end before it is stacked.
    pub fn read(
        layers: impl IntoIterator<Item = Result<LayerStream>>,
        first: usize,
        mut spool: Option<&mut Spool>,
    ) -> Result<Merged> {
        let mut merged = Merged::default();
        let mut origin = 0;
        for (n, stream) in layers.into_iter().enumerate() {
            let layer = first + n;
            let context = |e: Error| e.context(format!("layer {layer}"));
            let mut stream = stream?;
            let entries = read_layer(&mut stream, layer, &mut origin, spool.as_deref_mut())
                .map_err(context)?;
            stream.finish().map_err(context)?;
            merged.stack(entries).map_err(context)?;
        }
        if let Some(spool) = spool {
            spool
                .out
                .flush()
                .map_err(|e| Error::io(spool.temp.path().display(), e))?;
        }
        Ok(merged)
    }

    /// Puts one layer's entries on top.
    fn stack(&mut self, entries: Vec<Read1>) -> Result<()> {
        for e in entries.iter().filter(|e| e.kind == EntryKind::Whiteout) {
            self.remove_below(&e.path);
            self.nodes.remove(&e.path);
            self.opaque.remove(&e.path);
            self.deleted.insert(e.path.clone());
        }
        for e in entries.iter().filter(|e| e.kind == EntryKind::Opaque) {
            self.remove_below(&e.path);
            self.opaque.insert(e.path.clone());
        }
        for e in entries {
            if matches!(e.kind, EntryKind::Whiteout | EntryKind::Opaque) || e.path.is_empty() {
                continue;
            }
            let node = match &e.hard_link {
                Some(target) => {
                    let linked = self.nodes.get(target).filter(|n| n.kind == Kind::File);
                    let linked = linked.ok_or_else(|| {
                        Error::invalid(format!(
                            "hard link {} to {target}, which is not a file of the layers above the base",
                            e.path
                        ))
                    })?;
                    Node {
                        layer: e.node.layer,
                        ..linked.clone()
                    }
                }
                None => e.node,
            };
            let recreated = self.deleted.remove(&e.path);
            if node.kind == Kind::Dir {
                if recreated {
                    self.opaque.insert(e.path.clone());
                }
            } else {
                self.remove_below(&e.path);
                self.opaque.remove(&e.path);
            }
            self.nodes.insert(e.path, node);
        }
        Ok(())
    }

    /// Removes every node, deletion and opaque marker strictly below `dir`.
    fn remove_below(&mut self, dir: &str) {
        if dir.is_empty() {
            self.nodes.clear();
            self.deleted.clear();
            self.opaque.clear();
            return;
        }
        // Paths below `dir/` sort in one run from it: only that run is visited.
        let prefix = format!("{dir}/");
        let below = |keys: &mut dyn Iterator<Item = &String>| -> Vec<String> {
            keys.take_while(|k| k.starts_with(&prefix))
                .cloned()
                .collect()
        };
        for k in below(&mut self.nodes.range(prefix.clone()..).map(|(k, _)| k)) {
            self.nodes.remove(&k);
        }
        for k in below(&mut self.deleted.range(prefix.clone()..)) {
            self.deleted.remove(&k);
        }
        for k in below(&mut self.opaque.range(prefix.clone()..)) {
            self.opaque.remove(&k);
        }
    }
}

/// Reads every entry of one layer, spooling (or only hashing) file contents.
fn read_layer(
    stream: &mut LayerStream,
    layer: usize,
    origin: &mut u64,
    mut spool: Option<&mut Spool>,
) -> Result<Vec<Read1>> {
    let tar_err = |e: io::Error| Error::invalid(format!("reading tar: {e}"));
    // Names past the limit are refused here, before the tar crate could hold them whole.
    let (bounded, cuts) = Bounded::new(stream);
    let mut archive = tar::Archive::new(bounded);
    let mut out = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
    for entry in archive.entries().map_err(tar_err)? {
        let mut entry = entry.map_err(tar_err)?;
        let entry_type = entry.header().entry_type();
        if matches!(
            entry_type,
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader
        ) {
            continue;
        }
        *origin += 1;
        let too_long = |b: Option<&[u8]>| b.is_some_and(|b| b.len() > NAME_LIMIT);
        if cuts.borrow_mut().take(entry.raw_header_position()) != EntryCuts::default()
            || too_long(Some(&entry.path_bytes()))
            || too_long(entry.link_name_bytes().as_deref())
        {
            return Err(Error::invalid(format!(
                "a tar entry's name or link target is over {} KiB, or its PAX header over {} MiB",
                NAME_LIMIT >> 10,
                PAX_LIMIT >> 20
            )));
        }
        let name = std::str::from_utf8(&entry.path_bytes())
            .map_err(|_| Error::invalid("a tar entry's path is not UTF-8"))?
            .to_string();
        let (path, kind) = classify(clean_path(&name), entry_type);
        if kind == EntryKind::Other && is_marker(&path) {
            // Other `.wh..wh.*` markers (aufs' hard-link dirs) carry nothing for the filesystem.
            continue;
        }
        let link = match entry.link_name_bytes() {
            Some(l) => Some(
                std::str::from_utf8(&l)
                    .map_err(|_| Error::invalid(format!("{path}: link target is not UTF-8")))?
                    .to_string(),
            ),
            None => None,
        };
        let mut xattrs = Vec::new();
        if let Some(pax) = entry.pax_extensions().map_err(tar_err)? {
            for ext in pax {
                let ext = ext.map_err(tar_err)?;
                if let Ok(key) = ext.key() {
                    if key.starts_with("SCHILY.xattr.") {
                        xattrs.push((key.to_string(), ext.value_bytes().to_vec()));
                    }
                }
            }
        }
        xattrs.sort();
        let h = entry.header();
        let text = |b: Option<&[u8]>| b.map(|b| String::from_utf8_lossy(b).into_owned());
        let node_kind = match kind {
            EntryKind::File | EntryKind::Hardlink => Kind::File,
            EntryKind::Dir => Kind::Dir,
            EntryKind::Symlink => Kind::Symlink,
            _ => Kind::Special(entry_type.as_byte()),
        };
        let mut node = Node {
            kind: node_kind,
            mode: h.mode().unwrap_or(0),
            owner: (h.uid().unwrap_or(0), h.gid().unwrap_or(0)),
            names: (
                text(h.username_bytes()).unwrap_or_default(),
                text(h.groupname_bytes()).unwrap_or_default(),
            ),
            // Markers some writers leave with blank fields read as 0, as the walk reads them.
            mtime: h.mtime().unwrap_or(0),
            xattrs,
            link: (kind == EntryKind::Symlink).then(|| link.clone()).flatten(),
            device: (
                h.device_major().ok().flatten().unwrap_or(0),
                h.device_minor().ok().flatten().unwrap_or(0),
            ),
            size: 0,
            sha256: Sha256::digest([]).into(),
            stored: None,
            layer,
        };
        if kind == EntryKind::File {
            let mut hasher = Sha256::new();
            let offset = spool.as_ref().map_or(0, |s| s.written);
            loop {
                let n = entry.read(&mut buf).map_err(tar_err)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                node.size += n as u64;
                if let Some(s) = spool.as_deref_mut() {
                    s.out
                        .write_all(&buf[..n])
                        .map_err(|e| Error::io(s.temp.path().display(), e))?;
                    s.written += n as u64;
                }
            }
            node.sha256 = hasher.finalize().into();
            node.stored = spool.is_some().then_some(Stored {
                offset,
                origin: *origin,
            });
        }
        let hard_link = (kind == EntryKind::Hardlink)
            .then(|| link.as_deref().map(clean_path))
            .flatten();
        out.push(Read1 {
            path,
            kind,
            hard_link,
            node,
        });
    }
    Ok(out)
}

/// Whether `path` names one of aufs' `.wh..wh.*` markers.
fn is_marker(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .unwrap_or("")
        .starts_with(".wh..wh.")
}
