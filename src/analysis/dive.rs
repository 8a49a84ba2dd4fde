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

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::layer::walk::{Entry, EntryKind};

const WHITEOUT_PREFIX: &str = ".wh.";
const DOUBLE_WHITEOUT_PREFIX: &str = ".wh..wh.";

#[derive(Clone, Copy, Default)]
struct Info {
    size: u64,
    is_dir: bool,
}

#[derive(Clone, Default)]
struct Node {
    info: Info,
    children: BTreeMap<String, Node>,
}

impl Node {
    fn get(&self, path: &[&str]) -> Option<&Node> {
        path.iter()
            .try_fold(self, |node, name| node.children.get(*name))
    }

    fn add(&mut self, path: &[&str], info: Info) {
        let mut node = self;
        for (i, name) in path.iter().enumerate() {
            if !node.children.contains_key(*name) && name.starts_with(DOUBLE_WHITEOUT_PREFIX) {
                return;
            }
            node = node.children.entry(name.to_string()).or_default();
            if i == path.len() - 1 {
                node.info = info;
            }
        }
    }

    fn remove(&mut self, path: &[&str]) {
        if let Some((last, parents)) = path.split_last() {
            let mut node = self;
            for name in parents {
                match node.children.get_mut(*name) {
                    Some(n) => node = n,
                    None => return,
                }
            }
            node.children.remove(*last);
        }
    }

    fn total_size(&self) -> u64 {
        self.info.size + self.children.values().map(Node::total_size).sum::<u64>()
    }

    /// Stacks `upper` onto `self` the way dive's `FileTree.Stack` does: every node of `upper`,
    /// child first, in name order; whiteouts remove, everything else (implicit dirs too) is added.
    fn stack(&mut self, upper: &Node) {
        fn visit(lower: &mut Node, node: &Node, path: &mut Vec<String>) {
            for (name, child) in &node.children {
                path.push(name.clone());
                visit(lower, child, path);
                let parts: Vec<&str> = path.iter().map(String::as_str).collect();
                match name.strip_prefix(WHITEOUT_PREFIX) {
                    Some(target) => {
                        let mut p = parts.clone();
                        *p.last_mut().expect("non-empty path") = target;
                        lower.remove(&p);
                    }
                    None => lower.add(&parts, child.info),
                }
                path.pop();
            }
        }
        visit(self, upper, &mut Vec::new());
    }
}

/// The name dive's tree gives an entry (whiteout markers keep their `.wh.` names).
fn tree_path(entry: &Entry) -> String {
    let split = |p: &str| match p.rsplit_once('/') {
        Some((d, b)) => (format!("{d}/"), b.to_string()),
        None => (String::new(), p.to_string()),
    };
    match entry.kind {
        EntryKind::Whiteout => {
            let (dir, base) = split(&entry.path);
            format!("{dir}{WHITEOUT_PREFIX}{base}")
        }
        EntryKind::Opaque if entry.path.is_empty() => ".wh..wh..opq".to_string(),
        EntryKind::Opaque => format!("{}/.wh..wh..opq", entry.path),
        _ => entry.path.clone(),
    }
}

fn layer_tree(entries: &[Entry]) -> Node {
    let mut root = Node::default();
    for entry in entries {
        let path = tree_path(entry);
        if path.is_empty() {
            continue;
        }
        let parts: Vec<&str> = path.split('/').collect();
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

/// Computes dive's figures from the entries of each layer, bottom first.
pub fn dive_figures(layers: &[&[Entry]]) -> DiveFigures {
    let trees: Vec<Node> = layers.iter().map(|e| layer_tree(e)).collect();
    let layer_sizes: Vec<u64> = layers
        .iter()
        .map(|entries| entries.iter().map(|e| e.size).sum())
        .collect();
    let mut stats: HashMap<String, PathStats> = HashMap::new();
    let mut stacked = trees.first().cloned().unwrap_or_default();
    for (index, tree) in trees.iter().enumerate() {
        if index > 0 {
            stacked.stack(&trees[index - 1]);
        }
        let mut path = Vec::new();
        // A missing whiteout target ends this layer's visit early, exactly as in dive.
        let _ = visit_leaves(tree, &stacked, &mut path, &mut stats);
    }
    let (mut sum_min, mut sum_cum, mut wasted) = (0u64, 0u64, 0u64);
    let mut inefficient = Vec::new();
    for (path, s) in &stats {
        sum_min += s.min.unwrap_or(0);
        sum_cum += s.cumulative;
        if s.count >= 2 {
            wasted += s.cumulative;
            inefficient.push(InefficientPath {
                path: path.clone(),
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

/// Visits the leaves below `node`; returns `Err(())` when a whiteout's target is missing, which
/// (as in dive) abandons the rest of the layer.
fn visit_leaves(
    node: &Node,
    stacked: &Node,
    path: &mut Vec<String>,
    stats: &mut HashMap<String, PathStats>,
) -> Result<(), ()> {
    for (name, child) in &node.children {
        path.push(name.clone());
        let result = if child.children.is_empty() {
            visit_leaf(name, child, stacked, path, stats)
        } else {
            visit_leaves(child, stacked, path, stats)
        };
        path.pop();
        result?;
    }
    Ok(())
}

fn visit_leaf(
    name: &str,
    leaf: &Node,
    stacked: &Node,
    path: &[String],
    stats: &mut HashMap<String, PathStats>,
) -> Result<(), ()> {
    let mut parts: Vec<&str> = path.iter().map(String::as_str).collect();
    let size = match name.strip_prefix(WHITEOUT_PREFIX) {
        Some(target) => {
            *parts.last_mut().expect("leaf has a name") = target;
            let below = stacked.get(&parts).ok_or(())?;
            if below.info.is_dir {
                below.total_size()
            } else {
                0
            }
        }
        None => leaf.info.size,
    };
    let s = stats.entry(format!("/{}", parts.join("/"))).or_default();
    s.cumulative += size;
    s.min = Some(s.min.map_or(size, |m| m.min(size)));
    s.count += 1;
    Ok(())
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
