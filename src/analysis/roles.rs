//! Layer roles, the one model every command labels layers with (`report`, `check`, `diff`,
//! `history`, in every format): **base** (one of the base image's layers), **dependencies** (the
//! dependency trees of one ecosystem and nothing that changes with the code) and **app** (the
//! rest: the layers a code change rebuilds).
//!
//! A layer is `base` when its diff_id is one of the base image's. It is `dependencies` when
//! `strata build` marked it so in its history ([`DEPENDENCY_LAYER_COMMENT`]), or when its content
//! says so: it has files of one ecosystem's dependency trees and every other regular file is part
//! of them too — below a tree root found in any layer of the image (a virtualenv's `bin/` and
//! `pyvenv.cfg` in a layer of their own), in the `bin/` beside the `lib/` holding a
//! `site-packages`, in a cache directory, or the metadata of the project's own editable install.
//! One file of code (the project's own package included) makes it `app`.

use std::collections::{BTreeSet, HashSet};

use serde::Serialize;

use crate::analysis::caches::is_cache;
use crate::analysis::dependencies::classify;
use crate::analysis::inspect::Inspected;
use crate::ecosystem::Ecosystem;
use crate::layer::digest::Digest;
use crate::layer::walk::{Entry, EntryKind};
use crate::model::History;
use crate::mutate::annotation::DEPENDENCY_LAYER_COMMENT;

/// What a layer is for: shared with the base image, one ecosystem's dependencies, or the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// One of the base image's layers.
    Base,
    /// Dependency trees of one ecosystem, no code: what a code-only rebuild leaves alone.
    Dependencies,
    /// Added by the application's build and carrying its code (or anything else).
    App,
}

impl Role {
    /// `base`, `dependencies` or `app`, as every table and the JSON print it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Base => "base",
            Role::Dependencies => "dependencies",
            Role::App => "app",
        }
    }

    /// How sentences name a layer of this role: `base layer`, `dependency layer`, `app layer`.
    pub fn layer_name(self) -> &'static str {
        match self {
            Role::Base => "base layer",
            Role::Dependencies => "dependency layer",
            Role::App => "app layer",
        }
    }
}

