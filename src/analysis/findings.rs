//! Findings: what in the layers is worth fixing — secrets, risky permissions, third-party
//! dependencies in app layers, caches and junk, dead bytes — each located (layer, path), sized and
//! rated, plus the advice candidates that fix the size problems (ranked and de-duplicated by
//! [`crate::analysis::advice`]).

use std::collections::HashMap;

use serde::Serialize;

use crate::analysis::advice::Candidate;
use crate::analysis::caches::find_caches;
use crate::analysis::dead::{DeadCause, DeadFile, Stacked};
use crate::analysis::dependencies::{find_dependencies, PackageBytes};
use crate::analysis::inspect::Inspected;
use crate::analysis::permissions::{find_permission_issues, runs_as_root};
use crate::analysis::roles::OwnPackages;
use crate::analysis::rules::{self, Rule};
use crate::analysis::startup::startup_findings;
use crate::analysis::unstripped::unstripped_findings;
use crate::analysis::{LayerReport, Role};
use crate::ecosystem::Ecosystem;
use crate::layer::walk::Entry;
use crate::model::ImageConfig;
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
    /// A secret (key, credential, token) in a layer, visible or not.
    Secret,
    /// A risky permission: setuid/setgid, world-writable, running as root.
    Permission,
    /// The entrypoint cannot start: a missing program, interpreter, loader, library or glibc
    /// version (rule ids `wont-start-*`).
    WontStart,
    /// Bytes that serve no purpose at run time: duplicates, unstripped binaries, docs, logs,
    /// development artifacts, toolchains, oversized layers.
    Bloat,
}

impl FindingKind {
    /// Every kind, for listing and for config validation.
    pub const ALL: [FindingKind; 7] = [
        FindingKind::Dependencies,
        FindingKind::Cache,
        FindingKind::DeadBytes,
        FindingKind::Secret,
        FindingKind::Permission,
        FindingKind::WontStart,
        FindingKind::Bloat,
    ];

    /// The kind as config and flags name it (`dead-bytes`, `wont-start`, ...).
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::Dependencies => "dependencies",
            FindingKind::Cache => "cache",
            FindingKind::DeadBytes => "dead-bytes",
            FindingKind::Secret => "secret",
            FindingKind::Permission => "permission",
            FindingKind::WontStart => "wont-start",
            FindingKind::Bloat => "bloat",
        }
    }
}

/// How urgent a finding is; findings are listed most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Size and layering: costs bytes, not safety.
    Info,
    /// Worth a look.
    Low,
    /// A weakness an attacker can use once inside.
    Medium,
    /// Leaked credentials: anyone who can pull the image has them.
    High,
}

impl Severity {
    /// Every level, least severe first.
    pub const ALL: [Severity; 4] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
    ];

    /// `info`, `low`, `medium` or `high`, as reports print it (the JSON carries the same word).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

/// Something worth fixing, located and sized.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// What it is.
    pub kind: FindingKind,
    /// The rule that found it (serialized as its id: `apt-lists`, `python`, `deleted`,
    /// `secret-private-key`, `setuid`, ...), the id `strata report --ignore` takes.
    pub rule: &'static Rule,
    /// How urgent it is.
    pub severity: Severity,
    /// The layer that ships the bytes (for `runs-as-root`, the top layer the config applies to).
    pub layer: usize,
    /// The later layer that deletes or replaces the file, when it is not visible (the bytes still
    /// ship with every pull).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_by: Option<usize>,
    /// The path.
    pub path: String,
    /// The ecosystem, for dependencies.
    pub ecosystem: Option<&'static dyn Ecosystem>,
    /// Bytes (uncompressed content).
    pub bytes: u64,
    /// One line for people.
    pub message: String,
    /// Largest packages, for dependencies.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<PackageBytes>,
    /// For secrets: 8 hex digits of the SHA-256 of the value (the value itself is never kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The concrete fix (security, cache and bloat findings; dependency and dead-byte findings
    /// have theirs in the advice).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// What fixing it gives back, file by file, so the net reclaimable total counts each byte once
    /// even when two findings cover the same file (not serialized: `bytes` is the finding's own
    /// figure).
    #[serde(skip)]
    pub reclaims: Vec<Reclaim>,
}

/// Bytes a fix gives back from one file: the layer, the entry's index in that layer's entries, and
/// how many bytes (the whole file, or what stripping it saves).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reclaim {
    /// The layer that ships the file.
    pub layer: usize,
    /// The entry's index in that layer.
    pub entry: usize,
    /// Bytes given back.
    pub bytes: u64,
}

