//! dive-compatible efficiency figures, computed with dive's exact algorithm (wagoodman/dive
//! `filetree/efficiency.go`), quirks included, so teams moving from dive see the same numbers:
//!
//! - each layer is a tree of its entries plus implicit parent directories (which carry no size and
//!   are not directories for this purpose); `.wh..wh.*` markers are never added;
//! - only leaves of each layer's tree are visited, depth first, children in byte order;
//! - a whiteout leaf weighs the size of the directory it deletes in the layers below (stacked as
//!   dive stacks them, where implicit directories overwrite real ones) or 0 for a file; a whiteout
//!   whose target is missing stops the visit of the rest of that layer;
//! - per path, the sum and the minimum of those weights; efficiency = Σmin / Σsum;
//!   wasted bytes = Σsum over paths seen at least twice (every copy, the surviving one included);
//!   user wasted percent = wasted / bytes of all layers but the first (NaN or ∞ when that is 0).
//!
//! strata's own exact figure of dead bytes lives in [`crate::analysis::dead`].

//!
//! The trees are arenas walked with explicit stacks, never by recursion, so a path 100 000
//! levels deep costs time and memory in proportion to its length and never the thread's stack.

mod names;
mod tree;

use serde::Serialize;

use crate::layer::walk::{Entry, EntryKind};
use names::{ChildIndex, Name};
use tree::{Tree, ROOT};

/// The name dive's tree gives an entry (whiteout markers keep their `.wh.` names), split into
/// components.
fn tree_path(entry: &Entry) -> Vec<Name<'_>> {
    let split = || entry.path.split('/').map(Name::of);
    match entry.kind {
        EntryKind::Whiteout => {
            let mut parts: Vec<Name<'_>> = split().collect();
            if let Some(last) = parts.last_mut() {
                *last = Name::whiteout_of(last.text);
            }
            parts
        }
        EntryKind::Opaque if entry.path.is_empty() => vec![Name::of(".wh..wh..opq")],
        EntryKind::Opaque => split().chain([Name::of(".wh..wh..opq")]).collect(),
        _ if entry.path.is_empty() => Vec::new(),
        _ => split().collect(),
    }
}

fn layer_tree(entries: &[Entry]) -> Tree<'_> {
    let mut root = Tree::with_capacity(entries.len());
    for entry in entries {
        let parts = tree_path(entry);
        if parts.is_empty() {
            continue;
        }
        root.add(&parts, entry.size, entry.kind == EntryKind::Dir);
    }
    root
}

/// A path dive counts as inefficient: seen in two or more layers.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InefficientPath {
    /// The path, rooted (`/root/saved.txt`).
    pub path: String,
    /// How many layers hold it.
    pub count: usize,
    /// dive's "wasted space" for it: the sum over every copy.
    pub bytes: u64,
}

/// The figures dive reports (names as in dive's CI output and JSON export).
#[derive(Debug, Clone, Serialize)]
pub struct DiveFigures {
    /// Σmin / Σsum over every visited path; 1.0 for an empty image.
    pub efficiency: f64,
    /// Sum of every copy of every path seen in two or more layers.
    pub wasted_bytes: u64,
    /// wasted_bytes / user_size_bytes; NaN (JSON `null`) for 0/0 and ∞ (`null`) for x/0.
    pub user_wasted_percent: f64,
    /// Σ of header sizes over all layers.
    pub size_bytes: u64,
    /// Σ of header sizes over all layers but the first.
    pub user_size_bytes: u64,
    /// Header-size sum per layer (dive's layer "size").
    pub layer_sizes: Vec<u64>,
    /// Paths seen in two or more layers, most bytes first (ties by path).
    pub inefficient_paths: Vec<InefficientPath>,
}

/// A path visited, over all layers: its place in the trie and its figures.
struct PathStats<'t> {
    text: &'t str,
    parent: u32,
    whiteout: bool,
    count: u32,
    cumulative: u64,
    /// The smallest weight seen (meaningless while `count` is 0).
    min: u64,
}

/// Every path visited, over all layers, as a trie of names (one id per path, 0 the root), with
/// its figures: a path's text is made only for the few that are reported.
struct Paths<'t> {
    index: ChildIndex,
    stats: Vec<PathStats<'t>>,
}

impl<'t> Paths<'t> {
    fn with_capacity(paths: usize) -> Paths<'t> {
        let mut stats = Vec::with_capacity(paths + 1);
        stats.push(PathStats {
            text: "",
            parent: u32::MAX,
            whiteout: false,
            count: 0,
            cumulative: 0,
            min: 0,
        });
        Paths {
            index: ChildIndex::with_capacity(paths),
            stats,
        }
    }

    fn key_of<'s>(stats: &'s [PathStats<'t>]) -> impl Fn(u32) -> (u32, Name<'t>) + 's {
        |id| {
            let s = &stats[id as usize];
            (
                s.parent,
                Name {
                    whiteout: s.whiteout,
                    text: s.text,
                },
            )
        }
    }

    fn id(&mut self, parent: u32, name: Name<'t>) -> u32 {
        if let Some(id) = self.index.get(parent, name, Self::key_of(&self.stats)) {
            return id;
        }
        let id = u32::try_from(self.stats.len()).unwrap_or(u32::MAX);
        self.stats.push(PathStats {
            text: name.text,
            parent,
            whiteout: name.whiteout,
            count: 0,
            cumulative: 0,
            min: 0,
        });
        self.index
            .insert(parent, name, id, Self::key_of(&self.stats));
        id
    }

    fn count(&mut self, parent: u32, name: Name<'t>, size: u64) {
        let id = self.id(parent, name);
        let s = &mut self.stats[id as usize];
        s.cumulative += size;
        s.min = if s.count == 0 { size } else { s.min.min(size) };
        s.count = s.count.saturating_add(1);
    }

    /// The rooted path of `id` (`/etc/nginx/nginx.conf`).
    fn path(&self, mut id: u32) -> String {
        let mut names = Vec::new();
        while id != 0 {
            let s = &self.stats[id as usize];
            names.push(
                Name {
                    whiteout: s.whiteout,
                    text: s.text,
                }
                .to_string(),
            );
            id = s.parent;
        }
        names.reverse();
        format!("/{}", names.join("/"))
    }
}

