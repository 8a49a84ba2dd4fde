//! `strata dockerfile`: generate a two-image Docker build for a Python or Rust project, so the
//! dependencies are built once per dependency set and every code change rebuilds only a thin app
//! layer on top.
//!
//! The files, written into one directory (`container/` by default) except `.dockerignore`, which
//! Docker reads only at the root of the build context (the project):
//! - `Dockerfile.base`: the dependency image (pinned runtime base, system packages, then the
//!   dependencies only), tagged by [`base_tag`] (`deps-<hash>`);
//! - `Dockerfile`: the app image, `FROM` the dependency image at that tag (`ARG DEPS_TAG`);
//! - `digests.env`: the base images, pinned by digest where the user named them ([`pin`]);
//! - `Makefile`: `build-base`, `build`, `push`, `check`;
//! - with `--ci github`: a workflow that rebuilds the dependency image only when its tag is
//!   missing from the registry.
//!
//! Nothing is overwritten unless asked: every target is checked before any is written, and each
//! file is written to a temporary name and renamed into place.

pub mod fingerprint;
pub mod pin;
pub mod project;
pub mod support;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
pub use fingerprint::base_tag;
pub use project::Project;

/// What the user chose on the command line; everything else is read from the project.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The image the app runs on (default per language).
    pub runtime_base: Option<String>,
    /// Rust: the image with the toolchain that compiles (default `rust:1-bookworm`).
    pub builder_base: Option<String>,
    /// Debian packages installed into the dependency image.
    pub system_packages: Vec<String>,
    /// The command of a `HEALTHCHECK`, in shell form.
    pub healthcheck: Option<String>,
    /// A command run in a test stage that must pass for the app image to build.
    pub test_cmd: Option<String>,
    /// Rust: make the recipe on the host (`container/recipe.json`) instead of a planner stage.
    pub host_recipe: bool,
    /// Also write a GitHub Actions workflow.
    pub ci_github: bool,
    /// The directory the files go to, relative to the project (`container`).
    pub out: PathBuf,
}

/// One generated file: where it goes (relative to the project) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The path relative to the project directory.
    pub path: PathBuf,
    /// The file's contents.
    pub contents: String,
}

/// The two Dockerfiles of a project, the part that differs between ecosystems.
#[derive(Debug, Clone)]
pub struct Dockerfiles {
    /// `Dockerfile.base`: the dependency image.
    pub base: String,
    /// `Dockerfile`: the app image.
    pub app: String,
    /// The base images the Dockerfiles name, as `ARG` name and reference (for `digests.env`).
    pub images: Vec<(&'static str, String)>,
    /// A command the Makefile runs before building the dependency image (Rust with
    /// `--host-recipe`: make the recipe on the host).
    pub before_base: Option<String>,
    /// What the app image's final stage is built on: the layers `make check` counts as base.
    pub app_base: AppBase,
}

/// The image the app image's final stage starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppBase {
    /// The dependency image (Python: the app adds code to its venv).
    Deps,
    /// The runtime base (Rust: the dependencies stay in the build stage, the binary alone ships).
    Runtime,
}

/// Every file `strata dockerfile` writes for the project at `dir`.
pub fn generate(dir: &Path, options: &Options) -> Result<Vec<Generated>> {
    let project = Project::read(dir)?;
    let dockerfiles = project.ecosystem.dockerfiles(&project, options)?;
    let out = &options.out;
    let makefile = support::makefile(&project, options, &dockerfiles);
    let mut files = vec![
        Generated {
            path: out.join("Dockerfile.base"),
            contents: dockerfiles.base,
        },
        Generated {
            path: out.join("Dockerfile"),
            contents: dockerfiles.app,
        },
        Generated {
            path: PathBuf::from(".dockerignore"),
            contents: support::dockerignore(options),
        },
        Generated {
            path: out.join("digests.env"),
            contents: support::digests_env(&dockerfiles.images),
        },
        Generated {
            path: out.join("Makefile"),
            contents: makefile,
        },
    ];
    if options.ci_github {
        files.push(Generated {
            path: PathBuf::from(".github/workflows/image.yml"),
            contents: support::github_workflow(options),
        });
    }
    Ok(files)
}

