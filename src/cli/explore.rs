//! `strata explore IMAGE`: browse an image layer by layer in the terminal.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use crate::cli::{reading, ImageOptions};
use strata::error::{ExitCode, Result};
use strata::explore::{explore, ExploreRequest};
use strata::ops::report::ReportRequest;
use strata::policy::selectors::finding_filter;

const EXAMPLES: &str = "\
Examples:
  strata explore oci:./build/layout:latest
  strata explore app.tar --compare docker-archive:previous.tar
  strata explore docker://registry.example.com/team/app:1.2 --platform linux/arm64

Keys: Tab pane, arrows/hjkl move, Space collapse, Ctrl+F filter, Ctrl+A/R/M/U hide added/removed/
modified/unchanged, Ctrl+L layer changes or aggregated, Ctrl+O sort, b largest, i history,
v view, s save, ? help, q quit.";

/// Arguments of `strata explore`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct ExploreArgs {
    /// The image to explore (see `strata --help` for reference forms).
    pub image: String,
    /// Show what a deploy of IMAGE downloads where this image runs, layer by layer, and the
    /// files that change.
    #[arg(long, value_name = "OTHER")]
    pub compare: Option<String>,
    /// The base image: its layers are labelled `base` (as in `strata report`).
    #[arg(long, value_name = "IMAGE")]
    pub base: Option<String>,
    /// Leave out findings of this rule id, family, kind or severity; repeatable (as in `report`).
    #[arg(long, value_name = "RULE")]
    pub ignore: Vec<String>,
    /// Config file for `[report] ignore` and `[[report.allow]]`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Image access options.
    #[command(flatten)]
    pub image_options: ImageOptions,
}

/// Runs `strata explore`.
pub fn run(args: &ExploreArgs) -> Result<ExitCode> {
    let filter = finding_filter(args.config.as_deref(), &args.ignore)?;
    let source = args.image_options.source_options()?;
    explore(ExploreRequest {
        report: ReportRequest {
            image: args.image.clone(),
            base: args.base.clone(),
            top: 50,
            filter,
            reading: reading(source, Arc::new(())),
        },
        compare: args.compare.clone(),
    })?;
    Ok(ExitCode::Ok)
}
