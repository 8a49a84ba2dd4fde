//! `strata fingerprint`: print `deps-<hash>`, a short stable name for a project's dependency set,
//! to tag dependency images or key a cached `target/` or virtualenv.
//!
//! Which project: `--recipe-path` or `--manifest-path Cargo.toml` is Cargo; `--lockfile` or
//! `--manifest-path pyproject.toml` is Python. Otherwise the current directory decides, as for
//! every command ([`strata::ecosystem::detect`]: Python before Rust), else Cargo (which also
//! finds a workspace from a member's directory). Without flags that choose, the hash is the
//! ecosystem's [`ProjectSupport::fingerprint`], the one `strata base` tags with.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::cli::recipe::WorkspaceArgs;
use crate::cli::write_stdout;
use strata::cargo::fingerprint::fingerprint;
use strata::cargo::recipe::Recipe;
use strata::ecosystem::{self, python, Fingerprint, ProjectSupport};
use strata::error::{Error, ExitCode, Result};
use strata::python::find_lockfile;

const EXAMPLES: &str = "\
Examples:
  strata fingerprint                                 # deps-3f9a0c1d2b4e5f60
  strata fingerprint --recipe-path recipe.json
  docker build -t app-deps:$(strata fingerprint) --target deps .

Python (uv.lock, pylock.toml, poetry.lock, requirements.txt; found in that order):
  strata fingerprint --python 3.12                   # interpreter: default .python-version
  strata fingerprint --lockfile requirements-prod.txt --platform linux/arm64";

/// Arguments of `strata fingerprint`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct FingerprintArgs {
    /// Hash this recipe (strata's or cargo-chef's) instead of reading the workspace.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["manifest_path", "bins", "lockfile"])]
    pub recipe_path: Option<PathBuf>,
    /// Hash this Python lockfile (uv.lock, pylock.toml, poetry.lock, requirements*.txt) instead
    /// of detecting the project.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["manifest_path", "bins"])]
    pub lockfile: Option<PathBuf>,
    /// Python: the interpreter the dependencies are for (3.12, 3.13t, pypy3.10, cp312); default:
    /// the lockfile directory's .python-version, else none (the hash then ignores the interpreter).
    #[arg(long, value_name = "VERSION")]
    pub python: Option<String>,
    /// Python: the platform the dependencies are for, os/arch[/variant] (default: linux and this
    /// machine's architecture).
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    /// The workspace.
    #[command(flatten)]
    pub workspace: WorkspaceArgs,
}

/// Runs `strata fingerprint`.
pub fn run(args: &FingerprintArgs) -> Result<ExitCode> {
    let fingerprint = match detected_without_flags(args)? {
        Some((found, dir)) => found.fingerprint(&dir)?,
        None => match python_lockfile(args)? {
            Some(lockfile) => python(args, &lockfile)?,
            None => cargo(args)?,
        },
    };
    for note in &fingerprint.notes {
        eprintln!("strata: {note}");
    }
    write_stdout(&format!("{}\n", fingerprint.hash))?;
    Ok(ExitCode::Ok)
}

/// With no flag that names a project or what it is built for, the ecosystem of the current
/// directory and the directory.
fn detected_without_flags(
    args: &FingerprintArgs,
) -> Result<Option<(&'static dyn ProjectSupport, PathBuf)>> {
    let flagged = args.recipe_path.is_some()
        || args.lockfile.is_some()
        || args.python.is_some()
        || args.platform.is_some()
        || args.workspace.manifest_path.is_some()
        || !args.workspace.bins.is_empty();
    if flagged {
        return Ok(None);
    }
    let dir = std::env::current_dir().map_err(|e| Error::io("current directory", e))?;
    Ok(ecosystem::detect(&dir).map(|found| (found, dir)))
}

/// The Python lockfile to hash, or `None` for a Cargo project (see the module documentation).
fn python_lockfile(args: &FingerprintArgs) -> Result<Option<PathBuf>> {
    if args.recipe_path.is_some() {
        return Ok(None);
    }
    if let Some(lockfile) = &args.lockfile {
        return Ok(Some(lockfile.clone()));
    }
    if let Some(manifest) = &args.workspace.manifest_path {
        if manifest.file_name().is_some_and(|n| n == "pyproject.toml") {
            let dir = manifest.parent().unwrap_or(Path::new(""));
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            return find_lockfile(dir)?.map(Some).ok_or_else(|| {
                Error::usage(format!(
                    "{}: no uv.lock, pylock.toml, poetry.lock or requirements*.txt next to it",
                    manifest.display()
                ))
            });
        }
        return Ok(None);
    }
    let dir = std::env::current_dir().map_err(|e| Error::io("current directory", e))?;
    match ecosystem::detect(&dir) {
        Some(found) if found.name() == python::NAME => find_lockfile(&dir),
        _ => Ok(None),
    }
}

fn python(args: &FingerprintArgs, lockfile: &Path) -> Result<Fingerprint> {
    if !args.workspace.bins.is_empty() {
        return Err(Error::usage("--bin applies to Cargo workspaces only"));
    }
    python::fingerprint(lockfile, args.python.as_deref(), args.platform.as_deref())
}

fn cargo(args: &FingerprintArgs) -> Result<Fingerprint> {
    if args.python.is_some() || args.platform.is_some() {
        return Err(Error::usage(
            "--python and --platform apply to Python lockfiles only (this is a Cargo project)",
        ));
    }
    let recipe = match &args.recipe_path {
        Some(path) => Recipe::read(path)?,
        None => args.workspace.recipe()?,
    };
    Ok(Fingerprint {
        hash: fingerprint(&recipe)?,
        notes: Vec::new(),
    })
}
