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

use std::borrow::Cow;
use std::collections::{btree_map, BTreeMap, HashMap};

use serde::Serialize;

use crate::layer::walk::{Entry, EntryKind};

const WHITEOUT_PREFIX: &str = ".wh.";
const DOUBLE_WHITEOUT_PREFIX: &str = ".wh..wh.";

#[derive(Clone, Copy, Default)]
struct Info {
    size: u64,
    is_dir: bool,
}

/// A name in a tree: borrowed from an entry's path, or made for a whiteout marker.
type Name<'a> = Cow<'a, str>;

/// The root of every [`Tree`].
const ROOT: usize = 0;

#[derive(Clone, Default)]
struct Node<'a> {
    info: Info,
    children: BTreeMap<Name<'a>, usize>,
}

/// dive's file tree as an arena: node [`ROOT`] is the root, a removed subtree stays unreachable.
#[derive(Clone)]
struct Tree<'a> {
    nodes: Vec<Node<'a>>,
}

impl<'a> Tree<'a> {
    fn new() -> Tree<'a> {
        Tree {
            nodes: vec![Node::default()],
        }
    }

    fn child(&self, node: usize, name: &str) -> Option<usize> {
        self.nodes[node].children.get(name).copied()
    }

    /// The child `name` of `node`, created (an implicit directory) when missing; `None` where
    /// dive's `AddPath` gives up: a missing child named `.wh..wh.*`.
    fn child_or_new(&mut self, node: usize, name: &Name<'a>) -> Option<usize> {
        if let Some(child) = self.child(node, name) {
            return Some(child);
        }
        if name.starts_with(DOUBLE_WHITEOUT_PREFIX) {
            return None;
        }
        let child = self.nodes.len();
        self.nodes.push(Node::default());
        self.nodes[node].children.insert(name.clone(), child);
        Some(child)
    }

    fn add(&mut self, path: &[Name<'a>], info: Info) {
        let mut node = ROOT;
        for name in path {
            match self.child_or_new(node, name) {
                Some(child) => node = child,
                None => return,
            }
        }
        self.nodes[node].info = info;
    }

    /// The sum of the sizes in the subtree of `node`, itself included.
    fn total_size(&self, node: usize) -> u64 {
        let (mut sum, mut todo) = (0, vec![node]);
        while let Some(n) = todo.pop() {
            sum += self.nodes[n].info.size;
            todo.extend(self.nodes[n].children.values());
        }
        sum
    }

    /// Stacks `upper` onto `self` the way dive's `FileTree.Stack` does: every node of `upper`,
    /// child first, in name order; whiteouts remove, everything else (implicit dirs too) is added.
    fn stack(&mut self, upper: &Tree<'a>) {
        let mut frames = vec![Frame {
            node: ROOT,
            children: upper.nodes[ROOT].children.iter(),
            name: None,
            lower: Some(ROOT),
        }];
        while let Some(top) = frames.last_mut() {
            if let Some((name, &child)) = top.children.next() {
                let lower = top.lower.and_then(|l| self.child(l, name));
                frames.push(Frame {
                    node: child,
                    children: upper.nodes[child].children.iter(),
                    name: Some(name),
                    lower,
                });
                continue;
            }
            let Some(Frame {
                node,
                name: Some(name),
                ..
            }) = frames.pop()
            else {
                continue;
            };
            match name.strip_prefix(WHITEOUT_PREFIX) {
                Some(target) => {
                    if let Some(parent) = frames.last().and_then(|f| f.lower) {
                        self.nodes[parent].children.remove(target);
                    }
                }
                None => {
                    let added = self
                        .made(&mut frames)
                        .and_then(|parent| self.child_or_new(parent, name));
                    if let Some(added) = added {
                        self.nodes[added].info = upper.nodes[node].info;
                    }
                }
            }
        }
    }

    /// The node of `self` at the path of the last of `frames`, made with the ancestors it lacks
    /// (as `add` makes them), each frame told its node.
    fn made(&mut self, frames: &mut [Frame<'_, 'a>]) -> Option<usize> {
        let known = frames.iter().rposition(|f| f.lower.is_some())?;
        let mut node = frames[known].lower?;
        for frame in &mut frames[known + 1..] {
            node = self.child_or_new(node, frame.name?)?;
            frame.lower = Some(node);
        }
        Some(node)
    }
}

