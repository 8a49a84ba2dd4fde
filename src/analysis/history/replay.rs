//! `strata history --optimize`, the replay: what a run of deploys shipped as built, and what the
//! same deploys would have shipped had each image been optimized (each with the optimized image
//! of the tag before as its `--previous`). A deploy ships the blobs of the new image the previous
//! one does not have, by compressed digest, as [`super::history`] counts them. The first image of
//! the replay is where it starts: it ships its whole image either way and is left out of the
//! totals, so `N` images make `N - 1` deploys.

use std::collections::HashSet;

use serde::Serialize;

use crate::analysis::history::{shipped, SCHEMA_VERSION};
use crate::layer::digest::Digest;
use crate::units::human_bytes;

/// One image of the replay: as built and as optimized.
#[derive(Debug, Clone)]
pub struct Step {
    /// The tag, or the reference as given.
    pub tag: String,
    /// The manifest digest of the image as built.
    pub manifest_digest: Option<Digest>,
    /// Its layers as built: compressed digest and size, bottom first.
    pub layers: Vec<(Digest, u64)>,
    /// The manifest digest of its optimized image.
    pub optimized_manifest_digest: Option<Digest>,
    /// The optimized image's layers.
    pub optimized_layers: Vec<(Digest, u64)>,
}

/// One row of the replay: one image and the deploy that brought it.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayRow {
    /// The tag, or the local reference.
    pub tag: String,
    /// The tag deployed from; `null` for the first image, whose figures are its whole image.
    pub previous: Option<String>,
    /// The manifest digest as built.
    pub manifest_digest: Option<Digest>,
    /// The manifest digest of the optimized image (the replay's own; it is not kept).
    pub optimized_manifest_digest: Option<Digest>,
    /// Compressed bytes the deploy shipped as built: the layers `previous` does not have.
    pub shipped_bytes: u64,
    /// How many layers that is.
    pub shipped_layers: usize,
    /// Compressed bytes the deploy would have shipped optimized: the optimized image's layers
    /// the optimized `previous` does not have.
    pub optimized_shipped_bytes: u64,
    /// How many layers that is.
    pub optimized_shipped_layers: usize,
    /// Layers of the image as built.
    pub layers: usize,
    /// Layers of the optimized image.
    pub optimized_layers: usize,
}

/// The replay of a repository or of a list of images, oldest first.
#[derive(Debug, Clone, Serialize)]
pub struct Replay {
    /// See [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The repository, or `images` for a list of local images.
    pub source: String,
    /// Images found (the replay takes the newest `deploys + 1` of them).
    pub images: usize,
    /// Deploys replayed: every image of the replay but the first.
    pub deploys: usize,
    /// Compressed bytes those deploys shipped as built.
    pub shipped_bytes: u64,
    /// Compressed bytes they would have shipped optimized.
    pub optimized_shipped_bytes: u64,
    /// The sentence a team lead reads.
    pub summary: String,
    /// One row per image of the replay, oldest first; empty when there is nothing to compare.
    pub tags: Vec<ReplayRow>,
}

/// The replay of a history of one image, `only`: nothing to compare, which is no error.
pub fn nothing_to_compare(source: String, only: &str) -> Replay {
    Replay {
        schema_version: SCHEMA_VERSION,
        summary: format!("{source} has one image ({only}): no deploy to compare"),
        source,
        images: 1,
        deploys: 0,
        shipped_bytes: 0,
        optimized_shipped_bytes: 0,
        tags: Vec::new(),
    }
}

/// The replay of `steps` (two or more), given oldest first, out of `images` images found.
pub fn replay(source: String, images: usize, steps: &[Step]) -> Replay {
    let rows: Vec<ReplayRow> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let before = i.checked_sub(1).map(|p| &steps[p]);
            let had = before.map(|b| blobs(&b.layers)).unwrap_or_default();
            let had_optimized = before
                .map(|b| blobs(&b.optimized_layers))
                .unwrap_or_default();
            let built = shipped(&s.layers, &had);
            let optimized = shipped(&s.optimized_layers, &had_optimized);
            ReplayRow {
                tag: s.tag.clone(),
                previous: before.map(|b| b.tag.clone()),
                manifest_digest: s.manifest_digest.clone(),
                optimized_manifest_digest: s.optimized_manifest_digest.clone(),
                shipped_bytes: built.iter().sum(),
                shipped_layers: built.len(),
                optimized_shipped_bytes: optimized.iter().sum(),
                optimized_shipped_layers: optimized.len(),
                layers: s.layers.len(),
                optimized_layers: s.optimized_layers.len(),
            }
        })
        .collect();
    let deploys = &rows[rows.len().min(1)..];
    let shipped_bytes = deploys.iter().map(|r| r.shipped_bytes).sum();
    let optimized_shipped_bytes = deploys.iter().map(|r| r.optimized_shipped_bytes).sum();
    Replay {
        schema_version: SCHEMA_VERSION,
        summary: summary(&source, &rows, shipped_bytes, optimized_shipped_bytes),
        source,
        images,
        deploys: deploys.len(),
        shipped_bytes,
        optimized_shipped_bytes,
        tags: rows,
    }
}

