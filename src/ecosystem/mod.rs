//! Ecosystems: what strata knows of one language's projects and packages, one module each,
//! listed once in [`ECOSYSTEMS`]. Every command asks this registry: `report` which directories of
//! an image are an ecosystem's dependency trees ([`Ecosystem::dependency_tree`]); `build`, `init`,
//! `fingerprint`, `base` and `dockerfile` which ecosystem the project is ([`detect`]: the first in
//! registry order that claims it), and that ecosystem plans its layers, fingerprints its
//! dependencies and writes its Dockerfiles ([`ProjectSupport`], [`Preset`]).
//!
//! An ecosystem strata only recognizes in images (Node, Java, Go) is a module implementing
//! [`Ecosystem`]; one strata also builds is a folder that implements [`ProjectSupport`] too and
//! has a `[preset]` settings type implementing [`Preset`]. Either way it is its `mod` line and one
//! line of the `registry!` below.

use std::fmt;
use std::path::Path;

use serde::Deserialize;

use crate::analysis::rules::Rule;
use crate::assemble::plan::ImageSpec;
use crate::error::Result;
use crate::generate::{Dockerfiles, Options, Project};
use crate::preset::{BaseInfo, Planned};
use crate::source::{OpenedImage, SourceOptions};

/// What strata knows of an ecosystem in any image, whatever built it.
pub trait Ecosystem: Sync {
    /// Its names and lockfiles.
    fn identity(&self) -> &'static Identity;
    /// Whether component `i` of a path's components (`parts`, the path split at `/`) starts one
    /// of its dependency trees (`site-packages`, `node_modules`), and where that tree's root ends.
    fn dependency_tree(&self, parts: &[&str], i: usize) -> Option<Tree>;
    /// The package under which the project whose manifest is the file at `path` (its first bytes
    /// `head`) installs itself into its own dependency trees (Python: the `[project] name` of a
    /// `pyproject.toml`), named as [`Tree::package`] names it: that package is the image's code,
    /// not a dependency.
    fn project_name(&self, _path: &str, _head: &[u8]) -> Option<String> {
        None
    }
    /// What strata does with a project of it; `None` when it only recognizes it in images.
    fn project(&self) -> Option<&dyn ProjectSupport> {
        None
    }
    /// Its name: `[preset] kind`, `--preset`, `--lang`, and the `ecosystem` and rule id of
    /// `report`'s dependency findings (`python`).
    fn name(&self) -> &'static str {
        self.identity().name
    }
    /// Its name in sentences (`Python`).
    fn title(&self) -> &'static str {
        self.identity().title
    }
    /// The lockfiles that should key a dependency layer of it (`report`'s advice).
    fn lockfiles(&self) -> &'static str {
        self.identity().lockfiles
    }
    /// The finding rule of its dependency trees in an app layer (its id is [`Ecosystem::name`]),
    /// declared here so that a new ecosystem brings its rule with it.
    fn rule(&self) -> &'static Rule {
        &self.identity().rule
    }
}

/// How an ecosystem is named, and which lockfiles key its dependencies.
#[derive(Debug)]
pub struct Identity {
    /// See [`Ecosystem::name`].
    pub name: &'static str,
    /// See [`Ecosystem::title`].
    pub title: &'static str,
    /// See [`Ecosystem::lockfiles`].
    pub lockfiles: &'static str,
    /// See [`Ecosystem::rule`].
    pub rule: Rule,
}

/// A dependency tree found in a path: where its root ends and which package the path is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    /// The index of the root's last component in the path's components (`/app/.venv`: the
    /// `.venv` of `app/.venv/lib/python3.12/site-packages/numpy/...`).
    pub root: usize,
    /// The package the path belongs to, when the layout names one (`numpy`).
    pub package: Option<String>,
}

/// What strata does with a project of an ecosystem it builds: recognize it, start its preset,
/// fingerprint its dependencies, write its Dockerfiles.
pub trait ProjectSupport: Ecosystem {
    /// The files whose presence makes a directory a project of it (its manifests, lockfiles).
    fn markers(&self) -> &'static [&'static str];
    /// Whether the directory is a project of this ecosystem: one of its [`markers`] is there.
    ///
    /// [`markers`]: ProjectSupport::markers
    fn detect(&self, root: &Path) -> bool {
        self.markers().iter().any(|f| root.join(f).is_file())
    }
    /// The preset a detected project gets: its `[preset]` table with every setting unset.
    fn preset(&self) -> PresetSpec;
    /// `deps-<hash>` of the project's dependency set, with the defaults `strata fingerprint`
    /// takes when given no flags (and `strata base` always takes, so the two agree).
    fn fingerprint(&self, root: &Path) -> Result<Fingerprint>;
    /// The project as `strata dockerfile` sees it (name, command, lockfile).
    fn read_project(&self, root: &Path) -> Result<Project>;
    /// Its dependency and app Dockerfiles.
    fn dockerfiles(&self, project: &Project, options: &Options) -> Result<Dockerfiles>;
    /// Whether its Dockerfiles compile in a builder image (`--builder-base`, pinned like the
    /// runtime base).
    fn has_builder(&self) -> bool {
        false
    }
}

