//! `strata check IMAGE`: a pre-deploy gate. Rules come from `strata.toml` (`[check]`), dive's
//! `.dive-ci`, and flags (which win); one run gates and writes every report CI wants.

use std::path::PathBuf;

use clap::Args;

use crate::cli::{reading, warn, write_stdout, ImageOptions, OutputOptions};
use strata::error::{Error, ExitCode, Result};
use strata::ops::check::{check, CheckRequest};
use strata::policy::config::{load, locate, CheckRules};
use strata::policy::selectors::finding_filter;
use strata::policy::units::{parse_ratio, parse_size};
use strata::report::check::CheckReport;
use strata::report::{render, Format};

const EXAMPLES: &str = "\
Examples:
  strata check registry.example.com/app:1.5 --max-total 300MB --no-caches
  strata check app.tar --against registry.example.com/app:1.4 --max-delta 20MB
  strata check oci:build:latest --dive-ci .dive-ci --junit check.xml
  strata check $IMAGE --config ci/strata.toml --format markdown --output summary.md
  strata check $IMAGE --fail-on secret --fail-on wont-start --fail-on medium+

Sizes: 20MB = 20 000 000 bytes, 20MiB = 20 971 520 bytes. Exit codes: 0 all rules pass,
1 a rule failed, 2 bad input or config, 3 registry or network error.";

fn size_arg(s: &str) -> std::result::Result<u64, String> {
    parse_size(s)
}

fn ratio_arg(s: &str) -> std::result::Result<f64, String> {
    parse_ratio(s)
}

/// Arguments of `strata check`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct CheckArgs {
    /// The image to gate.
    pub image: String,
    /// Config file (default: strata.toml in this directory or the nearest parent).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// dive's CI rules file (.dive-ci), applied with dive's semantics.
    #[arg(long, value_name = "FILE")]
    pub dive_ci: Option<PathBuf>,
    /// The image deployed now, for --max-delta.
    #[arg(long, value_name = "IMAGE")]
    pub against: Option<String>,
    /// The base image, for the roles of layers.
    #[arg(long, value_name = "IMAGE")]
    pub base: Option<String>,
    /// Maximum compressed size of the image.
    #[arg(long, value_parser = size_arg, value_name = "SIZE")]
    pub max_total: Option<u64>,
    /// Maximum uncompressed size of the image.
    #[arg(long, value_parser = size_arg, value_name = "SIZE")]
    pub max_total_uncompressed: Option<u64>,
    /// Maximum compressed size of any layer.
    #[arg(long, value_parser = size_arg, value_name = "SIZE")]
    pub max_layer: Option<u64>,
    /// Maximum compressed bytes above the base image.
    #[arg(long, value_parser = size_arg, value_name = "SIZE")]
    pub max_app_layers: Option<u64>,
    /// Maximum number of layers.
    #[arg(long, value_name = "N")]
    pub max_layers: Option<u64>,
    /// Maximum bytes a deploy over --against downloads.
    #[arg(long, value_parser = size_arg, value_name = "SIZE")]
    pub max_delta: Option<u64>,
    /// Minimum dive efficiency (0-1).
    #[arg(long, value_parser = ratio_arg, value_name = "RATIO")]
    pub min_efficiency: Option<f64>,
    /// Maximum dive wasted bytes.
    #[arg(long, value_parser = size_arg, value_name = "SIZE")]
    pub max_wasted: Option<u64>,
    /// Maximum dead bytes (shipped but deleted or overwritten).
    #[arg(long, value_parser = size_arg, value_name = "SIZE")]
    pub max_dead_bytes: Option<u64>,
    /// Fail when an app layer (one carrying code: not base, not a layer of dependencies only)
    /// carries third-party dependencies.
    #[arg(long)]
    pub no_dependencies_in_app_layers: bool,
    /// Fail when a layer the build made (app or dependencies) carries caches or junk.
    #[arg(long)]
    pub no_caches: bool,
    /// A glob of paths that must not ship in any layer (repeatable).
    #[arg(long = "forbid-path", value_name = "GLOB")]
    pub forbid_paths: Vec<String>,
    /// Fail on findings of this rule id (`secret-aws-key`), family (`secret`, `wont-start`), kind
    /// (`bloat`) or severity (`high`, `medium+` for medium and above); repeatable.
    #[arg(long = "fail-on", value_name = "RULE")]
    pub fail_on: Vec<String>,
    /// Leave findings of this rule, family, kind or severity out of the report and the gates
    /// (adds to `[report] ignore`); repeatable.
    #[arg(long, value_name = "RULE")]
    pub ignore: Vec<String>,
    /// A path or glob whose findings are accepted on purpose (repeatable).
    #[arg(long = "allow", value_name = "GLOB")]
    pub allow: Vec<String>,
    /// Write the result here instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write JUnit XML (one test case per rule) to FILE, beside the main output: the same
    /// document `--format junit` prints.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Emit GitHub annotations and append a summary to $GITHUB_STEP_SUMMARY (default when
    /// GITHUB_ACTIONS=true).
    #[arg(long)]
    pub github: bool,
    /// Image access options.
    #[command(flatten)]
    pub image_options: ImageOptions,
    /// Output options.
    #[command(flatten)]
    pub output_options: OutputOptions<CheckReport<'static>>,
}

