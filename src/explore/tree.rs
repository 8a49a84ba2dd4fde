//! The explorer's change tree: every path any layer touches, once, as a compact trie — a node
//! holds its own segment (interned: each distinct name is stored once for the whole image), its
//! parent, first child and next sibling as `u32` indexes, and the list of what each layer did to
//! it. A layer's changes, the filesystem up to a layer, and a file's history across layers are all
//! read from the same nodes. Nothing here recurses: paths can be 100 000 levels deep.

use std::collections::HashMap;
use std::sync::Arc;

use crate::layer::walk::{Entry, EntryKind};

/// "No node" / "no event" in the `u32` links.
pub const NONE: u32 = u32::MAX;

/// How a layer changed a path, as dive marks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Change {
    /// The path is new in this layer.
    Added,
    /// The path existed below and this layer replaced it.
    Modified,
    /// This layer deletes the path (a whiteout or an opaque directory).
    Removed,
    /// The path is listed (a directory restated) or, in the aggregated view, comes from below.
    Unchanged,
}

impl Change {
    /// Every change kind, in the order of the hide toggles.
    pub const ALL: [Change; 4] = [
        Change::Added,
        Change::Modified,
        Change::Removed,
        Change::Unchanged,
    ];

    /// The mark shown beside each entry (readable without colour).
    pub fn letter(self) -> char {
        match self {
            Change::Added => 'A',
            Change::Modified => 'M',
            Change::Removed => 'R',
            Change::Unchanged => 'U',
        }
    }

    /// The position in [`Change::ALL`] (an index into the hide toggles).
    pub fn slot(self) -> usize {
        self as usize
    }
}

/// What a layer did to one path.
#[derive(Debug, Clone, Copy)]
struct Event {
    layer: u32,
    change: Change,
    /// Bytes of content (files) or of what was removed.
    size: u64,
    /// The next event of the same node (a later layer), or [`NONE`].
    next: u32,
}

/// One path of the trie.
#[derive(Debug, Clone, Copy)]
struct Node {
    segment: u32,
    parent: u32,
    first_child: u32,
    next_sibling: u32,
    first_event: u32,
    last_event: u32,
    /// The layer that first named the path (itself or a path below it).
    born: u32,
    /// The kind of the entry the latest layer gave it (implicit parents are directories).
    dir: bool,
}

/// One layer's entry as the tree needs it (the path, whether it deletes, its size).
#[derive(Debug, Clone)]
pub struct LayerEntry {
    /// The cleaned path (`usr/bin/ls`).
    pub path: Box<str>,
    /// What the entry is.
    pub kind: EntryKind,
    /// Bytes of content.
    pub size: u64,
}

impl From<&Entry> for LayerEntry {
    fn from(e: &Entry) -> Self {
        LayerEntry {
            path: (*e.path).into(),
            kind: e.kind,
            size: e.size,
        }
    }
}

/// Distinct path segments, each stored once.
#[derive(Debug, Default)]
struct Segments {
    names: Vec<Arc<str>>,
    ids: HashMap<Arc<str>, u32>,
}

impl Segments {
    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        let name: Arc<str> = name.into();
        self.names.push(name.clone());
        self.ids.insert(name, id);
        id
    }
}

/// One layer's record for a path, for a file's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Touch {
    /// The layer.
    pub layer: usize,
    /// What it did.
    pub change: Change,
    /// Bytes.
    pub size: u64,
}

/// Every path every applied layer touched, with what each layer did.
#[derive(Debug)]
pub struct ChangeTree {
    segments: Segments,
    nodes: Vec<Node>,
    events: Vec<Event>,
    children: HashMap<(u32, u32), u32>,
    applied: usize,
}

impl Default for ChangeTree {
    fn default() -> Self {
        let mut segments = Segments::default();
        let root = segments.intern("");
        ChangeTree {
            segments,
            nodes: vec![Node {
                segment: root,
                parent: NONE,
                first_child: NONE,
                next_sibling: NONE,
                first_event: NONE,
                last_event: NONE,
                born: 0,
                dir: true,
            }],
            events: Vec::new(),
            children: HashMap::new(),
            applied: 0,
        }
    }
}

impl ChangeTree {
    /// How many layers (bottom first) are in the tree.
    pub fn applied(&self) -> usize {
        self.applied
    }

    /// Nodes, the root (node 0) included.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no layer added a path yet.
    pub fn is_empty(&self) -> bool {
        self.nodes.len() == 1
    }

