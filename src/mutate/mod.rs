//! Making images: [`image::NewImage`] is the one constructor (build, rebase, the cargo cache
//! artifact and manifests for legacy archives all go through it), on oci-spec's typed
//! documents, written in one [`canonical`] form so the same inputs give the same digests.
//! Images copied unchanged are not made here: they keep their exact bytes.

pub mod annotation;
pub mod canonical;
pub mod config;
pub mod image;
pub mod index;
pub mod rebase;
