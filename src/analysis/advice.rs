//! Advice: one ranked list of concrete actions with the bytes each saves per deploy. Findings
//! overlap (a deleted temp file is both a cache and dead bytes; bytecode inside a `.venv` is both a
//! cache and a dependency), so every file's bytes are credited to one action only: the candidates
//! claim files greedily, largest first, and each is credited with the files it claimed.

use std::collections::HashSet;

use serde::Serialize;

use crate::analysis::LayerReport;
use crate::layer::walk::Entry;

/// A concrete action and what it saves.
#[derive(Debug, Clone, Serialize)]
pub struct Advice {
    /// What to do.
    pub action: String,
    /// The layer it concerns.
    pub layer: usize,
    /// Estimated compressed bytes each deploy would no longer download (files counted once
    /// across all advice).
    pub bytes_saved_per_deploy: u64,
}

/// A possible action before de-duplication: the files it would remove from the download, and its
/// wording given the compressed bytes it saves.
pub struct Candidate {
    /// The layer whose download shrinks.
    pub layer: usize,
    /// The files, as (layer, entry index).
    pub members: Vec<(usize, usize)>,
    /// The action, worded with the bytes it saves.
    pub action: Box<dyn Fn(u64) -> String>,
}

/// The compressed bytes that `content` bytes of a layer account for, at the layer's own ratio.
fn compressed_share(layer: &LayerReport, content: u64) -> u64 {
    if layer.content_bytes == 0 {
        return 0;
    }
    let share = (content as f64 / layer.content_bytes as f64).min(1.0);
    (layer.compressed_bytes as f64 * share).round() as u64
}

/// Ranks the candidates by the compressed bytes each saves, counting every file once.
pub fn rank(
    mut candidates: Vec<Candidate>,
    layers: &[LayerReport],
    entries: &[&[Entry]],
) -> Vec<Advice> {
    let size = |&(layer, entry): &(usize, usize)| entries[layer][entry].size;
    candidates.sort_by_key(|c| std::cmp::Reverse(c.members.iter().map(size).sum::<u64>()));
    let mut claimed: HashSet<(usize, usize)> = HashSet::new();
    let mut advice: Vec<Advice> = candidates
        .into_iter()
        .filter_map(|c| {
            let bytes: u64 = c
                .members
                .iter()
                .filter(|m| claimed.insert(**m))
                .map(size)
                .sum();
            let saved = compressed_share(&layers[c.layer], bytes);
            (saved > 0).then(|| Advice {
                action: (c.action)(saved),
                layer: c.layer,
                bytes_saved_per_deploy: saved,
            })
        })
        .collect();
    advice.sort_by(|a, b| {
        b.bytes_saved_per_deploy
            .cmp(&a.bytes_saved_per_deploy)
            .then_with(|| a.layer.cmp(&b.layer))
    });
    advice
}
