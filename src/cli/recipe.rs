//! `strata recipe` (alias `prepare`): write a workspace's dependency recipe (cargo-chef's
//! `recipe.json` shape) to stdout or `--recipe-path`.

use std::path::PathBuf;

use clap::Args;

use crate::cli::write_stdout;
use strata::cargo::prepare::{prepare, PrepareOptions};
use strata::cargo::recipe::Recipe;
use strata::error::{Error, ExitCode, Result};

const EXAMPLES: &str = "\
Examples:
  strata recipe > recipe.json
  strata prepare --recipe-path recipe.json          # cargo-chef's spelling
  strata recipe --bin server --bin worker > recipe.json

In a Dockerfile:
  FROM rust AS planner
  WORKDIR /app
  COPY . .
  RUN strata recipe --recipe-path recipe.json
  FROM rust AS builder
  WORKDIR /app
  COPY --from=planner /app/recipe.json recipe.json
  RUN strata cook --release --recipe-path recipe.json
  COPY . .
  RUN cargo build --release";

/// Which workspace to read and what to keep of it (shared by `recipe` and `fingerprint`).
#[derive(Debug, Args, Clone, Default)]
pub struct WorkspaceArgs {
    /// The workspace's Cargo.toml (default: the workspace containing the current directory).
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Keep only what this binary (or member) needs; repeatable.
    #[arg(long = "bin", value_name = "NAME")]
    pub bins: Vec<String>,
}

impl WorkspaceArgs {
    /// Reads the workspace into a recipe.
    pub fn recipe(&self) -> Result<Recipe> {
        let dir = std::env::current_dir().map_err(|e| Error::io("current directory", e))?;
        prepare(
            &dir,
            &PrepareOptions {
                manifest_path: self.manifest_path.clone(),
                bins: self.bins.clone(),
            },
        )
    }
}

/// Arguments of `strata recipe`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct RecipeArgs {
    /// Write the recipe to this file instead of standard output.
    #[arg(long, value_name = "PATH")]
    pub recipe_path: Option<PathBuf>,
    /// The workspace.
    #[command(flatten)]
    pub workspace: WorkspaceArgs,
}

/// Runs `strata recipe`.
pub fn run(args: &RecipeArgs) -> Result<ExitCode> {
    let json = format!("{}\n", args.workspace.recipe()?.to_json()?);
    match &args.recipe_path {
        Some(path) => std::fs::write(path, json).map_err(|e| Error::io(path.display(), e))?,
        None => write_stdout(&json)?,
    }
    Ok(ExitCode::Ok)
}
