//! `strata report IMAGE`: analyze one image and print the report.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use strata::analysis::scan::ScanOptions;
use strata::analysis::tree::layer_trees;
use strata::analysis::{analyze_keeping_scans, AnalyzeOptions, BaseLayers};
use crate::cli::progress::Bar;
use crate::cli::{default_threads, write_stdout};
use crate::cli::{ImageOptions, OutputOptions};
use strata::error::{ExitCode, Result};
use strata::layer::walk::Contents;
use strata::model::Image;
use strata::mutate::annotation::{BASE_DIGEST, BASE_NAME};
use strata::policy::selectors::finding_filter;
use strata::report::{html, json, markdown, table, Format};
use strata::source::reference::{pinned_base, ImageRef};
use strata::source::{open, SourceOptions};

const EXAMPLES: &str = "\
Examples:
  strata report oci:./build/layout:latest
  strata report docker-archive:app.tar --format json > report.json
  docker save myapp:1.2 -o app.tar && strata report app.tar --base debian:bookworm-slim
  strata report docker://registry.example.com/team/app:1.2 --platform linux/arm64
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
    /// Image access options.
    #[command(flatten)]
    pub image_options: ImageOptions,
    /// Output options.
    #[command(flatten)]
    pub output: OutputOptions,
}

/// How many directory-tree nodes the HTML page draws over all layers: enough to drill three or four
/// levels into the big directories, few enough to keep the page well under 2 MB.
const TREE_NODES: usize = 1500;

fn base_layers(reference: &str, opts: &SourceOptions) -> Result<BaseLayers> {
    let opened = open(&ImageRef::parse(reference)?, opts)
        .map_err(|e| e.context(format!("base image {reference}")))?;
    Ok(BaseLayers {
        reference: reference.to_string(),
        diff_ids: opened
            .image
            .config
            .diff_ids
            .iter()
            .cloned()
            .collect::<HashSet<_>>(),
    })
}

/// The base image for roles: `explicit` (`--base`), else the one the image's
/// `org.opencontainers.image.base.*` annotations name (a warning, not an error, if unreadable).
pub fn resolve_base(
    explicit: Option<&str>,
    image: &Image,
    opts: &SourceOptions,
) -> Result<Option<BaseLayers>> {
    Ok(match explicit {
        Some(b) => Some(base_layers(b, opts)?),
        None => match (
            image.annotations.get(BASE_NAME),
            image.annotations.get(BASE_DIGEST),
        ) {
            (Some(name), digest) => {
                let name = pinned_base(name, digest.map(String::as_str));
                match base_layers(&name, opts) {
                    Ok(b) => Some(b),
                    Err(e) => {
                        eprintln!("strata: warning: cannot read the annotated base image ({e}); every layer counts as app");
                        None
                    }
                }
            }
            _ => None,
        },
    })
}

/// Runs `strata report`.
pub fn run(args: &ReportArgs) -> Result<ExitCode> {
    let filter = finding_filter(args.config.as_deref(), &args.ignore)?;
    let opts = args.image_options.source_options()?;
    let reference = ImageRef::parse(&args.image)?;
    let mut opened = open(&reference, &opts)?;
    opened.image.reference = args.image.clone();
    let base = resolve_base(args.base.as_deref(), &opened.image, &opts)?;
    let total: u64 = opened.image.layers.iter().filter_map(|l| l.size).sum();
    let bar = Arc::new(Bar::bytes(
        total,
        "reading layers",
        !args.output.no_progress,
    ));
    let analysis = analyze_keeping_scans(
        &opened,
        &AnalyzeOptions {
            top: args.top,
            base,
            scan: ScanOptions {
                contents: Contents::Inspect,
                threads: default_threads(),
                progress: bar.clone(),
            },
        },
    );
    bar.finish();
    let (mut analysis, scans) = analysis?;
    filter.apply(&mut analysis);
    let rendered = match args.output.format {
        Format::Table => table::render(&analysis),
        Format::Json => json::render(&analysis)?,
        Format::Markdown => markdown::render(&analysis),
        Format::Html => {
            let entries: Vec<_> = scans.iter().map(|s| s.entries.as_slice()).collect();
            html::report::render(&analysis, &layer_trees(&entries, TREE_NODES))
        }
    };
    write_stdout(&rendered)?;
    Ok(ExitCode::Ok)
}