impl CheckArgs {
    /// The rules: the config file first, then every flag given on top.
    fn rules(&self) -> Result<CheckRules> {
        let file = locate(self.config.as_deref())?;
        let mut r = match file {
            Some(f) => load(&f)?,
            None => CheckRules::default(),
        };
        let sizes = [
            (&mut r.max_total, self.max_total),
            (&mut r.max_total_uncompressed, self.max_total_uncompressed),
            (&mut r.max_layer, self.max_layer),
            (&mut r.max_app_layers, self.max_app_layers),
            (&mut r.max_layers, self.max_layers),
            (&mut r.max_delta, self.max_delta),
            (&mut r.max_wasted, self.max_wasted),
            (&mut r.max_dead_bytes, self.max_dead_bytes),
        ];
        for (slot, flag) in sizes {
            if flag.is_some() {
                *slot = flag;
            }
        }
        if self.min_efficiency.is_some() {
            r.min_efficiency = self.min_efficiency;
        }
        r.no_dependencies_in_app_layers |= self.no_dependencies_in_app_layers;
        r.no_caches |= self.no_caches;
        r.forbid_paths.extend(self.forbid_paths.iter().cloned());
        r.allow.extend(self.allow.iter().cloned());
        r.fail_on.extend(self.fail_on.iter().cloned());
        if self.base.is_some() {
            r.base = self.base.clone();
        }
        if self.against.is_some() {
            r.against = self.against.clone();
        }
        if let Some(f) = &self.dive_ci {
            r.dive = Some(strata::policy::dive_ci::load(f)?);
        }
        Ok(r)
    }
}

fn write_file(path: &PathBuf, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io(path.display(), e))
}

/// Runs `strata check`.
pub fn run(args: &CheckArgs) -> Result<ExitCode> {
    let rules = args.rules()?;
    let filter = finding_filter(args.config.as_deref(), &args.ignore)?;
    let source = args.image_options.source_options()?;
    let bar = args.output_options.bar("reading layers");
    let checked = check(&CheckRequest {
        image: args.image.clone(),
        rules,
        filter,
        reading: reading(source, bar.clone()),
    });
    bar.finish();
    let checked = checked?;
    warn(&checked.warnings);
    let report = checked.document();
    let rendered = render(&report, args.output_options.format())?;
    match &args.output {
        Some(path) => write_file(path, &rendered)?,
        None => write_stdout(&rendered)?,
    }
    if let Some(path) = &args.junit {
        write_file(path, &render(&report, Format::Junit)?)?;
    }
    let on_github = args.github || std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true");
    if on_github {
        write_stdout(&render(&report, Format::Github)?)?;
        if let Ok(summary) = std::env::var("GITHUB_STEP_SUMMARY") {
            use std::io::Write;
            let markdown = render(&report, Format::Markdown)?;
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&summary)
                .and_then(|mut f| f.write_all(markdown.as_bytes()))
                .map_err(|e| Error::io(&summary, e))?;
        }
    }
    Ok(if checked.passed {
        ExitCode::Ok
    } else {
        ExitCode::CheckFailed
    })
}
