//! `strata copy SRC DEST`: copy an image between any two of an OCI layout, an archive and a
//! registry, sending only the blobs the destination lacks.

use clap::Args;

use crate::cli::progress::Bar;
use crate::cli::{write_stdout, ImageOptions, OutputOptions};
use strata::error::{ExitCode, Result};
use strata::report::{json, Format};
use strata::sink::copy::copy_image;
use strata::sink::open_sink;
use strata::source::open;
use strata::source::reference::ImageRef;

const EXAMPLES: &str = "\
Examples:
  strata copy docker-archive:app.tar docker://registry.example.com/team/app:1.5
  strata copy registry.example.com/team/app:1.5 oci:./mirror:1.5
  strata copy oci:./build:latest docker-archive:app.tar:app:latest && docker load -i app.tar";

/// Arguments of `strata copy`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct CopyArgs {
    /// The image to copy (any reference strata reads).
    pub source: String,
    /// Where to: oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME:TAG],
    /// docker://REF, a path, or a registry reference that names its host.
    pub destination: String,
    /// Image access options (credentials apply to both ends).
    #[command(flatten)]
    pub image_options: ImageOptions,
    /// Output options.
    #[command(flatten)]
    pub output: OutputOptions,
}

/// Runs `strata copy`.
pub fn run(args: &CopyArgs) -> Result<ExitCode> {
    let destination = ImageRef::parse_destination(&args.destination)?;
    let opts = args.image_options.source_options()?;
    let mut source = open(&ImageRef::parse(&args.source)?, &opts)?;
    source.image.reference = args.source.clone();
    let mut sink = open_sink(&destination, &opts.registry)?;
    let bar = std::sync::Arc::new(Bar::bytes(0, "copying", !args.output.no_progress));
    let stats = copy_image(&source, sink.as_mut(), bar.clone());
    bar.finish();
    let stats = stats?;
    let rendered = match args.output.format {
        Format::Json => json::render(&stats)?,
        _ => format!("copied {}\n", stats.summary()),
    };
    write_stdout(&rendered)?;
    Ok(ExitCode::Ok)
}
