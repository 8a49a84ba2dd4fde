//! Layers: compression, digests, the streaming tar walk (reading) and the reproducible writer.

pub mod compression;
pub mod digest;
pub mod elf;
pub mod exec;
pub mod parallel_gzip;
pub mod readahead;
pub mod walk;
pub mod writer;