impl Finding {
    /// A finding of `rule` (its kind, default severity and usual fix; no hiding layer); callers
    /// add the message, a more precise fix and the reclaims.
    pub(crate) fn sized(rule: &'static Rule, layer: usize, path: String, bytes: u64) -> Finding {
        Finding {
            kind: rule.kind,
            rule,
            severity: rule.severity,
            layer,
            hidden_by: None,
            path,
            ecosystem: None,
            bytes,
            message: String::new(),
            packages: Vec::new(),
            fingerprint: None,
            fix: rule.fix.map(str::to_string),
            reclaims: Vec::new(),
        }
    }
}

/// One finding per secret in any layer; a secret a later layer deletes or overwrites is reported
/// with the layer that hides it, since its bytes still ship.
fn secret_findings(
    entries: &[&[Entry]],
    inspected: &[&Inspected],
    stacked: &Stacked,
) -> Vec<Finding> {
    let hidden_by: HashMap<(usize, usize), usize> = stacked
        .dead
        .iter()
        .map(|d| ((d.layer, d.entry), d.hidden_by))
        .collect();
    let mut out = Vec::new();
    for (layer, entries) in entries.iter().enumerate() {
        for (index, hit) in inspected[layer].secrets() {
            let e = &entries[index];
            let what = hit.rule.summary;
            let hider = hidden_by.get(&(layer, index)).copied();
            let fingerprint = hit.fingerprint_hex();
            let message = match hider {
                Some(h) => format!("{what} (fingerprint {fingerprint}): present in layer {layer}, hidden by layer {h}, still downloadable"),
                None => format!("{what} (fingerprint {fingerprint}) in layer {layer}"),
            };
            out.push(Finding {
                hidden_by: hider,
                message,
                fingerprint: Some(fingerprint),
                ..Finding::sized(hit.rule, layer, format!("/{}", e.path), e.size)
            });
        }
    }
    out
}

/// setuid/setgid/world-writable entries of the final filesystem, and `runs-as-root` when the
/// config's `User` is unset or root.
fn permission_findings(
    entries: &[&[Entry]],
    stacked: &Stacked,
    user: Option<&str>,
) -> Vec<Finding> {
    let mut out: Vec<Finding> = find_permission_issues(entries, &stacked.visible)
        .into_iter()
        .map(|issue| {
            let e = &entries[issue.layer][issue.entry];
            Finding {
                message: format!(
                    "{} mode {:04o} in layer {}",
                    issue.rule,
                    e.mode & 0o7777,
                    issue.layer
                ),
                ..Finding::sized(issue.rule, issue.layer, format!("/{}", e.path), e.size)
            }
        })
        .collect();
    if runs_as_root(user) {
        out.push(Finding {
            message: match user {
                Some(u) if !u.trim().is_empty() => {
                    format!("the config sets User {u:?}: the container runs as root")
                }
                _ => "the config sets no User: the container runs as root".to_string(),
            },
            ..Finding::sized(
                &rules::RUNS_AS_ROOT,
                entries.len().saturating_sub(1),
                "(config) User".to_string(),
                0,
            )
        });
    }
    out
}

