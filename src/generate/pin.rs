//! Pinning the base images the user names (`--runtime-base`, `--builder-base`) to the digest
//! their tag points at now, so the generated Dockerfiles rebuild from the same bytes until someone
//! pins anew, and a base that moves shows up as a change to `digests.env` (and so as a new
//! dependency image tag) instead of silently.

use crate::error::Result;
use crate::source::reference::ImageRef;
use crate::source::registry::{manifest_digest, RegistryOptions};

/// `image` pinned as `image@sha256:...` when it is a registry reference without a digest;
/// unchanged when it already has one or names no registry image (a layout or archive path).
/// A registry that cannot be reached or does not know the tag is an error, which the caller may
/// turn into a warning.
pub fn pinned(image: &str, opts: &RegistryOptions) -> Result<String> {
    if image.contains('@') {
        return Ok(image.to_string());
    }
    match ImageRef::parse(image)? {
        // A generated Dockerfile's `FROM` pulls a bare name from Docker Hub: pinned there.
        ImageRef::Registry(name) | ImageRef::Named(name) => {
            Ok(format!("{name}@{}", manifest_digest(&name, opts)?))
        }
        ImageRef::Layout { .. } | ImageRef::Archive { .. } | ImageRef::Daemon(_) => {
            Ok(image.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_and_local_images_are_left_as_given_without_a_lookup() {
        let opts = RegistryOptions::default();
        let pinned_image =
            "rust:1@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
        assert_eq!(pinned(pinned_image, &opts).unwrap(), pinned_image);
        assert_eq!(
            pinned("oci:/nonexistent/layout:v1", &opts).unwrap(),
            "oci:/nonexistent/layout:v1"
        );
        assert!(pinned("Not An Image!", &opts).is_err());
    }
}
