//! `strata lint [DOCKERFILE...]`: layer-cache and size lint for Dockerfiles, with a line and a fix
//! for every finding, gating CI like `strata check`.

use std::path::PathBuf;

use clap::Args;

use crate::cli::write_stdout;
use strata::dockerfile::lint::{config_ignores, lint_file, LintOptions};
use strata::dockerfile::render::{github, junit, markdown, table, LintFormat, LintReport};
use strata::dockerfile::rules::{lookup, Severity};
use strata::error::{ExitCode, Result};
use strata::report::{json, Format};

const EXAMPLES: &str = "\
Examples:
  strata lint
  strata lint docker/Dockerfile --context . --ignore SL006 --ignore runs-as-root
  strata lint Dockerfile Dockerfile.dev --format github --fail-on error

Rules: SL001 context-before-install, SL002 unlocked-install, SL003 package-cache-left,
SL004 pip-cache, SL005 install-recommends, SL006 unpinned-base, SL007 add-url,
SL008 runs-as-root, SL009 secret-in-layer, SL010 dockerignore.
Silence one instruction with `# strata-ignore RULE[,RULE]` on the line above it, or a rule
everywhere with --ignore or `[lint] ignore = [...]` in strata.toml.
Exit codes: 0 no finding at or above --fail-on, 1 findings, 2 unreadable or invalid Dockerfile.";

fn format_arg(s: &str) -> std::result::Result<LintFormat, String> {
    s.parse().map_err(|e: strata::error::Error| e.to_string())
}

/// Arguments of `strata lint`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct LintArgs {
    /// Dockerfiles to lint (default: ./Dockerfile).
    #[arg(value_name = "DOCKERFILE")]
    pub files: Vec<PathBuf>,
    /// The build context, for the .dockerignore check (default: each Dockerfile's directory).
    #[arg(long, value_name = "DIR")]
    pub context: Option<PathBuf>,
    /// Turn a rule off, by ID or name (repeatable).
    #[arg(long = "ignore", value_name = "RULE")]
    pub ignore: Vec<String>,
    /// The lowest severity that fails the run: info, warning or error.
    #[arg(long, default_value = "warning", value_parser = Severity::parse, value_name = "SEVERITY")]
    pub fail_on: Severity,
    /// Output format: table, json, markdown, junit or github.
    #[arg(long, short = 'f', default_value = "table", value_parser = format_arg)]
    pub format: LintFormat,
    /// Config file for `[lint] ignore` (default: strata.toml in this directory or the nearest
    /// parent).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Runs `strata lint`.
pub fn run(args: &LintArgs) -> Result<ExitCode> {
    let mut ignore = config_ignores(args.config.as_deref())?;
    for key in &args.ignore {
        ignore.push(lookup(key)?);
    }
    let options = LintOptions {
        context: args.context.clone(),
        ignore,
    };
    let files = if args.files.is_empty() {
        vec![PathBuf::from("Dockerfile")]
    } else {
        args.files.clone()
    };
    let shown: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let mut findings = Vec::new();
    for (file, name) in files.iter().zip(&shown) {
        findings.extend(lint_file(file, name, &options)?);
    }
    let passed = findings.iter().all(|f| f.severity < args.fail_on);
    let report = LintReport {
        schema_version: 1,
        passed,
        fail_on: args.fail_on,
        files: &shown,
        ignored: &options.ignore,
        findings: &findings,
    };
    let rendered = match args.format {
        LintFormat::Common(Format::Table) => table(&report),
        LintFormat::Common(Format::Json) => json::render(&report)?,
        LintFormat::Common(Format::Markdown) => markdown(&report),
        LintFormat::Common(Format::Html) => return Err(Format::html_unsupported("lint")),
        LintFormat::Junit => junit(&report),
        LintFormat::Github => github(&report),
    };
    write_stdout(&rendered)?;
    Ok(if passed {
        ExitCode::Ok
    } else {
        ExitCode::CheckFailed
    })
}
