//! Analysis: one streaming pass over every layer, then the figures users act on — sizes per layer
//! (compressed, uncompressed, content), where the bytes are, dependencies in app layers, caches,
//! dead bytes, dive's efficiency figures, and a ranked list of fixes with the bytes each saves.

pub mod advice;
pub mod bloat;
pub mod caches;
pub mod dead;
pub mod dependencies;
pub mod diff;
pub mod dive;
pub mod findings;
pub mod history;
pub mod inspect;
pub mod permissions;
pub mod reclaim;
pub mod roles;
pub mod rules;
pub mod scan;
pub mod secrets;
pub mod startup;
pub mod top_paths;
pub mod transfer;
pub mod tree;
pub mod unstripped;

use std::collections::HashSet;

use serde::Serialize;

use crate::error::Result;
use crate::layer::compression::Compression;
use crate::layer::digest::Digest;
use crate::layer::walk::{Entry, EntryKind, TarEnd};
use crate::model::Image;
use crate::source::OpenedImage;
use advice::Advice;
use bloat::{bloat_candidates, find_bloat, BloatInput};
use dead::{stack_layers, DeadFile};
use dive::{dive_figures, DiveFigures};
use findings::Finding;
use inspect::Inspected;
use reclaim::{net_reclaimable, Reclaimable};
use roles::{Evidence, OwnPackages};
use scan::{scan_layers, LayerScan, ScanOptions};
use top_paths::{top_paths, TopPath};
use transfer::CompressedSource;

pub use roles::Role;

/// The version of the JSON document; bumped only on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// The layers of the base image, by diff_id, so the layers an image shares with it are `base`.
#[derive(Debug, Clone)]
pub struct BaseLayers {
    /// How the base was named (`--base` or the image's annotations).
    pub reference: String,
    /// The base's layers.
    pub diff_ids: HashSet<Digest>,
}

/// Knobs of the analysis.
pub struct AnalyzeOptions {
    /// How many entries to keep in ranked lists (top paths, packages, dead files).
    pub top: usize,
    /// The base image's layers, when known.
    pub base: Option<BaseLayers>,
    /// How layers are scanned.
    pub scan: ScanOptions,
}

/// Image-wide totals.
#[derive(Debug, Clone, Serialize)]
pub struct ImageSummary {
    /// The reference analyzed.
    pub reference: String,
    /// The manifest digest (absent for legacy `docker save` archives).
    pub manifest_digest: Option<Digest>,
    /// The config digest (the image ID).
    pub config_digest: Digest,
    /// `os/arch[/variant]` from the config.
    pub platform: String,
    /// Bytes a cold pull downloads or a push uploads (the sum of the layers' figures).
    pub compressed_bytes: u64,
    /// `estimated_push_gzip` when any layer's figure is an estimate, else `stored`.
    pub compressed_bytes_source: CompressedSource,
    /// Bytes of the layer blobs as the source stores them.
    pub stored_bytes: u64,
    /// Bytes of all uncompressed layer tars.
    pub uncompressed_bytes: u64,
    /// Bytes of regular-file content over all layers.
    pub content_bytes: u64,
    /// Bytes of regular files visible in the final filesystem.
    pub visible_bytes: u64,
    /// Regular files visible in the final filesystem.
    pub visible_files: u64,
    /// The base image the roles were computed against.
    pub base: Option<String>,
    /// How many of the image's layers are the base's (present when `base` is): 0 says the base
    /// named shares no layer with the image, so no layer is `base`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_matched_layers: Option<usize>,
}

/// One layer, as the table and JSON show it.
#[derive(Debug, Clone, Serialize)]
pub struct LayerReport {
    /// Position, bottom = 0.
    pub index: usize,
    /// Compressed blob digest.
    pub digest: Digest,
    /// Uncompressed digest.
    pub diff_id: Digest,
    /// Media type (docker types for legacy archives, from the bytes).
    pub media_type: String,
    /// Compression found in the bytes.
    pub compression: Compression,
    /// Bytes a pull or push transfers: the blob, or for an uncompressed layer of a local source
    /// the gzip a push would make of it.
    pub compressed_bytes: u64,
    /// How `compressed_bytes` was obtained.
    pub compressed_bytes_source: CompressedSource,
    /// Bytes of the blob as the source stores it.
    pub stored_bytes: u64,
    /// Bytes of the uncompressed tar.
    pub uncompressed_bytes: u64,
    /// Bytes of regular-file content.
    pub content_bytes: u64,
    /// Regular files.
    pub files: u64,
    /// Tar entries of every kind.
    pub entries: u64,
    /// How the layer's tar ended: `end_of_archive` as POSIX asks, `no_end_of_archive`, or
    /// `unpadded_last_entry` (the last file not padded to 512 bytes, as umoci 0.4.7 writes it).
    /// The uncompressed bytes and the diff_id cover the bytes the layer holds, padded or not.
    pub tar_end: TarEnd,
    /// The history command that created the layer.
    pub created_by: Option<String>,
    /// Base, dependencies or app ([`roles`]).
    pub role: Role,
    /// This layer's share of the compressed image.
    pub share: f64,
    /// Bytes this layer ships that later layers hide.
    pub dead_bytes: u64,
    /// The largest directories.
    pub top_paths: Vec<TopPath>,
}

