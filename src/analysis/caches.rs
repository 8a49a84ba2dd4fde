//! Caches and junk that ship in layers for no reason: package-manager caches and indexes, Python
//! bytecode caches, VCS metadata and temp files. Each is reported per layer with its bytes.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::layer::walk::{Entry, EntryKind};

/// One kind of cache found in a layer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CacheFinding {
    /// Stable identifier (`apt-lists`, `pip-cache`, ...).
    pub kind: &'static str,
    /// The rooted path, or a pattern when the cache is scattered (`**/__pycache__`).
    pub path: String,
    /// Bytes of regular files.
    pub bytes: u64,
    /// Regular files.
    pub files: u64,
    /// How to keep it out of the image.
    pub fix: &'static str,
    /// Indices of its files in the layer's entries.
    #[serde(skip)]
    pub members: Vec<usize>,
}

struct Rule {
    kind: &'static str,
    fix: &'static str,
    /// Returns the path to report if `path` belongs to this cache.
    matches: fn(&str) -> Option<String>,
}

fn under(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// The directory ending with `marker` (a `/`-separated component sequence) inside `path`.
fn component_root(path: &str, marker: &str) -> Option<String> {
    let needle = format!("/{marker}/");
    let padded = format!("/{path}");
    padded
        .find(&needle)
        .map(|i| padded[..i + needle.len() - 1].to_string())
}

const RULES: &[Rule] = &[
    Rule {
        kind: "apt-lists",
        fix: "end the RUN that calls apt-get with `&& rm -rf /var/lib/apt/lists/*`",
        matches: |p| {
            (under(p, "var/lib/apt/lists") && !p.ends_with("/lock"))
                .then(|| "/var/lib/apt/lists".to_string())
        },
    },
    Rule {
        kind: "apt-cache",
        fix: "run `apt-get clean` in the same RUN, or use a --mount=type=cache for /var/cache/apt",
        matches: |p| under(p, "var/cache/apt").then(|| "/var/cache/apt".to_string()),
    },
    Rule {
        kind: "apk-cache",
        fix: "use `apk add --no-cache`",
        matches: |p| under(p, "var/cache/apk").then(|| "/var/cache/apk".to_string()),
    },
    Rule {
        kind: "pip-cache",
        fix: "use `pip install --no-cache-dir` (or a --mount=type=cache for ~/.cache/pip)",
        matches: |p| component_root(p, ".cache/pip"),
    },
    Rule {
        kind: "uv-cache",
        fix: "set UV_NO_CACHE=1 or use a --mount=type=cache for ~/.cache/uv",
        matches: |p| component_root(p, ".cache/uv"),
    },
    Rule {
        kind: "npm-cache",
        fix: "run `npm cache clean --force` in the same RUN, or use a --mount=type=cache for ~/.npm",
        matches: |p| component_root(p, ".npm"),
    },
    Rule {
        kind: "yarn-cache",
        fix: "run `yarn cache clean` in the same RUN, or use a --mount=type=cache",
        matches: |p| component_root(p, ".cache/yarn"),
    },
    Rule {
        kind: "cargo-cache",
        fix: "build in a separate stage and copy only the binary, or use a --mount=type=cache for ~/.cargo/registry",
        matches: |p| {
            component_root(p, ".cargo/registry/cache").or_else(|| component_root(p, ".cargo/git/db"))
        },
    },
    Rule {
        kind: "go-build-cache",
        fix: "build in a separate stage, or use a --mount=type=cache for ~/.cache/go-build",
        matches: |p| component_root(p, ".cache/go-build"),
    },
    Rule {
        kind: "pycache",
        fix: "set PYTHONDONTWRITEBYTECODE=1 while installing, or add __pycache__ to .dockerignore",
        matches: |p| component_root(p, "__pycache__").map(|_| "**/__pycache__".to_string()),
    },
    Rule {
        kind: "git",
        fix: "add .git to .dockerignore",
        matches: |p| component_root(p, ".git"),
    },
    Rule {
        kind: "tmp",
        fix: "delete temporary files in the same RUN that creates them",
        matches: |p| {
            if under(p, "tmp") {
                Some("/tmp".into())
            } else if under(p, "var/tmp") {
                Some("/var/tmp".into())
            } else {
                None
            }
        },
    },
];

/// The rule id of every cache kind (`apt-lists`, `pip-cache`, ...).
pub fn rule_ids() -> impl Iterator<Item = &'static str> {
    RULES.iter().map(|r| r.kind)
}

/// Finds the caches in one layer's entries, largest first.
pub fn find_caches(entries: &[Entry]) -> Vec<CacheFinding> {
    let mut found: BTreeMap<(usize, String), (u64, Vec<usize>)> = BTreeMap::new();
    for (index, e) in entries.iter().enumerate() {
        if e.kind != EntryKind::File {
            continue;
        }
        if let Some((rule, path)) = RULES
            .iter()
            .enumerate()
            .find_map(|(i, r)| (r.matches)(&e.path).map(|p| (i, p)))
        {
            let slot = found.entry((rule, path)).or_default();
            slot.0 += e.size;
            slot.1.push(index);
        }
    }
    let mut out: Vec<CacheFinding> = found
        .into_iter()
        .map(|((rule, path), (bytes, members))| CacheFinding {
            kind: RULES[rule].kind,
            path,
            bytes,
            files: members.len() as u64,
            fix: RULES[rule].fix,
            members,
        })
        .collect();
    out.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(path: &str, size: u64) -> Entry {
        Entry::test_file(path, size)
    }

    #[test]
    fn finds_each_cache_once_with_bytes() {
        let found = find_caches(&[
            f(
                "var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease",
                100,
            ),
            f("var/lib/apt/lists/lock", 0),
            f("root/.cache/pip/http/ab/cd", 50),
            f("app/pkg/__pycache__/a.cpython-311.pyc", 5),
            f("app/other/__pycache__/b.cpython-311.pyc", 6),
            f("app/.git/objects/pack/p.pack", 70),
            f("app/main.py", 1),
        ]);
        let summary: Vec<_> = found
            .iter()
            .map(|c| (c.kind, c.path.as_str(), c.bytes, c.files))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("apt-lists", "/var/lib/apt/lists", 100, 1),
                ("git", "/app/.git", 70, 1),
                ("pip-cache", "/root/.cache/pip", 50, 1),
                ("pycache", "**/__pycache__", 11, 2),
            ]
        );
    }
}
