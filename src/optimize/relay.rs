//! Writing the planned groups as layers, through the reproducible writer's one compressor
//! ([`write_tar`]): entries sorted bytewise, each with its directories' own entries (as the
//! merged filesystem has them: mode, owner and all) when an upper layer had them, every header
//! field kept except the mtime, which is normalized unless asked otherwise. The lowest new layer
//! also carries the opaque markers (so they hide only the base), the app layer the whiteouts of
//! deleted base paths (nothing above it can need those paths). A timestamp-based `.pyc` whose
//! source's mtime is normalized is written with its header [`pyc`](crate::optimize::pyc)
//! rewritten.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use crate::error::{Error, Result};
use crate::layer::digest::{Algorithm, Digest, Hasher};
use crate::layer::writer::{write_tar, LayerCompression, LayerTar, WrittenLayer};
use crate::optimize::merged::{Kind, Merged, Node, SpoolReader};
use crate::optimize::plan::{Group, LayerRole};
use crate::optimize::pyc::Rewrites;
use crate::temp::{unique_in, TempPath};

/// A new layer written to a temp file.
pub struct Relaid {
    /// Its identity.
    pub written: WrittenLayer,
    /// The temp file holding its blob.
    pub file: TempPath,
}

/// What one layer's tar holds, in order.
enum Item<'a> {
    Node(&'a Node),
    /// A hard link to the earlier path.
    Link(&'a Node, String),
    Opaque,
    Whiteout,
}

/// The entries of group `index` of `groups`, sorted by the path they are written at.
fn items<'a>(merged: &'a Merged, groups: &[Group], index: usize) -> BTreeMap<String, Item<'a>> {
    let group = &groups[index];
    let mut items = BTreeMap::new();
    let mut first_of: BTreeMap<u64, String> = BTreeMap::new();
    let add_parents = |items: &mut BTreeMap<String, Item<'a>>, path: &str| {
        let mut parent = path;
        while let Some((p, _)) = parent.rsplit_once('/') {
            if let Some(node) = merged.nodes.get(p) {
                items.entry(p.to_string()).or_insert(Item::Node(node));
            }
            parent = p;
        }
    };
    for path in &group.paths {
        let node = &merged.nodes[path];
        add_parents(&mut items, path);
        let item = match node.stored.filter(|_| node.kind == Kind::File) {
            Some(s) => match first_of.get(&s.origin) {
                Some(target) => Item::Link(node, target.clone()),
                None => {
                    first_of.insert(s.origin, path.clone());
                    Item::Node(node)
                }
            },
            None => Item::Node(node),
        };
        items.insert(path.clone(), item);
    }
    if index == 0 {
        for dir in &merged.opaque {
            if let Some(node) = merged.nodes.get(dir) {
                items.insert(dir.clone(), Item::Node(node));
            }
            add_parents(&mut items, &format!("{dir}/x"));
            items.insert(marked(dir, ".wh..wh..opq"), Item::Opaque);
        }
    }
    if group.role == LayerRole::App {
        for path in &merged.deleted {
            add_parents(&mut items, path);
            let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
            items.insert(marked(dir, &format!(".wh.{name}")), Item::Whiteout);
        }
    }
    items
}

/// The content key of group `index` of `groups`: SHA-256 over a canonical listing (one JSON
/// array a line, in the order they are written) of the entries its layer holds — path, type,
/// mode, owner ids and names, size, content digest, link target, hard-link target, xattrs,
/// device, and the mtime only when mtimes are kept. Two groups with one key write the same
/// entries, so a layer written for one holds the other (whatever the normalized mtime).
pub fn content_key(
    merged: &Merged,
    groups: &[Group],
    index: usize,
    keep_mtimes: bool,
    rewrites: &Rewrites,
) -> Digest {
    let mut hasher = Hasher::new(Algorithm::Sha256);
    hasher.update(if keep_mtimes {
        b"strata optimize key 1, mtimes kept\n"
    } else {
        b"strata optimize key 1, mtimes normalized\n"
    });
    for (path, item) in &items(merged, groups, index) {
        let entry = match item {
            Item::Opaque => serde_json::json!([path, "opaque"]),
            Item::Whiteout => serde_json::json!([path, "whiteout"]),
            Item::Node(n) | Item::Link(n, _) => {
                let n = rewrites.expected(path, n);
                let xattrs: Vec<_> = n.xattrs.iter().map(|(k, v)| (k, hex::encode(v))).collect();
                let hard_link = match item {
                    Item::Link(_, target) => Some(target),
                    _ => None,
                };
                serde_json::json!([
                    path,
                    format!("{:?}", n.kind),
                    n.mode,
                    n.owner,
                    n.names,
                    n.size,
                    hex::encode(n.sha256),
                    n.link,
                    hard_link,
                    xattrs,
                    n.device,
                    keep_mtimes.then_some(n.mtime),
                ])
            }
        };
        hasher.update(entry.to_string().as_bytes());
        hasher.update(b"\n");
    }
    hasher.finish()
}

