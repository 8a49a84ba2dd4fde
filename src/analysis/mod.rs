//! Analysis: one streaming pass over every layer, then the figures users act on — sizes per layer
//! (compressed, uncompressed, content), where the bytes are, dependencies in app layers, caches,
//! dead bytes, dive's efficiency figures, and a ranked list of fixes with the bytes each saves.

pub mod caches;
pub mod dead;
pub mod dependencies;
pub mod dive;
pub mod scan;
pub mod top_paths;

use std::collections::HashSet;
use std::sync::Arc;

use serde::Serialize;

use crate::error::Result;
use crate::layer::compression::Compression;
use crate::layer::digest::Digest;
use crate::layer::walk::{Entry, EntryKind};
use crate::source::OpenedImage;
use crate::units::human_bytes;
use caches::find_caches;
use dead::{stack_layers, DeadFile};
use dependencies::{find_dependencies, Ecosystem, PackageBytes};
use dive::{dive_figures, DiveFigures};
use scan::{scan_all, ScanProgress};
use top_paths::{top_paths, TopPath};

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
    /// Threads that scan layers.
    pub threads: usize,
    /// The base image's layers, when known.
    pub base: Option<BaseLayers>,
    /// Progress reporting.
    pub progress: Arc<dyn ScanProgress>,
}

/// Whether a layer belongs to the base image or was added on top of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// One of the base image's layers.
    Base,
    /// Added by the application's build.
    App,
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
    /// Bytes a cold pull downloads (sum of layer blobs).
    pub compressed_bytes: u64,
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
    /// Bytes of the blob.
    pub compressed_bytes: u64,
    /// Bytes of the uncompressed tar.
    pub uncompressed_bytes: u64,
    /// Bytes of regular-file content.
    pub content_bytes: u64,
    /// Regular files.
    pub files: u64,
    /// Tar entries of every kind.
    pub entries: u64,
    /// The history command that created the layer.
    pub created_by: Option<String>,
    /// Base or app.
    pub role: Role,
    /// This layer's share of the compressed image.
    pub share: f64,
    /// Bytes this layer ships that later layers hide.
    pub dead_bytes: u64,
    /// The largest directories.
    pub top_paths: Vec<TopPath>,
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

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// Third-party dependencies inside an app layer.
    Dependencies,
    /// A cache or junk directory.
    Cache,
    /// A file shipped but hidden by a later layer.
    DeadBytes,
}

/// Something worth fixing, located and sized.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// What it is.
    pub kind: FindingKind,
    /// A finer identifier (`apt-lists`, `python`, `deleted`, ...).
    pub rule: String,
    /// The layer that ships the bytes.
    pub layer: usize,
    /// The path.
    pub path: String,
    /// The ecosystem, for dependencies.
    pub ecosystem: Option<Ecosystem>,
    /// Bytes (uncompressed content).
    pub bytes: u64,
    /// One line for people.
    pub message: String,
    /// Largest packages, for dependencies.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<PackageBytes>,
}

/// A concrete action and what it saves.
#[derive(Debug, Clone, Serialize)]
pub struct Advice {
    /// What to do.
    pub action: String,
    /// The layer it concerns.
    pub layer: usize,
    /// Estimated compressed bytes each deploy would no longer download.
    pub bytes_saved_per_deploy: u64,
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
    let image = &opened.image;
    let scans = scan_all(
        image,
        opened.layers.as_ref(),
        opts.threads,
        opts.progress.clone(),
    )?;
    let entries: Vec<&[Entry]> = scans.iter().map(|s| s.entries.as_slice()).collect();
    let stacked = stack_layers(&entries);
    let dive = dive_figures(&entries);
    let history = image.config.layer_history(scans.len());
    let total_compressed: u64 = scans.iter().map(|s| s.compressed_bytes).sum();