/// The blobs an image has.
fn blobs(layers: &[(Digest, u64)]) -> HashSet<&Digest> {
    layers.iter().map(|(d, _)| d).collect()
}

/// "your last 3 deploys (v2 … v4) shipped 843 kB; optimized, 2.1 kB", with what the first image
/// is; or why there is nothing to compare.
fn summary(source: &str, rows: &[ReplayRow], built: u64, optimized: u64) -> String {
    let (first, last) = match rows {
        [first, .., last] => (first, last),
        _ => return format!("{source}: no deploy to compare"),
    };
    let deploys = rows.len() - 1;
    let (plural, range) = match deploys {
        1 => ("", last.tag.clone()),
        _ => ("s", format!("{} … {}", rows[1].tag, last.tag)),
    };
    format!(
        "your last {deploys} deploy{plural} ({range}) shipped {}; optimized, {} \
         (from {}, which ships its whole image either way: {} as built, {} optimized)",
        human_bytes(built),
        human_bytes(optimized),
        first.tag,
        human_bytes(first.shipped_bytes),
        human_bytes(first.optimized_shipped_bytes),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layers(of: &[(u8, u64)]) -> Vec<(Digest, u64)> {
        of.iter()
            .map(|&(n, s)| (Digest::sha256_of(&[n]), s))
            .collect()
    }

    fn step(tag: &str, built: &[(u8, u64)], optimized: &[(u8, u64)]) -> Step {
        Step {
            tag: tag.into(),
            manifest_digest: None,
            layers: layers(built),
            optimized_manifest_digest: None,
            optimized_layers: layers(optimized),
        }
    }

    #[test]
    fn deploys_after_the_first_are_summed_both_ways() {
        let steps = [
            step("v1", &[(1, 100), (2, 50)], &[(1, 100), (10, 40), (11, 3)]),
            step("v2", &[(1, 100), (3, 50)], &[(1, 100), (10, 40), (12, 3)]),
            step(
                "v3",
                &[(1, 100), (4, 60), (4, 60)],
                &[(1, 100), (10, 40), (12, 3)],
            ),
        ];
        let r = replay("repo".into(), 5, &steps);
        let figures: Vec<_> = r
            .tags
            .iter()
            .map(|t| (t.tag.as_str(), t.shipped_bytes, t.optimized_shipped_bytes))
            .collect();
        assert_eq!(figures, [("v1", 150, 143), ("v2", 50, 3), ("v3", 60, 0)]);
        assert_eq!(
            (r.deploys, r.shipped_bytes, r.optimized_shipped_bytes),
            (2, 110, 3)
        );
        assert_eq!(r.tags[0].previous, None);
        assert_eq!(r.tags[2].previous.as_deref(), Some("v2"));
        // A blob listed twice ships once.
        assert_eq!((r.tags[2].shipped_layers, r.tags[2].layers), (1, 3));
        assert_eq!(
            r.summary,
            "your last 2 deploys (v2 … v3) shipped 110 B; optimized, 3 B \
             (from v1, which ships its whole image either way: 150 B as built, 143 B optimized)"
        );
    }

    #[test]
    fn one_image_has_nothing_to_compare() {
        let r = nothing_to_compare("reg/app".into(), "v1");
        assert_eq!((r.deploys, r.shipped_bytes, r.tags.len()), (0, 0, 0));
        assert_eq!(
            r.summary,
            "reg/app has one image (v1): no deploy to compare"
        );
        let alone = replay("reg/app".into(), 1, &[step("v1", &[(1, 9)], &[(1, 9)])]);
        assert_eq!((alone.deploys, alone.shipped_bytes), (0, 0));
        assert_eq!(alone.summary, "reg/app: no deploy to compare");
    }
}