/// Finds everything worth fixing in the layers (their entries and what the inspectors learned
/// from their files) and the config (its `User`, whether its entrypoint can start); returns the
/// findings (in [`order`]) and the advice candidates. Dependencies are a finding in app layers
/// only (not in the base, nor in a dependency layer, which is the fix), and never the image's own
/// project (`own`).
pub fn find(
    layers: &[LayerReport],
    entries: &[&[Entry]],
    inspected: &[&Inspected],
    stacked: &Stacked,
    config: &ImageConfig,
    own: &OwnPackages,
    top: usize,
) -> (Vec<Finding>, Vec<Candidate>) {
    let mut findings = secret_findings(entries, inspected, stacked);
    findings.extend(permission_findings(
        entries,
        stacked,
        config.runtime.user.as_deref(),
    ));
    findings.extend(startup_findings(config, entries, inspected));
    findings.extend(unstripped_findings(entries, inspected, stacked, top));
    let mut candidates = Vec::new();
    // Each layer's dead files, in the stack's order, gathered once (not one pass per layer).
    let mut dead_in: Vec<Vec<&DeadFile>> = vec![Vec::new(); layers.len()];
    for dead in &stacked.dead {
        if let Some(layer) = dead_in.get_mut(dead.layer) {
            layer.push(dead);
        }
    }
    for ((layer, entries), dead) in layers.iter().zip(entries).zip(&dead_in) {
        let index = layer.index;
        if layer.role == Role::App {
            for dep in find_dependencies(entries, own) {
                let packages: Vec<String> = dep
                    .packages
                    .iter()
                    .take(3)
                    .map(|p| format!("{} {}", p.name, human_bytes(p.bytes)))
                    .collect();
                let share = dep.bytes as f64 / layer.content_bytes.max(1) as f64;
                findings.push(Finding {
                    ecosystem: Some(dep.ecosystem),
                    packages: dep.packages.iter().take(top).cloned().collect(),
                    message: format!(
                        "{} of {:?} dependencies ({:.0} % of {} {index}){}",
                        human_bytes(dep.bytes),
                        dep.ecosystem,
                        share * 100.0,
                        layer.role.layer_name(),
                        if packages.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", packages.join(", "))
                        }
                    ),
                    ..Finding::sized(dep.ecosystem.rule(), index, dep.path.clone(), dep.bytes)
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
                message: format!(
                    "{} of {} ({} files) in {} {index}",
                    human_bytes(cache.bytes),
                    cache.rule,
                    cache.files,
                    layer.role.layer_name(),
                ),
                fix: Some(cache.fix.to_string()),
                reclaims: cache
                    .members
                    .iter()
                    .map(|&entry| Reclaim {
                        layer: index,
                        entry,
                        bytes: entries[entry].size,
                    })
                    .collect(),
                ..Finding::sized(cache.rule, index, cache.path.clone(), cache.bytes)
            });
            if layer.role != Role::Base {
                let action = format!("{}: {}", cache.path, cache.fix);
                candidates.push(Candidate {
                    layer: index,
                    members: cache.members.iter().map(|&e| (index, e)).collect(),
                    action: Box::new(move |_| action.clone()),
                });
            }
        }
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
            message: format!(
                "{} shipped in layer {} but {} by layer {}",
                human_bytes(dead.bytes),
                dead.layer,
                dead.cause.rule(),
                dead.hidden_by
            ),
            hidden_by: Some(dead.hidden_by),
            reclaims: vec![Reclaim {
                layer: dead.layer,
                entry: dead.entry,
                bytes: dead.bytes,
            }],
            ..Finding::sized(dead.cause.rule(), dead.layer, dead.path.clone(), dead.bytes)
        });
    }
    findings.extend(dead_tail(stacked, top));
    order(&mut findings, layers);
    (findings, candidates)
}

/// Sorts findings the way every format lists them: what costs bytes first, most severe then
/// largest; then, in the same order, the findings of 0 B (`runs-as-root`, empty files) and the
/// permission bits of base layers (the base's `su`, `passwd`: facts of the base, not of the
/// build). An entrypoint that cannot start leads whatever its bytes: the image does not work.
pub fn order(findings: &mut [Finding], layers: &[LayerReport]) {
    let trailing = |f: &Finding| {
        let base = layers.get(f.layer).is_some_and(|l| l.role == Role::Base);
        f.kind != FindingKind::WontStart
            && (f.bytes == 0 || (f.kind == FindingKind::Permission && base))
    };
    findings.sort_by(|a, b| {
        trailing(a)
            .cmp(&trailing(b))
            .then_with(|| b.severity.cmp(&a.severity))
            .then_with(|| b.bytes.cmp(&a.bytes))
            .then_with(|| a.path.cmp(&b.path))
    });
}

/// The dead files past the `top` listed one by one, as one finding per cause, so the net
/// reclaimable total still counts them.
fn dead_tail(stacked: &Stacked, top: usize) -> Vec<Finding> {
    [DeadCause::Deleted, DeadCause::Overwritten]
        .into_iter()
        .filter_map(|cause| {
            let rest: Vec<_> = stacked
                .dead
                .iter()
                .skip(top)
                .filter(|d| d.cause == cause)
                .collect();
            let largest = rest.first()?;
            let bytes = rest.iter().map(|d| d.bytes).sum();
            Some(Finding {
                message: format!(
                    "{} more dead files ({}) shipped but {} by later layers",
                    rest.len(),
                    human_bytes(bytes),
                    cause.rule()
                ),
                reclaims: rest
                    .iter()
                    .map(|d| Reclaim {
                        layer: d.layer,
                        entry: d.entry,
                        bytes: d.bytes,
                    })
                    .collect(),
                ..Finding::sized(
                    cause.rule(),
                    largest.layer,
                    format!("({} more files)", rest.len()),
                    bytes,
                )
            })
        })
        .collect()
}
