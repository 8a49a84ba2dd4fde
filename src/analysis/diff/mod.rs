//! `strata diff OLD NEW`: what a deploy of NEW costs a host or registry that has OLD. Layers are
//! matched by compressed digest; the headline figures are the bytes a pull must download and a push
//! must upload. Layers rebuilt with identical content under a new digest (a non-reproducible
//! build) are caught by diff_id, then by file content. Against registries only manifests and
//! configs are fetched unless the file-level change set is asked for, and shared layers are never
//! downloaded. Each layer carries its [`Role`]: from the base and strata's history marker, and,
//! for local images, from the layer's files (the shared layers of a local NEW are read for it,
//! headers only, unless the base or the marker decides); a registry layer neither decides and
//! that is not read has none (`null`).

pub mod config;
pub mod files;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;

use crate::analysis::dead::stack_layers;
use crate::analysis::roles::{self, Evidence, OwnPackages, Role};
use crate::analysis::scan::{scan_layers, LayerScan, ScanOptions};
use crate::analysis::transfer::CompressedSource;
use crate::error::Result;
use crate::layer::digest::Digest;
use crate::layer::walk::{Contents, Entry};
use crate::source::OpenedImage;
use config::{config_changes, ConfigChange};
use files::{content_from_fingerprints, file_changes, layer_fingerprint, FileChange};

/// Layers read, by index in their image.
pub type Scans = HashMap<usize, Arc<LayerScan>>;

/// The scans `report` made of an image's layers (in layer order, walked with
/// [`Contents::Inspect`]) as the [`Scans`] a comparison takes instead of reading them again,
/// files given their content from the inspectors' fingerprints.
pub fn reported_scans(scans: Vec<LayerScan>) -> Scans {
    scans
        .into_iter()
        .map(|mut scan| {
            content_from_fingerprints(&mut scan);
            Arc::new(scan)
        })
        .enumerate()
        .collect()
}

/// The version of the diff JSON document.
pub const SCHEMA_VERSION: u32 = 1;

/// Knobs of a comparison.
pub struct DiffOptions {
    /// Compute the file-level change set (reads the layers that differ, even from registries).
    pub files: bool,
    /// How many file changes to keep.
    pub top: usize,
    /// How layers are scanned when they are read.
    pub scan: ScanOptions,
    /// The diff_ids of OLD's base image, when known (its layers are `base`).
    pub old_base: Option<HashSet<Digest>>,
    /// The diff_ids of NEW's base image, when known.
    pub new_base: Option<HashSet<Digest>>,
    /// Layers of NEW already read (the explorer's, by `report`), used instead of reading them
    /// again; read with `scan.contents` as the comparison reads (for [`Contents::Inspect`], with
    /// [`content_from_fingerprints`] applied).
    pub new_scanned: Scans,
}

/// One side of the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct ImageSide {
    /// The reference.
    pub reference: String,
    /// The manifest digest, when there is one.
    pub manifest_digest: Option<Digest>,
    /// The config digest.
    pub config_digest: Digest,
    /// Sum of the layer blobs as stored.
    pub compressed_bytes: u64,
    /// Number of layers.
    pub layers: usize,
}

/// A layer in the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct LayerInfo {
    /// Position in its image (the new image for shared and added layers, the old for removed).
    pub index: usize,
    /// Compressed digest.
    pub digest: Digest,
    /// Uncompressed digest.
    pub diff_id: Digest,
    /// Bytes a pull or push transfers: the blob, or for an uncompressed layer of a local image
    /// (when it was read) the gzip a push would make of it.
    pub compressed_bytes: u64,
    /// How `compressed_bytes` was obtained.
    pub compressed_bytes_source: CompressedSource,
    /// Bytes of the blob as the source stores it.
    pub stored_bytes: u64,
    /// Bytes of the tar, when the layer was read.
    pub uncompressed_bytes: Option<u64>,
    /// History command.
    pub created_by: Option<String>,
    /// Base, dependencies or app, as `strata report` labels it; `null` for a registry layer that
    /// was not read and that neither the base nor strata's marker labels.
    pub role: Option<Role>,
}

