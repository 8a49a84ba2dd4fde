//! `strata diff OLD NEW`: the deploy cost between two images.

use std::sync::Arc;

use clap::Args;

use strata::analysis::diff::{compare, DiffOptions};
use strata::analysis::scan::ScanOptions;
use crate::cli::progress::Bar;
use crate::cli::{default_threads, write_stdout, ImageOptions, OutputOptions};
use strata::error::{ExitCode, Result};
use strata::layer::walk::Contents;
use strata::report::{diff, html, json, Format};
use strata::source::open;
use strata::source::reference::ImageRef;

const EXAMPLES: &str = "\
Examples:
  strata diff registry.example.com/app:1.4 registry.example.com/app:1.5
  strata diff docker://localhost:5000/app:v1 oci:./build:v2 --format json
  strata diff old.tar new.tar --files --top 20
  strata diff oci:./build:v1 oci:./build:v2 --files --format html > diff.html";

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
    /// Image access options.
    #[command(flatten)]
    pub image_options: ImageOptions,
    /// Output options.
    #[command(flatten)]
    pub output: OutputOptions,
}

/// Runs `strata diff`.
pub fn run(args: &DiffArgs) -> Result<ExitCode> {
    let opts = args.image_options.source_options()?;
    let mut old = open(&ImageRef::parse(&args.old)?, &opts)?;
    let mut new = open(&ImageRef::parse(&args.new)?, &opts)?;
    old.image.reference = args.old.clone();
    new.image.reference = args.new.clone();
    let bar = Arc::new(Bar::bytes(
        0,
        "reading changed layers",
        !args.output.no_progress,
    ));
    let result = compare(
        &old,
        &new,
        &DiffOptions {
            files: args.files,
            top: args.top,
            scan: ScanOptions {
                contents: Contents::Hash,
                threads: default_threads(),
                progress: bar.clone(),
            },
        },
    );
    bar.finish();
    let d = result?;
    let rendered = match args.output.format {
        Format::Table => diff::table(&d),
        Format::Json => json::render(&d)?,
        Format::Markdown => diff::markdown(&d),
        Format::Html => html::diff::render(&d),
    };
    write_stdout(&rendered)?;
    Ok(ExitCode::Ok)
}