/// Computes dive's figures from the entries of each layer, bottom first.
pub fn dive_figures(layers: &[&[Entry]]) -> DiveFigures {
    let trees: Vec<Tree> = layers.iter().map(|e| layer_tree(e)).collect();
    let layer_sizes: Vec<u64> = layers
        .iter()
        .map(|entries| entries.iter().map(|e| e.size).sum())
        .collect();
    let mut paths = Paths::with_capacity(layers.iter().map(|e| e.len()).sum());
    // The first layer is visited against itself; the stack is made from the second on.
    let mut stacked: Option<Tree> = None;
    for (index, tree) in trees.iter().enumerate() {
        if index > 0 {
            stacked
                .get_or_insert_with(|| trees[0].clone())
                .stack(&trees[index - 1]);
        }
        visit_leaves(tree, stacked.as_ref().unwrap_or(tree), &mut paths);
    }
    let (mut sum_min, mut sum_cum, mut wasted) = (0u64, 0u64, 0u64);
    let mut inefficient = Vec::new();
    for (id, s) in paths.stats.iter().enumerate() {
        if s.count > 0 {
            sum_min += s.min;
        }
        sum_cum += s.cumulative;
        if s.count >= 2 {
            wasted += s.cumulative;
            inefficient.push(InefficientPath {
                path: paths.path(id as u32),
                count: s.count as usize,
                bytes: s.cumulative,
            });
        }
    }
    inefficient.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    let size_bytes: u64 = layer_sizes.iter().sum();
    let user_size_bytes: u64 = layer_sizes.iter().skip(1).sum();
    DiveFigures {
        efficiency: if sum_cum == 0 {
            1.0
        } else {
            sum_min as f64 / sum_cum as f64
        },
        wasted_bytes: wasted,
        user_wasted_percent: wasted as f64 / user_size_bytes as f64,
        size_bytes,
        user_size_bytes,
        layer_sizes,
        inefficient_paths: inefficient,
    }
}

/// Counts the leaves of `tree`, depth first in name order, into `paths`; a whiteout leaf weighs
/// the directory it deletes in `stacked`, and one whose target is missing there abandons the rest
/// of the layer, as in dive.
fn visit_leaves<'t>(tree: &Tree<'t>, stacked: &Tree, paths: &mut Paths<'t>) {
    // Per directory being visited: its children still to visit, the node at its path in
    // `stacked` (when there is one) and its path's id.
    let mut frames = vec![(tree.children(ROOT), Some(ROOT), 0)];
    while let Some((children, below, at)) = frames.last_mut() {
        let Some(child) = children.next() else {
            frames.pop();
            continue;
        };
        let (below, at) = (*below, *at);
        let name = tree.name(child);
        if tree.has_children(child) {
            let id = paths.id(at, name);
            frames.push((
                tree.children(child),
                below.and_then(|b| stacked.child(b, name)),
                id,
            ));
            continue;
        }
        match name.target() {
            Some(target) => {
                let Some(deleted) = below.and_then(|b| stacked.child(b, target)) else {
                    return;
                };
                let size = if stacked.is_dir(deleted) {
                    stacked.total_size(deleted)
                } else {
                    0
                };
                paths.count(at, target, size);
            }
            None => paths.count(at, name, tree.size(child)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, size: u64) -> Entry {
        Entry::test_file(path, size)
    }

    fn whiteout(path: &str) -> Entry {
        Entry {
            path: path.into(),
            kind: EntryKind::Whiteout,
            size: 0,
            mode: 0,
            link: None,
            content: None,
        }
    }

    #[test]
    fn dive_efficiency_test_case() {
        // dive's filetree/efficiency_test.go: nginx.conf 2000 then 5000, public 3000, athing 10000,
        // then a whiteout of the implicitly created /etc/nginx → score 0.75, one match of 7000.
        let l0 = vec![
            file("etc/nginx/nginx.conf", 2000),
            file("etc/nginx/public", 3000),
        ];
        let l1 = vec![
            file("etc/nginx/nginx.conf", 5000),
            file("etc/athing", 10000),
        ];
        let l2 = vec![whiteout("etc/nginx")];
        let f = dive_figures(&[&l0, &l1, &l2]);
        assert_eq!(f.efficiency, 0.75);
        assert_eq!(
            f.inefficient_paths,
            vec![InefficientPath {
                path: "/etc/nginx/nginx.conf".into(),
                count: 2,
                bytes: 7000
            }]
        );
    }

    #[test]
    fn empty_image_scores_one_and_single_layer_percent_is_nan() {
        let f = dive_figures(&[&[]]);
        assert_eq!(f.efficiency, 1.0);
        assert!(f.user_wasted_percent.is_nan());
    }

    #[test]
    fn a_whiteout_of_a_missing_path_stops_the_layer() {
        let l0 = vec![file("a", 1)];
        // "b" sorts after ".wh.missing", so it is never visited.
        let l1 = vec![whiteout("missing"), file("b", 5)];
        let f = dive_figures(&[&l0, &l1]);
        assert_eq!(f.efficiency, 1.0);
        assert_eq!(f.size_bytes, 6);
        assert_eq!(f.wasted_bytes, 0);
    }
}
