//! A base image's final filesystem as a build needs it: the layers stacked the way container
//! runtimes extract them (whiteouts act on the layers below, entries land with their parent
//! resolved through the symlinks already there, `/lib` → `usr/lib` on merged-usr Debian), keeping
//! only the entries a question needs. Builds ask the base questions a push never needs ("which
//! libraries does it have?", "which python?"); this is the one place they read base layers, and
//! only headers.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::layer::walk::{clean_path, walk, Contents, Entry, EntryKind, Inspector};
use crate::source::OpenedImage;

/// Which tar entry provides a file of the final filesystem: its layer and its index in that
/// layer's entries (a hard link is provided by the entry it links to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Origin {
    /// The layer, bottom = 0.
    pub layer: usize,
    /// The index in the layer's entries.
    pub entry: usize,
}

/// What a kept path of the final filesystem is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    /// A regular file (or a hard link to one), and the entry that provides it.
    File(Origin),
    /// A symbolic link and its target, as written.
    Symlink(String),
}

/// An [`Inspector`] of a base scan ([`BaseFs::scan_inspecting`]), told which layer the files it
/// is handed come from.
pub trait LayerInspector: Inspector {
    /// Layer `index` (bottom = 0) starts; the entry indexes that follow are that layer's.
    fn layer(&mut self, index: usize);
}

/// A base image's final filesystem, reduced to the entries a question needs (every symlink,
/// and the files the caller keeps). Directories are implied.
#[derive(Debug, Default, Clone)]
pub struct BaseFs {
    nodes: BTreeMap<String, Node>,
}

/// Linux gives up after 40 symbolic links in one lookup (ELOOP); so does the check.
const MAX_LINKS: usize = 40;

/// Where `path` leads once every symlink on the way is followed (`..` stops at the root,
/// absolute targets start again from it), `link` giving the target of the path resolved so far
/// when it is a symlink; `None` on a symlink loop. The one walk of links for every filesystem
/// `rootfs` reads.
pub(crate) fn follow_links(path: &str, link: impl Fn(&str) -> Option<String>) -> Option<String> {
    let mut pending: Vec<String> = path.rsplit('/').map(str::to_string).collect();
    // The path resolved so far, and where each of its components starts: a step in or out is
    // one append or cut, so a path of any depth resolves in time linear in its length.
    let mut resolved = String::new();
    let mut starts: Vec<usize> = Vec::new();
    let mut links = 0;
    while let Some(part) = pending.pop() {
        match part.as_str() {
            "" | "." => continue,
            ".." => {
                if let Some(start) = starts.pop() {
                    resolved.truncate(start);
                }
                continue;
            }
            _ => {}
        }
        starts.push(resolved.len());
        if !resolved.is_empty() {
            resolved.push('/');
        }
        resolved.push_str(&part);
        if let Some(target) = link(&resolved) {
            links += 1;
            if links > MAX_LINKS {
                return None;
            }
            if let Some(start) = starts.pop() {
                resolved.truncate(start);
            }
            if target.starts_with('/') {
                resolved.clear();
                starts.clear();
            }
            pending.extend(target.rsplit('/').map(str::to_string));
        }
    }
    Some(resolved)
}

impl BaseFs {
    /// Streams every layer of `base` (headers only, file contents are skipped) and stacks them,
    /// keeping the files `keep` accepts (symlinks, directories and whiteouts are always kept: they
    /// redirect or remove paths). For a registry base this downloads its layers, so builds only
    /// scan when a question needs it. Each layer is verified (digest, size, diff_id) before it is
    /// stacked: a base that does not match its manifest is an error, not a filesystem.
    pub fn scan(base: &OpenedImage, keep: impl Fn(&Entry) -> bool) -> Result<BaseFs> {
        Self::scan_inspecting(base, keep, None)
    }

