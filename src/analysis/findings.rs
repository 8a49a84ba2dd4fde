//! Findings: what in the layers is worth fixing — third-party dependencies in app layers, caches
//! and junk, dead bytes — each located (layer, path) and sized, plus the advice candidates that fix
//! them (ranked and de-duplicated by [`crate::analysis::advice`]).

use serde::Serialize;

use crate::analysis::advice::Candidate;
use crate::analysis::caches::find_caches;
use crate::analysis::dead::{DeadCause, Stacked};
use crate::analysis::dependencies::{find_dependencies, Ecosystem, PackageBytes};
use crate::analysis::{LayerReport, Role};
use crate::layer::walk::Entry;
use crate::units::human_bytes;

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

/// Finds everything worth fixing in the layers; returns the findings (largest first) and the
/// advice candidates.
pub fn find(
    layers: &[LayerReport],
    entries: &[&[Entry]],
    stacked: &Stacked,
    top: usize,
) -> (Vec<Finding>, Vec<Candidate>) {
    let mut findings = Vec::new();
    let mut candidates = Vec::new();
    for (layer, entries) in layers.iter().zip(entries) {
        let index = layer.index;
        if layer.role == Role::App {
            for dep in find_dependencies(entries) {
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
                    layer: index,
                    path: dep.path.clone(),
                    ecosystem: Some(dep.ecosystem),
                    bytes: dep.bytes,
                    message: format!(
                        "{} of {:?} dependencies ({:.0} % of app layer {index}){}",
                        human_bytes(dep.bytes),
                        dep.ecosystem,
                        share * 100.0,
                        if packages.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", packages.join(", "))
                        }
                    ),
                    packages: dep.packages.iter().take(top).cloned().collect(),
                });
                let (path, lockfiles, before) = (
                    dep.path.clone(),
                    dep.ecosystem.lockfiles(),
                    layer.compressed_bytes,
                );
                candidates.push(Candidate {
                    layer: index,
                    members: dep.members.iter().map(|&e| (index, e)).collect(),
                    action: Box::new(move |saved| {
                        format!(
                            "move {path} into a dependency layer keyed by the lockfile ({lockfiles}): a code-only deploy drops from {} to about {}",
                            human_bytes(before),
                            human_bytes(before.saturating_sub(saved))
                        )
                    }),
                });
            }
        }
        for cache in find_caches(entries) {
            findings.push(Finding {
                kind: FindingKind::Cache,
                rule: cache.kind.to_string(),
                layer: index,
                path: cache.path.clone(),
                ecosystem: None,
                bytes: cache.bytes,
                message: format!(
                    "{} of {} ({} files) in {} layer {index}",
                    human_bytes(cache.bytes),
                    cache.kind,
                    cache.files,
                    layer.role.as_str(),
                ),
                packages: Vec::new(),
            });
            if layer.role == Role::App {
                let action = format!("{}: {}", cache.path, cache.fix);
                candidates.push(Candidate {
                    layer: index,
                    members: cache.members.iter().map(|&e| (index, e)).collect(),
                    action: Box::new(move |_| action.clone()),
                });
            }
        }
        let dead: Vec<_> = stacked.dead.iter().filter(|d| d.layer == index).collect();
        if let Some(largest) = dead.first() {
            let (path, bytes) = (largest.path.clone(), layer.dead_bytes);
            candidates.push(Candidate {
                layer: index,
                members: dead.iter().map(|d| (index, d.entry)).collect(),
                action: Box::new(move |_| {
                    format!(
                        "layer {index} ships {} that later layers delete or overwrite (largest: {path}): remove files in the same RUN that creates them, or copy only the results from a build stage",
                        human_bytes(bytes)
                    )
                }),
            });
        }
    }
    for dead in stacked.dead.iter().take(top) {
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
                    DeadCause::Overwritten => "overwritten",
                    DeadCause::Deleted => "deleted",
                },
                dead.hidden_by
            ),
            packages: Vec::new(),
        });
    }
    findings.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    (findings, candidates)
}
