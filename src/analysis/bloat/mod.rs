//! Bloat: bytes in the final filesystem that a running container does not need — duplicate
//! files, documentation, logs, development artifacts, build toolchains, editor junk — plus the
//! size hot spots (large files in the latest layers, oversized layers). Only visible files count:
//! hidden ones are already dead bytes, and caches are their own findings. Every finding is
//! [`FindingKind::Bloat`](crate::analysis::findings::FindingKind::Bloat), severity info, with a
//! fix and, where removing the files gives bytes back, its reclaims.

pub mod duplicates;
pub mod paths;
pub mod sizes;

use crate::analysis::advice::Candidate;
use crate::analysis::dead::Stacked;
use crate::analysis::findings::Finding;
use crate::analysis::inspect::Inspected;
use crate::analysis::{LayerReport, Role};
use crate::layer::walk::{Entry, EntryKind};

/// What the bloat rules look at.
pub struct BloatInput<'a> {
    /// The layers, with their roles and sizes.
    pub layers: &'a [LayerReport],
    /// Every layer's entries.
    pub entries: &'a [&'a [Entry]],
    /// What the inspectors learned about every layer's files.
    pub inspected: &'a [&'a Inspected],
    /// The final filesystem.
    pub stacked: &'a Stacked<'a>,
    /// The config's `Env` (`LANG`, `LANGUAGE`, ... name the locales to keep).
    pub env: &'a [String],
    /// When each layer was created (the history's RFC 3339 `created`), bottom first.
    pub created: &'a [Option<&'a str>],
    /// How many of the ranked findings (duplicate groups, large files) to list one by one.
    pub top: usize,
}

impl BloatInput<'_> {
    /// Non-empty regular files of the final filesystem as (layer, entry index, entry), by path.
    fn visible_files(&self) -> impl Iterator<Item = (usize, usize, &Entry)> + '_ {
        self.stacked.visible.places().filter_map(|(layer, index)| {
            let e = &self.entries[layer][index];
            (e.kind == EntryKind::File && e.size > 0).then_some((layer, index, e))
        })
    }
}

/// Every bloat finding of the image, unsorted.
pub fn find_bloat(input: &BloatInput) -> Vec<Finding> {
    let mut out = paths::find_path_bloat(input);
    out.extend(duplicates::find_duplicates(input));
    out.extend(sizes::large_recent_files(input));
    out.extend(sizes::oversized_layers(input.layers));
    out
}

/// Advice candidates for the bloat findings that remove files from a layer the build made (app or
/// dependencies): the finding's files in its own layer, worded as its path and fix.
pub fn bloat_candidates(findings: &[Finding], layers: &[LayerReport]) -> Vec<Candidate> {
    findings
        .iter()
        .filter(|f| layers[f.layer].role != Role::Base && !f.reclaims.is_empty())
        .filter_map(|f| {
            let action = format!("{}: {}", f.path, f.fix.as_deref()?);
            Some(Candidate {
                layer: f.layer,
                members: f
                    .reclaims
                    .iter()
                    .filter(|r| r.layer == f.layer)
                    .map(|r| (r.layer, r.entry))
                    .collect(),
                action: Box::new(move |_| action.clone()),
            })
        })
        .collect()
}