/// A dependency fingerprint and what the user should know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// `deps-<16 hex>`.
    pub hash: String,
    /// Notes and warnings for stderr (an unpinned requirement, no interpreter version).
    pub notes: Vec<String>,
}

/// The settings of one ecosystem's `[preset]` table, and what they plan.
pub trait Preset: fmt::Debug {
    /// The ecosystem they belong to.
    fn ecosystem(&self) -> &'static dyn ProjectSupport;
    /// Which files of the base planning looks at, by path (Python: the interpreters in `bin`
    /// directories); `None`: none, so the base's layers are not read.
    fn base_files(&self) -> Option<fn(&str) -> bool> {
        None
    }
    /// Whether `strata init` can show the layers it plans (planning only reads files; Rust's
    /// compiles).
    fn plans_at_init(&self) -> bool {
        false
    }
    /// Fills the settings `strata init` writes down as found (Python: the virtualenv).
    fn resolve_at_init(&mut self, _root: &Path) -> Result<()> {
        Ok(())
    }
    /// Its settings as `strata init` writes them below `kind`: set ones as keys, unset ones as
    /// commented examples.
    fn init_table(&self) -> String;
    /// Plans the project's layers at `root` and fills the image settings left unset, against
    /// `ctx` (the base, registries, where generated files go).
    fn plan(&self, root: &Path, image: &mut ImageSpec, ctx: &PlanContext) -> Result<Planned>;
}

/// What a preset plans against, besides the project.
pub struct PlanContext<'a> {
    /// The opened base (`None`: scratch).
    pub base: Option<&'a OpenedImage>,
    /// What was read of the base.
    pub info: &'a BaseInfo,
    /// How to reach registries (Rust's dependency build cache).
    pub opts: &'a SourceOptions,
    /// Where generated files go (inside the layer cache).
    pub staging: &'a Path,
}

/// Declares the registry: `module::Type` per ecosystem, in detection order, `with Settings` when
/// strata builds it (`Settings` is its `[preset]` table, the `PresetSpec` variant named `Type`,
/// whose `kind` is `Type` in lowercase: the ecosystem's name, which a test checks).
macro_rules! registry {
    ($($module:ident :: $ty:ident $(with $settings:ident)?),* $(,)?) => {
        /// Every ecosystem, in the one order projects are detected in and paths recognized.
        pub static ECOSYSTEMS: &[&dyn Ecosystem] = &[$(&$module::$ty),*];

        /// The `[preset]` table of `strata.toml`: `kind` names the ecosystem, the other keys are
        /// its settings. Absent, `strata build` detects the project; `strata init` writes the
        /// detected table for editing.
        #[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
        #[serde(tag = "kind", rename_all = "lowercase")]
        pub enum PresetSpec {
            $($(
                #[doc = concat!("`kind = \"", stringify!($module), "\"`.")]
                $ty($module::$settings),
            )?)*
        }

        impl PresetSpec {
            /// The settings and what they plan.
            pub fn preset(&self) -> &dyn Preset {
                match self {
                    $($(PresetSpec::$ty(settings) => settings as &$module::$settings,)?)*
                }
            }

            /// The settings, to change.
            pub fn preset_mut(&mut self) -> &mut dyn Preset {
                match self {
                    $($(PresetSpec::$ty(settings) => settings as &mut $module::$settings,)?)*
                }
            }
        }
    };
}

pub mod go;
pub mod java;
pub mod node;
pub mod python;
pub mod rust;

registry! {
    python::Python with PythonPreset,
    node::Node,
    rust::Rust with RustPreset,
    java::Java,
    go::Go,
}

/// Every ecosystem, in registry order.
pub fn all() -> &'static [&'static dyn Ecosystem] {
    ECOSYSTEMS
}

/// The ecosystems strata builds, in detection order.
pub fn buildable() -> impl Iterator<Item = &'static dyn ProjectSupport> {
    ECOSYSTEMS.iter().filter_map(|e| e.project())
}

