//! Evaluating the configured gates against an image's analysis (and, for `max_delta`, its diff
//! against the deployed image). Every result carries the measured value, the limit and, when one is
//! known, the fix.

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Serialize;
use serde_json::{json, Value};

use crate::analysis::diff::Diff;
use crate::analysis::findings::FindingKind;
use crate::analysis::transfer::CompressedSource;
use crate::analysis::{Analysis, Role};
use crate::error::{Error, Result};
use crate::layer::walk::{Entry, EntryKind};
use crate::policy::config::CheckRules;
use crate::policy::dive_ci::Limit;
use crate::policy::selectors::Selector;
use crate::units::{human_bytes, percent};

/// The outcome of one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Within the limit.
    Pass,
    /// Over the limit: the gate fails.
    Fail,
    /// Disabled (dive rules set to `disabled`).
    Skip,
}

/// One rule's result.
#[derive(Debug, Clone, Serialize)]
pub struct RuleResult {
    /// The rule's key (`max_total`, `lowestEfficiency`, ...).
    pub rule: String,
    /// Pass, fail or skip.
    pub status: Status,
    /// The measured value (bytes, a ratio, a count, or the offending paths).
    pub measured: Value,
    /// The limit as configured.
    pub limit: Value,
    /// One line for people: measured against limit.
    pub message: String,
    /// How to fix a failure, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

fn globs(patterns: &[String], what: &str) -> Result<GlobSet> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(Glob::new(p).map_err(|e| Error::usage(format!("{what}: invalid glob {p:?}: {e}")))?);
    }
    b.build().map_err(|e| Error::usage(format!("{what}: {e}")))
}

/// Matches a rooted path against globs written with or without the leading slash.
fn matches(set: &GlobSet, rooted: &str) -> bool {
    set.is_match(rooted) || set.is_match(rooted.trim_start_matches('/'))
}

fn size_rule(
    rule: &str,
    measured: u64,
    limit: Option<u64>,
    what: &str,
    fix: &str,
) -> Option<RuleResult> {
    let limit = limit?;
    let pass = measured <= limit;
    Some(RuleResult {
        rule: rule.into(),
        status: if pass { Status::Pass } else { Status::Fail },
        measured: json!(measured),
        limit: json!(limit),
        message: size_message(what, &human_bytes(measured), limit),
        fix: (!pass).then(|| fix.to_string()),
    })
}

/// `what MEASURED (limit LIMIT)`, the line of every size gate.
fn size_message(what: &str, measured: &str, limit: u64) -> String {
    format!("{what} {measured} (limit {})", human_bytes(limit))
}

/// What a gate on transferred bytes adds to its message when the figure is an estimate.
const ESTIMATE_NOTE: &str = ", estimated: the gzip a push makes of the layers stored uncompressed";

/// [`size_rule`] over bytes a pull or push transfers, its message marking an estimate as such.
fn transfer_rule(
    rule: &str,
    (measured, source): (u64, CompressedSource),
    limit: Option<u64>,
    what: &str,
    fix: &str,
) -> Option<RuleResult> {
    let mut result = size_rule(rule, measured, limit, what, fix)?;
    if source.is_estimate() {
        let shown = format!("~{}", human_bytes(measured));
        result.message = size_message(what, &shown, limit?) + ESTIMATE_NOTE;
    }
    Some(result)
}

fn list_rule(rule: &str, offenders: Vec<String>, what: &str, fix: &str) -> RuleResult {
    let pass = offenders.is_empty();
    RuleResult {
        rule: rule.into(),
        status: if pass { Status::Pass } else { Status::Fail },
        message: if pass {
            format!("no {what}")
        } else {
            format!("{} {what}: {}", offenders.len(), offenders.join("; "))
        },
        measured: json!(offenders),
        limit: json!([]),
        fix: (!pass).then(|| fix.to_string()),
    }
}

