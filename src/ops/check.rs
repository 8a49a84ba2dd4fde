//! `check`: analyze an image as `report` does, compare it with the deployed one when the rules ask,
//! and evaluate every rule.

use std::sync::Arc;

use crate::analysis::diff::{compare, reported_scans, Diff, DiffOptions};
use crate::analysis::scan::LayerScan;
use crate::analysis::scan::ScanOptions;
use crate::error::{Error, Result};
use crate::layer::walk::{Contents, Entry};
use crate::ops::report::{report, resolve_base, ReportRequest};
use crate::ops::{open_image, Reading};
use crate::policy::config::CheckRules;
use crate::policy::rules::{evaluate, RuleResult, Status};
use crate::policy::selectors::FindingFilter;
use crate::report::check::CheckReport;
use crate::report::image::ImageReport;

/// How many entries the ranked lists of a check's report keep.
const TOP: usize = 10;

/// What to gate and by which rules.
pub struct CheckRequest {
    /// The image, as any reference strata reads.
    pub image: String,
    /// The rules, config file and flags merged; `base` and `against` name the other images.
    pub rules: CheckRules,
    /// Which findings to leave out of the report and the gates.
    pub filter: FindingFilter,
    /// How to reach and read the images.
    pub reading: Reading,
}

/// A check's verdict and everything it was computed from.
pub struct Checked {
    /// The image checked, as named.
    pub image: String,
    /// True when no rule failed.
    pub passed: bool,
    /// Every configured rule's result.
    pub rules: Vec<RuleResult>,
    /// The image's report.
    pub report: ImageReport,
    /// The comparison with `against`, when the rules name it.
    pub diff: Option<Diff>,
    /// What went wrong without stopping the check.
    pub warnings: Vec<String>,
}

impl Checked {
    /// The document every format of `strata check` renders.
    pub fn document(&self) -> CheckReport<'_> {
        CheckReport {
            schema_version: 1,
            image: &self.image,
            passed: self.passed,
            rules: &self.rules,
            report: &self.report.analysis,
            diff: self.diff.as_ref(),
        }
    }
}

/// Runs `strata check`'s pipeline; a usage error when there is no rule to check.
pub fn check(req: &CheckRequest) -> Result<Checked> {
    let analyzed = report(&ReportRequest {
        image: req.image.clone(),
        base: req.rules.base.clone(),
        top: TOP,
        filter: req.filter.clone(),
        reading: req.reading.clone(),
    })?;
    let mut warnings = analyzed.warnings.clone();
    let mut report = analyzed.report;
    let diff = match &req.rules.against {
        Some(against) => {
            let old = open_image(against, &req.reading.source)?;
            let old_base = resolve_base(None, &old.image, &req.reading.source, &mut warnings)?;
            // The image's layers were read for the report: the comparison takes those scans,
            // files compared by the inspectors' fingerprints, and never reads them again.
            let scanned = reported_scans(std::mem::take(&mut report.scans));
            let diff_opts = DiffOptions {
                files: false,
                top: 0,
                scan: ScanOptions {
                    contents: Contents::Inspect,
                    threads: req.reading.threads,
                    progress: req.reading.progress.clone(),
                },
                old_base: old_base.map(|b| b.diff_ids),
                new_base: analyzed.base.as_ref().map(|b| b.diff_ids.clone()),
                new_scanned: scanned,
            };
            let diff = compare(&old, &analyzed.opened, &diff_opts)?;
            let mut scanned: Vec<(usize, Arc<LayerScan>)> =
                diff_opts.new_scanned.into_iter().collect();
            scanned.sort_by_key(|(index, _)| *index);
            report.scans = scanned
                .into_iter()
                .map(|(_, scan)| Arc::try_unwrap(scan).unwrap_or_else(|shared| (*shared).clone()))
                .collect();
            Some(diff)
        }
        None => None,
    };
    let entries: Vec<&[Entry]> = report.scans.iter().map(|s| s.entries.as_slice()).collect();
    let rules = evaluate(&req.rules, &report.analysis, &entries, diff.as_ref())?;
    if rules.is_empty() {
        return Err(Error::usage(
            "no rules to check: pass flags such as --max-total 500MB, or add a [check] table to strata.toml",
        ));
    }
    Ok(Checked {
        image: req.image.clone(),
        passed: rules.iter().all(|r| r.status != Status::Fail),
        rules,
        report,
        diff,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::tests::{reading, sample};

    fn check_with(rules: CheckRules) -> Result<Checked> {
        check(&CheckRequest {
            image: sample("latest"),
            rules,
            filter: FindingFilter::default(),
            reading: reading(),
        })
    }

    #[test]
    fn a_check_without_rules_is_a_usage_error() {
        let e = check_with(CheckRules::default()).err().unwrap();
        assert_eq!(e.exit_code().code(), 2);
        assert!(e.to_string().starts_with("no rules to check"), "{e}");
    }

    #[test]
    fn the_verdict_follows_the_rules() {
        let at_most = |n| CheckRules {
            max_layers: Some(n),
            ..CheckRules::default()
        };
        let failed = check_with(at_most(2)).unwrap();
        assert!(!failed.passed);
        assert_eq!(failed.rules.len(), 1);
        assert_eq!(failed.rules[0].status, Status::Fail);
        assert!(check_with(at_most(3)).unwrap().passed);
        assert!(!failed.document().passed);
    }
}
