//! Dead bytes: bytes every pull downloads that no container can see, because a later layer
//! overwrote or deleted the file. Exact, per path: whiteouts, opaque directories (`.wh..wh..opq`),
//! deleted directories (every file below counts) and files replaced within the same layer are all
//! honoured, following the OCI layer rules (a layer's whiteouts apply to the layers below it).

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use serde::Serialize;

use crate::analysis::rules::{self, Rule};
use crate::layer::walk::{Entry, EntryKind};

/// Why a file's bytes are dead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadCause {
    /// A later entry at the same path (or a non-directory replacing a parent) hid it.
    Overwritten,
    /// A whiteout or an opaque directory removed it.
    Deleted,
}

impl DeadCause {
    /// The rule of its findings (`overwritten`, `deleted`).
    pub fn rule(self) -> &'static Rule {
        match self {
            DeadCause::Overwritten => &rules::OVERWRITTEN,
            DeadCause::Deleted => &rules::DELETED,
        }
    }
}

/// One file whose bytes ship but are invisible in the final filesystem.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeadFile {
    /// The rooted path (`/tmp/big.bin`).
    pub path: String,
    /// The layer that ships the bytes.
    pub layer: usize,
    /// The layer that hid them.
    pub hidden_by: usize,
    /// Bytes of content.
    pub bytes: u64,
    /// Overwritten or deleted.
    pub cause: DeadCause,
    /// Index of the entry in its layer's entries.
    #[serde(skip)]
    pub entry: usize,
}

/// The result of stacking the layers, its paths borrowed from their entries.
#[derive(Debug, Clone, Default)]
pub struct Stacked<'a> {
    /// Every dead file, most bytes first (ties by path, then layer).
    pub dead: Vec<DeadFile>,
    /// Bytes of regular files visible in the final filesystem.
    pub visible_bytes: u64,
    /// Regular files visible in the final filesystem.
    pub visible_files: u64,
    /// Every path of the final filesystem and the entry that provides it.
    pub visible: Visible<'a>,
}

/// Every path of the final filesystem, in path order, with the entry that provides it: 24 bytes
/// a path (a million-file image keeps one of these for the whole analysis).
#[derive(Debug, Clone, Default)]
pub struct Visible<'a> {
    paths: Vec<(&'a str, Place)>,
}

/// Where a visible path's entry is: its layer and its index in that layer's entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Place {
    layer: u32,
    entry: u32,
}

impl Place {
    fn get(self) -> (usize, usize) {
        (self.layer as usize, self.entry as usize)
    }
}

impl<'a> Visible<'a> {
    /// Each visible path's (layer, index in that layer's entries), in path order.
    pub fn places(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.paths.iter().map(|(_, place)| place.get())
    }

    /// The visible paths (`usr/bin/ls`, unrooted), in order.
    pub fn paths(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.paths.iter().map(|(path, _)| *path)
    }

    /// The (layer, index in that layer's entries) providing `path`, when it is visible.
    pub fn get(&self, path: &str) -> Option<(usize, usize)> {
        let at = self.paths.binary_search_by(|(p, _)| (*p).cmp(path)).ok()?;
        Some(self.paths[at].1.get())
    }
}

#[derive(Clone, Copy)]
struct Live {
    place: Place,
    size: u64,
    is_dir: bool,
    is_file: bool,
}

struct Stack<'a> {
    live: BTreeMap<&'a str, Live>,
    /// How many live non-directories have each [`path_hash`]: a path's ancestors are looked up
    /// only where one may be a non-directory, so adding a path costs time linear in its length,
    /// not in the square of its depth.
    non_dirs: HashMap<u32, u32>,
    dead: Vec<DeadFile>,
}

/// A hash of a path that extends byte by byte (FNV-1a), so the hashes of all of a path's
/// ancestors come out of one pass over it; [`hash_key`] keeps 32 bits of it (4 bytes per file).
fn path_hash(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(PATH_HASH_SEED, |h, &b| path_hash_step(h, b))
}

fn hash_key(hash: u64) -> u32 {
    (hash >> 32) as u32
}