/// A new layer whose content an old layer already had.
#[derive(Debug, Clone, Serialize)]
pub struct RebuiltLayer {
    /// Index in the old image.
    pub old_index: usize,
    /// Index in the new image.
    pub new_index: usize,
    /// The old layer's digest.
    pub old_digest: Digest,
    /// The new layer's digest.
    pub new_digest: Digest,
    /// `same_tar` (same diff_id: only the compression differs) or `same_files` (same paths,
    /// contents and modes: timestamps or tar layout differ).
    pub evidence: &'static str,
    /// Bytes every deploy downloads for nothing.
    pub wasted_bytes: u64,
}

/// The comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    /// See [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The old image.
    pub old: ImageSide,
    /// The new image.
    pub new: ImageSide,
    /// Compressed bytes a host that has OLD downloads to run NEW (NEW's missing blobs, once each,
    /// each as the added layer's `compressed_bytes` says).
    pub pull_bytes: u64,
    /// `estimated_push_gzip` when an added layer's figure is an estimate, else `stored`.
    pub pull_bytes_source: CompressedSource,
    /// Bytes a push of NEW uploads to a registry that has OLD: the missing blobs, plus the config
    /// and manifest when they changed.
    pub push_bytes: u64,
    /// Uncompressed bytes of the layers pulled; `null` when those layers were not read (registry
    /// sources without `--files`).
    pub pull_uncompressed_bytes: Option<u64>,
    /// Layers of NEW that OLD has.
    pub shared_layers: Vec<LayerInfo>,
    /// Layers of NEW that OLD lacks.
    pub added_layers: Vec<LayerInfo>,
    /// Layers of OLD that NEW no longer uses.
    pub removed_layers: Vec<LayerInfo>,
    /// Added layers whose content OLD already had under another digest.
    pub rebuilt_identical_layers: Vec<RebuiltLayer>,
    /// Changed runtime settings.
    pub config_changes: Vec<ConfigChange>,
    /// The file-level change set (with `--files`), most bytes first, capped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<FileChange>>,
    /// Changed paths before the cap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files_total: Option<usize>,
    /// Whether shared layers were read for the change set (never from registries); when false,
    /// paths only the shared layers provide are taken as unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_layers_read: Option<bool>,
}

fn side(image: &OpenedImage) -> ImageSide {
    let i = &image.image;
    ImageSide {
        reference: i.reference.clone(),
        manifest_digest: i.manifest_digest.clone(),
        config_digest: i.config_digest.clone(),
        compressed_bytes: i.layers.iter().filter_map(|l| l.size).sum(),
        layers: i.layers.len(),
    }
}

/// The `which` layers of `image` keyed by layer index: those in `known` from there, the others
/// read (with their contents from the fingerprints when the scan inspects).
fn read(
    image: &OpenedImage,
    which: Vec<usize>,
    scan: &ScanOptions,
    known: &Scans,
) -> Result<Scans> {
    let (known_here, missing): (Vec<usize>, Vec<usize>) =
        which.into_iter().partition(|i| known.contains_key(i));
    let scans = scan_layers(&image.image, image.layers.as_ref(), &missing, scan)?;
    let mut read: Scans = known_here
        .into_iter()
        .map(|i| (i, known[&i].clone()))
        .collect();
    for (i, mut layer) in missing.into_iter().zip(scans) {
        if scan.contents == Contents::Inspect {
            content_from_fingerprints(&mut layer);
        }
        read.insert(i, Arc::new(layer));
    }
    Ok(read)
}

