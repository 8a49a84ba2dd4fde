//! `strata dockerfile`: write a dependency image Dockerfile, an app Dockerfile and the files
//! around them (see [`crate::generate`]) for the project in the current directory.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::error::{Error, ExitCode, Result};
use crate::generate::{generate, write_all, Lang, Options, Project};

const EXAMPLES: &str = "\
Examples:
  strata dockerfile                                  # container/Dockerfile.base, Dockerfile, ...
  strata dockerfile --runtime-base python:3.12-slim@sha256:... --healthcheck 'curl -f localhost'
  strata dockerfile --test-cmd 'python3 -m pytest -q' --ci github
  make -f container/Makefile build                   # base only when its deps-<hash> tag is new";

/// The languages `--lang` accepts.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LangArg {
    /// A Cargo project.
    Rust,
    /// A Python project with uv.lock or requirements*.txt.
    Python,
}

/// The CI systems `--ci` writes a workflow for.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CiArg {
    /// GitHub Actions: .github/workflows/image.yml.
    Github,
}

/// Arguments of `strata dockerfile`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct DockerfileArgs {
    /// The project's language (default: detected, Python first as `strata init` does).
    #[arg(long, value_enum)]
    pub lang: Option<LangArg>,
    /// The image the app runs on (Python: python:<.python-version>-slim; Rust:
    /// debian:bookworm-slim). Give it @sha256:... to pin it.
    #[arg(long, value_name = "IMAGE")]
    pub runtime_base: Option<String>,
    /// Rust: the image with the toolchain (default rust:1-bookworm).
    #[arg(long, value_name = "IMAGE")]
    pub builder_base: Option<String>,
    /// A Debian package for the dependency image (repeatable; installed without recommends).
    #[arg(long = "system-package", value_name = "NAME")]
    pub system_packages: Vec<String>,
    /// A HEALTHCHECK command (shell form) for the app image.
    #[arg(long, value_name = "CMD")]
    pub healthcheck: Option<String>,
    /// A test command run in a stage that must pass for the app image to build.
    #[arg(long, value_name = "CMD")]
    pub test_cmd: Option<String>,
    /// Rust: the recipe is made on the host (strata recipe) instead of in a planner stage.
    #[arg(long)]
    pub host_recipe: bool,
    /// Also write a CI workflow that rebuilds the dependency image only when its tag is missing.
    #[arg(long, value_enum)]
    pub ci: Option<CiArg>,
    /// The directory for the files, relative to the project (.dockerignore goes to the project).
    #[arg(long, value_name = "DIR", default_value = "container")]
    pub out: PathBuf,
    /// Overwrite files that exist.
    #[arg(long)]
    pub force: bool,
}

/// Runs `strata dockerfile`.
pub fn run(args: &DockerfileArgs) -> Result<ExitCode> {
    let dir = std::env::current_dir().map_err(|e| Error::io("current directory", e))?;
    if let Some(lang) = args.lang {
        let detected = Project::read(&dir)?.lang;
        let wanted = match lang {
            LangArg::Rust => Lang::Rust,
            LangArg::Python => Lang::Python,
        };
        if detected != wanted {
            return Err(Error::usage(format!(
                "--lang {lang:?}: this directory is a {detected:?} project"
            )));
        }
    }
    if args.out.is_absolute() || args.out.components().any(|c| c.as_os_str() == "..") {
        return Err(Error::usage(
            "--out must be a directory inside the project (it is part of the build context)",
        ));
    }
    let options = Options {
        runtime_base: args.runtime_base.clone(),
        builder_base: args.builder_base.clone(),
        system_packages: args.system_packages.clone(),
        healthcheck: args.healthcheck.clone(),
        test_cmd: args.test_cmd.clone(),
        host_recipe: args.host_recipe,
        ci_github: args.ci.is_some(),
        out: args.out.clone(),
    };
    let files = generate(&dir, &options)?;
    write_all(&dir, &files, args.force)?;
    for file in &files {
        println!("wrote {}", file.path.display());
    }
    Ok(ExitCode::Ok)
}