/// `dir/name`, or `name` at the root.
fn marked(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// The tar header of `node` (its size set by the caller), with `mtime`.
fn header(node: &Node, mtime: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(match node.kind {
        Kind::File => tar::EntryType::Regular,
        Kind::Dir => tar::EntryType::Directory,
        Kind::Symlink => tar::EntryType::Symlink,
        Kind::Special(b) => tar::EntryType::new(b),
    });
    h.set_mode(node.mode);
    h.set_uid(node.owner.0);
    h.set_gid(node.owner.1);
    // Names too long for the header are dropped rather than cut: the ids are what counts.
    let _ = h.set_username(&node.names.0);
    let _ = h.set_groupname(&node.names.1);
    h.set_mtime(mtime);
    if let Kind::Special(_) = node.kind {
        let _ = h.set_device_major(node.device.0);
        let _ = h.set_device_minor(node.device.1);
    }
    h.set_size(0);
    h
}

/// Writes group `index` of `groups` to a temp file in `dir`; `mtime` replaces every entry's
/// (`None` keeps them), the pycs of `rewrites` get their new headers.
pub fn write_group(
    merged: &Merged,
    groups: &[Group],
    index: usize,
    spool: &mut SpoolReader,
    mtime: Option<u64>,
    rewrites: &Rewrites,
    dir: &Path,
) -> Result<Relaid> {
    let path = unique_in(dir);
    let (temp, file) = TempPath::file(path.clone()).map_err(|e| Error::io(path.display(), e))?;
    let items = items(merged, groups, index);
    let written = write_tar(LayerCompression::Gzip, file, |tar| {
        for (path, item) in &items {
            append(tar, path, item, spool, mtime, rewrites)
                .map_err(|e| Error::invalid(format!("writing {path}: {e}")))?;
        }
        Ok(())
    })?;
    Ok(Relaid {
        written,
        file: temp,
    })
}

/// Appends one item at `path`.
fn append(
    tar: &mut LayerTar,
    path: &str,
    item: &Item,
    spool: &mut SpoolReader,
    mtime: Option<u64>,
    rewrites: &Rewrites,
) -> Result<()> {
    let io = |e: io::Error| Error::invalid(e.to_string());
    let node = match item {
        Item::Opaque | Item::Whiteout => {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Regular);
            h.set_mode(0o644);
            h.set_mtime(mtime.unwrap_or(0));
            h.set_size(0);
            return tar.append_data(&mut h, path, io::empty()).map_err(io);
        }
        Item::Node(node) | Item::Link(node, _) => node,
    };
    if !node.xattrs.is_empty() {
        tar.append_pax_extensions(node.xattrs.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
            .map_err(io)?;
    }
    let mut h = header(node, mtime.unwrap_or(node.mtime));
    match (item, node.kind) {
        (Item::Link(_, target), _) => {
            h.set_entry_type(tar::EntryType::Link);
            tar.append_link(&mut h, path, target).map_err(io)
        }
        (_, Kind::Dir) => tar
            .append_data(&mut h, format!("{path}/"), io::empty())
            .map_err(io),
        (_, Kind::Symlink) => tar
            .append_link(&mut h, path, node.link.as_deref().unwrap_or(""))
            .map_err(io),
        (_, Kind::File) => {
            let stored = node
                .stored
                .ok_or_else(|| Error::invalid("content was not spooled"))?;
            h.set_size(node.size);
            let content = rewrites.content(path, stored, node.size, spool)?;
            tar.append_data(&mut h, path, content).map_err(io)
        }
        (_, Kind::Special(_)) => tar.append_data(&mut h, path, io::empty()).map_err(io),
    }
}
