//! `report`: open an image, find its base, scan and analyze every layer, drop the findings the
//! filter leaves out. `check` gates on the same analysis.

use std::collections::HashSet;

use crate::analysis::scan::{scan_layers_each, LayerScan, ScanOptions};
use crate::analysis::{analyze_scans, AnalyzeOptions, BaseLayers};
use crate::error::Result;
use crate::layer::walk::Contents;
use crate::model::Image;
use crate::ops::{annotated_base, compressed_total, open_image, Reading};
use crate::policy::selectors::FindingFilter;
use crate::report::image::ImageReport;
use crate::source::{OpenedImage, SourceOptions};

/// What to analyze and how.
pub struct ReportRequest {
    /// The image, as any reference strata reads.
    pub image: String,
    /// The base image whose layers count as `base`; `None` falls back to the image's base
    /// annotations.
    pub base: Option<String>,
    /// How many entries ranked lists keep.
    pub top: usize,
    /// Which findings to leave out.
    pub filter: FindingFilter,
    /// How to reach and read the image.
    pub reading: Reading,
}

/// An analyzed image, still open for what comes next (`check` compares it with another).
pub struct Analyzed {
    /// The image, opened.
    pub opened: OpenedImage,
    /// Its report.
    pub report: ImageReport,
    /// What went wrong without stopping the analysis (an unreadable annotated base, a base that
    /// matches no layer).
    pub warnings: Vec<String>,
    /// The base the roles were computed against (a comparison labels NEW's layers with it).
    pub base: Option<BaseLayers>,
}

/// Runs `strata report`'s pipeline: open → base → scan and analyze → filter.
pub fn report(req: &ReportRequest) -> Result<Analyzed> {
    let opened = open_image(&req.image, &req.reading.source)?;
    let reported = report_opened(req, &opened, &|_, _| {})?;
    Ok(Analyzed {
        opened,
        report: reported.report,
        warnings: reported.warnings,
        base: reported.base,
    })
}

/// What [`report_opened`] found: [`Analyzed`] without the image it was given.
pub struct Reported {
    /// The report.
    pub report: ImageReport,
    /// See [`Analyzed::warnings`].
    pub warnings: Vec<String>,
    /// See [`Analyzed::base`].
    pub base: Option<BaseLayers>,
}

/// [`report`] on an image already opened with [`open_image`], `on_layer` hearing of each layer's
/// scan as it finishes (`strata explore` shows the layers from the manifest first, then fills in
/// their files as they stream).
pub fn report_opened(
    req: &ReportRequest,
    opened: &OpenedImage,
    on_layer: &(dyn Fn(usize, &LayerScan) + Sync),
) -> Result<Reported> {
    let mut warnings = Vec::new();
    let base = resolve_base(
        req.base.as_deref(),
        &opened.image,
        &req.reading.source,
        &mut warnings,
    )?;
    req.reading.progress.start(compressed_total(&opened.image));
    let opts = AnalyzeOptions {
        top: req.top,
        base: base.clone(),
        scan: ScanOptions {
            contents: Contents::Inspect,
            threads: req.reading.threads,
            progress: req.reading.progress.clone(),
        },
    };
    let all: Vec<usize> = (0..opened.image.layers.len()).collect();
    let scans = scan_layers_each(
        &opened.image,
        opened.layers.as_ref(),
        &all,
        &opts.scan,
        on_layer,
    )?;
    let mut analysis = analyze_scans(&opened.image, &opts, &scans);
    if let (Some(base), Some(0)) = (&analysis.image.base, analysis.image.base_matched_layers) {
        warnings.push(format!(
            "the base {base} shares no layer with {}: no layer counts as base (is it the image's base?)",
            analysis.image.reference
        ));
    }
    req.filter.apply(&mut analysis);
    Ok(Reported {
        report: ImageReport { analysis, scans },
        warnings,
        base,
    })
}

fn base_layers(reference: &str, opts: &SourceOptions) -> Result<BaseLayers> {
    let opened =
        open_image(reference, opts).map_err(|e| e.context(format!("base image {reference}")))?;
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

/// The base image for roles: `explicit` (`--base`), else the one the image's base annotations
/// name (unreadable, it becomes a warning and every layer counts as app).
pub(crate) fn resolve_base(
    explicit: Option<&str>,
    image: &Image,
    opts: &SourceOptions,
    warnings: &mut Vec<String>,
) -> Result<Option<BaseLayers>> {
    if let Some(b) = explicit {
        return base_layers(b, opts).map(Some);
    }
    let Some(name) = annotated_base(image) else {
        return Ok(None);
    };
    Ok(match base_layers(&name, opts) {
        Ok(b) => Some(b),
        Err(e) => {
            warnings.push(format!(
                "cannot read the annotated base image ({e}); no layer counts as base"
            ));
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Role;
    use crate::ops::tests::{reading, sample};

    fn roles(base: Option<String>) -> Vec<Role> {
        let analyzed = report(&ReportRequest {
            image: sample("latest"),
            base,
            top: 5,
            filter: FindingFilter::default(),
            reading: reading(),
        })
        .unwrap();
        assert!(analyzed.warnings.is_empty());
        assert_eq!(analyzed.report.scans.len(), 3);
        analyzed
            .report
            .analysis
            .layers
            .iter()
            .map(|l| l.role)
            .collect()
    }

    #[test]
    fn the_base_given_makes_its_layers_base_and_none_makes_every_layer_app() {
        assert_eq!(
            roles(Some(sample("base"))),
            [Role::Base, Role::App, Role::App]
        );
        assert_eq!(roles(None), [Role::App, Role::App, Role::App]);
    }
}
