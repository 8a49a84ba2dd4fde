//! The filesystem of an image: its layers stacked as container runtimes extract them, for path
//! lookups across layers ([`base_fs`]), the shared libraries a binary finds in it
//! ([`libraries`]) and the OS package that owns each path ([`packages`], rpm's database read by
//! [`rpmdb`]). Builds ask it about
//! their base, `strata report` about the image it reads, `strata optimize` about the layers
//! above a base.

pub mod base_fs;
pub mod libc;
pub mod libraries;
pub mod packages;
pub mod rpmdb;
