//! Reading layers: compression, digests, and the streaming tar walk.

pub mod compression;
pub mod digest;
pub mod readahead;
pub mod walk;
