//! `strata history`: how an image grew from tag to tag, from manifests and configs alone. Per
//! tag: its compressed size, how much of it is dependencies and how much app, and what a deploy
//! from the tag before downloads. Layers are matched by compressed digest, as registries and
//! container runtimes match them. The roles are `strata report`'s: a dependency layer is one
//! strata's build marked so or (with `--content`) whose files are dependency trees only; of the
//! rest, the layers every image shares are the base and the others are app.

pub mod order;
pub mod replay;

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::analysis::roles::Role;
use crate::layer::digest::Digest;

/// The version of the history JSON document.
pub const SCHEMA_VERSION: u32 = 1;

/// One image of the history, as its manifest and config describe it.
#[derive(Debug, Clone)]
pub struct Version {
    /// The tag (registry repositories) or the reference as given (local images).
    pub tag: String,
    /// The manifest digest (absent for legacy `docker save` archives).
    pub manifest_digest: Option<Digest>,
    /// The config digest (the image ID).
    pub config_digest: Digest,
    /// The config's `created` (RFC 3339), as written.
    pub created: Option<String>,
    /// Each layer's compressed digest and size, bottom first.
    pub layers: Vec<(Digest, u64)>,
    /// The layers its history marks as dependency layers (`strata build` writes the marker).
    pub dependency_layers: HashSet<Digest>,
}

/// What reading a layer tells (`--content`): its uncompressed tar and regular-file bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerContent {
    /// Bytes of the uncompressed tar.
    pub uncompressed_bytes: u64,
    /// Bytes of regular-file content.
    pub content_bytes: u64,
    /// Whether its files are one ecosystem's dependency trees and no code (a dependency layer).
    pub dependencies: bool,
}

/// One row of the history: one tag.
#[derive(Debug, Clone, Serialize)]
pub struct TagRow {
    /// The tag, or the local reference.
    pub tag: String,
    /// The manifest digest.
    pub manifest_digest: Option<Digest>,
    /// The config digest.
    pub config_digest: Digest,
    /// When the image was built, from its config.
    pub created: Option<String>,
    /// Bytes a cold pull downloads: the sum of the layer blobs in the manifest.
    pub compressed_bytes: u64,
    /// Bytes of the uncompressed layers; `null` unless the layers were read (`--content`).
    pub uncompressed_bytes: Option<u64>,
    /// Bytes of regular-file content; `null` unless the layers were read (`--content`).
    pub content_bytes: Option<u64>,
    /// Number of layers.
    pub layers: usize,
    /// Dependency layers.
    pub dependency_layers: usize,
    /// Compressed bytes of those layers.
    pub dependency_bytes: u64,
    /// App layers: neither dependency layers nor shared by every image of the history.
    pub app_layers: usize,
    /// Compressed bytes of those layers.
    pub app_bytes: u64,
    /// Bytes a deploy from the previous (older) tag downloads: the blobs it does not have, each
    /// once; `null` for the oldest image of the history.
    pub delta_bytes: Option<u64>,
    /// How many blobs that is.
    pub delta_layers: Option<usize>,
}

/// The history of a repository or of a list of images, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct History {
    /// See [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The repository, or `images` for a list of local images.
    pub source: String,
    /// Images compared (every tag, even those `--last` leaves out).
    pub images: usize,
    /// Layers present in every image (of two or more), dependency layers aside: the shared base.
    pub shared_layers: usize,
    /// Compressed bytes of the shared layers.
    pub shared_bytes: u64,
    /// One row per image, newest first.
    pub tags: Vec<TagRow>,
}

/// Computes the history of `versions`, given oldest first, keeping the `last` newest rows (all
/// when `None`). App and delta figures always use every version, so a row does not change with
/// `last`. `contents` gives the layers' uncompressed sizes when they were read.
pub fn history(
    source: String,
    versions: &[Version],
    contents: Option<&HashMap<Digest, LayerContent>>,
    last: Option<usize>,
) -> History {
    let sets: Vec<HashSet<&Digest>> = versions
        .iter()
        .map(|v| v.layers.iter().map(|(d, _)| d).collect())
        .collect();
    let dependencies: HashSet<&Digest> = versions
        .iter()
        .flat_map(|v| &v.dependency_layers)
        .chain(
            contents
                .into_iter()
                .flatten()
                .filter(|(_, c)| c.dependencies)
                .map(|(d, _)| d),
        )
        .collect();
    // One image alone tells nothing about its base: then no layer is base.
    let shared: HashSet<&Digest> = match sets.split_first() {
        Some((first, rest)) if !rest.is_empty() => first
            .iter()
            .copied()
            .filter(|d| !dependencies.contains(d) && rest.iter().all(|s| s.contains(d)))
            .collect(),
        _ => HashSet::new(),
    };
    let role = |d: &Digest| {
        if dependencies.contains(d) {
            Role::Dependencies
        } else if shared.contains(d) {
            Role::Base
        } else {
            Role::App
        }
    };
    let shared_bytes = versions.first().map_or(0, |v| {
        distinct(&v.layers)
            .filter(|(d, _)| shared.contains(d))
            .map(|(_, size)| size)
            .sum()
    });
    let mut rows: Vec<TagRow> = versions
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let of_role = |wanted: Role| -> Vec<u64> {
                v.layers
                    .iter()
                    .filter(|(d, _)| role(d) == wanted)
                    .map(|&(_, size)| size)
                    .collect()
            };
            let (deps, app) = (of_role(Role::Dependencies), of_role(Role::App));
            let delta: Option<Vec<u64>> = i.checked_sub(1).map(|p| shipped(&v.layers, &sets[p]));
            let summed = |f: fn(&LayerContent) -> u64| {
                contents.map(|c| v.layers.iter().filter_map(|(d, _)| c.get(d)).map(f).sum())
            };
            TagRow {
                tag: v.tag.clone(),
                manifest_digest: v.manifest_digest.clone(),
                config_digest: v.config_digest.clone(),
                created: v.created.clone(),
                compressed_bytes: v.layers.iter().map(|(_, size)| size).sum(),
                uncompressed_bytes: summed(|c| c.uncompressed_bytes),
                content_bytes: summed(|c| c.content_bytes),
                layers: v.layers.len(),
                dependency_layers: deps.len(),
                dependency_bytes: deps.iter().sum(),
                app_layers: app.len(),
                app_bytes: app.iter().sum(),
                delta_bytes: delta.as_ref().map(|d| d.iter().sum()),
                delta_layers: delta.as_ref().map(Vec::len),
            }
        })
        .collect();
    rows.reverse();
    rows.truncate(last.unwrap_or(usize::MAX));
    History {
        schema_version: SCHEMA_VERSION,
        source,
        images: versions.len(),
        shared_layers: shared.len(),
        shared_bytes,
        tags: rows,
    }
}

