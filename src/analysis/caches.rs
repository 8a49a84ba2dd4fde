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
        kind: "yum-cache",
        fix: "run `yum clean all` in the same RUN that installs",
        matches: |p| under(p, "var/cache/yum").then(|| "/var/cache/yum".to_string()),
    },
    Rule {
        kind: "dnf-cache",
        fix: "run `dnf clean all` in the same RUN that installs (or `--setopt=keepcache=0`)",
        matches: |p| under(p, "var/cache/dnf").then(|| "/var/cache/dnf".to_string()),
    },
    Rule {
        kind: "pacman-cache",
        fix: "run `pacman -Scc --noconfirm` in the same RUN that installs",
        matches: |p| under(p, "var/cache/pacman").then(|| "/var/cache/pacman".to_string()),
    },
    Rule {
        kind: "zypper-cache",
        fix: "run `zypper clean --all` in the same RUN that installs",
        matches: |p| under(p, "var/cache/zypp").then(|| "/var/cache/zypp".to_string()),
    },
    Rule {
        kind: "conda-cache",
        fix: "run `conda clean --all --yes` in the same RUN that installs",
        matches: |p| under(p, "opt/conda/pkgs").then(|| "/opt/conda/pkgs".to_string()),
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
        kind: "yarn-cache",
        fix: "run `yarn cache clean` in the same RUN (unless the app runs with Plug'n'Play, where .yarn/cache holds the dependencies)",
        matches: |p| component_root(p, ".yarn/cache"),
    },
    Rule {
        kind: "cargo-cache",
        fix: "build in a separate stage and copy only the binary, or use a --mount=type=cache for ~/.cargo/registry",
        matches: |p| {
            [".cargo/registry", ".cargo/git", "cargo/registry", "cargo/git"]
                .iter()
                .find_map(|m| component_root(p, m))
        },
    },
    Rule {
        kind: "go-mod-cache",
        fix: "build in a separate stage, or use a --mount=type=cache for /go/pkg/mod",
        matches: |p| component_root(p, "pkg/mod/cache"),
    },
    Rule {
        kind: "composer-cache",
        fix: "use `composer install --no-cache` or `composer clear-cache` in the same RUN",
        matches: |p| component_root(p, ".composer/cache").or_else(|| component_root(p, ".cache/composer")),
    },
    Rule {
        kind: "gem-cache",
        fix: "use `gem install --no-document` and `rm -rf \"$(gem env gemdir)\"/cache` (or `bundle install` then `rm -rf /usr/local/bundle/cache`) in the same RUN",
        matches: gem_cache,
    },
    Rule {
        kind: "maven-cache",
        fix: "build in a separate stage and copy only the jar, or use a --mount=type=cache for ~/.m2",
        matches: |p| component_root(p, ".m2/repository"),
    },
    Rule {
        kind: "gradle-cache",
        fix: "build in a separate stage and copy only the jar, or use a --mount=type=cache for ~/.gradle",
        matches: |p| component_root(p, ".gradle"),
    },
    Rule {
        kind: "tool-cache",
        fix: "add the cache directory to .dockerignore, or delete it in the RUN that builds",
        matches: |p| {
            TOOL_CACHES
                .iter()
                .find_map(|m| component_root(p, m))
                .or_else(|| p.rsplit('/').next().filter(|f| *f == ".eslintcache").map(|_| format!("/{p}")))
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
    RULES.iter().any(|r| (r.matches)(path).is_some())
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
