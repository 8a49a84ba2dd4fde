//! Python lockfiles read into one pinned dependency set, so a Python project's dependencies can be
//! fingerprinted (`strata fingerprint`) and installed in their own layer, whichever tool locked
//! them: uv (`uv.lock`), PEP 751 (`pylock.toml`), Poetry (`poetry.lock`) or pip
//! (`requirements*.txt`).
//!
//! Every format is reduced to the same [`LockedPackage`] rows with names, markers, extras and
//! hashes in canonical spelling, so formatting, ordering and comments never matter. The project's
//! own package is never part of the set: its version changes with every release while its
//! dependencies do not.

pub mod env;
pub mod fingerprint;
pub mod pep508;
pub mod poetry;
pub mod pylock;
pub mod requirements;
pub mod uv;

mod edges;
mod toml_doc;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The lockfile formats strata reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// uv's `uv.lock`.
    Uv,
    /// PEP 751's `pylock.toml` (or `pylock.<name>.toml`).
    Pylock,
    /// Poetry's `poetry.lock`.
    Poetry,
    /// pip's `requirements*.txt`, with its `-r`/`-c` includes.
    Requirements,
}

impl Format {
    /// The format a lockfile's name says it has; `None` for names strata does not know.
    pub fn of(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?;
        match name {
            "uv.lock" => Some(Format::Uv),
            "poetry.lock" => Some(Format::Poetry),
            _ if name.starts_with("pylock.") && name.ends_with(".toml") => Some(Format::Pylock),
            _ if name.ends_with(".txt") || name.ends_with(".in") => Some(Format::Requirements),
            _ => None,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Uv => "uv.lock",
            Format::Pylock => "pylock.toml",
            Format::Poetry => "poetry.lock",
            Format::Requirements => "requirements.txt",
        })
    }
}

/// One locked (or, in a requirements file, merely required) distribution.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LockedPackage {
    /// The PEP 503 normalized name (`my-pkg` for `My_Pkg`).
    pub name: String,
    /// The exact version when pinned; otherwise the normalized specifier (`>=2.0,<3`), possibly
    /// empty.
    pub version: String,
    /// Whether the version (or a direct source: URL, VCS commit, path) fixes what is installed.
    pub pinned: bool,
    /// The extras asked for, normalized and sorted.
    pub extras: Vec<String>,
    /// The environment marker under which it is installed, normalized; `None` means always.
    pub marker: Option<String>,
    /// The artifact hashes (`sha256:<hex>`), sorted.
    pub hashes: Vec<String>,
    /// Where it comes from when that is not PyPI: `index=<url>`, a URL, a VCS reference, a path
    /// (see [`index_source`]).
    pub source: Option<String>,
}

/// The dependency set of one lockfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedSet {
    /// Which format it was read from.
    pub format: Format,
    /// The lockfile (for requirements, the top file; includes are read relative to it).
    pub path: PathBuf,
    /// The packages to install, sorted by name (then version and the rest).
    pub packages: Vec<LockedPackage>,
    /// Requirements files only: the entries of `-c` constraint files, sorted. They install
    /// nothing by themselves but pin what the requirements pull in.
    pub constraints: Vec<LockedPackage>,
}

impl LockedSet {
    /// Builds a set, sorting and deduplicating its rows so the order of the file never matters.
    pub fn new(
        format: Format,
        path: PathBuf,
        mut packages: Vec<LockedPackage>,
        mut constraints: Vec<LockedPackage>,
    ) -> LockedSet {
        packages.sort();
        packages.dedup();
        constraints.sort();
        constraints.dedup();
        LockedSet {
            format,
            path,
            packages,
            constraints,
        }
    }

    /// The distinct package names, sorted: what a build preset installs or checks for.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.packages.iter().map(|p| p.name.as_str()).collect();
        names.dedup();
        names
    }

    /// Packages whose version the set does not fix (neither by their own line nor by a pinned
    /// constraint): installing them later may give another version than today.
    pub fn unpinned(&self) -> Vec<&LockedPackage> {
        self.packages
            .iter()
            .filter(|p| {
                !p.pinned
                    && !self
                        .constraints
                        .iter()
                        .any(|c| c.pinned && c.name == p.name)
            })
            .collect()
    }
}

