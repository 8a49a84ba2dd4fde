//! dive's file tree as an arena: 40 bytes a node plus its slot in one [`ChildIndex`], children
//! linked from their parent and put in name order only while a walk visits them.

use crate::analysis::dive::names::{ChildIndex, Name};

/// The root of every [`Tree`].
pub(super) const ROOT: u32 = 0;

/// No node (the end of a child list, the root's parent).
const NONE: u32 = u32::MAX;

#[derive(Clone)]
struct Node<'a> {
    text: &'a str,
    size: u64,
    parent: u32,
    first_child: u32,
    next_sibling: u32,
    whiteout: bool,
    is_dir: bool,
    /// Still a child of its parent; a removed subtree stays in the arena, unreachable.
    attached: bool,
}

impl<'a> Node<'a> {
    fn name(&self) -> Name<'a> {
        Name {
            whiteout: self.whiteout,
            text: self.text,
        }
    }
}

/// The key of a node of `nodes` in the [`ChildIndex`]: its parent and its name.
fn key_of<'n, 'a>(nodes: &'n [Node<'a>]) -> impl Fn(u32) -> (u32, Name<'a>) + 'n {
    |id| {
        let node = &nodes[id as usize];
        (node.parent, node.name())
    }
}

/// A file tree of one layer, or of layers stacked the way dive stacks them.
#[derive(Clone)]
pub(super) struct Tree<'a> {
    nodes: Vec<Node<'a>>,
    index: ChildIndex,
}

impl<'a> Tree<'a> {
    /// A tree of the root alone, with room for `nodes` more nodes.
    pub fn with_capacity(nodes: usize) -> Tree<'a> {
        let mut tree = Tree {
            nodes: Vec::with_capacity(nodes + 1),
            index: ChildIndex::with_capacity(nodes),
        };
        tree.nodes.push(Node {
            text: "",
            size: 0,
            parent: NONE,
            first_child: NONE,
            next_sibling: NONE,
            whiteout: false,
            is_dir: false,
            attached: true,
        });
        tree
    }

    /// The name of `node`.
    pub fn name(&self, node: u32) -> Name<'a> {
        self.nodes[node as usize].name()
    }

    /// The size the entry at `node` recorded (0 for implicit directories).
    pub fn size(&self, node: u32) -> u64 {
        self.nodes[node as usize].size
    }

    /// Whether the entry at `node` was a directory (implicit directories are not).
    pub fn is_dir(&self, node: u32) -> bool {
        self.nodes[node as usize].is_dir
    }

    /// The child `name` of `node`.
    pub fn child(&self, node: u32, name: Name<'_>) -> Option<u32> {
        self.index.get(node, name, key_of(&self.nodes))
    }

    /// The child `name` of `node`, created (an implicit directory) when missing; `None` where
    /// dive's `AddPath` gives up: a missing child named `.wh..wh.*`.
    pub fn child_or_new(&mut self, node: u32, name: Name<'a>) -> Option<u32> {
        if let Some(child) = self.child(node, name) {
            return Some(child);
        }
        if name.is_marker() {
            return None;
        }
        let child = u32::try_from(self.nodes.len())
            .ok()
            .filter(|&c| c != NONE)?;
        let parent = &mut self.nodes[node as usize];
        let next_sibling = std::mem::replace(&mut parent.first_child, child);
        self.nodes.push(Node {
            text: name.text,
            size: 0,
            parent: node,
            first_child: NONE,
            next_sibling,
            whiteout: name.whiteout,
            is_dir: false,
            attached: true,
        });
        self.index.insert(node, name, child, key_of(&self.nodes));
        Some(child)
    }

    /// Takes the child `name` of `node` (and its subtree) out of the tree.
    pub fn remove_child(&mut self, node: u32, name: Name<'_>) {
        if let Some(child) = self.index.remove(node, name, key_of(&self.nodes)) {
            self.nodes[child as usize].attached = false;
        }
    }

    /// Gives `node` the size and kind of the entry at `path`.
    pub fn set(&mut self, node: u32, size: u64, is_dir: bool) {
        let n = &mut self.nodes[node as usize];
        n.size = size;
        n.is_dir = is_dir;
    }

    /// Adds the entry at `path` (its parents made as implicit directories).
    pub fn add(&mut self, path: &[Name<'a>], size: u64, is_dir: bool) {
        let mut node = ROOT;
        for &name in path {
            match self.child_or_new(node, name) {
                Some(child) => node = child,
                None => return,
            }
        }
        self.set(node, size, is_dir);
    }

    fn linked(&self, node: u32) -> impl Iterator<Item = u32> + '_ {
        let mut next = self.nodes[node as usize].first_child;
        std::iter::from_fn(move || {
            let at = next;
            (at != NONE).then(|| {
                next = self.nodes[at as usize].next_sibling;
                at
            })
        })
        .filter(|&c| self.nodes[c as usize].attached)
    }

    /// Whether `node` has children.
    pub fn has_children(&self, node: u32) -> bool {
        self.linked(node).next().is_some()
    }

    /// The children of `node` in name order.
    pub fn children(&self, node: u32) -> std::vec::IntoIter<u32> {
        let mut children: Vec<u32> = self.linked(node).collect();
        children.sort_by(|&a, &b| self.name(a).cmp(&self.name(b)));
        children.into_iter()
    }

    /// The sum of the sizes in the subtree of `node`, itself included.
    pub fn total_size(&self, node: u32) -> u64 {
        let (mut sum, mut todo) = (0, vec![node]);
        while let Some(n) = todo.pop() {
            sum += self.size(n);
            todo.extend(self.linked(n));
        }
        sum
    }

    /// Stacks `upper` onto `self` the way dive's `FileTree.Stack` does: every node of `upper`,
    /// child first, in name order; whiteouts remove, everything else (implicit dirs too) is added.
    pub fn stack(&mut self, upper: &Tree<'a>) {
        let mut frames = vec![Frame {
            node: ROOT,
            children: upper.children(ROOT),
            name: None,
            lower: Some(ROOT),
        }];
        while let Some(top) = frames.last_mut() {
            if let Some(child) = top.children.next() {
                let name = upper.name(child);
                let lower = top.lower.and_then(|l| self.child(l, name));
                frames.push(Frame {
                    node: child,
                    children: upper.children(child),
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
            match name.target() {
                Some(target) => {
                    if let Some(parent) = frames.last().and_then(|f| f.lower) {
                        self.remove_child(parent, target);
                    }
                }
                None => {
                    let added = self
                        .made(&mut frames)
                        .and_then(|parent| self.child_or_new(parent, name));
                    if let Some(added) = added {
                        self.set(added, upper.size(node), upper.is_dir(node));
                    }
                }
            }
        }
    }

    /// The node of `self` at the path of the last of `frames`, made with the ancestors it lacks
    /// (as `add` makes them), each frame told its node.
    fn made(&mut self, frames: &mut [Frame<'a>]) -> Option<u32> {
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
struct Frame<'a> {
    node: u32,
    children: std::vec::IntoIter<u32>,
    name: Option<Name<'a>>,
    lower: Option<u32>,
}
