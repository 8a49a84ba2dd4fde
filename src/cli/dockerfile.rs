//! `strata dockerfile`: write a dependency image Dockerfile, an app Dockerfile and the files
//! around them (see [`strata::generate`]) for the project in the current directory.

use std::path::PathBuf;

use clap::builder::PossibleValuesParser;
use clap::{Args, ValueEnum};

use crate::cli::ImageOptions;
use strata::ecosystem;
use strata::error::{Error, ExitCode, Result};
use strata::generate::pin::pinned;
use strata::generate::{generate, write_all, Options, Project};
use strata::source::registry::RegistryOptions;

const EXAMPLES: &str = "\
Examples:
  strata dockerfile                                  # container/Dockerfile.base, Dockerfile, ...
  strata dockerfile --runtime-base python:3.12-slim  # pinned: python:3.12-slim@sha256:...
  strata dockerfile --healthcheck 'curl -f localhost' --no-pin
  strata dockerfile --test-cmd 'python3 -m pytest -q' --ci github
  make -f container/Makefile build                   # base only when its deps-<hash> tag is new";

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
    /// The project's language (default: detected, Python first as every command does).
    #[arg(long, value_name = "LANG", value_parser = PossibleValuesParser::new(ecosystem::buildable().map(|e| e.name())))]
    pub lang: Option<String>,
    /// The image the app runs on (Python: python:<.python-version>-slim; Rust:
    /// debian:bookworm-slim). Pinned by digest: given as a tag, its registry is asked.
    #[arg(long, value_name = "IMAGE")]
    pub runtime_base: Option<String>,
    /// Rust: the image with the toolchain (default rust:1-bookworm), pinned like --runtime-base.
    #[arg(long, value_name = "IMAGE")]
    pub builder_base: Option<String>,
    /// Write --runtime-base and --builder-base as given, without asking their registry for the
    /// digest of their tag.
    #[arg(long)]
    pub no_pin: bool,
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
    /// Registry access (for pinning the bases by digest).
    #[command(flatten)]
    pub image_options: ImageOptions,
}

/// Runs `strata dockerfile`.
pub fn run(args: &DockerfileArgs) -> Result<ExitCode> {
    let dir = std::env::current_dir().map_err(|e| Error::io("current directory", e))?;
    let detected = Project::read(&dir)?.ecosystem;
    if let Some(lang) = &args.lang {
        if detected.name() != lang {
            return Err(Error::usage(format!(
                "--lang {lang}: this directory is a {} project",
                detected.title()
            )));
        }
    }
    if args.out.is_absolute() || args.out.components().any(|c| c.as_os_str() == "..") {
        return Err(Error::usage(
            "--out must be a directory inside the project (it is part of the build context)",
        ));
    }
    let registry = if args.no_pin {
        None
    } else {
        Some(args.image_options.source_options()?.registry)
    };
    let pin = |image: &Option<String>| match (image, &registry) {
        (Some(image), Some(registry)) => Some(pin_or_warn(image, registry)),
        _ => image.clone(),
    };
    let builder_base = if detected.has_builder() {
        pin(&args.builder_base)
    } else {
        args.builder_base.clone()
    };
    let options = Options {
        runtime_base: pin(&args.runtime_base),
        builder_base,
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

/// `image` pinned by digest, or as given with a warning when its registry cannot say (offline,
/// a local-only image, no credentials): the files are still useful, and `digests.env` marks
/// the base as not pinned.
fn pin_or_warn(image: &str, registry: &RegistryOptions) -> String {
    match pinned(image, registry) {
        Ok(pinned) => pinned,
        Err(e) => {
            eprintln!("strata: warning: {image} left unpinned: {e} (--no-pin skips the lookup)");
            image.to_string()
        }
    }
}
