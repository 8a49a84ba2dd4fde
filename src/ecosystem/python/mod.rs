//! Python: a project with `pyproject.toml` or a lockfile. strata packages its virtualenv
//! ([`preset`]), fingerprints its lockfile (the parsing lives in [`crate::python`]), writes its
//! Dockerfiles ([`dockerfile`]), and recognizes `site-packages` trees in any image.

pub mod bytecode;
pub mod dockerfile;
pub mod from_lock;
pub mod installer;
pub mod lock_layers;
pub mod preset;
pub mod sdist_build;
pub mod site_packages;
pub mod target;
pub mod uv_wheel;

use std::path::Path;

use crate::analysis::rules::dependency_rule;
use crate::ecosystem::{Ecosystem, Fingerprint, Identity, PresetSpec, ProjectSupport, Tree};
use crate::error::{Error, Result};
use crate::generate::{Dockerfiles, Options, Project};
use crate::python::env::{abi_tag, python_version_file, PythonEnv};
use crate::python::fingerprint::python_fingerprint;
use crate::python::pep508::normalize_name;
use crate::python::{find_lockfile, named_project, read_lockfile};
use crate::source::platform::Platform;
pub use preset::PythonPreset;

/// Its registry name, the `kind` of its `[preset]` table.
pub const NAME: &str = "python";

/// pip / uv / poetry projects and environments.
pub struct Python;

impl Ecosystem for Python {
    fn identity(&self) -> &'static Identity {
        const IDENTITY: Identity = Identity {
            name: NAME,
            title: "Python",
            lockfiles: "uv.lock / poetry.lock / requirements.txt",
            rule: dependency_rule(NAME, "Python dependencies in an app layer"),
        };
        &IDENTITY
    }

    /// `site-packages` (or Debian's `dist-packages`); the root is the virtualenv holding it when
    /// there is one (`.venv`, `venv`), the package its distribution.
    fn dependency_tree(&self, parts: &[&str], i: usize) -> Option<Tree> {
        if !matches!(parts[i], "site-packages" | "dist-packages") {
            return None;
        }
        let venv = parts[..i]
            .iter()
            .rposition(|p| *p == ".venv" || *p == "venv");
        Some(Tree {
            root: venv.unwrap_or(i),
            package: Some(distribution(parts[i + 1])),
        })
    }

    /// The name a `pyproject.toml` declares, normalized like the distributions of a tree.
    fn project_name(&self, path: &str, head: &[u8]) -> Option<String> {
        if path.rsplit('/').next() != Some("pyproject.toml") {
            return None;
        }
        named_project(&toml::from_str(std::str::from_utf8(head).ok()?).ok()?)
    }

    fn project(&self) -> Option<&dyn ProjectSupport> {
        Some(self)
    }
}

impl ProjectSupport for Python {
    fn markers(&self) -> &'static [&'static str] {
        &[
            "pyproject.toml",
            "uv.lock",
            "poetry.lock",
            "pylock.toml",
            "requirements.txt",
            "setup.py",
        ]
    }

    fn preset(&self) -> PresetSpec {
        PresetSpec::Python(PythonPreset::default())
    }

    fn fingerprint(&self, root: &Path) -> Result<Fingerprint> {
        let lockfile = find_lockfile(root)?.ok_or_else(|| {
            Error::usage(format!(
                "{}: no uv.lock, pylock.toml, poetry.lock or requirements*.txt to fingerprint",
                root.display()
            ))
        })?;
        fingerprint(&lockfile, None, None)
    }

    fn read_project(&self, root: &Path) -> Result<Project> {
        dockerfile::read_project(root)
    }

    fn dockerfiles(&self, project: &Project, options: &Options) -> Result<Dockerfiles> {
        dockerfile::dockerfiles(project, options)
    }
}

