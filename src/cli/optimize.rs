//! `strata optimize SOURCE --output DEST`: re-lay an image built elsewhere for cheap deploys.

use clap::Args;

use crate::cli::{print, warn, ImageOptions, OutputOptions};
use strata::error::{ExitCode, Result};
use strata::ops::optimize::{optimize, OptimizeRequest};
use strata::optimize::proven::Proven;
use strata::optimize::{Optimized, Settings};

const EXAMPLES: &str = "\
Examples:
  strata optimize oci:build:app --base oci:bases:python --output oci:build:app-optimized
  strata optimize docker-archive:app.tar --output docker://registry.example.com/app:1.5 --max-layers 6
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) strata optimize oci:build:app --output oci:out:app
  strata optimize docker-daemon:app:$SHA --previous docker://reg/app:live --output docker://reg/app:$SHA

The base (kept byte for byte) is the longest run of layers SOURCE shares with --base, else with the
image its org.opencontainers.image.base.name/.digest annotations name. Above it, the final filesystem
is re-laid: dependency trees by package (largest lowest), then the code. The new layers are read back
and compared with SOURCE's filesystem before the manifest is written; a difference is an error.

With --previous (the image deployed now, written by strata optimize), its recorded plan is reused:
every package keeps its layer, new packages get a layer below the code's, and a layer whose files
are unchanged is the previous image's blob (not recompressed; mounted from its repository when
DEST is in the same registry), so the deploy ships only what changed. A --previous that is not an
optimized image over the same base is said so in a warning, and the layers are planned afresh.";

/// `--max-layers` when not given (here and in `strata history --optimize`).
pub const DEFAULT_MAX_LAYERS: usize = 8;

/// Arguments of `strata optimize`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct OptimizeArgs {
    /// The image to optimize.
    pub source: String,
    /// Where to write the optimized image.
    #[arg(long, short = 'o', value_name = "DEST")]
    pub output: String,
    /// The base image whose layers are kept (default: from SOURCE's base annotations).
    #[arg(long, value_name = "IMAGE")]
    pub base: Option<String>,
    /// An earlier optimized image (the one deployed now) whose plan and blobs are reused.
    #[arg(long, value_name = "IMAGE")]
    pub previous: Option<String>,
    /// At most this many layers above the base, the app layer included.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_LAYERS)]
    pub max_layers: usize,
    /// Keep each file's mtime (default: SOURCE_DATE_EPOCH, else 1 s after the epoch).
    #[arg(long)]
    pub keep_mtimes: bool,
    /// Image access options.
    #[command(flatten)]
    pub image_options: ImageOptions,
    /// Output options.
    #[command(flatten)]
    pub output_options: OutputOptions<Optimized>,
}

/// Runs `strata optimize`.
pub fn run(args: &OptimizeArgs) -> Result<ExitCode> {
    let options = args.image_options.source_options()?;
    let bar = args.output_options.bar("writing");
    let optimized = optimize(&OptimizeRequest {
        source: args.source.clone(),
        destination: args.output.clone(),
        base: args.base.clone(),
        previous: args.previous.clone(),
        settings: Settings {
            max_layers: args.max_layers,
            keep_mtimes: args.keep_mtimes,
            temp_dir: std::env::temp_dir(),
            proven: Proven::in_default_cache(),
        },
        options,
        progress: bar.clone(),
    });
    bar.finish();
    let optimized = optimized?;
    warn(&optimized.warnings);
    print(&optimized, args.output_options.format())?;
    Ok(ExitCode::Ok)
}