    /// The last segment of node `n` (`""` for the root).
    pub fn name(&self, n: u32) -> &str {
        &self.segments.names[self.nodes[n as usize].segment as usize]
    }

    /// Whether node `n` is a directory.
    pub fn is_dir(&self, n: u32) -> bool {
        self.nodes[n as usize].dir
    }

    /// The parent of node `n` ([`NONE`] for the root).
    pub fn parent(&self, n: u32) -> u32 {
        self.nodes[n as usize].parent
    }

    /// The children of node `n`, unsorted.
    pub fn children(&self, n: u32) -> impl Iterator<Item = u32> + '_ {
        let mut next = self.nodes[n as usize].first_child;
        std::iter::from_fn(move || {
            let current = next;
            (current != NONE).then(|| {
                next = self.nodes[current as usize].next_sibling;
                current
            })
        })
    }

    /// The rooted path of node `n` (`/usr/bin/ls`).
    pub fn path(&self, n: u32) -> String {
        let mut parts = Vec::new();
        let mut at = n;
        while at != 0 && at != NONE {
            parts.push(self.name(at));
            at = self.parent(at);
        }
        let mut path = String::new();
        for part in parts.iter().rev() {
            path.push('/');
            path.push_str(part);
        }
        if path.is_empty() {
            path.push('/');
        }
        path
    }

    /// The node of `path` (rooted or not), when some layer touched it.
    pub fn find(&self, path: &str) -> Option<u32> {
        let mut at = 0;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            let segment = *self.segments.ids.get(part)?;
            at = *self.children.get(&(at, segment))?;
        }
        Some(at)
    }

    /// Every layer that touched node `n`, bottom first.
    pub fn history(&self, n: u32) -> Vec<Touch> {
        self.events_of(n)
            .map(|e| Touch {
                layer: e.layer as usize,
                change: e.change,
                size: e.size,
            })
            .collect()
    }

    fn events_of(&self, n: u32) -> impl Iterator<Item = &Event> + '_ {
        let mut next = self.nodes[n as usize].first_event;
        std::iter::from_fn(move || {
            let current = next;
            (current != NONE).then(|| {
                let event = &self.events[current as usize];
                next = event.next;
                event
            })
        })
    }

    /// The latest event of `n` at or below layer `layer`.
    fn state_at(&self, n: u32, layer: usize) -> Option<&Event> {
        self.events_of(n)
            .take_while(|e| e.layer as usize <= layer)
            .last()
    }

    /// The layer whose bytes node `n` shows in the filesystem up to `layer` (the latest layer at
    /// or below it that wrote the path), unless that path is deleted there.
    pub fn provider(&self, n: u32, layer: usize) -> Option<usize> {
        self.state_at(n, layer)
            .filter(|e| e.change != Change::Removed)
            .map(|e| e.layer as usize)
    }

    fn live(&self, n: u32) -> bool {
        let last = self.nodes[n as usize].last_event;
        last != NONE && self.events[last as usize].change != Change::Removed
    }

    fn child(&mut self, parent: u32, name: &str) -> u32 {
        let segment = self.segments.intern(name);
        if let Some(&n) = self.children.get(&(parent, segment)) {
            return n;
        }
        let n = self.nodes.len() as u32;
        self.nodes.push(Node {
            segment,
            parent,
            first_child: NONE,
            next_sibling: self.nodes[parent as usize].first_child,
            first_event: NONE,
            last_event: NONE,
            born: self.applied as u32,
            dir: true,
        });
        self.nodes[parent as usize].first_child = n;
        self.children.insert((parent, segment), n);
        n
    }

    fn node_for(&mut self, path: &str) -> u32 {
        let mut at = 0;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            at = self.child(at, part);
        }
        at
    }

    /// Records `change` of `n` by `layer`: a second event in the same layer (a path re-added
    /// under an opaque directory) replaces the first.
    fn record(&mut self, n: u32, layer: u32, change: Change, size: u64) {
        let last = self.nodes[n as usize].last_event;
        if last != NONE && self.events[last as usize].layer == layer {
            let event = &mut self.events[last as usize];
            event.change = match (event.change, change) {
                (Change::Removed, Change::Added) => Change::Modified,
                (_, c) => c,
            };
            event.size = size;
            return;
        }
        let id = self.events.len() as u32;
        self.events.push(Event {
            layer,
            change,
            size,
            next: NONE,
        });
        if last == NONE {
            self.nodes[n as usize].first_event = id;
        } else {
            self.events[last as usize].next = id;
        }
        self.nodes[n as usize].last_event = id;
    }

    /// Marks every live path below `n` (and `n` itself when `itself`) removed by `layer`, without
    /// recursion.
    fn remove_below(&mut self, n: u32, layer: u32, itself: bool) {
        let mut stack = vec![n];
        while let Some(at) = stack.pop() {
            if (at != n || itself) && self.live(at) {
                let size = self.events[self.nodes[at as usize].last_event as usize].size;
                self.record(at, layer, Change::Removed, size);
            }
            stack.extend(self.children(at));
        }
    }

    /// Adds the next layer's entries (layers are applied bottom first, each once).
    pub fn apply<'a>(&mut self, entries: impl IntoIterator<Item = (&'a str, EntryKind, u64)>) {
        self.apply_part(entries);
        self.close_layer();
    }

    /// Adds some of the next layer's entries, in the layer's order; [`ChangeTree::close_layer`]
    /// ends the layer. Until then the layer is not [`ChangeTree::applied`] and the views of the
    /// layers below it do not change, so the loader can add a large layer in parts, letting the
    /// UI take the tree between them.
    pub fn apply_part<'a>(&mut self, entries: impl IntoIterator<Item = (&'a str, EntryKind, u64)>) {
        let layer = self.applied as u32;
        for (path, kind, size) in entries {
            let n = self.node_for(path);
            match kind {
                EntryKind::Whiteout => self.remove_below(n, layer, true),
                EntryKind::Opaque => self.remove_below(n, layer, false),
                kind => {
                    let dir = kind == EntryKind::Dir;
                    let change = match (self.live(n), self.nodes[n as usize].dir && dir) {
                        (false, _) => Change::Added,
                        (true, true) => Change::Unchanged,
                        (true, false) => Change::Modified,
                    };
                    if self.nodes[n as usize].dir && !dir {
                        self.remove_below(n, layer, false);
                    }
                    self.nodes[n as usize].dir = dir;
                    let size = if kind == EntryKind::File { size } else { 0 };
                    self.record(n, layer, change, size);
                }
            }
        }
    }

    /// Ends the layer [`ChangeTree::apply_part`] was adding.
    pub fn close_layer(&mut self) {
        self.applied += 1;
    }
}