    let mut layers = Vec::with_capacity(scans.len());
    for (index, scan) in scans.iter().enumerate() {
        let files = scan.entries.iter().filter(|e| e.kind == EntryKind::File);
        let role = match &opts.base {
            Some(base) if base.diff_ids.contains(&scan.diff_id) => Role::Base,
            _ => Role::App,
        };
        let descriptor = &image.layers[index];
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
            compressed_bytes: scan.compressed_bytes,
            uncompressed_bytes: scan.uncompressed_bytes,
            content_bytes: files.clone().map(|e| e.size).sum(),
            files: files.count() as u64,
            entries: scan.entries.len() as u64,
            created_by: history[index].and_then(|h| h.created_by.clone()),
            role,
            share: if total_compressed == 0 {
                0.0
            } else {
                scan.compressed_bytes as f64 / total_compressed as f64
            },
            dead_bytes: stacked
                .dead
                .iter()
                .filter(|d| d.layer == index)
                .map(|d| d.bytes)
                .sum(),
            top_paths: top_paths(&scan.entries, opts.top),
        });
    }

    let mut findings = Vec::new();
    let mut advice = Vec::new();
    for (layer, scan) in layers.iter().zip(&scans) {
        let saved = |bytes: u64| compressed_share(layer, bytes);
        if layer.role == Role::App {
            for dep in find_dependencies(&scan.entries) {
                let packages: Vec<String> = dep
                    .packages
                    .iter()
                    .take(3)
                    .map(|p| format!("{} {}", p.name, human_bytes(p.bytes)))
                    .collect();
                let share = dep.bytes as f64 / layer.content_bytes.max(1) as f64;
                findings.push(Finding {
                    kind: FindingKind::Dependencies,
                    rule: format!("{:?}", dep.ecosystem).to_lowercase(),
                    layer: layer.index,
                    path: dep.path.clone(),
                    ecosystem: Some(dep.ecosystem),
                    bytes: dep.bytes,
                    message: format!(
                        "{} of {:?} dependencies ({:.0} % of app layer {}){}",
                        human_bytes(dep.bytes),
                        dep.ecosystem,
                        share * 100.0,
                        layer.index,
                        if packages.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", packages.join(", "))
                        }
                    ),
                    packages: dep.packages.iter().take(opts.top).cloned().collect(),
                });
                let saving = saved(dep.bytes);
                advice.push(Advice {
                    action: format!(
                        "move {} into a dependency layer keyed by the lockfile ({}): a code-only deploy drops from {} to about {}",
                        dep.path,
                        dep.ecosystem.lockfiles(),
                        human_bytes(layer.compressed_bytes),
                        human_bytes(layer.compressed_bytes.saturating_sub(saving))
                    ),
                    layer: layer.index,
                    bytes_saved_per_deploy: saving,
                });
            }
        }
        for cache in find_caches(&scan.entries) {
            findings.push(Finding {
                kind: FindingKind::Cache,
                rule: cache.kind.to_string(),
                layer: layer.index,
                path: cache.path.clone(),
                ecosystem: None,
                bytes: cache.bytes,
                message: format!(
                    "{} of {} ({} files) in {} layer {}",
                    human_bytes(cache.bytes),
                    cache.kind,
                    cache.files,
                    if layer.role == Role::Base {
                        "base"
                    } else {
                        "app"
                    },
                    layer.index
                ),
                packages: Vec::new(),
            });
            if layer.role == Role::App {
                advice.push(Advice {
                    action: format!("{}: {}", cache.path, cache.fix),
                    layer: layer.index,
                    bytes_saved_per_deploy: saved(cache.bytes),
                });
            }
        }
        if layer.dead_bytes > 0 {
            let largest = stacked
                .dead
                .iter()
                .find(|d| d.layer == layer.index)
                .map(|d| d.path.clone())
                .unwrap_or_default();
            advice.push(Advice {
                action: format!(
                    "layer {} ships {} that later layers delete or overwrite (largest: {largest}): remove files in the same RUN that creates them, or copy only the results from a build stage",
                    layer.index,
                    human_bytes(layer.dead_bytes)
                ),
                layer: layer.index,
                bytes_saved_per_deploy: saved(layer.dead_bytes),
            });
        }
    }
    for dead in stacked.dead.iter().take(opts.top) {
        findings.push(Finding {
            kind: FindingKind::DeadBytes,
            rule: format!("{:?}", dead.cause).to_lowercase(),
            layer: dead.layer,
            path: dead.path.clone(),
            ecosystem: None,
            bytes: dead.bytes,
            message: format!(
                "{} shipped in layer {} but {} by layer {}",
                human_bytes(dead.bytes),
                dead.layer,
                match dead.cause {
                    dead::DeadCause::Overwritten => "overwritten",
                    dead::DeadCause::Deleted => "deleted",
                },
                dead.hidden_by
            ),
            packages: Vec::new(),
        });
    }
    findings.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    advice.retain(|a| a.bytes_saved_per_deploy > 0);
    advice.sort_by(|a, b| {
        b.bytes_saved_per_deploy
            .cmp(&a.bytes_saved_per_deploy)
            .then_with(|| a.layer.cmp(&b.layer))
    });

    let platform = match &image.config.variant {
        Some(v) => format!("{}/{}/{v}", image.config.os, image.config.architecture),
        None => format!("{}/{}", image.config.os, image.config.architecture),
    };
    Ok(Analysis {
        schema_version: SCHEMA_VERSION,
        image: ImageSummary {
            reference: image.reference.clone(),
            manifest_digest: image.manifest_digest.clone(),
            config_digest: image.config_digest.clone(),
            platform,
            compressed_bytes: total_compressed,
            uncompressed_bytes: layers.iter().map(|l| l.uncompressed_bytes).sum(),
            content_bytes: layers.iter().map(|l| l.content_bytes).sum(),
            visible_bytes: stacked.visible_bytes,
            visible_files: stacked.visible_files,
            base: opts.base.as_ref().map(|b| b.reference.clone()),
        },
        layers,
        dead_bytes: DeadBytes {
            total: stacked.dead.iter().map(|d| d.bytes).sum(),
            files: stacked.dead.len(),
            top: stacked.dead.iter().take(opts.top).cloned().collect(),
        },
        dive,
        findings,
        advice,
    })
}

/// The compressed bytes `content` bytes of a layer account for, at the layer's own ratio.
fn compressed_share(layer: &LayerReport, content: u64) -> u64 {
    if layer.content_bytes == 0 {
        return 0;
    }
    let share = (content as f64 / layer.content_bytes as f64).min(1.0);
    (layer.compressed_bytes as f64 * share).round() as u64
}