/// Evaluates `rules` against an image's `analysis`, its layers' `entries`, and `diff` (the
/// comparison with the deployed image, when `against` is set).
pub fn evaluate(
    rules: &CheckRules,
    analysis: &Analysis,
    entries: &[&[Entry]],
    diff: Option<&Diff>,
) -> Result<Vec<RuleResult>> {
    let allow = globs(&rules.allow, "allow")?;
    let forbid = globs(&rules.forbid_paths, "forbid_paths")?;
    let img = &analysis.image;
    let mut out: Vec<RuleResult> = Vec::new();
    let split_fix = "`strata dockerfile` / `strata build` can split dependencies into their own layer keyed by the lockfile";

    out.extend(transfer_rule(
        "max_total",
        (img.compressed_bytes, img.compressed_bytes_source),
        rules.max_total,
        "compressed image",
        "remove what the findings list, or move to a smaller base",
    ));
    out.extend(size_rule(
        "max_total_uncompressed",
        img.uncompressed_bytes,
        rules.max_total_uncompressed,
        "uncompressed image",
        "remove what the findings list, or move to a smaller base",
    ));
    if let Some(largest) = analysis.layers.iter().max_by_key(|l| l.compressed_bytes) {
        out.extend(transfer_rule(
            "max_layer",
            (largest.compressed_bytes, largest.compressed_bytes_source),
            rules.max_layer,
            &format!("largest layer ({})", largest.index),
            split_fix,
        ));
    }
    let app_layers = || analysis.layers.iter().filter(|l| l.role == Role::App);
    let app = (
        app_layers().map(|l| l.compressed_bytes).sum(),
        CompressedSource::of_sum(app_layers().map(|l| l.compressed_bytes_source)),
    );
    out.extend(transfer_rule(
        "max_app_layers",
        app,
        rules.max_app_layers,
        "app layers",
        split_fix,
    ));
    if let Some(limit) = rules.max_layers {
        let n = analysis.layers.len() as u64;
        out.push(RuleResult {
            rule: "max_layers".into(),
            status: if n <= limit {
                Status::Pass
            } else {
                Status::Fail
            },
            measured: json!(n),
            limit: json!(limit),
            message: format!("{n} layers (limit {limit})"),
            fix: (n > limit).then(|| "merge RUN steps, or copy results from a build stage".into()),
        });
    }
    if let Some(limit) = rules.max_delta {
        let d = diff.ok_or_else(|| {
            Error::usage("max_delta needs --against OLD (or `against` in strata.toml)")
        })?;
        out.extend(transfer_rule(
            "max_delta",
            (d.pull_bytes, d.pull_bytes_source),
            Some(limit),
            &format!("a deploy over {} downloads", d.old.reference),
            "keep dependencies in their own layer keyed by the lockfile, and make builds reproducible",
        ));
    }
    if let Some(min) = rules.min_efficiency {
        let e = analysis.dive.efficiency;
        out.push(RuleResult {
            rule: "min_efficiency".into(),
            status: if e >= min { Status::Pass } else { Status::Fail },
            measured: json!(e),
            limit: json!(min),
            message: format!("efficiency {} (minimum {})", percent(e), percent(min)),
            fix: (e < min).then(|| "delete files in the same RUN that creates them".into()),
        });
    }
    out.extend(size_rule(
        "max_wasted",
        analysis.dive.wasted_bytes,
        rules.max_wasted,
        "dive wasted bytes",
        "delete files in the same RUN that creates them",
    ));
    out.extend(size_rule(
        "max_dead_bytes",
        analysis.dead_bytes.total,
        rules.max_dead_bytes,
        "dead bytes",
        "delete files in the same RUN that creates them, or copy results from a build stage",
    ));

    // Dependencies count in app layers only (a dependency layer is the fix); caches in every
    // layer the build made (the base's are not the build's to clean).
    let offenders = |kind: FindingKind, in_role: fn(Role) -> bool| -> Vec<String> {
        analysis
            .findings
            .iter()
            .filter(|f| f.kind == kind && in_role(analysis.layers[f.layer].role))
            .filter(|f| !matches(&allow, &f.path))
            .map(|f| format!("{} in layer {} ({})", f.path, f.layer, human_bytes(f.bytes)))
            .collect()
    };
    if rules.no_dependencies_in_app_layers {
        out.push(list_rule(
            "no_dependencies_in_app_layers",
            offenders(FindingKind::Dependencies, |r| r == Role::App),
            "dependency directories in app layers",
            split_fix,
        ));
    }
    if rules.no_caches {
        out.push(list_rule(
            "no_caches",
            offenders(FindingKind::Cache, |r| r != Role::Base),
            "caches outside the base",
            "see the fix of each cache in `strata report`",
        ));
    }
    if !rules.fail_on.is_empty() {
        let selectors = Selector::parse_all(&rules.fail_on, "fail_on")?;
        let offenders: Vec<String> = analysis
            .findings
            .iter()
            .filter(|f| selectors.iter().any(|s| s.matches(f)))
            .filter(|f| !matches(&allow, &f.path))
            .map(|f| format!("{} {} in layer {}", f.rule, f.path, f.layer))
            .collect();
        out.push(list_rule(
            "fail_on",
            offenders,
            &format!("findings of {}", rules.fail_on.join(", ")),
            "see the fix of each finding in `strata report`",
        ));
    }
    if !rules.forbid_paths.is_empty() {
        let mut found = Vec::new();
        for (layer, entries) in entries.iter().enumerate() {
            for e in entries.iter() {
                let rooted = format!("/{}", e.path);
                let shipped = matches!(
                    e.kind,
                    EntryKind::File | EntryKind::Symlink | EntryKind::Hardlink | EntryKind::Dir
                );
                if shipped && matches(&forbid, &rooted) && !matches(&allow, &rooted) {
                    found.push(format!("{rooted} in layer {layer}"));
                }
            }
        }
        out.push(list_rule("forbid_paths", found, "forbidden paths", "keep them out of the build context (.dockerignore); deleting them in a later layer does not remove them from the image"));
    }
    if let Some(dive) = &rules.dive {
        out.extend(dive_results(dive, analysis));
    }
    Ok(out)
}

