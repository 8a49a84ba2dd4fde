//! `strata fingerprint`: print `deps-<hash>`, a short stable name for a workspace's (or a
//! recipe's) dependency set, to tag dependency images or key a cached `target/`.

use std::path::PathBuf;

use clap::Args;

use crate::cargo::fingerprint::fingerprint;
use crate::cargo::recipe::Recipe;
use crate::cli::recipe::WorkspaceArgs;
use crate::cli::write_stdout;
use crate::error::{ExitCode, Result};

const EXAMPLES: &str = "\
Examples:
  strata fingerprint                                 # deps-3f9a0c1d2b4e5f60
  strata fingerprint --recipe-path recipe.json
  docker build -t app-deps:$(strata fingerprint) --target deps .";

/// Arguments of `strata fingerprint`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct FingerprintArgs {
    /// Hash this recipe (strata's or cargo-chef's) instead of reading the workspace.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["manifest_path", "bins"])]
    pub recipe_path: Option<PathBuf>,
    /// The workspace.
    #[command(flatten)]
    pub workspace: WorkspaceArgs,
}

/// Runs `strata fingerprint`.
pub fn run(args: &FingerprintArgs) -> Result<ExitCode> {
    let recipe = match &args.recipe_path {
        Some(path) => Recipe::read(path)?,
        None => args.workspace.recipe()?,
    };
    write_stdout(&format!("{}\n", fingerprint(&recipe)?))?;
    Ok(ExitCode::Ok)
}
