//! The annotation keys strata writes and reads, each defined once (oci-spec's where it has one).

pub use oci_spec::image::{
    ANNOTATION_BASE_IMAGE_DIGEST as BASE_DIGEST, ANNOTATION_BASE_IMAGE_NAME as BASE_NAME,
    ANNOTATION_REF_NAME as REF_NAME,
};

/// The full image name containerd (and so `docker load` on Docker 25+) reads from an archive's
/// `index.json`.
pub const CONTAINERD_IMAGE_NAME: &str = "io.containerd.image.name";

/// The history comment `strata build` writes on every layer that holds only dependencies, by
/// which `report`, `check`, `diff` and `history` know the layer's role without reading it (a
/// history entry survives `docker load` and every registry, unlike a descriptor annotation).
pub const DEPENDENCY_LAYER_COMMENT: &str = "strata: dependency layer";

/// The manifest annotation where `strata optimize` records its plan (per new layer: role and
/// what it holds, above how many base layers), for a later `--previous` to reuse.
pub const OPTIMIZE_PLAN: &str = "dev.strata.optimize.plan";