/// The packages that are the image's own project, by ecosystem (Python: the `[project] name` of
/// each `pyproject.toml` the image ships outside its dependency trees): code, not dependencies,
/// even when installed into a virtualenv.
#[derive(Debug, Clone, Default)]
pub struct OwnPackages(HashSet<(&'static str, String)>);

impl OwnPackages {
    /// The project names the inspectors read from the image's layers.
    pub fn from_inspected(inspected: &[&Inspected]) -> OwnPackages {
        OwnPackages(
            inspected
                .iter()
                .flat_map(|i| i.projects())
                .map(|(eco, name)| (eco.name(), name.to_string()))
                .collect(),
        )
    }

    /// These packages (for tests).
    #[cfg(test)]
    pub(crate) fn of(packages: &[(&dyn Ecosystem, &str)]) -> OwnPackages {
        OwnPackages(
            packages
                .iter()
                .map(|(eco, name)| (eco.name(), name.to_string()))
                .collect(),
        )
    }

    /// Whether `package` of `ecosystem` is the project itself.
    pub fn contains(&self, ecosystem: &dyn Ecosystem, package: &str) -> bool {
        self.0.contains(&(ecosystem.name(), package.to_string()))
    }

    /// Whether a file in `package` of `ecosystem` (as its tree names it) is the project's own.
    fn owns(&self, ecosystem: &dyn Ecosystem, package: Option<&str>) -> bool {
        package.is_some_and(|p| self.contains(ecosystem, p))
    }
}

/// What one layer shows of its role.
pub struct Evidence<'a> {
    /// Its uncompressed digest, matched against the base's.
    pub diff_id: &'a Digest,
    /// Its history entry (strata's marker is the comment).
    pub history: Option<&'a History>,
    /// Its entries, when the layer was read (without them only the base and the marker decide).
    pub entries: Option<&'a [Entry]>,
}

/// The role of every layer: base by `base` (the base image's diff_ids), then strata's marker,
/// then the content rule against the trees found in every layer read; a layer not read that
/// neither the base nor the marker decides is app.
pub fn assign(layers: &[Evidence], base: Option<&HashSet<Digest>>, own: &OwnPackages) -> Vec<Role> {
    assign_known(layers, base, own)
        .into_iter()
        .map(|role| role.unwrap_or(Role::App))
        .collect()
}

/// [`assign`], with `None` for a layer not read that neither the base nor the marker decides (a
/// registry layer `diff` does not download).
pub fn assign_known(
    layers: &[Evidence],
    base: Option<&HashSet<Digest>>,
    own: &OwnPackages,
) -> Vec<Option<Role>> {
    let is_base = |l: &Evidence| base.is_some_and(|b| b.contains(l.diff_id));
    let roots = TreeRoots::of(
        layers
            .iter()
            .filter(|l| !is_base(l))
            .filter_map(|l| l.entries),
    );
    layers
        .iter()
        .map(|l| {
            if is_base(l) {
                Some(Role::Base)
            } else if marked(l.history) {
                Some(Role::Dependencies)
            } else {
                l.entries.map(|entries| {
                    if holds_only_dependencies(entries, &roots, own) {
                        Role::Dependencies
                    } else {
                        Role::App
                    }
                })
            }
        })
        .collect()
}

/// Whether strata's build marked the layer as one of dependencies.
fn marked(history: Option<&History>) -> bool {
    history.and_then(|h| h.comment.as_deref()) == Some(DEPENDENCY_LAYER_COMMENT)
}

/// The dependency tree roots found in a set of layers, by ecosystem (`app/.venv`,
/// `usr/local/lib/python3.12/site-packages`, `srv/node_modules`).
struct TreeRoots(BTreeSet<(&'static str, String)>);

impl TreeRoots {
    fn of<'a>(layers: impl Iterator<Item = &'a [Entry]>) -> TreeRoots {
        TreeRoots(
            layers
                .flat_map(|entries| entries.iter().filter(|e| e.kind == EntryKind::File))
                .filter_map(|e| classify(&e.path))
                .map(|(eco, root, _)| (eco.name(), root))
                .collect(),
        )
    }

    /// The ecosystem whose tree (found in any layer) holds `path`.
    fn holding(&self, path: &str) -> Option<&'static str> {
        self.0
            .iter()
            .find(|(_, root)| below(path, root))
            .map(|(eco, _)| *eco)
    }

    /// Whether `path` sits beside a tree the way an install puts it there: in the `bin/` of the
    /// prefix whose `lib/` holds the tree (`usr/local/bin` for `usr/local/lib/python3.12/
    /// site-packages`, a virtualenv's `bin/` when its root is the site-packages), or its
    /// `pyvenv.cfg`.
    fn beside(&self, path: &str) -> bool {
        self.0.iter().any(|(_, root)| {
            let prefix = match root.find("/lib/") {
                Some(at) => &root[..at],
                None => return false,
            };
            below(path, &format!("{prefix}/bin")) || path == format!("{prefix}/pyvenv.cfg")
        })
    }
}

/// Whether `path` lies below the directory `dir` (both without a leading slash).
fn below(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// Whether a file of the project's own package is install metadata (an editable install's
/// `.pth` and finder, a `.dist-info` or `.egg-info`), not its code.
fn install_metadata(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.ends_with(".pth")
        || name.starts_with("__editable__")
        || path
            .split('/')
            .any(|c| c.ends_with(".dist-info") || c.ends_with(".egg-info"))
}

/// The content rule: the layer has files of one ecosystem's dependency trees and no code.
fn holds_only_dependencies(entries: &[Entry], roots: &TreeRoots, own: &OwnPackages) -> bool {
    let mut ecosystems = BTreeSet::new();
    for e in entries.iter().filter(|e| e.kind == EntryKind::File) {
        match classify(&e.path) {
            Some((eco, _, package)) if own.owns(eco, package.as_deref()) => {
                if !install_metadata(&e.path) {
                    return false;
                }
            }
            Some((eco, _, _)) => {
                ecosystems.insert(eco.name());
            }
            None => match roots.holding(&e.path) {
                Some(eco) => {
                    ecosystems.insert(eco);
                }
                None if roots.beside(&e.path) || is_cache(&e.path) => {}
                None => return false,
            },
        }
    }
    ecosystems.len() == 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecosystem::python::Python;

    fn files(paths: &[&str]) -> Vec<Entry> {
        paths.iter().map(|p| Entry::test_file(p, 10)).collect()
    }

    fn roles_of(layers: &[Vec<Entry>], own: &OwnPackages) -> Vec<Role> {
        let digest = Digest::sha256_of(b"layer");
        let evidence: Vec<Evidence> = layers
            .iter()
            .map(|entries| Evidence {
                diff_id: &digest,
                history: None,
                entries: Some(entries),
            })
            .collect();
        assign(&evidence, None, own)
    }

    const SP: &str = "app/.venv/lib/python3.12/site-packages";

    #[test]
    fn a_venv_alone_is_dependencies_and_with_code_is_app() {
        let venv = files(&[
            &format!("{SP}/six.py"),
            &format!("{SP}/six-1.17.0.dist-info/RECORD"),
            "app/.venv/bin/python3",
            "app/.venv/pyvenv.cfg",
        ]);
        let mut naive = venv.clone();
        naive.push(Entry::test_file("app/main.py", 10));
        let roles = roles_of(&[venv, naive], &OwnPackages::default());
        assert_eq!(roles, [Role::Dependencies, Role::App]);
    }

    #[test]
    fn a_venv_shell_counts_with_the_tree_another_layer_holds() {
        let shell = files(&["app/.venv/pyvenv.cfg", "app/.venv/bin/hello"]);
        let deps = files(&[&format!("{SP}/idna/core.py")]);
        let code = files(&["app/src/hello/cli.py", "app/pyproject.toml"]);
        let roles = roles_of(&[deps, shell.clone(), code], &OwnPackages::default());
        assert_eq!(roles, [Role::Dependencies, Role::Dependencies, Role::App]);
        // Alone, nothing says the shell is a venv's.
        assert_eq!(roles_of(&[shell], &OwnPackages::default()), [Role::App]);
    }

    #[test]
    fn system_installs_with_their_scripts_and_caches_are_dependencies() {
        let pip = files(&[
            "usr/local/lib/python3.12/site-packages/flask/app.py",
            "usr/local/bin/flask",
            "root/.cache/pip/http/ab/cd",
        ]);
        let node = files(&["srv/node_modules/lodash/lodash.js"]);
        let both = files(&["srv/node_modules/lodash/lodash.js", &format!("{SP}/six.py")]);
        let empty: Vec<Entry> = Vec::new();
        assert_eq!(
            roles_of(&[pip, node, both, empty], &OwnPackages::default()),
            [Role::Dependencies, Role::Dependencies, Role::App, Role::App]
        );
    }

    #[test]
    fn the_projects_own_package_is_code_and_its_editable_metadata_is_not() {
        let own = OwnPackages::of(&[(&Python, "hello")]);
        let editable = files(&[
            &format!("{SP}/six.py"),
            &format!("{SP}/hello-0.1.0.dist-info/RECORD"),
            &format!("{SP}/__editable__.hello-0.1.0.pth"),
        ]);
        let installed = files(&[&format!("{SP}/hello/__init__.py")]);
        assert_eq!(
            roles_of(&[editable, installed], &own),
            [Role::Dependencies, Role::App]
        );
    }

    #[test]
    fn the_base_and_strata_s_marker_decide_before_the_content() {
        let (a, b) = (Digest::sha256_of(b"a"), Digest::sha256_of(b"b"));
        let code = files(&["app/main.py"]);
        let marker = History {
            comment: Some(DEPENDENCY_LAYER_COMMENT.into()),
            ..History::default()
        };
        let evidence = [
            Evidence {
                diff_id: &a,
                history: None,
                entries: Some(&code),
            },
            Evidence {
                diff_id: &b,
                history: Some(&marker),
                entries: None,
            },
            Evidence {
                diff_id: &b,
                history: None,
                entries: None,
            },
        ];
        let base: HashSet<Digest> = [a.clone()].into_iter().collect();
        assert_eq!(
            assign(&evidence, Some(&base), &OwnPackages::default()),
            [Role::Base, Role::Dependencies, Role::App]
        );
        assert_eq!(
            assign_known(&evidence, Some(&base), &OwnPackages::default()),
            [Some(Role::Base), Some(Role::Dependencies), None]
        );
    }
}