/// The fingerprint of `lockfile`'s dependency set for the interpreter `python` (3.12, cp312;
/// default: the lockfile directory's `.python-version`, else none) on `platform` (os/arch;
/// default: linux on this machine's architecture).
pub fn fingerprint(
    lockfile: &Path,
    python: Option<&str>,
    platform: Option<&str>,
) -> Result<Fingerprint> {
    let set = read_lockfile(lockfile)?;
    let dir = lockfile.parent().unwrap_or(Path::new("."));
    let abi = match python {
        Some(version) => Some(abi_tag(version)?),
        None => python_version_file(dir)?,
    };
    let mut notes = Vec::new();
    if abi.is_none() {
        notes.push(
            "note: no --python and no .python-version; the fingerprint does not cover the \
             interpreter"
                .to_string(),
        );
    }
    let unpinned = set.unpinned();
    if !unpinned.is_empty() {
        let names: Vec<&str> = unpinned.iter().map(|p| p.name.as_str()).collect();
        notes.push(format!(
            "warning: {} not pinned ({}); the fingerprint covers the specifiers, not the \
             versions that will be installed",
            set.path.display(),
            names.join(", ")
        ));
    }
    let platform = match platform {
        Some(p) => Platform::parse(p)?,
        None => Platform::host(),
    };
    let env = PythonEnv {
        abi,
        platform: platform.to_string(),
    };
    Ok(Fingerprint {
        hash: python_fingerprint(&set, &env),
        notes,
    })
}

/// `numpy-1.26.4.dist-info` → `numpy`, `numpy.libs` → `numpy`, `Foo_Bar` → `foo-bar`, `six.py` → `six`,
/// `__editable__.hello-0.1.0.pth` → `hello`, normalized as PEP 503 names are (the project's own
/// name compares equal).
fn distribution(name: &str) -> String {
    let base = editable(name)
        .or_else(|| name.strip_suffix(".dist-info"))
        .or_else(|| name.strip_suffix(".egg-info"))
        .or_else(|| name.strip_suffix(".data"))
        .map(|n| n.split('-').next().unwrap_or(n))
        .or_else(|| name.strip_suffix(".libs"))
        .or_else(|| name.strip_suffix(".py"))
        .or_else(|| name.split_once(".cpython-").map(|(n, _)| n))
        .unwrap_or(name);
    normalize_name(base)
}

/// The distribution an editable install's path file or finder is for (setuptools writes
/// `__editable__.foo_bar-1.0.pth` and `__editable___foo_bar_1_0_finder.py`): `foo_bar-1.0`, whose
/// name the version suffix is cut from, or `foo_bar`.
fn editable(name: &str) -> Option<&str> {
    if let Some(rest) = name.strip_prefix("__editable___") {
        let rest = rest.strip_suffix("_finder.py").unwrap_or(rest);
        // The version follows the name after an underscore: cut at the first `_<digit>`.
        let cut = rest
            .as_bytes()
            .windows(2)
            .position(|w| w[0] == b'_' && w[1].is_ascii_digit());
        return Some(cut.map_or(rest, |at| &rest[..at]));
    }
    name.strip_prefix("__editable__.")
        .and_then(|rest| rest.strip_suffix(".pth"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editable_installs_name_their_distribution() {
        assert_eq!(
            distribution("__editable__.hello_app-0.1.0.pth"),
            "hello-app"
        );
        assert_eq!(
            distribution("__editable___hello_app_0_1_0_finder.py"),
            "hello-app"
        );
        assert_eq!(distribution("numpy-2.0.0.dist-info"), "numpy");
    }

    #[test]
    fn a_pyproject_names_the_project_as_its_tree_names_packages() {
        let toml = b"[build-system]\nrequires = []\n\n[project]\nname = \"Hello_App\"\n";
        assert_eq!(
            Python.project_name("app/pyproject.toml", toml).as_deref(),
            Some("hello-app")
        );
        assert_eq!(Python.project_name("app/setup.cfg", toml), None);
        assert_eq!(Python.project_name("app/pyproject.toml", b"[project"), None);
    }
}
