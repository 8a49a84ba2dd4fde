//! Findings: what in the layers is worth fixing — secrets, risky permissions, third-party
//! dependencies in app layers, caches and junk, dead bytes — each located (layer, path), sized and
//! rated, plus the advice candidates that fix the size problems (ranked and de-duplicated by
//! [`crate::analysis::advice`]).

use std::collections::HashMap;

use serde::Serialize;

use crate::analysis::advice::Candidate;
use crate::analysis::caches::find_caches;
use crate::analysis::dead::{DeadCause, Stacked};
use crate::analysis::dependencies::{find_dependencies, PackageBytes};
use crate::analysis::permissions::{find_permission_issues, runs_as_root};
use crate::analysis::secrets;
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
    /// A finer identifier (`apt-lists`, `python`, `deleted`, `secret-private-key`, `setuid`, ...),
    /// the id `strata report --ignore` takes.
    pub rule: String,
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
    /// A size finding (severity info, no hiding layer); callers add the message, fix and reclaims.
    pub(crate) fn sized(
        kind: FindingKind,
        rule: String,
        layer: usize,
        path: String,
        bytes: u64,
    ) -> Finding {
        Finding {
            kind,
            rule,
            severity: Severity::Info,
            layer,
            hidden_by: None,
            path,
            ecosystem: None,
            bytes,
            message: String::new(),
            packages: Vec::new(),
            fingerprint: None,
            fix: None,
            reclaims: Vec::new(),
        }
    }
}

/// Every rule id a finding can carry, so config and flags that name a rule can be checked for
/// typos.
pub fn rule_ids() -> Vec<String> {
    let mut ids: Vec<String> = secrets::RULES
        .iter()
        .map(|(id, _, _)| id.to_string())
        .collect();
    ids.extend(crate::analysis::caches::rule_ids().map(str::to_string));
    ids.extend(crate::ecosystem::all().iter().map(|e| e.rule_id()));
    ids.extend(["overwritten", "deleted"].map(str::to_string));
    ids.extend(["setuid", "setgid", "world-writable", "runs-as-root"].map(str::to_string));
    ids.extend(
        crate::analysis::startup::RULES
            .iter()
            .map(|r| r.to_string()),
    );
    ids.extend(crate::analysis::bloat::RULES.iter().map(|r| r.to_string()));
    ids
}

/// One finding per secret in any layer; a secret a later layer deletes or overwrites is reported
/// with the layer that hides it, since its bytes still ship.
fn secret_findings(entries: &[&[Entry]], stacked: &Stacked) -> Vec<Finding> {
    let hidden_by: HashMap<(usize, usize), usize> = stacked
        .dead
        .iter()
        .map(|d| ((d.layer, d.entry), d.hidden_by))
        .collect();
    let mut out = Vec::new();
    for (layer, entries) in entries.iter().enumerate() {
        for (index, e) in entries.iter().enumerate() {
            for hit in e.secrets.iter() {
                let (what, fix) = secrets::describe(hit.rule);
                let hider = hidden_by.get(&(layer, index)).copied();
                let fingerprint = hit.fingerprint_hex();
                let message = match hider {
                    Some(h) => format!("{what} (fingerprint {fingerprint}): present in layer {layer}, hidden by layer {h}, still downloadable"),
                    None => format!("{what} (fingerprint {fingerprint}) in layer {layer}"),
                };
                out.push(Finding {
                    severity: Severity::High,
                    hidden_by: hider,
                    message,
                    fingerprint: Some(fingerprint),
                    fix: Some(fix.to_string()),
                    ..Finding::sized(
                        FindingKind::Secret,
                        hit.rule.to_string(),
                        layer,
                        format!("/{}", e.path),
                        e.size,
                    )
                });
            }
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
            let (severity, fix) = match issue.rule {
                "setuid" => (Severity::Medium, "remove the bit (`chmod u-s`) or the binary, unless the app needs it to gain privileges"),
                "setgid" => (Severity::Low, "remove the bit (`chmod g-s`) unless the app needs it"),
                _ => (Severity::Medium, "`chmod o-w` it, or add the sticky bit (`chmod +t`) to a shared directory"),
            };
            Finding {
                severity,
                message: format!("{} mode {:04o} in layer {}", issue.rule, e.mode & 0o7777, issue.layer),
                fix: Some(fix.to_string()),
                ..Finding::sized(FindingKind::Permission, issue.rule.to_string(), issue.layer, format!("/{}", e.path), e.size)
            }
        })
        .collect();
    if runs_as_root(user) {
        out.push(Finding {
            severity: Severity::Medium,
            message: match user {
                Some(u) if !u.trim().is_empty() => {
                    format!("the config sets User {u:?}: the container runs as root")
                }
                _ => "the config sets no User: the container runs as root".to_string(),
            },
            fix: Some(
                "add a non-root user and `USER 65532` (or a named user) to the image config"
                    .to_string(),
            ),
            ..Finding::sized(
                FindingKind::Permission,
                "runs-as-root".to_string(),
                entries.len().saturating_sub(1),
                "(config) User".to_string(),
                0,
            )
        });
    }
    out
}

/// Finds everything worth fixing in the layers and the config (its `User`, whether its
/// entrypoint can start); returns the findings (most
/// severe, then largest first) and the advice candidates.
pub fn find(
    layers: &[LayerReport],
    entries: &[&[Entry]],
    stacked: &Stacked,
    config: &ImageConfig,
    top: usize,
) -> (Vec<Finding>, Vec<Candidate>) {
    let mut findings = secret_findings(entries, stacked);
    findings.extend(permission_findings(
        entries,
        stacked,
        config.runtime.user.as_deref(),
    ));
    findings.extend(startup_findings(config, entries));
    findings.extend(unstripped_findings(entries, stacked, top));
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
                    ecosystem: Some(dep.ecosystem),
                    packages: dep.packages.iter().take(top).cloned().collect(),
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
                    ..Finding::sized(
                        FindingKind::Dependencies,
                        dep.ecosystem.rule_id(),
                        index,
                        dep.path.clone(),
                        dep.bytes,
                    )
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
                    "{} of {} ({} files) in {} layer {index}",
                    human_bytes(cache.bytes),
                    cache.kind,
                    cache.files,
                    layer.role.as_str(),
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
                ..Finding::sized(
                    FindingKind::Cache,
                    cache.kind.to_string(),
                    index,
                    cache.path.clone(),
                    cache.bytes,
                )
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
            hidden_by: Some(dead.hidden_by),
            reclaims: vec![Reclaim {
                layer: dead.layer,
                entry: dead.entry,
                bytes: dead.bytes,
            }],
            ..Finding::sized(
                FindingKind::DeadBytes,
                format!("{:?}", dead.cause).to_lowercase(),
                dead.layer,
                dead.path.clone(),
                dead.bytes,
            )
        });
    }
    findings.extend(dead_tail(stacked, top));
    order(&mut findings);
    (findings, candidates)
}

/// Sorts findings the way reports list them: most severe, then largest first.
pub fn order(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
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
                    format!("{cause:?}").to_lowercase()
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
                    FindingKind::DeadBytes,
                    format!("{cause:?}").to_lowercase(),
                    largest.layer,
                    format!("({} more files)", rest.len()),
                    bytes,
                )
            })
        })
        .collect()
}