/// The Python lockfile of a project directory, if it has one.
///
/// The rule, first match wins: `uv.lock`, `pylock.toml`, `poetry.lock`, `requirements.txt`,
/// then a single other `requirements*.txt` (say `requirements-prod.txt`). Several candidates of
/// that last kind are ambiguous and a usage error naming them: pass the one meant explicitly.
/// Named PEP 751 files (`pylock.<name>.toml`) are never guessed either.
pub fn find_lockfile(dir: &Path) -> Result<Option<PathBuf>> {
    for name in ["uv.lock", "pylock.toml", "poetry.lock", "requirements.txt"] {
        let path = dir.join(name);
        if path.is_file() {
            return Ok(Some(path));
        }
    }
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir.display(), e))?;
    let mut found: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir.display(), e))?.path();
        let is_requirements = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("requirements") && n.ends_with(".txt"));
        if is_requirements && path.is_file() {
            found.push(path);
        }
    }
    found.sort();
    match found.len() {
        0 | 1 => Ok(found.pop()),
        _ => Err(Error::usage(format!(
            "several requirements files in {}: {}; pass the one to use with --lockfile",
            dir.display(),
            found
                .iter()
                .filter_map(|p| p.file_name()?.to_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Reads a lockfile of any supported format (told by its file name, see [`Format::of`]).
pub fn read_lockfile(path: &Path) -> Result<LockedSet> {
    let format = Format::of(path).ok_or_else(|| {
        Error::usage(format!(
            "{}: not a Python lockfile strata knows (uv.lock, pylock.toml, poetry.lock, \
             requirements*.txt)",
            path.display()
        ))
    })?;
    let read = || std::fs::read_to_string(path).map_err(|e| Error::io(path.display(), e));
    let dir = path.parent().unwrap_or(Path::new("."));
    let packages = match format {
        Format::Requirements => return requirements::read(path),
        Format::Uv => uv::parse(path, &read()?, project_name(dir)?.as_deref())?,
        Format::Pylock => pylock::parse(path, &read()?, project_name(dir)?.as_deref())?,
        Format::Poetry => poetry::parse(path, &read()?)?,
    };
    Ok(LockedSet::new(
        format,
        path.to_path_buf(),
        packages,
        Vec::new(),
    ))
}

/// PyPI's simple index, which installers use when a lockfile names no other.
const DEFAULT_INDEX: &str = "https://pypi.org/simple";

/// The source text of a package index: `None` for PyPI (so a lockfile that names it and one
/// that leaves it implicit agree), `index=<url>` for any other.
pub fn index_source(url: &str) -> Option<String> {
    let url = url.trim().trim_end_matches('/');
    (url != DEFAULT_INDEX).then(|| format!("index={url}"))
}

/// The normalized `[project].name` (or Poetry's `[tool.poetry].name`) of `dir/pyproject.toml`,
/// used to recognize the project's own entry in a lockfile.
pub fn project_name(dir: &Path) -> Result<Option<String>> {
    let path = dir.join("pyproject.toml");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path.display(), e)),
    };
    Ok(named_project(&toml_doc::parse(&path, &text)?))
}

/// The normalized project name a parsed `pyproject.toml` declares: `[project].name`, else
/// Poetry's `[tool.poetry].name` (also how `report` tells the image's own package from its
/// dependencies).
pub fn named_project(pyproject: &toml::Table) -> Option<String> {
    pyproject
        .get("project")
        .and_then(|p| p.get("name"))
        .or_else(|| pyproject.get("tool")?.get("poetry")?.get("name"))
        .and_then(|n| n.as_str())
        .map(pep508::normalize_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str, pinned: bool) -> LockedPackage {
        LockedPackage {
            name: name.into(),
            version: if pinned { "1.0".into() } else { ">=1".into() },
            pinned,
            extras: vec![],
            marker: None,
            hashes: vec![],
            source: None,
        }
    }

    #[test]
    fn find_lockfile_follows_the_documented_priority() {
        let dir = tempfile::tempdir().unwrap();
        let touch = |name: &str| std::fs::write(dir.path().join(name), "").unwrap();
        assert_eq!(find_lockfile(dir.path()).unwrap(), None);
        touch("requirements-prod.txt");
        assert!(find_lockfile(dir.path())
            .unwrap()
            .unwrap()
            .ends_with("requirements-prod.txt"));
        touch("requirements-dev.txt");
        let err = find_lockfile(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("requirements-dev.txt, requirements-prod.txt"),
            "{err}"
        );
        for (name, expected) in [
            ("requirements.txt", "requirements.txt"),
            ("poetry.lock", "poetry.lock"),
            ("pylock.toml", "pylock.toml"),
            ("uv.lock", "uv.lock"),
        ] {
            touch(name);
            let found = find_lockfile(dir.path()).unwrap().unwrap();
            assert!(found.ends_with(expected), "{found:?}");
        }
    }

    #[test]
    fn unknown_file_names_are_a_usage_error() {
        let err = read_lockfile(Path::new("Pipfile.lock")).unwrap_err();
        assert!(matches!(err, Error::Usage(_)), "{err}");
    }

    #[test]
    fn constraints_pin_unpinned_requirements_and_names_are_distinct() {
        let set = LockedSet::new(
            Format::Requirements,
            PathBuf::from("requirements.txt"),
            vec![package("b", false), package("a", false), package("a", true)],
            vec![package("b", true)],
        );
        assert_eq!(set.names(), ["a", "b"]);
        let unpinned: Vec<&str> = set.unpinned().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(unpinned, ["a"]);
    }

    #[test]
    fn pypi_is_the_implicit_index() {
        assert_eq!(index_source("https://pypi.org/simple/"), None);
        assert_eq!(
            index_source("https://pypi.internal/simple/").as_deref(),
            Some("index=https://pypi.internal/simple")
        );
    }

    #[test]
    fn project_name_reads_pep621_and_poetry_tables() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(project_name(dir.path()).unwrap(), None);
        let pyproject = dir.path().join("pyproject.toml");
        std::fs::write(&pyproject, "[project]\nname = \"My_App\"\n").unwrap();
        assert_eq!(project_name(dir.path()).unwrap().as_deref(), Some("my-app"));
        std::fs::write(&pyproject, "[tool.poetry]\nname = \"Svc.Core\"\n").unwrap();
        assert_eq!(
            project_name(dir.path()).unwrap().as_deref(),
            Some("svc-core")
        );
    }
}
