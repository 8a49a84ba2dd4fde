//! strata: make container images cheap to ship.
//!
//! The crate is organized the way data flows: [`source`] resolves an image reference to the
//! [`model`] and streams its layers; [`layer`] decodes and walks them; [`analysis`] turns the walk
//! into sizes, findings and advice; [`report`] renders the result. [`ops`] runs each command's
//! pipeline as one call; the `strata` binary is a thin command line over it (private to the
//! binary, src/cli/).

pub mod analysis;
pub mod assemble;
pub mod builder;
pub mod cargo;
pub mod catalog;
pub mod dockerfile;
pub mod ecosystem;
pub mod error;
pub mod explore;
pub mod generate;
pub mod layer;
pub mod model;
pub mod mutate;
pub mod ops;
pub mod optimize;
pub mod policy;
pub mod preset;
pub mod progress;
pub mod python;
pub mod report;
pub mod rootfs;
pub mod sink;
pub mod source;
pub mod temp;
#[cfg(test)]
mod test_tools;
pub mod timestamp;
pub mod units;
