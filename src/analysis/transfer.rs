//! What a pull or a push transfers of a layer, whatever the transport it was read from: its blob
//! as stored when that is compressed (or held by a registry, which serves what it holds), and for
//! a plain-tar layer read from an archive or a layout the gzip a push would make of it
//! ([`crate::layer::push_size`]). `docker save` stores layers uncompressed, so without this the
//! same image is three times larger as an archive than in the registry it is pushed to.

use serde::Serialize;

use crate::units::human_bytes;

/// How a `compressed_bytes` figure was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CompressedSource {
    /// The size of the blob as the source stores it.
    Stored,
    /// The size of the gzip a push would make of a layer stored uncompressed (level 6, measured
    /// whole or on samples as `layer::push_size` says).
    EstimatedPushGzip,
}

impl CompressedSource {
    /// Whether the figure is an estimate.
    pub fn is_estimate(self) -> bool {
        self == CompressedSource::EstimatedPushGzip
    }

    /// The source of a sum of figures: an estimate when any of them is.
    pub fn of_sum(sources: impl IntoIterator<Item = CompressedSource>) -> CompressedSource {
        if sources.into_iter().any(CompressedSource::is_estimate) {
            CompressedSource::EstimatedPushGzip
        } else {
            CompressedSource::Stored
        }
    }
}

/// A figure as people read it: `97.3 MB`, or `~97.3 MB (est. push)` for an estimate.
pub fn human_transfer(bytes: u64, source: CompressedSource) -> String {
    let shown = human_bytes(bytes);
    if source.is_estimate() {
        format!("~{shown} (est. push)")
    } else {
        shown
    }
}
