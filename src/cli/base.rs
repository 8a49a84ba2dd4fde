//! `strata base`: name the dependency image of the project in the current directory,
//! `REF:deps-<hash>` (see [`strata::generate::base_tag`] for what the hash covers), and with
//! `--exists` ask the registry whether it is already there, so CI rebuilds it only when not.

use std::path::PathBuf;

use clap::Args;

use crate::cli::{write_stdout, ImageOptions};
use strata::error::{Error, ExitCode, Kind, Result};
use strata::generate::base_tag;
use strata::source::open;
use strata::source::reference::{ImageRef, Repository};

const EXAMPLES: &str = "\
Examples:
  strata base registry.example.com/app-deps          # registry.example.com/app-deps:deps-3f9a...
  strata base --exists registry.example.com/app-deps || make -f container/Makefile build-base

Exit codes with --exists: 0 the image is there, 1 it is not, 3 the registry failed.";

/// Arguments of `strata base`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct BaseArgs {
    /// The dependency image's repository (REGISTRY/REPO, without a tag).
    #[arg(value_name = "REF")]
    pub reference: String,
    /// Ask the registry whether the image exists (exit 0 yes, 1 no, 3 registry error).
    #[arg(long)]
    pub exists: bool,
    /// The dependency Dockerfile whose text is part of the tag (skipped when it does not exist).
    #[arg(long, value_name = "PATH", default_value = "container/Dockerfile.base")]
    pub dockerfile: PathBuf,
    /// Registry access (for --exists).
    #[command(flatten)]
    pub image_options: ImageOptions,
}

/// Runs `strata base`.
pub fn run(args: &BaseArgs) -> Result<ExitCode> {
    let repository = Repository::parse(&args.reference).map_err(|e| {
        e.with_hint("give REGISTRY/REPO without :TAG: strata base appends the deps-<hash> tag")
    })?;
    let dir = std::env::current_dir().map_err(|e| Error::io("current directory", e))?;
    let dockerfile = dir.join(&args.dockerfile);
    let tag = base_tag(&dir, dockerfile.exists().then_some(dockerfile.as_path()))?;
    let named = repository.tagged(&tag);
    write_stdout(&format!("{named}\n"))?;
    if !args.exists {
        return Ok(ExitCode::Ok);
    }
    let opts = args.image_options.source_options()?;
    match open(&ImageRef::Registry(named.clone()), &opts) {
        Ok(_) => Ok(ExitCode::Ok),
        Err(e) if e.kind() == Kind::NotFound => {
            eprintln!("strata: {named} is not in the registry");
            Ok(ExitCode::CheckFailed)
        }
        Err(e) => Err(e),
    }
}
