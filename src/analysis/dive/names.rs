//! Names in dive's trees and the index that finds a node's child by name, kept small because
//! there is one node per path per layer: a million-file layer is millions of them.
//!
//! A [`Name`] is a borrowed component whose `.wh.` prefix, when it has one, is a flag: the
//! whiteout an entry stands for needs no copy of its name. The [`ChildIndex`] is one hash table
//! of node ids for a whole tree, keyed by (parent, name), where a map per node would cost a
//! heap node per directory and two pointers per child.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;

/// The prefix of a whiteout's name in a layer.
const WHITEOUT_PREFIX: &str = ".wh.";

/// A component of a path as dive compares it: byte order of the full name, `.wh.` included.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(super) struct Name<'a> {
    /// The name had the `.wh.` prefix (`text` is what follows it).
    pub whiteout: bool,
    /// The name without its `.wh.` prefix.
    pub text: &'a str,
}

impl<'a> Name<'a> {
    /// The name of a path component, its `.wh.` prefix folded into the flag, so equal names are
    /// equal values.
    pub fn of(component: &'a str) -> Name<'a> {
        match component.strip_prefix(WHITEOUT_PREFIX) {
            Some(text) => Name {
                whiteout: true,
                text,
            },
            None => Name {
                whiteout: false,
                text: component,
            },
        }
    }

    /// The name of the whiteout of `target` (`.wh.target`).
    pub fn whiteout_of(target: &'a str) -> Name<'a> {
        Name {
            whiteout: true,
            text: target,
        }
    }

    /// A `.wh..wh.*` marker (an opaque directory's, or another), which dive never adds.
    pub fn is_marker(self) -> bool {
        self.whiteout && self.text.starts_with(WHITEOUT_PREFIX)
    }

    /// The name a whiteout deletes, `None` for any other name.
    pub fn target(self) -> Option<Name<'a>> {
        self.whiteout.then(|| Name::of(self.text))
    }

    fn bytes(self) -> impl Iterator<Item = u8> + 'a {
        let prefix: &'static [u8] = if self.whiteout {
            WHITEOUT_PREFIX.as_bytes()
        } else {
            b""
        };
        prefix.iter().chain(self.text.as_bytes()).copied()
    }
}

impl Ord for Name<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.bytes().cmp(other.bytes())
    }
}

impl PartialOrd for Name<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.whiteout {
            f.write_str(WHITEOUT_PREFIX)?;
        }
        f.write_str(self.text)
    }
}

/// The children of every node of an arena tree by name: node ids in one hash table, a node's
/// key read back from the arena through the `key` function each call is given.
#[derive(Clone, Default)]
pub(super) struct ChildIndex {
    table: HashTable<u32>,
    state: RandomState,
}

impl ChildIndex {
    /// An index with room for `nodes` nodes.
    pub fn with_capacity(nodes: usize) -> ChildIndex {
        ChildIndex {
            table: HashTable::with_capacity(nodes),
            state: RandomState::new(),
        }
    }

    /// The child `name` of `parent`.
    pub fn get<'a>(
        &self,
        parent: u32,
        name: Name<'_>,
        key: impl Fn(u32) -> (u32, Name<'a>),
    ) -> Option<u32> {
        let hash = self.state.hash_one((parent, name));
        self.table
            .find(hash, |&id| key(id) == (parent, name))
            .copied()
    }

    /// Records `id` as the child `name` of `parent` (which has no such child yet).
    pub fn insert<'a>(
        &mut self,
        parent: u32,
        name: Name<'a>,
        id: u32,
        key: impl Fn(u32) -> (u32, Name<'a>),
    ) {
        let ChildIndex { table, state } = self;
        let hash = state.hash_one((parent, name));
        table.insert_unique(hash, id, |&id| state.hash_one(key(id)));
    }

    /// Forgets the child `name` of `parent` and returns its id.
    pub fn remove<'a>(
        &mut self,
        parent: u32,
        name: Name<'_>,
        key: impl Fn(u32) -> (u32, Name<'a>),
    ) -> Option<u32> {
        let hash = self.state.hash_one((parent, name));
        let found = self.table.find_entry(hash, |&id| key(id) == (parent, name));
        found.ok().map(|entry| entry.remove().0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_order_as_their_full_text_does() {
        let mut names = ["b", ".wh.a", "a", ".wh..wh..opq", ".a", "-"].map(Name::of);
        names.sort();
        let text: Vec<String> = names.iter().map(Name::to_string).collect();
        let mut want = vec!["b", ".wh.a", "a", ".wh..wh..opq", ".a", "-"];
        want.sort();
        assert_eq!(text, want);
        assert!(Name::of(".wh..wh..opq").is_marker());
        assert_eq!(Name::of(".wh.x").target(), Some(Name::of("x")));
        assert_eq!(Name::whiteout_of("x"), Name::of(".wh.x"));
    }

    #[test]
    fn the_index_finds_inserts_and_forgets_children() {
        let keys = [(0, Name::of("a")), (0, Name::of("b")), (1, Name::of("a"))];
        let key = |id: u32| keys[id as usize];
        let mut index = ChildIndex::with_capacity(1);
        for (id, (parent, name)) in keys.iter().enumerate() {
            index.insert(*parent, *name, id as u32, key);
        }
        assert_eq!(index.get(1, Name::of("a"), key), Some(2));
        assert_eq!(index.get(0, Name::of("a"), key), Some(0));
        assert_eq!(index.remove(0, Name::of("a"), key), Some(0));
        assert_eq!(index.get(0, Name::of("a"), key), None);
        assert_eq!(index.get(0, Name::of("b"), key), Some(1));
    }
}