/// Writes `files` under `dir`: refuses (a usage error naming them all) when any exists and
/// `force` is off, before writing anything; each file is written atomically.
pub fn write_all(dir: &Path, files: &[Generated], force: bool) -> Result<()> {
    if !force {
        let existing: Vec<String> = files
            .iter()
            .filter(|f| dir.join(&f.path).exists())
            .map(|f| f.path.display().to_string())
            .collect();
        if !existing.is_empty() {
            return Err(Error::usage(format!(
                "{} already exist{}; nothing written (pass --force to overwrite)",
                existing.join(", "),
                if existing.len() == 1 { "s" } else { "" }
            )));
        }
    }
    for file in files {
        write_atomically(&dir.join(&file.path), &file.contents)?;
    }
    Ok(())
}

/// Writes `contents` to a temporary file next to `path` and renames it over `path`.
fn write_atomically(path: &Path, contents: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent.display(), e))?;
    }
    let name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy().into_owned());
    let temp = path.with_file_name(format!(".{name}.strata-{}.tmp", std::process::id()));
    std::fs::write(&temp, contents)
        .and_then(|()| std::fs::rename(&temp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            Error::io(path.display(), e)
        })
}

/// A string as a JSON string (Dockerfile exec form and YAML both accept it).
pub(crate) fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// The `HEALTHCHECK` and test-stage lines shared by both languages' app Dockerfiles.
pub(crate) fn healthcheck(options: &Options) -> String {
    match &options.healthcheck {
        Some(cmd) => format!("HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD {cmd}\n"),
        None => String::new(),
    }
}

/// A test stage `FROM from` that runs `--test-cmd`, and the line that makes the final stage
/// depend on it (BuildKit skips stages nothing depends on); empty without `--test-cmd`.
pub(crate) fn test_stage(options: &Options, from: &str) -> (String, String) {
    match &options.test_cmd {
        Some(cmd) => (
            format!(
                "\n# The tests must pass for the image to build.\nFROM {from} AS test\n\
                 RUN {cmd} && touch /tmp/.tests-passed\n"
            ),
            "COPY --from=test /tmp/.tests-passed /tmp/.tests-passed\n".to_string(),
        ),
        None => (String::new(), String::new()),
    }
}

/// The `RUN` installing Debian packages without recommends, cleaning apt's lists in the same
/// layer; a commented example when there are none.
pub(crate) fn apt_install(packages: &[String]) -> String {
    if packages.is_empty() {
        return "# System packages (add with --system-package; lists cleaned in the same layer):\n\
                # RUN apt-get update && apt-get install -y --no-install-recommends libpq5 \\\n\
                #  && rm -rf /var/lib/apt/lists/*\n"
            .to_string();
    }
    format!(
        "RUN apt-get update \\\n && apt-get install -y --no-install-recommends {} \\\n \
         && rm -rf /var/lib/apt/lists/*\n",
        packages.join(" ")
    )
}

/// Which of the two generated Dockerfiles a header is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Image {
    /// `Dockerfile.base`, the dependency image.
    Deps,
    /// `Dockerfile`, the app image.
    App,
}

/// The comment telling how to build a generated Dockerfile: with the Makefile, or with the one
/// `docker build` line that works as written from the project directory (the dependency image
/// tagged with its fingerprint, the app image built on that tag). The Dockerfile comes from
/// stdin, so it stays out of the build context (Docker adds a `-f` file back even when it is
/// ignored).
pub(crate) fn build_hint(project: &Project, options: &Options, image: Image) -> String {
    let out = options.out.display();
    let name = &project.name;
    let deps = format!("strata base {name}-deps --dockerfile {out}/Dockerfile.base");
    match image {
        Image::Deps => format!(
            "# Build from the project directory with `make -f {out}/Makefile build-base`, or\n\
             #   docker build -f - -t \"$({deps})\" . < {out}/Dockerfile.base\n"
        ),
        Image::App => format!(
            "# Build from the project directory with `make -f {out}/Makefile build` (it builds the\n\
             # dependency image first when its tag is missing), or once that image is built:\n\
             #   deps=$({deps}) && docker build -f - --build-arg DEPS_TAG=\"${{deps##*:}}\" -t {name} . < {out}/Dockerfile\n"
        ),
    }
}

/// The user the app runs as: numeric, so no passwd entry is needed in any base.
pub(crate) const APP_USER: &str = "10001:10001";