fn dive_results(dive: &crate::policy::dive_ci::DiveRules, analysis: &Analysis) -> Vec<RuleResult> {
    let d = &analysis.dive;
    let skip = |rule: &str| RuleResult {
        rule: rule.into(),
        status: Status::Skip,
        measured: Value::Null,
        limit: json!("disabled"),
        message: "disabled".into(),
        fix: None,
    };
    let result =
        |rule: &str, fail: bool, measured: Value, limit: &str, message: String| RuleResult {
            rule: rule.into(),
            status: if fail { Status::Fail } else { Status::Pass },
            measured,
            limit: json!(limit),
            message,
            fix: fail.then(|| "delete files in the same RUN that creates them".into()),
        };
    let [eff_t, wasted_t, pct_t] = &dive.written;
    vec![
        match dive.lowest_efficiency {
            Limit::Disabled => skip("lowestEfficiency"),
            Limit::Threshold(t) => result(
                "lowestEfficiency",
                t > d.efficiency,
                json!(d.efficiency),
                eff_t,
                format!(
                    "efficiency {} (lowest allowed {eff_t})",
                    percent(d.efficiency)
                ),
            ),
        },
        match dive.highest_wasted_bytes {
            Limit::Disabled => skip("highestWastedBytes"),
            Limit::Threshold(t) => result(
                "highestWastedBytes",
                d.wasted_bytes > t,
                json!(d.wasted_bytes),
                wasted_t,
                format!(
                    "wasted {} (highest allowed {wasted_t})",
                    human_bytes(d.wasted_bytes)
                ),
            ),
        },
        match dive.highest_user_wasted_percent {
            Limit::Disabled => skip("highestUserWastedPercent"),
            // As in dive, NaN (no user layers) never exceeds the threshold; +∞ always does.
            Limit::Threshold(t) => result(
                "highestUserWastedPercent",
                d.user_wasted_percent > t,
                json!(d.user_wasted_percent),
                pct_t,
                format!(
                    "user wasted {} (highest allowed {pct_t})",
                    percent(d.user_wasted_percent)
                ),
            ),
        },
    ]
}
