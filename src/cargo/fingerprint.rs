//! `strata fingerprint`: a short stable name for a recipe's dependency set, `deps-<16 hex>`, for
//! tagging dependency images or keying a warm `target/`. Recipes are canonical (sorted keys, no
//! comments), so reordering a manifest or editing a comment keeps the fingerprint; any change to
//! what dependencies compile changes it.

use sha2::{Digest, Sha256};

use crate::cargo::recipe::Recipe;
use crate::error::Result;

/// Bumped if the hashed form ever changes, so old and new fingerprints never collide.
const SCHEME: &str = "strata-recipe-v1\n";

/// `deps-` and the first 16 hex digits of the SHA-256 of the recipe's JSON.
pub fn fingerprint(recipe: &Recipe) -> Result<String> {
    let mut hasher = Sha256::new();
    hasher.update(SCHEME.as_bytes());
    hasher.update(recipe.to_json()?.as_bytes());
    Ok(format!("deps-{}", &hex::encode(hasher.finalize())[..16]))
}
