//! A bounded directory tree of one layer, for pictures such as the HTML treemap: the layer's
//! directories and files with the content bytes below each, expanded largest first until a node
//! budget is spent, so a layer of 20 000 files stays a few hundred nodes. Small siblings fold into
//! one `(N smaller)` node, so the bytes of every level still add up to its parent's. Directories
//! deeper than [`MAX_DEPTH`] are shown unexpanded, so a path 100 000 levels deep gives a tree
//! every renderer can walk; the tree is built without recursion.

use std::collections::{BinaryHeap, HashMap};

use crate::layer::walk::{Entry, EntryKind};

/// A directory, a file, or a group of folded siblings, with the bytes below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeNode {
    /// The last path component (`lib`); `/` for the layer's root; `(N smaller)` for a folded group.
    pub name: String,
    /// Bytes of regular-file content below it.
    pub bytes: u64,
    /// Regular files below it.
    pub files: u64,
    /// How many siblings a folded group stands for (0 for a real directory or file).
    pub folded: usize,
    /// Whether it is a directory (its children may still be left out when the budget ran out).
    pub dir: bool,
    /// What is inside, largest first; empty for files, folded groups and unexpanded directories.
    pub children: Vec<TreeNode>,
}

/// How many children a directory shows before the rest fold into one node.
const MAX_CHILDREN: usize = 20;

/// How many levels below the root are expanded: deeper directories show as closed boxes.
pub const MAX_DEPTH: usize = 64;

/// The least a layer's tree gets, however small the layer.
const MIN_NODES: usize = 40;

/// One path component while the full tree is being counted.
struct Raw<'a> {
    name: &'a str,
    depth: usize,
    bytes: u64,
    files: u64,
    children: HashMap<&'a str, usize>,
}

