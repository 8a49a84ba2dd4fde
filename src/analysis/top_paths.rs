//! The few directories that hold most of a layer's bytes, at a depth a person would name:
//! second-level directories (`/usr/lib`, `/app/src`), followed further down while one child holds
//! nearly all of the bytes, but never past a dependency or cache root such as `.venv` or
//! `node_modules`, which is the answer users need to see.

use std::collections::HashMap;

use serde::Serialize;

use crate::layer::walk::{Entry, EntryKind};

/// A directory (or top-level file) and the content bytes below it in one layer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TopPath {
    /// The rooted path.
    pub path: String,
    /// Bytes of regular files below it.
    pub bytes: u64,
}

const MAX_DEPTH: usize = 8;
const DOMINANT_SHARE: f64 = 0.9;
const STOP_AT: &[&str] = &[
    ".venv",
    "venv",
    "site-packages",
    "dist-packages",
    "node_modules",
    "target",
    ".cargo",
    ".m2",
    ".git",
    "__pycache__",
    ".cache",
    ".npm",
];

/// The `n` largest directories of a layer, each at its sensible depth.
pub fn top_paths(entries: &[Entry], n: usize) -> Vec<TopPath> {
    // Bytes per path prefix (up to MAX_DEPTH components), then each prefix's children.
    let mut bytes: HashMap<&str, u64> = HashMap::new();
    for e in entries.iter().filter(|e| e.kind == EntryKind::File) {
        let mut end = 0;
        for _ in 0..MAX_DEPTH {
            let next = e.path[end..].find('/').map(|i| end + i);
            *bytes
                .entry(&e.path[..next.unwrap_or(e.path.len())])
                .or_insert(0) += e.size;
            match next {
                Some(i) => end = i + 1,
                None => break,
            }
        }
    }
    let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
    for &prefix in bytes.keys() {
        // The root (a file entry named `.` or `/` cleans to "") is nobody's child: listed under
        // itself, the descent below would loop forever.
        if prefix.is_empty() {
            continue;
        }
        let parent = prefix.rsplit_once('/').map_or("", |(p, _)| p);
        children.entry(parent).or_default().push(prefix);
    }
    let size = |p: &str| bytes.get(p).copied().unwrap_or(0);
    let kids = |p: &str| children.get(p).cloned().unwrap_or_default();
    // Start at depth two: the children of each top-level directory that has subdirectories; a
    // top-level file, or a directory of files only (`/bin`), stands for itself.
    let mut starts: Vec<&str> = Vec::new();
    for top in kids("") {
        let below = kids(top);
        if below.iter().any(|c| !kids(c).is_empty()) {
            starts.extend(below);
        } else {
            starts.push(top);
        }
    }
    let mut out: Vec<TopPath> = starts
        .into_iter()
        .map(|start| {
            let mut path = start;
            loop {
                let name = path.rsplit('/').next().unwrap_or(path);
                if STOP_AT.contains(&name) {
                    break;
                }
                let total = size(path);
                let dominant = kids(path)
                    .into_iter()
                    .max_by_key(|c| size(c))
                    .filter(|c| total > 0 && size(c) as f64 >= DOMINANT_SHARE * total as f64);
                match dominant {
                    Some(c) if !kids(c).is_empty() => path = c,
                    _ => break,
                }
            }
            TopPath {
                path: format!("/{path}"),
                bytes: size(path),
            }
        })
        .filter(|t| t.bytes > 0)
        .collect();
    out.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    out.dedup();
    out.truncate(n);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(path: &str, size: u64) -> Entry {
        Entry::test_file(path, size)
    }

    #[test]
    fn stops_at_the_venv_and_ranks_by_bytes() {
        let entries = vec![
            f("app/.venv/lib/python3.11/site-packages/numpy/core.so", 900),
            f("app/.venv/lib/python3.11/site-packages/pandas/x.py", 500),
            f("app/src/main.py", 10),
            f("README.md", 3),
        ];
        let top = top_paths(&entries, 5);
        assert_eq!(
            top,
            vec![
                TopPath {
                    path: "/app/.venv".into(),
                    bytes: 1400
                },
                TopPath {
                    path: "/app/src".into(),
                    bytes: 10
                },
                TopPath {
                    path: "/README.md".into(),
                    bytes: 3
                },
            ]
        );
    }

    #[test]
    fn a_directory_of_files_only_stands_for_itself() {
        let entries = vec![f("bin/busybox", 100), f("bin/sh", 1), f("etc/x/y", 5)];
        let paths: Vec<_> = top_paths(&entries, 5).into_iter().map(|t| t.path).collect();
        assert_eq!(paths, vec!["/bin", "/etc/x"]);
    }

    #[test]
    fn descends_through_a_dominant_child() {
        let entries = vec![
            f("usr/lib/x86_64-linux-gnu/libc.so.6", 1000),
            f("usr/lib/x86_64-linux-gnu/libm.so.6", 500),
            f("usr/lib/os-release", 1),
        ];
        assert_eq!(top_paths(&entries, 1)[0].path, "/usr/lib/x86_64-linux-gnu");
    }
}
