//! `strata lint [DOCKERFILE...]`: layer-cache and size lint for Dockerfiles, with a line and a fix
//! for every finding, gating CI like `strata check`.

use std::path::PathBuf;

use clap::Args;

use crate::cli::{print, FormatOption};
use strata::dockerfile::render::LintReport;
use strata::dockerfile::rules::Severity;
use strata::error::{ExitCode, Result};
use strata::ops::lint::{lint, LintRequest};

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
    /// The output format.
    #[command(flatten)]
    pub format: FormatOption<LintReport<'static>>,
    /// Config file for `[lint] ignore` (default: strata.toml in this directory or the nearest
    /// parent).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Runs `strata lint`.
pub fn run(args: &LintArgs) -> Result<ExitCode> {
    let linted = lint(&LintRequest {
        files: args.files.clone(),
        context: args.context.clone(),
        ignore: args.ignore.clone(),
        config: args.config.clone(),
        fail_on: args.fail_on,
    })?;
    print(&linted.document(), args.format.format)?;
    Ok(if linted.passed {
        ExitCode::Ok
    } else {
        ExitCode::CheckFailed
    })
}
