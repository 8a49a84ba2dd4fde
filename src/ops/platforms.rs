//! Whole multi-platform indexes: `report --all-platforms` and `diff` of two indexes, each the
//! single-image pipeline run once per platform of the index.

use crate::error::Result;
use crate::ops::diff::{diff, DiffRequest};
use crate::ops::report::{report, ReportRequest};
use crate::report::platforms::{PlatformDiff, PlatformDiffs, PlatformReport, PlatformReports};
use crate::source::platform::{platforms, Platform, Platforms};
use crate::source::reference::ImageRef;
use crate::source::SourceOptions;

/// A multi-platform result and the warnings of its platforms' runs.
pub struct ForEachPlatform<D> {
    /// The document.
    pub document: D,
    /// What went wrong without stopping a platform's run.
    pub warnings: Vec<String>,
}

fn listing(reference: &str, opts: &SourceOptions) -> Result<Option<Platforms>> {
    platforms(&ImageRef::parse(reference)?, opts)
}

/// `strata report --all-platforms`: the report of every platform image of the index
/// `req.image` names (attestations skipped), or of the one image a non-index names.
pub fn report_platforms(req: &ReportRequest) -> Result<ForEachPlatform<PlatformReports>> {
    let found = listing(&req.image, &req.reading.source)?;
    let targets: Vec<Option<Platform>> = match &found {
        Some(l) => l.images.iter().cloned().map(Some).collect(),
        None => vec![None],
    };
    let mut warnings = Vec::new();
    let mut reports = Vec::new();
    for target in targets {
        let mut reading = req.reading.clone();
        if let Some(p) = &target {
            reading.source.platform = p.clone();
        }
        let analyzed = report(&ReportRequest {
            image: req.image.clone(),
            base: req.base.clone(),
            top: req.top,
            filter: req.filter.clone(),
            reading,
        })?;
        warnings.extend(analyzed.warnings);
        let platform = match target {
            Some(p) => p.to_string(),
            None => analyzed.report.analysis.image.platform.clone(),
        };
        reports.push(PlatformReport {
            platform,
            report: analyzed.report,
        });
    }
    Ok(ForEachPlatform {
        document: PlatformReports {
            reference: req.image.clone(),
            platforms: reports,
            skipped: found.map(|l| l.skipped).unwrap_or_default(),
        },
        warnings,
    })
}

/// `strata diff` of two indexes: one comparison per platform both have (matched by
/// os/arch/variant), the platforms only one has; `None` unless both sides are indexes. A side
/// that cannot be listed counts as no index: the single-image diff then says what is wrong with
/// it, in its own words (and hints).
pub fn diff_platforms(req: &DiffRequest) -> Result<Option<ForEachPlatform<PlatformDiffs>>> {
    let opts = &req.reading.source;
    let index = |reference: &str| listing(reference, opts).ok().flatten();
    // A local side is listed first: when it is no index, no registry is asked an extra time.
    let remote = |reference: &str| matches!(ImageRef::parse(reference), Ok(ImageRef::Registry(_)));
    let swap = remote(&req.old) && !remote(&req.new);
    let order = if swap {
        [&req.new, &req.old]
    } else {
        [&req.old, &req.new]
    };
    let Some(first) = index(order[0]) else {
        return Ok(None);
    };
    let Some(second) = index(order[1]) else {
        return Ok(None);
    };
    let (old, new) = if swap {
        (second, first)
    } else {
        (first, second)
    };
    let mut warnings = Vec::new();
    let mut compared = Vec::new();
    let mut added = Vec::new();
    for p in &new.images {
        if !old.images.iter().any(|o| o.same(p)) {
            added.push(p.to_string());
            continue;
        }
        let mut reading = req.reading.clone();
        reading.source.platform = p.clone();
        let diffed = diff(&DiffRequest {
            old: req.old.clone(),
            new: req.new.clone(),
            files: req.files,
            top: req.top,
            base: req.base.clone(),
            reading,
        })?;
        warnings.extend(diffed.warnings);
        compared.push(PlatformDiff {
            platform: p.to_string(),
            diff: diffed.diff,
        });
    }
    let mut document = PlatformDiffs::new(req.old.clone(), req.new.clone(), compared);
    document.added_platforms = added;
    document.removed_platforms = old
        .images
        .iter()
        .filter(|o| !new.images.iter().any(|p| p.same(o)))
        .map(Platform::to_string)
        .collect();
    document.skipped = old.skipped;
    for s in new.skipped {
        if !document.skipped.contains(&s) {
            document.skipped.push(s);
        }
    }
    Ok(Some(ForEachPlatform { document, warnings }))
}
