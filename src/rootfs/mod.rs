//! The filesystem of an image: its layers stacked as container runtimes extract them, for path
//! lookups across layers ([`base_fs`]), and the shared libraries a binary finds in it
//! ([`libraries`]). Builds ask it about their base, `strata report` about the image it reads.

pub mod base_fs;
pub mod libraries;