/// Which tree the pane shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// What the selected layer changed.
    LayerChanges,
    /// The filesystem up to the selected layer, the selected layer's changes marked.
    Aggregated,
}

/// How rows are ordered among siblings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Largest first (the default: where the bytes are).
    Size,
    /// By name.
    Name,
}

/// What the tree pane shows: the layer, mode, hidden kinds, filter, collapsed directories, order.
pub struct ViewSpec<'a> {
    /// The selected layer.
    pub layer: usize,
    /// Layer changes or aggregated.
    pub mode: Mode,
    /// Hidden change kinds, by [`Change::slot`].
    pub hidden: [bool; 4],
    /// Only paths matching this (and their directories).
    pub filter: Option<&'a regex::Regex>,
    /// Directories shown collapsed.
    pub collapsed: &'a std::collections::HashSet<u32>,
    /// Sibling order.
    pub sort: Sort,
}

/// One visible line of the tree pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// The node.
    pub node: u32,
    /// Depth below the root (top-level entries are 0).
    pub depth: u32,
    /// Its mark in this view.
    pub change: Change,
    /// Bytes (a directory's: of its shown contents).
    pub size: u64,
}

/// The tree pane's content for one [`ViewSpec`]: every shown node's mark and size, and the rows
/// (collapsed directories' contents left out).
pub struct View {
    /// The visible rows, in display order.
    pub rows: Vec<Row>,
    /// Shown regular files and links (not directories), largest first, for "jump to largest".
    pub largest: Vec<(u32, u64)>,
}