/// The sizes of the blobs of `layers` a deploy downloads where the image before had the blobs
/// `had`: each missing blob once.
pub(crate) fn shipped(layers: &[(Digest, u64)], had: &HashSet<&Digest>) -> Vec<u64> {
    distinct(layers)
        .filter(|(d, _)| !had.contains(d))
        .map(|(_, size)| size)
        .collect()
}

/// The layers of an image, each blob once (an image may list the same blob twice).
fn distinct(layers: &[(Digest, u64)]) -> impl Iterator<Item = (&Digest, u64)> {
    let mut seen = HashSet::new();
    layers
        .iter()
        .filter(move |(d, _)| seen.insert(d))
        .map(|(d, size)| (d, *size))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(n: u8) -> Digest {
        Digest::sha256_of(&[n])
    }

    fn version(tag: &str, layers: &[(u8, u64)]) -> Version {
        Version {
            tag: tag.into(),
            manifest_digest: None,
            config_digest: digest(200),
            created: None,
            layers: layers.iter().map(|&(n, s)| (digest(n), s)).collect(),
            dependency_layers: HashSet::new(),
        }
    }

    #[test]
    fn app_bytes_and_deltas_follow_the_shared_layers() {
        let versions = [
            version("v1", &[(1, 100), (2, 10)]),
            version("v2", &[(1, 100), (2, 10), (3, 5)]),
            version("v3", &[(1, 100), (4, 7), (3, 5), (3, 5)]),
        ];
        let h = history("repo".into(), &versions, None, None);
        assert_eq!((h.shared_layers, h.shared_bytes), (1, 100));
        let tags: Vec<&str> = h.tags.iter().map(|r| r.tag.as_str()).collect();
        assert_eq!(tags, ["v3", "v2", "v1"]);
        let v3 = &h.tags[0];
        assert_eq!(
            (v3.compressed_bytes, v3.app_bytes, v3.app_layers),
            (117, 17, 3)
        );
        // From v2, a deploy of v3 needs layer 4 only; the repeated layer 3 is already there.
        assert_eq!((v3.delta_bytes, v3.delta_layers), (Some(7), Some(1)));
        assert_eq!(h.tags[1].delta_bytes, Some(5));
        assert_eq!(h.tags[2].delta_bytes, None);
        assert_eq!(v3.uncompressed_bytes, None);
        // --last keeps the newest rows and their figures.
        let last = history("repo".into(), &versions, None, Some(2));
        assert_eq!(last.tags.len(), 2);
        assert_eq!(last.tags[1].delta_bytes, Some(5));
        assert_eq!(last.images, 3);
    }

    #[test]
    fn dependency_layers_are_neither_base_nor_app() {
        let mut v1 = version("v1", &[(1, 100), (2, 40), (3, 5)]);
        v1.dependency_layers.insert(digest(2));
        let v2 = version("v2", &[(1, 100), (2, 40), (4, 6), (5, 7)]);
        // Layer 5 is a dependency layer by its files (read with --content).
        let contents: HashMap<Digest, LayerContent> = [(5, true), (4, false), (1, false)]
            .into_iter()
            .map(|(n, dependencies)| {
                let c = LayerContent {
                    uncompressed_bytes: 1,
                    content_bytes: 1,
                    dependencies,
                };
                (digest(n), c)
            })
            .collect();
        let h = history("repo".into(), &[v1, v2], Some(&contents), None);
        assert_eq!((h.shared_layers, h.shared_bytes), (1, 100));
        let v2 = &h.tags[0];
        assert_eq!((v2.dependency_layers, v2.dependency_bytes), (2, 47));
        assert_eq!((v2.app_layers, v2.app_bytes), (1, 6));
        assert_eq!((h.tags[1].dependency_bytes, h.tags[1].app_bytes), (40, 5));
    }

    #[test]
    fn content_sizes_are_summed_when_known() {
        let versions = [version("a", &[(1, 10), (2, 20)])];
        let contents: HashMap<Digest, LayerContent> = [(1, 30), (2, 50)]
            .into_iter()
            .map(|(n, u)| {
                let c = LayerContent {
                    uncompressed_bytes: u,
                    content_bytes: u / 2,
                    dependencies: false,
                };
                (digest(n), c)
            })
            .collect();
        let h = history("images".into(), &versions, Some(&contents), None);
        assert_eq!(h.tags[0].uncompressed_bytes, Some(80));
        assert_eq!(h.tags[0].content_bytes, Some(40));
        // One image alone has no shared base.
        assert_eq!((h.shared_layers, h.tags[0].app_bytes), (0, 30));
    }
}
