//! `strata diff OLD NEW`: the deploy cost between two images.

use clap::Args;

use crate::cli::{print, reading, warn, ImageOptions, OutputOptions};
use strata::analysis::diff::Diff;
use strata::error::{ExitCode, Result};
use strata::ops::diff::{diff, DiffRequest};
use strata::ops::platforms::diff_platforms;

const EXAMPLES: &str = "\
Examples:
  strata diff registry.example.com/app:1.4 registry.example.com/app:1.5
  strata diff docker://localhost:5000/app:v1 oci:./build:v2 --format json
  strata diff old.tar new.tar --files --top 20 --base python:3.12-slim
  strata diff oci:./build:v1 oci:./build:v2 --files --format html > diff.html
  strata diff registry.example.com/app:1.4 registry.example.com/app:1.5 --platform linux/arm64

When both images are multi-platform indexes, they are compared platform by platform (matched by
os/arch/variant), with the totals and the platforms only one side has; --platform picks one.";

/// Arguments of `strata diff`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct DiffArgs {
    /// The image a host or registry already has.
    pub old: String,
    /// The image being deployed.
    pub new: String,
    /// Also list the changed files (reads the layers that differ, even from a registry).
    #[arg(long)]
    pub files: bool,
    /// How many changed files to list.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// The base image both are built on, for the layer roles (default: the base each image's
    /// annotations name).
    #[arg(long, value_name = "IMAGE")]
    pub base: Option<String>,
    /// Image access options.
    #[command(flatten)]
    pub image_options: ImageOptions,
    /// Output options.
    #[command(flatten)]
    pub output: OutputOptions<Diff>,
}

/// Runs `strata diff`.
pub fn run(args: &DiffArgs) -> Result<ExitCode> {
    let source = args.image_options.source_options()?;
    let bar = args.output.bar("reading changed layers");
    let request = DiffRequest {
        old: args.old.clone(),
        new: args.new.clone(),
        files: args.files,
        top: args.top,
        base: args.base.clone(),
        reading: reading(source, bar.clone()),
    };
    // Two indexes are compared platform by platform, unless --platform picks one.
    if args.image_options.platform.is_none() {
        let per_platform = diff_platforms(&request);
        if let Some(diffed) = per_platform.transpose() {
            bar.finish();
            let diffed = diffed?;
            warn(&diffed.warnings);
            print(&diffed.document, args.output.format())?;
            return Ok(ExitCode::Ok);
        }
    }
    let result = diff(&request);
    bar.finish();
    let diffed = result?;
    warn(&diffed.warnings);
    print(&diffed.diff, args.output.format())?;
    Ok(ExitCode::Ok)
}
