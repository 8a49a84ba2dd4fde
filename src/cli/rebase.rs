//! `strata rebase IMAGE --new-base REF`: move an image's own layers onto a new base without
//! downloading or rebuilding them.

use clap::Args;

use crate::cli::{print, ImageOptions, OutputOptions};
use strata::error::{ExitCode, Result};
use strata::ops::rebase::{rebase, RebaseRequest};
use strata::report::transfer::Rebased;

const EXAMPLES: &str = "\
Examples:
  strata rebase registry.example.com/app:1.5 --new-base registry.example.com/base:2024-06 \\
      --output docker://registry.example.com/app:1.5-rebased
  strata rebase oci:build:latest --old-base oci:bases:old --new-base oci:bases:new --output oci:build:rebased

The old base defaults to the org.opencontainers.image.base.name/.digest annotations of IMAGE (strata
build and ko write them). Only manifests and configs are read from registries.";

/// Arguments of `strata rebase`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct RebaseArgs {
    /// The image to rebase.
    pub image: String,
    /// The base to move onto.
    #[arg(long, value_name = "IMAGE")]
    pub new_base: String,
    /// The base the image was built on (default: from its base annotations).
    #[arg(long, value_name = "IMAGE")]
    pub old_base: Option<String>,
    /// Where to write the result (default: over IMAGE).
    #[arg(long, short = 'o', value_name = "DEST")]
    pub output: Option<String>,
    /// Image access options.
    #[command(flatten)]
    pub image_options: ImageOptions,
    /// Output options.
    #[command(flatten)]
    pub output_options: OutputOptions<Rebased>,
}

/// Runs `strata rebase`.
pub fn run(args: &RebaseArgs) -> Result<ExitCode> {
    let options = args.image_options.source_options()?;
    let bar = args.output_options.bar("writing");
    let rebased = rebase(&RebaseRequest {
        image: args.image.clone(),
        new_base: args.new_base.clone(),
        old_base: args.old_base.clone(),
        destination: args.output.clone(),
        options,
        progress: bar.clone(),
    });
    bar.finish();
    print(&rebased?, args.output_options.format())?;
    Ok(ExitCode::Ok)
}