impl View {
    /// Works out the view of `tree` that `spec` asks for.
    pub fn build(tree: &ChangeTree, spec: &ViewSpec) -> View {
        let count = tree.len();
        let mut change = vec![None::<Change>; count];
        for (n, slot) in change.iter_mut().enumerate().skip(1) {
            let n = n as u32;
            *slot = match spec.mode {
                Mode::LayerChanges => tree
                    .events_of(n)
                    .find(|e| e.layer as usize == spec.layer)
                    .map(|e| e.change),
                Mode::Aggregated => tree.state_at(n, spec.layer).and_then(|e| {
                    match (e.change, e.layer as usize == spec.layer) {
                        (Change::Removed, false) => None,
                        (c, true) => Some(c),
                        (_, false) => Some(Change::Unchanged),
                    }
                }),
            };
        }
        let matches = spec.filter.map(|re| filter_matches(tree, re));
        let mut shown = vec![false; count];
        let mut size = vec![0u64; count];
        for n in (1..count).rev() {
            let own = change[n].is_some_and(|c| !spec.hidden[c.slot()])
                && matches.as_ref().is_none_or(|m| m[n]);
            if own && !tree.nodes[n].dir {
                size[n] = match spec.mode {
                    Mode::LayerChanges => tree
                        .events_of(n as u32)
                        .find(|e| e.layer as usize == spec.layer)
                        .map_or(0, |e| e.size),
                    Mode::Aggregated => tree.state_at(n as u32, spec.layer).map_or(0, |e| e.size),
                };
            }
            shown[n] |= own;
            if shown[n] {
                // A directory the tar leaves implicit is added in the layer that first named a
                // path in it, unchanged after.
                change[n].get_or_insert(match tree.nodes[n].born as usize == spec.layer {
                    true => Change::Added,
                    false => Change::Unchanged,
                });
                let parent = tree.nodes[n].parent as usize;
                shown[parent] = true;
                size[parent] += size[n];
            }
        }
        let mut largest: Vec<(u32, u64)> = (1..count)
            .filter(|&n| shown[n] && !tree.nodes[n].dir)
            .map(|n| (n as u32, size[n]))
            .collect();
        largest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        largest.truncate(50);

        let mut rows = Vec::new();
        let mut stack: Vec<(u32, u32)> = Vec::new();
        let push_children = |stack: &mut Vec<(u32, u32)>, n: u32, depth: u32| {
            let mut kids: Vec<u32> = tree.children(n).filter(|&c| shown[c as usize]).collect();
            match spec.sort {
                Sort::Size => kids.sort_by(|&a, &b| {
                    size[b as usize]
                        .cmp(&size[a as usize])
                        .then_with(|| tree.name(a).cmp(tree.name(b)))
                }),
                Sort::Name => kids.sort_by(|&a, &b| tree.name(a).cmp(tree.name(b))),
            }
            stack.extend(kids.into_iter().rev().map(|c| (c, depth)));
        };
        push_children(&mut stack, 0, 0);
        while let Some((n, depth)) = stack.pop() {
            rows.push(Row {
                node: n,
                depth,
                change: change[n as usize].unwrap_or(Change::Unchanged),
                size: size[n as usize],
            });
            if !spec.collapsed.contains(&n) {
                push_children(&mut stack, n, depth + 1);
            }
        }
        View { rows, largest }
    }
}

