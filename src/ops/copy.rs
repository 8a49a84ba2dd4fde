//! `copy`: an image from any source to any sink, sending only the blobs the destination lacks.

use std::sync::Arc;

use crate::error::Result;
use crate::ops::open_image;
use crate::progress::Progress;
use crate::report::transfer::Copied;
use crate::sink::copy::{copy_image, copy_index};
use crate::sink::open_sink;
use crate::source::platform::open_store;
use crate::source::reference::ImageRef;
use crate::source::SourceOptions;

/// What to copy where.
pub struct CopyRequest {
    /// The image, as any reference strata reads.
    pub source: String,
    /// Where to write it, as any destination strata writes.
    pub destination: String,
    /// Platform and registry options (credentials apply to both ends).
    pub options: SourceOptions,
    /// Copy a multi-platform index whole: every platform manifest, the index byte for byte,
    /// and the referrers of each (`copy --all`); otherwise one platform's image.
    pub all: bool,
    /// Receives the bytes sent.
    pub progress: Arc<dyn Progress>,
}

/// Runs `strata copy`: the destination is parsed first (a bad one costs no download), the
/// source is opened before the destination is touched.
pub fn copy(req: &CopyRequest) -> Result<Copied> {
    let destination = ImageRef::parse_destination(&req.destination)?;
    if req.all {
        // A `docker save` archive holds single images: it is copied as one.
        if let Some(store) = open_store(&ImageRef::parse(&req.source)?, &req.options)? {
            let mut sink = open_sink(&destination, &req.options.registry)?;
            return copy_index(store.as_ref(), sink.as_mut(), req.progress.clone()).map(Copied);
        }
    }
    let source = open_image(&req.source, &req.options)?;
    let mut sink = open_sink(&destination, &req.options.registry)?;
    copy_image(&source, sink.as_mut(), req.progress.clone()).map(Copied)
}
