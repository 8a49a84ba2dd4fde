//! The commands as library calls, one module per command family: a typed request in, a typed
//! result out (a [`Document`](crate::report::Document) the caller renders). Nothing here parses
//! arguments or prints; warnings come back in the result. The `strata` binary parses its command
//! line into these requests, calls them and renders what they return.

pub mod check;
pub mod copy;
pub mod diff;
pub mod history;
pub mod lint;
pub mod optimize;
pub mod platforms;
pub mod rebase;
pub mod replay;
pub mod report;

use std::sync::Arc;

use crate::error::Result;
use crate::model::Image;
use crate::mutate::annotation::{BASE_DIGEST, BASE_NAME};
use crate::progress::Progress;
use crate::source::reference::{pinned_base, ImageRef};
use crate::source::{open, OpenedImage, SourceOptions};

/// How an operation reaches images and reads their layers.
#[derive(Clone)]
pub struct Reading {
    /// Platform and registry options.
    pub source: SourceOptions,
    /// Threads that scan layers in parallel.
    pub threads: usize,
    /// Receives byte counts as layers are read or written.
    pub progress: Arc<dyn Progress>,
}

/// Opens the image `reference` names, recording the name as given (reports show it).
pub fn open_image(reference: &str, opts: &SourceOptions) -> Result<OpenedImage> {
    let mut opened = open(&ImageRef::parse(reference)?, opts)?;
    opened.image.reference = reference.to_string();
    Ok(opened)
}

/// The base image `image`'s `org.opencontainers.image.base.*` annotations name, pinned to its
/// digest when one is recorded.
pub fn annotated_base(image: &Image) -> Option<String> {
    let name = image.annotations.get(BASE_NAME)?;
    Some(pinned_base(
        name,
        image.annotations.get(BASE_DIGEST).map(String::as_str),
    ))
}

/// Compressed bytes of `image`'s layers, as far as the manifest tells.
fn compressed_total(image: &Image) -> u64 {
    image.layers.iter().filter_map(|l| l.size).sum()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A reference to the committed sample image (`base`: one layer, `latest`: it and two more).
    pub(crate) fn sample(tag: &str) -> String {
        format!(
            "oci:{}/fixtures/sample-app:{tag}",
            env!("CARGO_MANIFEST_DIR")
        )
    }

    /// Local reads on two threads, no progress.
    pub(crate) fn reading() -> Reading {
        Reading {
            source: SourceOptions::default(),
            threads: 2,
            progress: Arc::new(()),
        }
    }

    #[test]
    fn an_opened_image_keeps_its_name_as_given() {
        let opened = open_image(&sample("latest"), &SourceOptions::default()).unwrap();
        assert_eq!(opened.image.reference, sample("latest"));
        assert_eq!(annotated_base(&opened.image), None);
    }
}