impl<'a> Raw<'a> {
    fn new(name: &'a str, depth: usize) -> Raw<'a> {
        Raw {
            name,
            depth,
            bytes: 0,
            files: 0,
            children: HashMap::new(),
        }
    }
}

/// The directory tree of a layer's regular files, with at most about `max_nodes` nodes: the
/// largest directories are expanded first, each showing its [`MAX_CHILDREN`] largest entries.
pub fn dir_tree(entries: &[Entry], max_nodes: usize) -> TreeNode {
    let mut arena = vec![Raw::new("/", 0)];
    for e in entries.iter().filter(|e| e.kind == EntryKind::File) {
        let mut at = 0;
        arena[0].bytes += e.size;
        arena[0].files += 1;
        for part in e.path.split('/').filter(|p| !p.is_empty()) {
            at = match arena[at].children.get(part) {
                Some(&child) => child,
                None => {
                    arena.push(Raw::new(part, arena[at].depth + 1));
                    let child = arena.len() - 1;
                    arena[at].children.insert(part, child);
                    child
                }
            };
            arena[at].bytes += e.size;
            arena[at].files += 1;
        }
    }
    // Expand the largest unexpanded directory while the budget lasts.
    let mut shown: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut queue = BinaryHeap::from([(arena[0].bytes, std::cmp::Reverse(0usize))]);
    let mut nodes = 1;
    while let Some((_, std::cmp::Reverse(at))) = queue.pop() {
        if nodes >= max_nodes {
            break;
        }
        let mut kids: Vec<usize> = arena[at].children.values().copied().collect();
        kids.sort_by(|&a, &b| {
            arena[b]
                .bytes
                .cmp(&arena[a].bytes)
                .then_with(|| arena[a].name.cmp(arena[b].name))
        });
        let keep = kids
            .iter()
            .take(MAX_CHILDREN)
            .take_while(|&&k| arena[k].bytes > 0)
            .count();
        kids.truncate(keep);
        nodes += kids.len() + 1;
        for &k in &kids {
            if !arena[k].children.is_empty() && arena[k].depth < MAX_DEPTH {
                queue.push((arena[k].bytes, std::cmp::Reverse(k)));
            }
        }
        shown.insert(at, kids);
    }
    build(&arena, &shown, 0)
}

/// The trees of all layers within about `total_nodes` nodes together, shared out by content bytes
/// (each layer gets at least a few levels' worth), so a page of many layers stays small.
pub fn layer_trees(layers: &[&[Entry]], total_nodes: usize) -> Vec<TreeNode> {
    let bytes = |entries: &[Entry]| -> u64 {
        entries
            .iter()
            .filter(|e| e.kind == EntryKind::File)
            .map(|e| e.size)
            .sum()
    };
    let total: u64 = layers.iter().map(|l| bytes(l)).sum::<u64>().max(1);
    layers
        .iter()
        .map(|l| {
            let share = (total_nodes as u128 * bytes(l) as u128 / total as u128) as usize;
            dir_tree(l, share.max(MIN_NODES))
        })
        .collect()
}

fn build(arena: &[Raw], shown: &HashMap<usize, Vec<usize>>, at: usize) -> TreeNode {
    let raw = &arena[at];
    let mut children: Vec<TreeNode> = Vec::new();
    if let Some(kids) = shown.get(&at) {
        children = kids.iter().map(|&k| build(arena, shown, k)).collect();
        let folded = raw.children.len() - kids.len();
        if folded > 0 {
            let (bytes, files) = children.iter().fold((raw.bytes, raw.files), |(b, f), c| {
                (b - c.bytes, f - c.files)
            });
            children.push(TreeNode {
                name: format!("({folded} smaller)"),
                bytes,
                files,
                folded,
                dir: false,
                children: Vec::new(),
            });
        }
    }
    TreeNode {
        name: raw.name.to_string(),
        bytes: raw.bytes,
        files: raw.files,
        folded: 0,
        dir: !raw.children.is_empty(),
        children,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(path: &str, size: u64) -> Entry {
        Entry::test_file(path, size)
    }

    fn count(n: &TreeNode) -> usize {
        1 + n.children.iter().map(count).sum::<usize>()
    }

    fn sums_hold(n: &TreeNode) {
        if !n.children.is_empty() {
            assert_eq!(n.children.iter().map(|c| c.bytes).sum::<u64>(), n.bytes);
            assert_eq!(n.children.iter().map(|c| c.files).sum::<u64>(), n.files);
            n.children.iter().for_each(sums_hold);
        }
    }

    #[test]
    fn nests_directories_largest_first() {
        let t = dir_tree(
            &[
                f("usr/lib/libc.so", 700),
                f("usr/bin/ls", 100),
                f("app/main.py", 50),
            ],
            100,
        );
        assert_eq!((t.name.as_str(), t.bytes, t.files), ("/", 850, 3));
        let names: Vec<_> = t.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["usr", "app"]);
        assert_eq!(t.children[0].children[0].name, "lib");
        assert!(t.children[0].children[0].dir);
        assert!(!t.children[0].children[0].children[0].dir);
        sums_hold(&t);
    }

    #[test]
    fn folds_small_siblings_and_stays_within_budget() {
        let paths: Vec<String> = (0..2000)
            .map(|i| format!("srv/d{}/f{i}", i % 300))
            .collect();
        let entries: Vec<Entry> = paths
            .iter()
            .enumerate()
            .map(|(i, p)| f(p, 1 + i as u64))
            .collect();
        let t = dir_tree(&entries, 200);
        assert!(count(&t) <= 200 + MAX_CHILDREN + 1, "{} nodes", count(&t));
        let srv = &t.children[0];
        assert_eq!(srv.children.len(), MAX_CHILDREN + 1);
        let folded = srv.children.last().unwrap();
        assert_eq!(folded.folded, 300 - MAX_CHILDREN);
        assert_eq!(folded.name, format!("({} smaller)", 300 - MAX_CHILDREN));
        assert_eq!(t.files, 2000);
        sums_hold(&t);
    }

    #[test]
    fn the_budget_is_shared_by_bytes() {
        let big: Vec<Entry> = (0..3000)
            .map(|i| f(&format!("a/d{}/e{}/f{i}", i % 20, (i / 20) % 20), 100))
            .collect();
        let small: Vec<Entry> = (0..3000)
            .map(|i| f(&format!("b/d{}/f{i}", i % 500), 1))
            .collect();
        let trees = layer_trees(&[&big, &small], 1000);
        let n = count(&trees[0]);
        assert!((900..=990 + MAX_CHILDREN + 1).contains(&n), "{n}");
        assert!(
            count(&trees[1]) < MIN_NODES + MAX_CHILDREN + 2,
            "{}",
            count(&trees[1])
        );
        assert_eq!(trees[1].bytes, 3000);
    }

    #[test]
    fn an_empty_layer_is_an_empty_root() {
        let t = dir_tree(&[], 10);
        assert_eq!(
            (t.bytes, t.files, t.children.len(), t.dir),
            (0, 0, 0, false)
        );
    }
}
