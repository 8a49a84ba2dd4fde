//! The tag of a project's dependency image: `deps-<hash>` of what goes into it.
//!
//! It covers the dependency set (the Cargo recipe's fingerprint, or the Python lockfile's for the
//! interpreter of `.python-version` and linux on this machine's architecture) and, when there is
//! one, the text of `Dockerfile.base` and of the `digests.env` next to it (whose images the
//! Makefile passes as build arguments): a new runtime base, another system package or another
//! install command makes another image, so it must get another tag. The source code is in
//! neither, so editing it keeps the tag and the image is reused.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::generate::Project;

/// Bumped if the combined form changes, so old and new tags never collide.
const SCHEME: &str = "strata-base-v1\n";

/// `deps-<16 hex>` for the project at `dir` built by `dockerfile` (`None`: the dependencies
/// alone, which is then the same as `strata fingerprint`).
pub fn base_tag(dir: &Path, dockerfile: Option<&Path>) -> Result<String> {
    let project = Project::read(dir)?;
    let deps = project.ecosystem.fingerprint(dir)?.hash;
    let Some(dockerfile) = dockerfile else {
        return Ok(deps);
    };
    let mut hasher = Sha256::new();
    hasher.update(SCHEME.as_bytes());
    hasher.update(deps.as_bytes());
    let digests = dockerfile.with_file_name("digests.env");
    for (path, required) in [(dockerfile, true), (digests.as_path(), false)] {
        match std::fs::read(path) {
            Ok(text) => {
                hasher.update(format!("\n{}\n", text.len()).as_bytes());
                hasher.update(&text);
            }
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(path.display(), e)),
        }
    }
    Ok(format!("deps-{}", &hex::encode(hasher.finalize())[..16]))
}
