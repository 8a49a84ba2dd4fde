//! `rebase`: an image's own layers moved onto a new base, without downloading or rebuilding them.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::mutate::rebase::rebase as rebase_image;
use crate::ops::{annotated_base, open_image};
use crate::progress::Progress;
use crate::report::transfer::Rebased;
use crate::sink::open_sink;
use crate::source::reference::ImageRef;
use crate::source::SourceOptions;

/// What to rebase onto what, and where the result goes.
pub struct RebaseRequest {
    /// The image to rebase.
    pub image: String,
    /// The base to move onto.
    pub new_base: String,
    /// The base the image was built on; `None` reads it from the image's base annotations.
    pub old_base: Option<String>,
    /// Where to write the result; `None` writes over `image`.
    pub destination: Option<String>,
    /// Platform and registry options.
    pub options: SourceOptions,
    /// Receives the bytes written.
    pub progress: Arc<dyn Progress>,
}

/// Runs `strata rebase`: all three images are opened before the destination is touched.
pub fn rebase(req: &RebaseRequest) -> Result<Rebased> {
    let opts = &req.options;
    let dest = ImageRef::parse_destination(req.destination.as_deref().unwrap_or(&req.image))?;
    let image = open_image(&req.image, opts)?;
    let old_name = match &req.old_base {
        Some(b) => b.clone(),
        None => annotated_base(&image.image).ok_or_else(|| {
            Error::usage(format!(
                "{} records no base image (org.opencontainers.image.base.name): pass --old-base",
                req.image
            ))
        })?,
    };
    let old_base = open_image(&old_name, opts)?;
    let new_base = open_image(&req.new_base, opts)?;
    let mut sink = open_sink(&dest, &opts.registry)?;
    let stats = rebase_image(
        &image,
        &old_base,
        &new_base,
        &req.new_base,
        sink.as_mut(),
        req.progress.clone(),
    )?;
    Ok(Rebased {
        image: req.image.clone(),
        new_base: req.new_base.clone(),
        stats,
    })
}