/// Compares two opened images.
pub fn compare(old: &OpenedImage, new: &OpenedImage, opts: &DiffOptions) -> Result<Diff> {
    let (old_digests, new_digests) = (old.layer_digests()?, new.layer_digests()?);
    let old_set: HashSet<&Digest> = old_digests.iter().collect();
    let new_set: HashSet<&Digest> = new_digests.iter().collect();
    let info = |opened: &OpenedImage,
                digests: &[Digest],
                index: usize,
                scans: &Scans,
                roles: &[Option<Role>]| {
        let image = &opened.image;
        let stored_bytes = image.layers[index].size.unwrap_or(0);
        let (compressed_bytes, compressed_bytes_source) = scans
            .get(&index)
            .map_or((stored_bytes, CompressedSource::Stored), |s| s.transfer());
        LayerInfo {
            index,
            digest: digests[index].clone(),
            diff_id: image.config.diff_ids[index].clone(),
            compressed_bytes,
            compressed_bytes_source,
            stored_bytes,
            uncompressed_bytes: scans.get(&index).map(|s| s.uncompressed_bytes),
            created_by: image.config.layer_history(image.layers.len())[index]
                .and_then(|h| h.created_by.clone()),
            role: roles[index],
        }
    };

    // Which layers differ, each distinct blob once.
    let mut seen = HashSet::new();
    let added: Vec<usize> = (0..new_digests.len())
        .filter(|&i| !old_set.contains(&new_digests[i]) && seen.insert(&new_digests[i]))
        .collect();
    let mut seen = HashSet::new();
    let removed: Vec<usize> = (0..old_digests.len())
        .filter(|&i| !new_set.contains(&old_digests[i]) && seen.insert(&old_digests[i]))
        .collect();

    // Read what may be read: local layers that differ always (cheap, and it tells identical
    // rebuilds from real changes), registry layers only for --files.
    let read_new = opts.files || !new.layers.is_remote();
    let read_old = opts.files || !old.layers.is_remote();
    let new_scans = if read_new {
        read(new, added.clone(), &opts.scan, &opts.new_scanned)?
    } else {
        HashMap::new()
    };
    let old_scans = if read_old {
        read(old, removed.clone(), &opts.scan, &HashMap::new())?
    } else {
        HashMap::new()
    };

    // OLD's roles show on its removed layers only, which are read whenever the others are.
    let new_roles = side_roles(
        new,
        &new_scans,
        opts.new_base.as_ref(),
        Some((&opts.scan, &opts.new_scanned)),
    )?;
    let old_roles = side_roles(old, &old_scans, opts.old_base.as_ref(), None)?;

    let added_layers: Vec<LayerInfo> = added
        .iter()
        .map(|&i| info(new, &new_digests, i, &new_scans, &new_roles))
        .collect();
    let mut rebuilt = Vec::new();
    for (&n, layer) in added.iter().zip(&added_layers) {
        let new_diff_id = &new.image.config.diff_ids[n];
        let by_tar = removed
            .iter()
            .find(|&&o| &old.image.config.diff_ids[o] == new_diff_id)
            .map(|&o| (o, "same_tar"));
        let by_files = || {
            let fp = layer_fingerprint(&new_scans.get(&n)?.entries);
            removed
                .iter()
                .find(|&&o| {
                    old_scans
                        .get(&o)
                        .is_some_and(|s| layer_fingerprint(&s.entries) == fp)
                })
                .map(|&o| (o, "same_files"))
        };
        if let Some((o, evidence)) = by_tar.or_else(by_files) {
            rebuilt.push(RebuiltLayer {
                old_index: o,
                new_index: n,
                old_digest: old_digests[o].clone(),
                new_digest: new_digests[n].clone(),
                evidence,
                wasted_bytes: layer.compressed_bytes,
            });
        }
    }

    let pull_bytes: u64 = added_layers.iter().map(|l| l.compressed_bytes).sum();
    let pull_bytes_source =
        CompressedSource::of_sum(added_layers.iter().map(|l| l.compressed_bytes_source));
    let config_changed = old.image.config_digest != new.image.config_digest;
    let manifest_changed = old.image.manifest_digest != new.image.manifest_digest;
    let push_bytes = pull_bytes
        + if config_changed {
            new.image.config_size()
        } else {
            0
        }
        + if manifest_changed {
            new.image.manifest_size().unwrap_or(0)
        } else {
            0
        };
    let pull_uncompressed_bytes = read_new.then(|| {
        added
            .iter()
            .map(|i| new_scans.get(i).map_or(0, |s| s.uncompressed_bytes))
            .sum()
    });

    let (files, files_total, shared_layers_read) = if opts.files {
        let (changes, shared_read) = changed_files(
            old,
            new,
            &old_digests,
            &new_digests,
            &old_scans,
            &new_scans,
            opts,
        )?;
        let total = changes.len();
        (
            Some(changes.into_iter().take(opts.top).collect()),
            Some(total),
            Some(shared_read),
        )
    } else {
        (None, None, None)
    };

    Ok(Diff {
        schema_version: SCHEMA_VERSION,
        old: side(old),
        new: side(new),
        pull_bytes,
        pull_bytes_source,
        push_bytes,
        pull_uncompressed_bytes,
        shared_layers: (0..new_digests.len())
            .filter(|&i| old_set.contains(&new_digests[i]))
            .map(|i| info(new, &new_digests, i, &HashMap::new(), &new_roles))
            .collect(),
        added_layers,
        removed_layers: removed
            .iter()
            .map(|&i| info(old, &old_digests, i, &old_scans, &old_roles))
            .collect(),
        rebuilt_identical_layers: rebuilt,
        config_changes: config_changes(&old.image, &new.image),
        files,
        files_total,
        shared_layers_read,
    })
}

