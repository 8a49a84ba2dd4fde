//! `diff`: the deploy cost between two images, and (optionally) the files that changed.

use crate::analysis::diff::{compare, Diff, DiffOptions};
use crate::analysis::scan::ScanOptions;
use crate::error::Result;
use crate::layer::walk::Contents;
use crate::ops::{open_image, Reading};

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
    /// How to reach and read the images.
    pub reading: Reading,
}

/// Runs `strata diff`'s pipeline: open both, compare.
pub fn diff(req: &DiffRequest) -> Result<Diff> {
    let old = open_image(&req.old, &req.reading.source)?;
    let new = open_image(&req.new, &req.reading.source)?;
    compare(
        &old,
        &new,
        &DiffOptions {
            files: req.files,
            top: req.top,
            scan: ScanOptions {
                contents: Contents::Hash,
                threads: req.reading.threads,
                progress: req.reading.progress.clone(),
            },
        },
    )
}
