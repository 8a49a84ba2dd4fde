//! `lint`: Dockerfiles linted for layer-cache busting and size, the verdict against a severity.

use std::path::PathBuf;

use crate::dockerfile::lint::{config_ignores, lint_file, LintOptions};
use crate::dockerfile::render::LintReport;
use crate::dockerfile::rules::{lookup, Finding, Rule, Severity};
use crate::error::Result;

/// Which Dockerfiles to lint and what fails the run.
pub struct LintRequest {
    /// The Dockerfiles; empty means `./Dockerfile`.
    pub files: Vec<PathBuf>,
    /// The build context, for the `.dockerignore` check (default: each Dockerfile's directory).
    pub context: Option<PathBuf>,
    /// Rules turned off, by id or name, on top of the config's `[lint] ignore`.
    pub ignore: Vec<String>,
    /// The config file (default: strata.toml here or in the nearest parent).
    pub config: Option<PathBuf>,
    /// The lowest severity that fails the run.
    pub fail_on: Severity,
}

/// What one lint run found.
pub struct Linted {
    /// The Dockerfiles linted, as named.
    pub files: Vec<String>,
    /// Rules turned off for the whole run.
    pub ignored: Vec<Rule>,
    /// Every finding, by file and line.
    pub findings: Vec<Finding>,
    /// The lowest severity that fails the run.
    pub fail_on: Severity,
    /// True when no finding is at or above `fail_on`.
    pub passed: bool,
}

impl Linted {
    /// The document every format of `strata lint` renders.
    pub fn document(&self) -> LintReport<'_> {
        LintReport {
            schema_version: 1,
            passed: self.passed,
            fail_on: self.fail_on,
            files: &self.files,
            ignored: &self.ignored,
            findings: &self.findings,
        }
    }
}

/// Runs `strata lint`: the ignores resolved first (an unknown rule is a usage error), then every
/// file in order.
pub fn lint(req: &LintRequest) -> Result<Linted> {
    let mut ignore = config_ignores(req.config.as_deref())?;
    for key in &req.ignore {
        ignore.push(lookup(key)?);
    }
    let options = LintOptions {
        context: req.context.clone(),
        ignore,
    };
    let files = if req.files.is_empty() {
        vec![PathBuf::from("Dockerfile")]
    } else {
        req.files.clone()
    };
    let shown: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let mut findings = Vec::new();
    for (file, name) in files.iter().zip(&shown) {
        findings.extend(lint_file(file, name, &options)?);
    }
    Ok(Linted {
        passed: findings.iter().all(|f| f.severity < req.fail_on),
        files: shown,
        ignored: options.ignore,
        findings,
        fail_on: req.fail_on,
    })
}