const PATH_HASH_SEED: u64 = 0xcbf2_9ce4_8422_2325;

fn path_hash_step(hash: u64, byte: u8) -> u64 {
    (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
}

impl<'a> Stack<'a> {
    /// Takes `path` out of the live filesystem.
    fn take(&mut self, path: &str) -> Option<Live> {
        let entry = self.live.remove(path)?;
        if !entry.is_dir {
            let key = hash_key(path_hash(path.as_bytes()));
            if let Some(n) = self.non_dirs.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    self.non_dirs.remove(&key);
                }
            }
        }
        Some(entry)
    }

    fn bury(&mut self, path: &str, entry: Live, hidden_by: usize, cause: DeadCause) {
        if entry.is_file && entry.size > 0 {
            self.dead.push(DeadFile {
                path: format!("/{path}"),
                layer: entry.place.layer as usize,
                hidden_by,
                bytes: entry.size,
                cause,
                entry: entry.place.entry as usize,
            });
        }
    }

    /// Removes everything strictly below `dir`.
    fn clear_below(&mut self, dir: &str, hidden_by: usize, cause: DeadCause) {
        let below: Vec<&'a str> = if dir.is_empty() {
            self.live
                .keys()
                .filter(|k| !k.is_empty())
                .copied()
                .collect()
        } else {
            let prefix = format!("{dir}/");
            self.live
                .range::<str, _>((Bound::Included(prefix.as_str()), Bound::Unbounded))
                .take_while(|(k, _)| k.starts_with(&prefix))
                .map(|(k, _)| *k)
                .collect()
        };
        for path in below {
            if let Some(entry) = self.take(path) {
                self.bury(path, entry, hidden_by, cause);
            }
        }
    }

    fn remove(&mut self, path: &str, hidden_by: usize, cause: DeadCause) {
        if let Some(entry) = self.take(path) {
            self.bury(path, entry, hidden_by, cause);
            if entry.is_dir {
                self.clear_below(path, hidden_by, cause);
            }
        }
    }

    fn add(&mut self, path: &'a str, entry: Live) {
        // A non-directory anywhere above replaced by this path's parent directories dies.
        let mut hash = PATH_HASH_SEED;
        for (at, &byte) in path.as_bytes().iter().enumerate() {
            if byte == b'/' && self.non_dirs.contains_key(&hash_key(hash)) {
                let parent = &path[..at];
                if self.live.get(parent).is_some_and(|p| !p.is_dir) {
                    self.remove(parent, entry.place.layer as usize, DeadCause::Overwritten);
                }
            }
            hash = path_hash_step(hash, byte);
        }
        match self.live.get(path).copied() {
            Some(old) if old.is_dir && entry.is_dir => {}
            Some(_) => self.remove(path, entry.place.layer as usize, DeadCause::Overwritten),
            None => {}
        }
        if !entry.is_dir {
            *self.non_dirs.entry(hash_key(hash)).or_default() += 1;
        }
        self.live.insert(path, entry);
    }
}

