//! `strata report IMAGE`: analyze one image and print the report.

use std::path::PathBuf;

use clap::Args;

use crate::cli::{print, reading, warn, ImageOptions, OutputOptions};
use strata::error::{ExitCode, Result};
use strata::ops::platforms::report_platforms;
use strata::ops::report::{report, ReportRequest};
use strata::policy::selectors::finding_filter;
use strata::report::image::ImageReport;

const EXAMPLES: &str = "\
Examples:
  strata report oci:./build/layout:latest
  strata report docker-archive:app.tar --format json > report.json
  docker save myapp:1.2 -o app.tar && strata report app.tar --base debian:bookworm-slim
  strata report docker://registry.example.com/team/app:1.2 --platform linux/arm64
  strata report docker://registry.example.com/team/app:1.2 --all-platforms --format json
  strata report localhost:5000/app:dev --format markdown >> \"$GITHUB_STEP_SUMMARY\"
  strata report oci:./build/layout:latest --format html > report.html
  strata report oci:./build/layout:latest --ignore runs-as-root --ignore setuid";

/// Arguments of `strata report`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct ReportArgs {
    /// The image to analyze (see `strata --help` for reference forms).
    pub image: String,
    /// The base image: its layers are reported as `base`, the rest as `app`. Defaults to the base
    /// named by the image's org.opencontainers.image.base.* annotations, when present.
    #[arg(long, value_name = "IMAGE")]
    pub base: Option<String>,
    /// How many entries ranked lists keep (largest paths per layer, packages, dead files).
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// Leave out findings of this rule id (`secret-env-file`, `setuid`, `runs-as-root`), family
    /// (`secret`), kind (`bloat`) or severity (`info`, `low+`); repeatable. Adds to `[report] ignore`.
    #[arg(long, value_name = "RULE")]
    pub ignore: Vec<String>,
    /// Config file for `[report] ignore` and `[[report.allow]]` (default: strata.toml in this
    /// directory or the nearest parent).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Report every platform image of a multi-platform index, a section each (attestations are
    /// skipped); the JSON is then `{schema_version, reference, platforms: [{platform, report}]}`.
    #[arg(long, conflicts_with = "platform")]
    pub all_platforms: bool,
    /// Image access options.
    #[command(flatten)]
    pub image_options: ImageOptions,
    /// Output options.
    #[command(flatten)]
    pub output: OutputOptions<ImageReport>,
}

/// Runs `strata report`.
pub fn run(args: &ReportArgs) -> Result<ExitCode> {
    let filter = finding_filter(args.config.as_deref(), &args.ignore)?;
    let source = args.image_options.source_options()?;
    let bar = args.output.bar("reading layers");
    let request = ReportRequest {
        image: args.image.clone(),
        base: args.base.clone(),
        top: args.top,
        filter,
        reading: reading(source, bar.clone()),
    };
    if args.all_platforms {
        let reported = report_platforms(&request);
        bar.finish();
        let reported = reported?;
        warn(&reported.warnings);
        print(&reported.document, args.output.format())?;
        return Ok(ExitCode::Ok);
    }
    let analyzed = report(&request);
    bar.finish();
    let analyzed = analyzed?;
    warn(&analyzed.warnings);
    print(&analyzed.report, args.output.format())?;
    Ok(ExitCode::Ok)
}
