//! `diff`: the deploy cost between two images, and (optionally) the files that changed; each
//! image's layers labelled against the base its annotations name.

use crate::analysis::diff::{compare, Diff, DiffOptions, Scans};
use crate::analysis::scan::ScanOptions;
use crate::error::Result;
use crate::layer::walk::Contents;
use crate::ops::report::resolve_base;
use crate::ops::{open_image, Reading};
use crate::source::OpenedImage;

/// Which two images to compare.
pub struct DiffRequest {
    /// The image a host or registry already has.
    pub old: String,
    /// The image being deployed.
    pub new: String,
    /// Also list the changed files (reads the layers that differ).
    pub files: bool,
    /// How many changed files to list.
    pub top: usize,
    /// The base both images are built on (`--base`); `None` takes each image's annotated base.
    pub base: Option<String>,
    /// How to reach and read the images.
    pub reading: Reading,
}

/// A comparison and what went wrong without stopping it.
pub struct Diffed {
    /// The comparison.
    pub diff: Diff,
    /// An annotated base that could not be read (the roles then know no base).
    pub warnings: Vec<String>,
}

/// Runs `strata diff`'s pipeline: open both, find their bases (the one given, read once, or
/// each one's annotated base), compare.
pub fn diff(req: &DiffRequest) -> Result<Diffed> {
    let old = open_image(&req.old, &req.reading.source)?;
    let new = open_image(&req.new, &req.reading.source)?;
    diff_images(req, &old, &new, Contents::Hash, Scans::new())
}

/// [`diff`] with NEW opened already (`req.new` is not used) and the layers of it `scanned` for
/// `report` (with [`crate::analysis::diff::files::content_from_fingerprints`] applied): they are
/// not read again, and files compare by the inspectors' fingerprints — `strata explore
/// --compare` reads each layer once.
pub fn diff_scanned(req: &DiffRequest, new: &OpenedImage, scanned: Scans) -> Result<Diffed> {
    let old = open_image(&req.old, &req.reading.source)?;
    diff_images(req, &old, new, Contents::Inspect, scanned)
}

fn diff_images(
    req: &DiffRequest,
    old: &OpenedImage,
    new: &OpenedImage,
    contents: Contents,
    new_scanned: Scans,
) -> Result<Diffed> {
    let opts = &req.reading.source;
    let mut warnings = Vec::new();
    let (old_base, new_base) = match &req.base {
        Some(base) => {
            let given = resolve_base(Some(base), &new.image, opts, &mut warnings)?;
            let diff_ids = given.map(|b| b.diff_ids);
            (diff_ids.clone(), diff_ids)
        }
        None => {
            let mut base_of = |image: &OpenedImage| -> Result<_> {
                Ok(resolve_base(None, &image.image, opts, &mut warnings)?.map(|b| b.diff_ids))
            };
            (base_of(old)?, base_of(new)?)
        }
    };
    let diff = compare(
        old,
        new,
        &DiffOptions {
            files: req.files,
            top: req.top,
            scan: ScanOptions {
                contents,
                threads: req.reading.threads,
                progress: req.reading.progress.clone(),
            },
            old_base,
            new_base,
            new_scanned,
        },
    )?;
    Ok(Diffed { diff, warnings })
}