    /// [`BaseFs::scan`], with `inspector` (when given) reading every regular file's content in
    /// the same pass: a build that needs both the filesystem and a file's bytes (the C library's
    /// version) reads the base once.
    pub fn scan_inspecting(
        base: &OpenedImage,
        keep: impl Fn(&Entry) -> bool,
        mut inspector: Option<&mut dyn LayerInspector>,
    ) -> Result<BaseFs> {
        let mut fs = BaseFs::default();
        let contents = match inspector {
            Some(_) => Contents::Inspect,
            None => Contents::Skip,
        };
        for index in 0..base.image.layers.len() {
            let context = |e: Error| e.context(format!("base layer {}", index + 1));
            let tar = base.open_uncompressed(index).map_err(context)?;
            let mut kept = Vec::new();
            let mut count = 0;
            let mut inspectors: Vec<&mut dyn Inspector> = Vec::new();
            if let Some(i) = inspector.as_deref_mut() {
                i.layer(index);
                inspectors.push(i);
            }
            walk(tar, contents, &mut inspectors, |e| {
                if Self::keeps(&e, &keep) {
                    kept.push((count, e))
                }
                count += 1;
            })
            .map_err(context)?
            .rest
            .finish()
            .map_err(context)?;
            let kept: Vec<(usize, &Entry)> = kept.iter().map(|(i, e)| (*i, e)).collect();
            fs.apply_layer(index, &kept);
        }
        Ok(fs)
    }

    /// Whether stacking needs entry `e` when the caller keeps the files `keep` accepts: symlinks,
    /// directories and whiteouts always (they redirect or remove paths), devices never.
    pub(crate) fn keeps(e: &Entry, keep: impl Fn(&Entry) -> bool) -> bool {
        match e.kind {
            EntryKind::File | EntryKind::Hardlink => keep(e),
            EntryKind::Other => false,
            _ => true,
        }
    }

    /// Puts layer `layer` on top, as container runtimes extract it: its whiteouts act on the
    /// layers below, then its entries (each with its index in the layer) land with their parent
    /// directory resolved through the symlinks already there, each replacing whatever
    /// non-directory (and anything below it) held its path.
    pub(crate) fn apply_layer(&mut self, layer: usize, entries: &[(usize, &Entry)]) {
        for (_, e) in entries {
            match e.kind {
                EntryKind::Whiteout => {
                    let path = self.resolve_parent(&e.path);
                    self.remove(&path);
                }
                EntryKind::Opaque => {
                    let dir = self.resolve(&e.path).unwrap_or_else(|| e.path.to_string());
                    self.clear_below(&dir);
                }
                _ => {}
            }
        }
        for &(entry, e) in entries.iter().filter(|(_, e)| !e.path.is_empty()) {
            let own = Origin { layer, entry };
            let node = match e.kind {
                EntryKind::File => Node::File(own),
                EntryKind::Hardlink => {
                    let target = e.link.as_deref().map(clean_path).unwrap_or_default();
                    Node::File(self.file(&target).unwrap_or(own))
                }
                EntryKind::Symlink => Node::Symlink(e.link.as_deref().unwrap_or("").to_string()),
                EntryKind::Dir => {
                    let path = self.resolve_parent(&e.path);
                    self.nodes.remove(&path);
                    continue;
                }
                _ => continue,
            };
            let path = self.resolve_parent(&e.path);
            self.remove(&path);
            self.nodes.insert(path, node);
        }
    }

    fn remove(&mut self, path: &str) {
        self.nodes.remove(path);
        self.clear_below(path);
    }

    fn clear_below(&mut self, dir: &str) {
        if dir.is_empty() {
            self.nodes.clear();
            return;
        }
        let prefix = format!("{dir}/");
        let below: Vec<String> = self
            .nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for path in below {
            self.nodes.remove(&path);
        }
    }

    /// `path` with its directory resolved through the image's symlinks (the last component is
    /// kept as is, like `lstat`).
    fn resolve_parent(&self, path: &str) -> String {
        match path.rsplit_once('/') {
            Some((dir, name)) => match self.resolve(dir) {
                Some(dir) if !dir.is_empty() => format!("{dir}/{name}"),
                Some(_) => name.to_string(),
                None => path.to_string(),
            },
            None => path.to_string(),
        }
    }

    /// Where `path` leads once every symlink on the way is followed inside the image (`..` stops
    /// at the root, absolute targets start again from it); `None` on a symlink loop.
    pub fn resolve(&self, path: &str) -> Option<String> {
        follow_links(path, |p| match self.nodes.get(p) {
            Some(Node::Symlink(target)) => Some(target.clone()),
            _ => None,
        })
    }

    /// Whether `path` (absolute or not) reaches a file, following symlinks.
    pub fn has_file(&self, path: &str) -> bool {
        self.file(path).is_some()
    }

    /// The entry providing the file `path` (absolute or not) reaches, following symlinks.
    pub(crate) fn file(&self, path: &str) -> Option<Origin> {
        match self.nodes.get(&self.resolve(path)?) {
            Some(Node::File(origin)) => Some(*origin),
            _ => None,
        }
    }