/// The role of each layer of one side: what the base, strata's marker and the layers already read
/// (`scans`) tell, and, given `rest`, for a local image the files of every other layer too (read
/// headers only, unless among the scans known).
fn side_roles(
    image: &OpenedImage,
    scans: &Scans,
    base: Option<&HashSet<Digest>>,
    rest: Option<(&ScanOptions, &Scans)>,
) -> Result<Vec<Option<Role>>> {
    let config = &image.image.config;
    let history = config.layer_history(image.image.layers.len());
    let evidence = |extra: &Scans| -> Vec<Option<Role>> {
        let evidence: Vec<Evidence> = (0..history.len())
            .map(|i| Evidence {
                diff_id: &config.diff_ids[i],
                history: history[i],
                entries: scans
                    .get(&i)
                    .or_else(|| extra.get(&i))
                    .map(|s| s.entries.as_slice()),
            })
            .collect();
        roles::assign_known(&evidence, base, &OwnPackages::default())
    };
    let known = evidence(&HashMap::new());
    let undecided: Vec<usize> = (0..known.len()).filter(|i| known[*i].is_none()).collect();
    let Some((scan, scanned)) = rest.filter(|_| !image.layers.is_remote() && !undecided.is_empty())
    else {
        return Ok(known);
    };
    let headers = ScanOptions {
        contents: Contents::Skip,
        threads: scan.threads,
        progress: scan.progress.clone(),
    };
    Ok(evidence(&read(image, undecided, &headers, scanned)?))
}

/// The file-level change set. Shared layers are read once, from a local side when there is one;
/// with two registry sides they are not read at all (and so count as unchanged).
#[allow(clippy::too_many_arguments)]
fn changed_files(
    old: &OpenedImage,
    new: &OpenedImage,
    old_digests: &[Digest],
    new_digests: &[Digest],
    old_scans: &Scans,
    new_scans: &Scans,
    opts: &DiffOptions,
) -> Result<(Vec<FileChange>, bool)> {
    let old_set: HashSet<&Digest> = old_digests.iter().collect();
    let shared_in_new: Vec<usize> = (0..new_digests.len())
        .filter(|&i| old_set.contains(&new_digests[i]))
        .collect();
    let (shared_scans, from_new, shared_read) = if !new.layers.is_remote() {
        (
            read(new, shared_in_new, &opts.scan, &opts.new_scanned)?,
            true,
            true,
        )
    } else if !old.layers.is_remote() {
        let new_set: HashSet<&Digest> = new_digests.iter().collect();
        let shared_in_old = (0..old_digests.len())
            .filter(|&i| new_set.contains(&old_digests[i]))
            .collect();
        (
            read(old, shared_in_old, &opts.scan, &HashMap::new())?,
            false,
            true,
        )
    } else {
        (HashMap::new(), true, false)
    };
    // Every distinct blob was scanned once: find each layer's entries by its digest.
    let mut by_digest: HashMap<&Digest, &[Entry]> = HashMap::new();
    for (&i, scan) in &shared_scans {
        let d = if from_new {
            &new_digests[i]
        } else {
            &old_digests[i]
        };
        by_digest.insert(d, &scan.entries);
    }
    for (&i, scan) in old_scans {
        by_digest.insert(&old_digests[i], &scan.entries);
    }
    for (&i, scan) in new_scans {
        by_digest.insert(&new_digests[i], &scan.entries);
    }
    let layers_of = |digests: &[Digest]| -> Vec<&[Entry]> {
        digests
            .iter()
            .map(|d| by_digest.get(d).copied().unwrap_or(&[]))
            .collect()
    };
    let (old_layers, new_layers) = (layers_of(old_digests), layers_of(new_digests));
    let changes = file_changes(
        &stack_layers(&old_layers),
        &old_layers,
        &stack_layers(&new_layers),
        &new_layers,
    );
    Ok((changes, shared_read))
}
