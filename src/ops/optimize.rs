//! `optimize`: an image the team built, re-laid above its base for cheap deploys, the same
//! filesystem proven before anything is tagged.

use std::sync::Arc;

use crate::error::Result;
use crate::ops::{annotated_base, open_image};
use crate::optimize::previous::{recorded, Previous};
use crate::optimize::{optimize as optimize_image, Optimized, Settings};
use crate::progress::Progress;
use crate::sink::open_sink;
use crate::source::reference::ImageRef;
use crate::source::{OpenedImage, SourceOptions};

/// What to optimize, onto which base, and where the result goes.
pub struct OptimizeRequest {
    /// The image to optimize.
    pub source: String,
    /// Where to write the result.
    pub destination: String,
    /// The base whose layers are kept; `None` reads the image's base annotations (else the
    /// previous image's plan).
    pub base: Option<String>,
    /// An earlier optimized image whose plan and blobs are reused; see --previous.
    pub previous: Option<String>,
    /// Layout and mtime settings.
    pub settings: Settings,
    /// Platform and registry options.
    pub options: SourceOptions,
    /// Receives the bytes written.
    pub progress: Arc<dyn Progress>,
}

/// How many of `image`'s first layers `base` has, in order (by diff_id).
fn shared_prefix(image: &OpenedImage, base: &OpenedImage) -> usize {
    image
        .image
        .config
        .diff_ids
        .iter()
        .zip(&base.image.config.diff_ids)
        .take_while(|(a, b)| a == b)
        .count()
}

/// Runs `strata optimize`: the destination is parsed first and opened only once the new layers
/// are proven. A previous image that cannot be opened is an error; one whose plan cannot be
/// reused is a warning, and the layers are planned from scratch.
pub fn optimize(req: &OptimizeRequest) -> Result<Optimized> {
    let opts = &req.options;
    let dest = ImageRef::parse_destination(&req.destination)?;
    let image = open_image(&req.source, opts)?;
    let previous_image = match &req.previous {
        Some(name) => Some(open_image(name, opts).map_err(|e| e.context("--previous"))?),
        None => None,
    };
    let recorded = previous_image.as_ref().map(recorded);
    let diff_ids = &image.image.config.diff_ids;
    let mut warnings = Vec::new();
    let keep = match req.base.clone().or_else(|| annotated_base(&image.image)) {
        Some(name) => shared_prefix(&image, &open_image(&name, opts)?),
        None => match recorded.as_ref().and_then(|r| r.as_ref().ok()) {
            Some(plan) if plan.has_base(diff_ids) => plan.base_layers,
            _ => {
                warnings.push(format!(
                    "{} records no base image and no --base was given: every layer is re-laid",
                    req.source
                ));
                0
            }
        },
    };
    let previous = match (&previous_image, recorded) {
        (Some(p), Some(plan)) => {
            let (previous, warning) = Previous::new(p, plan, &diff_ids[..keep])?;
            warnings.extend(warning);
            Some(previous)
        }
        _ => None,
    };
    let mut optimized = optimize_image(
        &image,
        keep,
        &req.settings,
        previous.as_ref(),
        || open_sink(&dest, &opts.registry),
        req.progress.clone(),
    )?;
    optimized.warnings.extend(warnings);
    Ok(optimized)
}