/// A node of an upper tree being stacked: its children still to visit, its name, and the node of
/// the lower tree at the same path while that is known to exist.
struct Frame<'t, 'a> {
    node: usize,
    children: btree_map::Iter<'t, Name<'a>, usize>,
    name: Option<&'t Name<'a>>,
    lower: Option<usize>,
}

/// The name dive's tree gives an entry (whiteout markers keep their `.wh.` names), split into
/// components.
fn tree_path(entry: &Entry) -> Vec<Name<'_>> {
    let split = || entry.path.split('/').map(Cow::Borrowed);
    match entry.kind {
        EntryKind::Whiteout => {
            let mut parts: Vec<Name<'_>> = split().collect();
            if let Some(last) = parts.last_mut() {
                *last = Cow::Owned(format!("{WHITEOUT_PREFIX}{last}"));
            }
            parts
        }
        EntryKind::Opaque if entry.path.is_empty() => vec![Cow::Borrowed(".wh..wh..opq")],
        EntryKind::Opaque => split().chain([Cow::Borrowed(".wh..wh..opq")]).collect(),
        _ if entry.path.is_empty() => Vec::new(),
        _ => split().collect(),
    }
}

fn layer_tree(entries: &[Entry]) -> Tree<'_> {
    let mut root = Tree::new();
    for entry in entries {
        let parts = tree_path(entry);
        if parts.is_empty() {
            continue;
        }
        root.add(
            &parts,
            Info {
                size: entry.size,
                is_dir: entry.kind == EntryKind::Dir,
            },
        );
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

#[derive(Default)]
struct PathStats {
    cumulative: u64,
    min: Option<u64>,
    count: usize,
}

/// Every path visited, over all layers, as a trie of names (one id per path, 0 the root), with
/// its figures: a path's text is made only for the few that are reported.
struct Paths<'t> {
    ids: HashMap<(usize, &'t str), usize>,
    parents: Vec<(usize, &'t str)>,
    stats: Vec<PathStats>,
}

impl<'t> Paths<'t> {
    fn new() -> Paths<'t> {
        Paths {
            ids: HashMap::new(),
            parents: vec![(0, "")],
            stats: vec![PathStats::default()],
        }
    }

    fn id(&mut self, parent: usize, name: &'t str) -> usize {
        let next = self.parents.len();
        let id = *self.ids.entry((parent, name)).or_insert(next);
        if id == next {
            self.parents.push((parent, name));
            self.stats.push(PathStats::default());
        }
        id
    }

    fn count(&mut self, parent: usize, name: &'t str, size: u64) {
        let id = self.id(parent, name);
        let s = &mut self.stats[id];
        s.cumulative += size;
        s.min = Some(s.min.map_or(size, |m| m.min(size)));
        s.count += 1;
    }

    /// The rooted path of `id` (`/etc/nginx/nginx.conf`).
    fn path(&self, mut id: usize) -> String {
        let mut names = Vec::new();
        while id != 0 {
            let (parent, name) = self.parents[id];
            names.push(name);
            id = parent;
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
    let mut paths = Paths::new();
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
        sum_min += s.min.unwrap_or(0);
        sum_cum += s.cumulative;
        if s.count >= 2 {
            wasted += s.cumulative;
            inefficient.push(InefficientPath {
                path: paths.path(id),
                count: s.count,
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
fn visit_leaves<'t>(tree: &'t Tree, stacked: &Tree, paths: &mut Paths<'t>) {
    // Per directory being visited: its children still to visit, the node at its path in
    // `stacked` (when there is one) and its path's id.
    let mut frames = vec![(tree.nodes[ROOT].children.iter(), Some(ROOT), 0)];
    while let Some((children, below, at)) = frames.last_mut() {
        let Some((name, &child)) = children.next() else {
            frames.pop();
            continue;
        };
        let (below, at) = (*below, *at);
        let node = &tree.nodes[child];
        if !node.children.is_empty() {
            let id = paths.id(at, name);
            frames.push((
                node.children.iter(),
                below.and_then(|b| stacked.child(b, name)),
                id,
            ));
            continue;
        }
        match name.strip_prefix(WHITEOUT_PREFIX) {
            Some(target) => {
                let Some(deleted) = below.and_then(|b| stacked.child(b, target)) else {
                    return;
                };
                let size = if stacked.nodes[deleted].info.is_dir {
                    stacked.total_size(deleted)
                } else {
                    0
                };
                paths.count(at, target, size);
            }
            None => paths.count(at, name, node.info.size),
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