/// Stacks the layers (bottom first) and accounts for every byte that ends up hidden.
pub fn stack_layers<'a>(layers: &[&'a [Entry]]) -> Stacked<'a> {
    let mut stack = Stack {
        live: BTreeMap::new(),
        non_dirs: HashMap::new(),
        dead: Vec::new(),
    };
    for (index, entries) in layers.iter().enumerate() {
        for e in entries.iter() {
            match e.kind {
                EntryKind::Whiteout => stack.remove(&e.path, index, DeadCause::Deleted),
                EntryKind::Opaque => stack.clear_below(&e.path, index, DeadCause::Deleted),
                _ => {}
            }
        }
        for (entry, e) in entries.iter().enumerate() {
            if matches!(e.kind, EntryKind::Whiteout | EntryKind::Opaque) || e.path.is_empty() {
                continue;
            }
            stack.add(
                &e.path,
                Live {
                    place: Place {
                        layer: index as u32,
                        entry: entry as u32,
                    },
                    size: e.size,
                    is_dir: e.kind == EntryKind::Dir,
                    is_file: e.kind == EntryKind::File,
                },
            );
        }
    }
    let mut dead = stack.dead;
    dead.sort_by(|a, b| {
        b.bytes
            .cmp(&a.bytes)
            .then_with(|| a.path.cmp(&b.path))
            .then_with(|| a.layer.cmp(&b.layer))
    });
    let files = stack.live.values().filter(|l| l.is_file);
    Stacked {
        visible_bytes: files.clone().map(|l| l.size).sum(),
        visible_files: files.count() as u64,
        dead,
        visible: Visible {
            paths: stack
                .live
                .into_iter()
                .map(|(path, l)| (path, l.place))
                .collect(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(path: &str, kind: EntryKind, size: u64) -> Entry {
        Entry {
            path: path.into(),
            kind,
            size,
            mode: 0o644,
            link: None,
            content: None,
        }
    }

    fn dead_of(layers: &[&[Entry]]) -> Vec<(String, u64, DeadCause)> {
        stack_layers(layers)
            .dead
            .into_iter()
            .map(|d| (d.path, d.bytes, d.cause))
            .collect()
    }

    #[test]
    fn overwritten_and_deleted_files_are_dead() {
        use EntryKind::*;
        let l0 = [e("a", File, 10), e("b", File, 20)];
        let l1 = [e("a", File, 11), e("b", Whiteout, 0)];
        assert_eq!(
            dead_of(&[&l0, &l1]),
            vec![
                ("/b".into(), 20, DeadCause::Deleted),
                ("/a".into(), 10, DeadCause::Overwritten)
            ]
        );
    }

    #[test]
    fn a_deleted_directory_counts_all_its_files() {
        use EntryKind::*;
        let l0 = [
            e("d", Dir, 0),
            e("d/x", File, 5),
            e("d/sub/y", File, 7),
            e("dd", File, 1),
        ];
        let l1 = [e("d", Whiteout, 0)];
        let s = stack_layers(&[&l0, &l1]);
        assert_eq!(s.dead.iter().map(|d| d.bytes).sum::<u64>(), 12);
        assert_eq!((s.visible_bytes, s.visible_files), (1, 1));
    }

    #[test]
    fn opaque_directories_hide_lower_children_but_not_their_own() {
        use EntryKind::*;
        let l0 = [
            e("d/a.txt", File, 3),
            e("d/b.txt", File, 4),
            e("e/x", File, 9),
        ];
        let l1 = [e("d", Opaque, 0), e("d/c.txt", File, 5)];
        let s = stack_layers(&[&l0, &l1]);
        assert_eq!(s.dead.iter().map(|d| d.bytes).sum::<u64>(), 7);
        assert_eq!(s.visible_bytes, 14);
    }

    #[test]
    fn a_file_replaced_by_a_directory_is_dead() {
        use EntryKind::*;
        let l0 = [e("x", File, 8)];
        let l1 = [e("x/inner", File, 2)];
        assert_eq!(
            dead_of(&[&l0, &l1]),
            vec![("/x".into(), 8, DeadCause::Overwritten)]
        );
    }

    #[test]
    fn the_visible_paths_are_in_order_and_found_by_path() {
        use EntryKind::*;
        let l0 = [e("b", File, 1), e("a", Dir, 0), e("a/x", File, 2)];
        let l1 = [e("b", Whiteout, 0), e("c", File, 3)];
        let s = stack_layers(&[&l0, &l1]);
        assert_eq!(s.visible.paths().collect::<Vec<_>>(), ["a", "a/x", "c"]);
        assert_eq!(
            s.visible.places().collect::<Vec<_>>(),
            [(0, 1), (0, 2), (1, 1)]
        );
        assert_eq!(s.visible.get("c"), Some((1, 1)));
        assert_eq!(s.visible.get("b"), None);
    }

    #[test]
    fn a_later_whiteout_in_the_same_layer_does_not_delete_that_layers_file() {
        use EntryKind::*;
        let l0 = [e("f", File, 4)];
        let l1 = [e("f", File, 6), e("f", Whiteout, 0)];
        let s = stack_layers(&[&l0, &l1]);
        assert_eq!(s.visible_bytes, 6);
        assert_eq!(s.dead.len(), 1);
    }
}
