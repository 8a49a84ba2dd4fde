//! Caches and junk that ship in layers for no reason: package-manager caches and indexes, Python
//! bytecode caches, VCS metadata and temp files. Each is reported per layer with its bytes.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::analysis::rules::{self, Rule};
use crate::layer::walk::{Entry, EntryKind};

/// One kind of cache found in a layer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CacheFinding {
    /// The rule (`apt-lists`, `pip-cache`, ...).
    pub rule: &'static Rule,
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

/// Where one cache rule looks.
struct Matcher {
    rule: &'static Rule,
    /// A fix more precise than the rule's, for this place.
    fix: Option<&'static str>,
    /// Returns the path to report if `path` belongs to this cache.
    matches: fn(&str) -> Option<String>,
}

/// Whether `path` lies strictly below `dir` (both without the leading slash).
pub(crate) fn under(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// The directory ending with `marker` (a `/`-separated component sequence) inside `path`, rooted
/// (`/app/.git`); allocates only on a match, since every file of every layer is tested.
pub(crate) fn component_root(path: &str, marker: &str) -> Option<String> {
    // One plain pass, the first byte tested before anything else: it runs for every file and
    // marker, and most components are rejected on their first byte.
    let (p, m) = (path.as_bytes(), marker.as_bytes());
    let first = *m.first()?;
    let end = (0..p.len().saturating_sub(m.len()))
        .filter(|&i| p[i] == first && (i == 0 || p[i - 1] == b'/'))
        .map(|i| i + m.len())
        .find(|&end| p[end] == b'/' && &p[end - m.len()..end] == m)?;
    Some(format!("/{}", &path[..end]))
}

const MATCHERS: &[Matcher] = &[
    Matcher {
        rule: &rules::APT_LISTS,
        fix: None,
        matches: |p| {
            (under(p, "var/lib/apt/lists") && !p.ends_with("/lock"))
                .then(|| "/var/lib/apt/lists".to_string())
        },
    },
    Matcher {
        rule: &rules::APT_CACHE,
        fix: None,
        matches: |p| under(p, "var/cache/apt").then(|| "/var/cache/apt".to_string()),
    },
    Matcher {
        rule: &rules::APK_CACHE,
        fix: None,
        matches: |p| under(p, "var/cache/apk").then(|| "/var/cache/apk".to_string()),
    },
    Matcher {
        rule: &rules::YUM_CACHE,
        fix: None,
        matches: |p| under(p, "var/cache/yum").then(|| "/var/cache/yum".to_string()),
    },
    Matcher {
        rule: &rules::DNF_CACHE,
        fix: None,
        matches: |p| under(p, "var/cache/dnf").then(|| "/var/cache/dnf".to_string()),
    },
    Matcher {
        rule: &rules::PACMAN_CACHE,
        fix: None,
        matches: |p| under(p, "var/cache/pacman").then(|| "/var/cache/pacman".to_string()),
    },
    Matcher {
        rule: &rules::ZYPPER_CACHE,
        fix: None,
        matches: |p| under(p, "var/cache/zypp").then(|| "/var/cache/zypp".to_string()),
    },
    Matcher {
        rule: &rules::CONDA_CACHE,
        fix: None,
        matches: |p| under(p, "opt/conda/pkgs").then(|| "/opt/conda/pkgs".to_string()),
    },
    Matcher {
        rule: &rules::PIP_CACHE,
        fix: None,
        matches: |p| component_root(p, ".cache/pip"),
    },
    Matcher {
        rule: &rules::UV_CACHE,
        fix: None,
        matches: |p| component_root(p, ".cache/uv"),
    },
    Matcher {
        rule: &rules::NPM_CACHE,
        fix: None,
        matches: |p| component_root(p, ".npm"),
    },
    Matcher {
        rule: &rules::YARN_CACHE,
        fix: None,
        matches: |p| component_root(p, ".cache/yarn"),
    },
    Matcher {
        rule: &rules::YARN_CACHE,
        fix: Some("run `yarn cache clean` in the same RUN (unless the app runs with Plug'n'Play, where .yarn/cache holds the dependencies)"),
        matches: |p| component_root(p, ".yarn/cache"),
    },
    Matcher {
        rule: &rules::CARGO_CACHE,
        fix: None,
        matches: |p| {
            [".cargo/registry", ".cargo/git", "cargo/registry", "cargo/git"]
                .iter()
                .find_map(|m| component_root(p, m))
        },
    },
    Matcher {
        rule: &rules::GO_MOD_CACHE,
        fix: None,
        matches: |p| component_root(p, "pkg/mod/cache"),
    },
    Matcher {
        rule: &rules::COMPOSER_CACHE,
        fix: None,
        matches: |p| component_root(p, ".composer/cache").or_else(|| component_root(p, ".cache/composer")),
    },
    Matcher {
        rule: &rules::GEM_CACHE,
        fix: None,
        matches: gem_cache,
    },
    Matcher {
        rule: &rules::MAVEN_CACHE,
        fix: None,
        matches: |p| component_root(p, ".m2/repository"),
    },
    Matcher {
        rule: &rules::GRADLE_CACHE,
        fix: None,
        matches: |p| component_root(p, ".gradle"),
    },
    Matcher {
        rule: &rules::TOOL_CACHE,
        fix: None,
        matches: |p| {
            TOOL_CACHES
                .iter()
                .find_map(|m| component_root(p, m))
                .or_else(|| p.rsplit('/').next().filter(|f| *f == ".eslintcache").map(|_| format!("/{p}")))
        },
    },
    Matcher {
        rule: &rules::GO_BUILD_CACHE,
        fix: None,
        matches: |p| component_root(p, ".cache/go-build"),
    },
    Matcher {
        rule: &rules::PYCACHE,
        fix: None,
        matches: |p| component_root(p, "__pycache__").map(|_| "**/__pycache__".to_string()),
    },
    Matcher {
        rule: &rules::GIT,
        fix: None,
        matches: |p| component_root(p, ".git"),
    },
    Matcher {
        rule: &rules::TMP,
        fix: None,
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

/// Every rule a cache finding can carry.
pub fn rules() -> impl Iterator<Item = &'static Rule> {
    MATCHERS.iter().map(|m| m.rule)
}

/// Caches of build and test tools (bundlers, test runners, type checkers, notebooks).
const TOOL_CACHES: &[&str] = &[
    "node_modules/.cache",
    ".next/cache",
    ".nuxt/cache",
    ".angular/cache",
    ".parcel-cache",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".tox",
    ".ipynb_checkpoints",
];

/// RubyGems' download cache: `gems/VERSION/cache`, `.gem/ruby/VERSION/cache`, `bundle/cache`.
fn gem_cache(path: &str) -> Option<String> {
    if !path.contains("cache/") {
        return None;
    }
    if let Some(root) = component_root(path, "bundle/cache") {
        return Some(root);
    }
    let parts: Vec<&str> = path.split('/').collect();
    let at = parts.iter().position(|c| *c == "gems" || *c == ".gem")?;
    let version = at + 1 + usize::from(parts.get(at + 1) == Some(&"ruby"));
    (parts.get(version + 1) == Some(&"cache") && parts.len() > version + 2)
        .then(|| format!("/{}", parts[..=version + 1].join("/")))
}

/// Whether a cache rule claims `path` (so other findings do not report its bytes twice).
pub(crate) fn is_cache(path: &str) -> bool {
    MATCHERS.iter().any(|m| (m.matches)(path).is_some())
}

/// Finds the caches in one layer's entries, largest first.
pub fn find_caches(entries: &[Entry]) -> Vec<CacheFinding> {
    let mut found: BTreeMap<(usize, String), (u64, Vec<usize>)> = BTreeMap::new();
    for (index, e) in entries.iter().enumerate() {
        if e.kind != EntryKind::File {
            continue;
        }
        if let Some((matcher, path)) = MATCHERS
            .iter()
            .enumerate()
            .find_map(|(i, m)| (m.matches)(&e.path).map(|p| (i, p)))
        {
            let slot = found.entry((matcher, path)).or_default();
            slot.0 += e.size;
            slot.1.push(index);
        }
    }
    let mut out: Vec<CacheFinding> = found
        .into_iter()
        .map(|((matcher, path), (bytes, members))| {
            let Matcher { rule, fix, .. } = MATCHERS[matcher];
            CacheFinding {
                rule,
                path,
                bytes,
                files: members.len() as u64,
                fix: fix.or(rule.fix).unwrap_or_default(),
                members,
            }
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
            .map(|c| (c.rule.id, c.path.as_str(), c.bytes, c.files))
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

    #[test]
    fn covers_every_cache_diving_knows_and_no_runtime_file() {
        let cached = [
            (
                "var/cache/yum/x86_64/7/base/packages/a.rpm",
                "/var/cache/yum",
            ),
            ("var/cache/dnf/fedora.solv", "/var/cache/dnf"),
            ("var/cache/pacman/pkg/a.pkg.tar.zst", "/var/cache/pacman"),
            ("var/cache/zypp/raw/x", "/var/cache/zypp"),
            ("opt/conda/pkgs/numpy.tar.bz2", "/opt/conda/pkgs"),
            ("home/u/.npm/_cacache/index", "/home/u/.npm"),
            ("app/.yarn/cache/lodash.zip", "/app/.yarn/cache"),
            ("go/pkg/mod/cache/download/x.zip", "/go/pkg/mod/cache"),
            (
                "usr/local/cargo/registry/cache/i/serde.crate",
                "/usr/local/cargo/registry",
            ),
            ("root/.cargo/git/db/x/pack", "/root/.cargo/git"),
            ("root/.composer/cache/files/a.zip", "/root/.composer/cache"),
            ("usr/local/bundle/cache/rack.gem", "/usr/local/bundle/cache"),
            (
                "usr/local/lib/ruby/gems/3.2.0/cache/rake.gem",
                "/usr/local/lib/ruby/gems/3.2.0/cache",
            ),
            (
                "root/.gem/ruby/3.2.0/cache/rake.gem",
                "/root/.gem/ruby/3.2.0/cache",
            ),
            ("root/.m2/repository/org/x.jar", "/root/.m2/repository"),
            ("root/.gradle/caches/x.bin", "/root/.gradle"),
            (
                "app/node_modules/.cache/babel/x.json",
                "/app/node_modules/.cache",
            ),
            ("app/.next/cache/webpack/x.pack", "/app/.next/cache"),
            ("app/.pytest_cache/v/cache/x", "/app/.pytest_cache"),
            ("app/.eslintcache", "/app/.eslintcache"),
        ];
        for (path, root) in cached {
            let found = find_caches(&[f(path, 3)]);
            assert_eq!(found.first().map(|c| c.path.as_str()), Some(root), "{path}");
            assert!(is_cache(path), "{path}");
        }
        for runtime in [
            "app/.next/server/page.js",
            "usr/local/lib/ruby/gems/3.2.0/gems/rake/lib/rake.rb",
            "usr/local/cargo/bin/cargo",
            "app/my.cache/pip/x",
            "usr/bin/yum",
        ] {
            assert!(!is_cache(runtime), "{runtime}");
        }
    }
}