/// The ecosystem of the project at `root`: the first in registry order that claims it (Python
/// before Rust, so a maturin project, `Cargo.toml` beside `pyproject.toml`, is a Python one).
pub fn detect(root: &Path) -> Option<&'static dyn ProjectSupport> {
    buildable().find(|e| e.detect(root))
}

/// The buildable ecosystem called `name`.
pub fn named(name: &str) -> Option<&'static dyn ProjectSupport> {
    buildable().find(|e| e.name() == name)
}

/// The names of the ecosystems strata builds (`python, rust`), for messages.
pub fn buildable_names() -> String {
    buildable().map(|e| e.name()).collect::<Vec<_>>().join(", ")
}

/// The titles of the ecosystems strata builds joined by `between` (`Python or Rust`), for
/// messages that say no project was found.
pub fn buildable_titles(between: &str) -> String {
    buildable()
        .map(|e| e.title())
        .collect::<Vec<_>>()
        .join(between)
}

/// Every file [`detect`] looks for, in registry order, for the same messages.
pub fn markers() -> String {
    buildable()
        .flat_map(|e| e.markers().iter().copied())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A string as a TOML string, for `init` tables.
pub(crate) fn toml_quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// One line of an `init` table: `key = "value"` when set, else `# key = hint` (an example).
pub(crate) fn init_line(key: &str, value: Option<&str>, hint: &str) -> String {
    match value {
        Some(v) => format!("{key} = {}\n", toml_quoted(v)),
        None => format!("# {key} = {hint}\n"),
    }
}

impl fmt::Debug for dyn Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

impl fmt::Debug for dyn ProjectSupport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

impl serde::Serialize for dyn Ecosystem {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_registry_order_for_every_lookup() {
        let names: Vec<_> = all().iter().map(|e| e.name()).collect();
        assert_eq!(names, ["python", "node", "rust", "java", "go"]);
        let built: Vec<_> = buildable().map(|e| e.name()).collect();
        assert_eq!(built, ["python", "rust"]);
        assert_eq!(buildable_names(), "python, rust");
        assert_eq!(buildable_titles(" or "), "Python or Rust");
        assert!(markers().ends_with("setup.py, Cargo.toml"), "{}", markers());
        for e in buildable() {
            assert_eq!(named(e.name()).map(|n| n.name()), Some(e.name()));
            assert_eq!(e.preset().preset().ecosystem().name(), e.name());
            let table: PresetSpec = toml::from_str(&format!("kind = {:?}", e.name())).unwrap();
            assert_eq!(table, e.preset(), "[preset] kind = {:?}", e.name());
        }
        assert!(named("node").is_none(), "node is recognized, not built");
    }

    #[test]
    fn each_ecosystem_detects_its_tiny_project_and_python_wins_a_maturin_layout() {
        let project = |files: &[&str]| {
            let dir = tempfile::tempdir().unwrap();
            for f in files {
                std::fs::write(dir.path().join(f), "").unwrap();
            }
            dir
        };
        for (files, expected) in [
            (&["pyproject.toml"][..], Some("python")),
            (&["requirements.txt"], Some("python")),
            (&["uv.lock"], Some("python")),
            (&["Cargo.toml"], Some("rust")),
            (
                &["Cargo.toml", "pyproject.toml", "requirements.txt"],
                Some("python"),
            ),
            (&["package.json"], None),
            (&[], None),
        ] {
            let dir = project(files);
            assert_eq!(detect(dir.path()).map(|e| e.name()), expected, "{files:?}");
            let claims: Vec<_> = buildable()
                .filter(|e| e.detect(dir.path()))
                .map(|e| e.name())
                .collect();
            assert_eq!(claims.first().copied(), expected, "{files:?}");
        }
    }

    #[test]
    fn each_ecosystem_recognizes_its_dependency_trees() {
        for (path, expected) in [
            ("app/.venv/lib/python3.12/site-packages/six.py", "python"),
            ("srv/node_modules/lodash/lodash.js", "node"),
            ("root/.cargo/registry/src/i/serde-1.0.0/lib.rs", "rust"),
            ("app/lib/guava-33.jar", "java"),
            ("go/pkg/mod/example.com/m@v1/m.go", "go"),
        ] {
            let parts: Vec<&str> = path.split('/').collect();
            let found: Vec<_> = all()
                .iter()
                .filter(|e| (0..parts.len() - 1).any(|i| e.dependency_tree(&parts, i).is_some()))
                .map(|e| e.name())
                .collect();
            assert_eq!(found, [expected], "{path}");
        }
    }
}