    /// The kept names in directory `dir` (following symlinks to reach it).
    pub fn list(&self, dir: &str) -> Vec<String> {
        let Some(dir) = self.resolve(dir) else {
            return Vec::new();
        };
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut names: Vec<String> = self
            .nodes
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .filter_map(|(p, _)| p[prefix.len()..].split('/').next().map(str::to_string))
            .collect();
        names.dedup();
        names
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn entry(path: &str, kind: EntryKind, link: Option<&str>) -> Entry {
        Entry {
            path: path.into(),
            kind,
            size: 0,
            mode: 0o644,
            link: link.map(Into::into),
            content: None,
        }
    }

    pub(crate) fn file(path: &str) -> Entry {
        entry(path, EntryKind::File, None)
    }

    pub(crate) fn link(path: &str, target: &str) -> Entry {
        entry(path, EntryKind::Symlink, Some(target))
    }

    /// The layers stacked, bottom first.
    pub(crate) fn stacked(layers: &[&[Entry]]) -> BaseFs {
        let mut base = BaseFs::default();
        for (index, layer) in layers.iter().enumerate() {
            let entries: Vec<(usize, &Entry)> = layer.iter().enumerate().collect();
            base.apply_layer(index, &entries);
        }
        base
    }

    /// A Debian-like merged-usr base: `/lib` and `/lib64` link into `/usr`.
    pub(crate) fn debian() -> Vec<Entry> {
        vec![
            link("lib", "usr/lib"),
            link("lib64", "usr/lib64"),
            entry("usr/lib/x86_64-linux-gnu", EntryKind::Dir, None),
            file("usr/lib/x86_64-linux-gnu/libc.so.6"),
            file("usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
            link(
                "usr/lib64/ld-linux-x86-64.so.2",
                "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            ),
            file("usr/lib/x86_64-linux-gnu/libz.so.1.2.13"),
            link("usr/lib/x86_64-linux-gnu/libz.so.1", "libz.so.1.2.13"),
            link("usr/bin/python3", "python3.11"),
            file("usr/bin/python3.11"),
        ]
    }

    #[test]
    fn a_symlink_loop_finds_nothing() {
        let base = stacked(&[&[link("a", "b"), link("b", "a/x")]]);
        assert_eq!(base.resolve("a/libc.so.6"), None);
        assert!(!base.has_file("a/libc.so.6"));
    }

    #[test]
    fn whiteouts_through_a_symlinked_parent_remove_the_real_file() {
        let removed = [entry(
            "lib/x86_64-linux-gnu/libz.so.1.2.13",
            EntryKind::Whiteout,
            None,
        )];
        let base = stacked(&[&debian(), &removed]);
        assert!(!base.has_file("lib/x86_64-linux-gnu/libz.so.1"), "dangling");
        assert!(base.has_file("lib/x86_64-linux-gnu/libc.so.6"));
    }

    #[test]
    fn a_layers_whiteouts_spare_its_own_files_and_opaque_dirs_clear_lower_ones() {
        let upper = [
            file("usr/lib/x86_64-linux-gnu/libnew.so.1"),
            entry("usr/lib/x86_64-linux-gnu", EntryKind::Opaque, None),
        ];
        let base = stacked(&[&debian(), &upper]);
        assert!(base.has_file("usr/lib/x86_64-linux-gnu/libnew.so.1"));
        assert!(!base.has_file("usr/lib/x86_64-linux-gnu/libc.so.6"));
        assert!(!base.has_file("usr/lib64/ld-linux-x86-64.so.2"));
    }

    #[test]
    fn entries_under_a_symlinked_dir_land_in_its_target_and_a_dir_replaces_a_link() {
        let upper = [file("lib/x86_64-linux-gnu/libextra.so.2")];
        let base = stacked(&[&debian(), &upper]);
        assert!(base
            .nodes
            .contains_key("usr/lib/x86_64-linux-gnu/libextra.so.2"));
        let unmerged = [entry("lib", EntryKind::Dir, None)];
        let base = stacked(&[&debian(), &unmerged]);
        assert!(!base.has_file("lib/x86_64-linux-gnu/libc.so.6"));
        assert!(base.has_file("usr/lib/x86_64-linux-gnu/libc.so.6"));
    }

    #[test]
    fn lists_directories_through_links() {
        let base = stacked(&[&debian()]);
        assert_eq!(base.list("/bin/../usr/bin"), ["python3", "python3.11"]);
        assert_eq!(base.list("/lib/x86_64-linux-gnu").len(), 4);
        assert!(base.list("/nowhere").is_empty());
    }
}
