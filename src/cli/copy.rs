//! `strata copy SRC DEST`: copy an image between any two of an OCI layout, an archive, a
//! registry and the Docker Engine, sending only the blobs the destination lacks.

use clap::Args;

use crate::cli::{print, ImageOptions, OutputOptions};
use strata::error::{ExitCode, Result};
use strata::ops::copy::{copy, CopyRequest};
use strata::report::transfer::Copied;

const EXAMPLES: &str = "\
Examples:
  strata copy docker-archive:app.tar docker://registry.example.com/team/app:1.5
  strata copy registry.example.com/team/app:1.5 oci:./mirror:1.5
  strata copy oci:./build:latest docker-archive:app.tar:app:latest && docker load -i app.tar
  strata copy --all registry.example.com/team/app:1.5 oci:./mirror:1.5";

/// Arguments of `strata copy`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct CopyArgs {
    /// The image to copy (any reference strata reads).
    pub source: String,
    /// Where to: oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME:TAG],
    /// docker://REF, docker-daemon:NAME:TAG, or a path / registry reference.
    pub destination: String,
    /// Copy a multi-platform index whole: every platform's manifest and blobs, the index byte
    /// for byte (its digest kept), and the referrers (signatures, SBOMs) of the index and of
    /// each manifest. Without it, one platform's image is copied.
    #[arg(long, conflicts_with = "platform")]
    pub all: bool,
    /// Image access options (credentials apply to both ends).
    #[command(flatten)]
    pub image_options: ImageOptions,
    /// Output options.
    #[command(flatten)]
    pub output: OutputOptions<Copied>,
}

/// Runs `strata copy`.
pub fn run(args: &CopyArgs) -> Result<ExitCode> {
    let bar = args.output.bar("copying");
    let copied = copy(&CopyRequest {
        source: args.source.clone(),
        destination: args.destination.clone(),
        options: args.image_options.source_options()?,
        all: args.all,
        progress: bar.clone(),
    });
    bar.finish();
    print(&copied?, args.output.format())?;
    Ok(ExitCode::Ok)
}
