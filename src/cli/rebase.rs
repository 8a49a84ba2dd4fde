//! `strata rebase IMAGE --new-base REF`: move an image's own layers onto a new base without
//! downloading or rebuilding them.

use clap::Args;

use crate::cli::progress::Bar;
use crate::cli::{write_stdout, ImageOptions, OutputOptions};
use strata::error::{Error, ExitCode, Result};
use strata::mutate::annotation::{BASE_DIGEST, BASE_NAME};
use strata::mutate::rebase::rebase;
use strata::report::{json, Format};
use strata::sink::open_sink;
use strata::source::reference::{pinned_base, ImageRef};
use strata::source::{open, OpenedImage, SourceOptions};

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
    pub output_options: OutputOptions,
}

fn open_named(reference: &str, opts: &SourceOptions) -> Result<OpenedImage> {
    let mut opened = open(&ImageRef::parse(reference)?, opts)?;
    opened.image.reference = reference.to_string();
    Ok(opened)
}

/// Runs `strata rebase`.
pub fn run(args: &RebaseArgs) -> Result<ExitCode> {
    let opts = args.image_options.source_options()?;
    let image = open_named(&args.image, &opts)?;
    let old_name = match &args.old_base {
        Some(b) => b.clone(),
        None => {
            let a = &image.image.annotations;
            let name = a.get(BASE_NAME).ok_or_else(|| {
                Error::usage(format!(
                    "{} records no base image (org.opencontainers.image.base.name): pass --old-base",
                    args.image
                ))
            })?;
            pinned_base(name, a.get(BASE_DIGEST).map(String::as_str))
        }
    };
    let old_base = open_named(&old_name, &opts)?;
    let new_base = open_named(&args.new_base, &opts)?;
    let dest = args.output.clone().unwrap_or_else(|| args.image.clone());
    let mut sink = open_sink(&dest, &opts.registry)?;
    let bar = std::sync::Arc::new(Bar::bytes(0, "writing", !args.output_options.no_progress));
    let stats = rebase(
        &image,
        &old_base,
        &new_base,
        &args.new_base,
        sink.as_mut(),
        bar.clone(),
    );
    bar.finish();
    let stats = stats?;
    let rendered = match args.output_options.format {
        Format::Json => json::render(&stats)?,
        _ => format!(
            "rebased {} onto {}: {}\n",
            args.image,
            args.new_base,
            stats.summary()
        ),
    };
    write_stdout(&rendered)?;
    Ok(ExitCode::Ok)
}