/// A layer of `compressed` bytes at `index` with `role`, every other figure zero or empty: what
/// the unit tests of the per-layer findings and summaries start from.
#[cfg(test)]
pub(crate) fn layer_for_tests(index: usize, role: Role, compressed: u64) -> LayerReport {
    LayerReport {
        index,
        digest: crate::layer::digest::Digest::sha256_of(b""),
        diff_id: crate::layer::digest::Digest::sha256_of(b""),
        media_type: String::new(),
        compression: crate::layer::compression::Compression::Gzip,
        compressed_bytes: compressed,
        compressed_bytes_source: crate::analysis::transfer::CompressedSource::Stored,
        stored_bytes: compressed,
        uncompressed_bytes: compressed,
        content_bytes: compressed,
        files: 0,
        entries: 0,
        tar_end: crate::layer::walk::TarEnd::EndOfArchive,
        created_by: None,
        role,
        share: 0.0,
        dead_bytes: 0,
        top_paths: Vec::new(),
    }
}

/// Dead bytes over the whole image.
#[derive(Debug, Clone, Serialize)]
pub struct DeadBytes {
    /// Total bytes shipped but invisible.
    pub total: u64,
    /// Number of dead files.
    pub files: usize,
    /// The largest dead files.
    pub top: Vec<DeadFile>,
}

/// Everything `strata report` says about an image.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    /// See [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Totals.
    pub image: ImageSummary,
    /// Per layer, bottom first.
    pub layers: Vec<LayerReport>,
    /// Shipped-but-invisible bytes.
    pub dead_bytes: DeadBytes,
    /// dive's figures, computed exactly as dive does.
    pub dive: DiveFigures,
    /// Findings, largest first.
    pub findings: Vec<Finding>,
    /// What fixing every finding would take out of the image, each file counted once.
    pub reclaimable: Reclaimable,
    /// Fixes, most bytes saved first.
    pub advice: Vec<Advice>,
}

fn docker_media_type(c: Compression) -> &'static str {
    match c {
        Compression::None => "application/vnd.docker.image.rootfs.diff.tar",
        Compression::Gzip => "application/vnd.docker.image.rootfs.diff.tar.gzip",
        Compression::Zstd => "application/vnd.docker.image.rootfs.diff.tar.zstd",
    }
}

/// Scans and analyzes an opened image.
pub fn analyze(opened: &OpenedImage, opts: &AnalyzeOptions) -> Result<Analysis> {
    analyze_keeping_scans(opened, opts).map(|(analysis, _)| analysis)
}

/// [`analyze`], also returning the layer scans (for gates that look at every path).
pub fn analyze_keeping_scans(
    opened: &OpenedImage,
    opts: &AnalyzeOptions,
) -> Result<(Analysis, Vec<LayerScan>)> {
    let image = &opened.image;
    let all: Vec<usize> = (0..image.layers.len()).collect();
    let scans = scan_layers(image, opened.layers.as_ref(), &all, &opts.scan)?;
    let analysis = analyze_scans(image, opts, &scans);
    Ok((analysis, scans))
}

/// The analysis of `image` from the scans of all its layers, bottom first (made by
/// [`scan_layers`] or [`scan::scan_layers_each`]).
pub fn analyze_scans(image: &Image, opts: &AnalyzeOptions, scans: &[LayerScan]) -> Analysis {
    let entries: Vec<&[Entry]> = scans.iter().map(|s| s.entries.as_slice()).collect();
    let inspected: Vec<&Inspected> = scans.iter().map(|s| &s.inspected).collect();
    // The dive figures need nothing else the analysis works out: the second core computes them
    // while this one examines the layers, unless the image has so many entries that the two
    // passes' tables together would make the peak of memory (then dive's go first, and are gone
    // when the examination starts).
    let total_entries: usize = entries.iter().map(|e| e.len()).sum();
    let (examined, dive) = if total_entries > PARALLEL_DIVE_ENTRIES {
        let dive = dive_figures(&entries);
        (examine(image, opts, scans, &entries, &inspected), dive)
    } else {
        std::thread::scope(|scope| {
            let dive = scope.spawn(|| dive_figures(&entries));
            let examined = examine(image, opts, scans, &entries, &inspected);
            let dive = dive
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (examined, dive)
        })
    };
    let Examined {
        stacked,
        layers,
        findings,
        reclaimable,
        advice,
    } = examined;
    let platform = match &image.config.variant {
        Some(v) => format!("{}/{}/{v}", image.config.os, image.config.architecture),
        None => format!("{}/{}", image.config.os, image.config.architecture),
    };
    Analysis {
        schema_version: SCHEMA_VERSION,
        image: ImageSummary {
            reference: image.reference.clone(),
            manifest_digest: image.manifest_digest.clone(),
            config_digest: image.config_digest.clone(),
            platform,
            compressed_bytes: layers.iter().map(|l| l.compressed_bytes).sum(),
            compressed_bytes_source: CompressedSource::of_sum(
                layers.iter().map(|l| l.compressed_bytes_source),
            ),
            stored_bytes: layers.iter().map(|l| l.stored_bytes).sum(),
            uncompressed_bytes: layers.iter().map(|l| l.uncompressed_bytes).sum(),
            content_bytes: layers.iter().map(|l| l.content_bytes).sum(),
            visible_bytes: stacked.visible_bytes,
            visible_files: stacked.visible_files,
            base: opts.base.as_ref().map(|b| b.reference.clone()),
            base_matched_layers: opts
                .base
                .as_ref()
                .map(|_| layers.iter().filter(|l| l.role == Role::Base).count()),
        },
        layers,
        dead_bytes: DeadBytes {
            total: stacked.dead.iter().map(|d| d.bytes).sum(),
            files: stacked.dead.len(),
            top: stacked.dead.iter().take(opts.top).cloned().collect(),
        },
        dive,
        findings,
        reclaimable,
        advice,
    }
}