/// Whether each node's rooted path matches `re`, by one walk down the tree that keeps the path
/// being visited in one buffer.
fn filter_matches(tree: &ChangeTree, re: &regex::Regex) -> Vec<bool> {
    let mut matched = vec![false; tree.len()];
    let mut path = String::new();
    let mut stack: Vec<(u32, usize)> = tree.children(0).map(|c| (c, 0)).collect();
    while let Some((n, parent_len)) = stack.pop() {
        path.truncate(parent_len);
        path.push('/');
        path.push_str(tree.name(n));
        matched[n as usize] = re.is_match(&path);
        let len = path.len();
        stack.extend(tree.children(n).map(|c| (c, len)));
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn tree(layers: &[&[(&str, EntryKind, u64)]]) -> ChangeTree {
        let mut t = ChangeTree::default();
        for layer in layers {
            t.apply(layer.iter().copied());
        }
        t
    }

    fn shown(t: &ChangeTree, layer: usize, mode: Mode) -> Vec<(String, char, u64)> {
        let collapsed = HashSet::new();
        let view = View::build(
            t,
            &ViewSpec {
                layer,
                mode,
                hidden: [false; 4],
                filter: None,
                collapsed: &collapsed,
                sort: Sort::Name,
            },
        );
        view.rows
            .iter()
            .map(|r| (t.path(r.node), r.change.letter(), r.size))
            .collect()
    }

    const F: EntryKind = EntryKind::File;

    #[test]
    fn a_layer_added_in_parts_leaves_the_layers_below_as_they_were_until_it_closes() {
        let lower: &[(&str, EntryKind, u64)] =
            &[("etc", EntryKind::Dir, 0), ("etc/a", F, 1), ("etc/b", F, 2)];
        let upper: &[(&str, EntryKind, u64)] = &[
            ("etc/a", F, 5),
            ("etc/b", EntryKind::Whiteout, 0),
            ("usr", EntryKind::Dir, 0),
            ("usr/c", F, 3),
        ];
        let whole = tree(&[lower, upper]);
        let mut parts = tree(&[lower]);
        let before = shown(&parts, 0, Mode::Aggregated);
        for part in upper.chunks(2) {
            parts.apply_part(part.iter().copied());
            assert_eq!(parts.applied(), 1);
            assert_eq!(shown(&parts, 0, Mode::Aggregated), before);
            assert_eq!(
                shown(&parts, 0, Mode::LayerChanges),
                shown(&whole, 0, Mode::LayerChanges)
            );
        }
        parts.close_layer();
        for mode in [Mode::Aggregated, Mode::LayerChanges] {
            assert_eq!(shown(&parts, 1, mode), shown(&whole, 1, mode));
        }
    }

    #[test]
    fn a_layer_marks_what_it_adds_replaces_and_deletes() {
        let t = tree(&[
            &[("etc", EntryKind::Dir, 0), ("etc/a", F, 1), ("etc/b", F, 2)],
            &[
                ("etc/a", F, 5),
                ("etc/b", EntryKind::Whiteout, 0),
                ("c", F, 3),
            ],
        ]);
        assert_eq!(
            shown(&t, 1, Mode::LayerChanges),
            [
                ("/c".into(), 'A', 3),
                ("/etc".into(), 'U', 7),
                ("/etc/a".into(), 'M', 5),
                ("/etc/b".into(), 'R', 2),
            ]
        );
        assert_eq!(
            shown(&t, 1, Mode::Aggregated),
            [
                ("/c".into(), 'A', 3),
                ("/etc".into(), 'U', 7),
                ("/etc/a".into(), 'M', 5),
                ("/etc/b".into(), 'R', 2),
            ]
        );
        let a = t.find("etc/a").unwrap();
        assert_eq!(t.history(a).len(), 2);
        assert_eq!(t.provider(a, 1), Some(1));
        assert_eq!(t.provider(t.find("/etc/b").unwrap(), 1), None);
    }

    #[test]
    fn directories_a_layer_leaves_implicit_are_added_where_first_named() {
        let t = tree(&[&[("usr/x", F, 1)], &[("new/deep/y", F, 2), ("usr/z", F, 3)]]);
        assert_eq!(
            shown(&t, 1, Mode::LayerChanges),
            [
                ("/new".into(), 'A', 2),
                ("/new/deep".into(), 'A', 2),
                ("/new/deep/y".into(), 'A', 2),
                ("/usr".into(), 'U', 3),
                ("/usr/z".into(), 'A', 3),
            ]
        );
    }

    #[test]
    fn an_opaque_directory_removes_what_was_below_and_keeps_what_it_readds() {
        let t = tree(&[
            &[("d/x", F, 1), ("d/y", F, 1)],
            &[("d", EntryKind::Opaque, 0), ("d/y", F, 4)],
            &[("z", F, 1)],
        ]);
        let changes = shown(&t, 1, Mode::LayerChanges);
        assert!(changes.contains(&("/d/x".into(), 'R', 1)), "{changes:?}");
        assert!(changes.contains(&("/d/y".into(), 'M', 4)), "{changes:?}");
        let later = shown(&t, 2, Mode::Aggregated);
        assert!(!later.iter().any(|r| r.0 == "/d/x"), "{later:?}");
    }

    #[test]
    fn a_path_100_000_levels_deep_builds_and_shows_without_recursion() {
        let deep: String = vec!["d"; 100_000].join("/");
        let t = tree(&[&[(deep.as_str(), F, 1)]]);
        let collapsed = HashSet::new();
        let view = View::build(
            &t,
            &ViewSpec {
                layer: 0,
                mode: Mode::LayerChanges,
                hidden: [false; 4],
                filter: None,
                collapsed: &collapsed,
                sort: Sort::Size,
            },
        );
        assert_eq!(view.rows.len(), 100_000);
        assert_eq!((view.rows[0].size, view.rows[99_999].depth), (1, 99_999));
        assert_eq!(view.largest.len(), 1);
    }
}