/// What [`examine`] finds in the scanned layers.
/// Above this many entries in all layers, the dive figures are computed before the rest of the
/// analysis rather than beside it: about 100 bytes an entry that would otherwise add to the
/// examination's own peak (a million-file layer: issue 19's bound of 300 MB).
const PARALLEL_DIVE_ENTRIES: usize = 250_000;

struct Examined<'a> {
    stacked: dead::Stacked<'a>,
    layers: Vec<LayerReport>,
    findings: Vec<Finding>,
    reclaimable: Reclaimable,
    advice: Vec<Advice>,
}

/// Stacks the layers and works out each layer's report, the findings, the net reclaimable bytes
/// and the advice.
fn examine<'a>(
    image: &Image,
    opts: &AnalyzeOptions,
    scans: &[LayerScan],
    entries: &[&'a [Entry]],
    inspected: &[&Inspected],
) -> Examined<'a> {
    let stacked = stack_layers(entries);
    let history = image.config.layer_history(scans.len());
    let total_compressed: u64 = scans.iter().map(|s| s.transfer().0).sum();
    let own = OwnPackages::from_inspected(inspected);
    let evidence: Vec<Evidence> = scans
        .iter()
        .zip(&history)
        .map(|(scan, history)| Evidence {
            diff_id: &scan.diff_id,
            history: *history,
            entries: Some(&scan.entries),
        })
        .collect();
    let roles = roles::assign(&evidence, opts.base.as_ref().map(|b| &b.diff_ids), &own);

    let mut dead_bytes = vec![0u64; scans.len()];
    for dead in &stacked.dead {
        if let Some(bytes) = dead_bytes.get_mut(dead.layer) {
            *bytes += dead.bytes;
        }
    }
    let mut layers = Vec::with_capacity(scans.len());
    for (index, scan) in scans.iter().enumerate() {
        let files = scan.entries.iter().filter(|e| e.kind == EntryKind::File);
        let role = roles[index];
        let descriptor = &image.layers[index];
        let (compressed_bytes, compressed_bytes_source) = scan.transfer();
        layers.push(LayerReport {
            index,
            digest: scan.digest.clone(),
            diff_id: scan.diff_id.clone(),
            media_type: if descriptor.media_type.is_empty() {
                docker_media_type(scan.compression).to_string()
            } else {
                descriptor.media_type.clone()
            },
            compression: scan.compression,
            compressed_bytes,
            compressed_bytes_source,
            stored_bytes: scan.compressed_bytes,
            uncompressed_bytes: scan.uncompressed_bytes,
            content_bytes: files.clone().map(|e| e.size).sum(),
            files: files.count() as u64,
            entries: scan.entries.len() as u64,
            tar_end: scan.tar_end,
            created_by: history[index].and_then(|h| {
                // `docker import` leaves created_by empty and says what happened in the comment.
                h.created_by
                    .clone()
                    .filter(|c| !c.is_empty())
                    .or_else(|| h.comment.clone())
            }),
            role,
            share: if total_compressed == 0 {
                0.0
            } else {
                compressed_bytes as f64 / total_compressed as f64
            },
            dead_bytes: dead_bytes[index],
            top_paths: top_paths(&scan.entries, opts.top),
        });
    }

    let (mut findings, mut candidates) = findings::find(
        &layers,
        entries,
        inspected,
        &stacked,
        &image.config,
        &own,
        opts.top,
    );
    let created: Vec<Option<&str>> = history
        .iter()
        .map(|h| h.and_then(|h| h.created.as_deref()))
        .collect();
    let bloat = find_bloat(&BloatInput {
        layers: &layers,
        entries,
        inspected,
        stacked: &stacked,
        env: image.config.runtime.env.as_deref().unwrap_or_default(),
        created: &created,
        top: opts.top,
    });
    candidates.extend(bloat_candidates(&bloat, &layers));
    findings.extend(bloat);
    findings::order(&mut findings, &layers);
    let reclaimable = net_reclaimable(&findings);
    let advice = advice::rank(candidates, &layers, entries);

    Examined {
        stacked,
        layers,
        findings,
        reclaimable,
        advice,
    }
}
