//! Naming findings from flags and `strata.toml`: `--ignore`, `[report] ignore` and `allow`, and
//! `strata check --fail-on`. A selector is a rule id (`secret-env-file`), a rule family — the id's
//! leading words (`secret`, `wont-start`) —, a finding kind (`bloat`, `dead-bytes`), or a severity
//! (`medium` exactly, `medium+` for medium and above). Unknown names are errors, so a typo in a
//! gate cannot silently pass.

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use std::path::Path;

use crate::analysis::findings::{Finding, FindingKind, Severity};
use crate::analysis::reclaim::net_reclaimable;
use crate::analysis::rules;
use crate::analysis::Analysis;
use crate::catalog::closest;
use crate::error::{Error, Result};
use crate::policy::config::locate;

/// What a selector matches.
#[derive(Debug, Clone, PartialEq)]
enum Matcher {
    /// A rule id, or the leading words of rule ids (`secret` matches `secret-aws-key`).
    Rule(String),
    /// Every finding of a kind.
    Kind(FindingKind),
    /// Findings of a severity, or of it and above.
    Severity { level: Severity, and_above: bool },
}

/// One parsed selector.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector(Matcher);

impl Selector {
    /// Parses `term`; an unknown rule, kind or severity is a usage error listing what exists.
    pub fn parse(term: &str) -> Result<Selector> {
        let term = term.trim();
        let (word, and_above) = match term.strip_suffix('+') {
            Some(w) => (w, true),
            None => (term, false),
        };
        if let Some(level) = Severity::ALL.into_iter().find(|s| s.as_str() == word) {
            return Ok(Selector(Matcher::Severity { level, and_above }));
        }
        if and_above {
            return Err(Error::usage(format!(
                "{term:?}: `+` follows a severity (info, low, medium, high)"
            )));
        }
        if let Some(kind) = FindingKind::ALL.into_iter().find(|k| k.name() == term) {
            return Ok(Selector(Matcher::Kind(kind)));
        }
        let family = format!("{term}-");
        if rules::all().any(|r| r.id == term || r.id.starts_with(&family)) {
            return Ok(Selector(Matcher::Rule(term.to_string())));
        }
        let ids = rules::all().map(|r| r.id);
        let kinds = FindingKind::ALL.map(FindingKind::name);
        let families = rules::families();
        let severities = Severity::ALL.map(Severity::as_str);
        let names = ids
            .clone()
            .chain(families.iter().copied())
            .chain(kinds)
            .chain(severities);
        let hint = closest(term, names)
            .map(|name| format!("did you mean {name}? "))
            .unwrap_or_default();
        Err(Error::usage(format!(
            "unknown rule {term:?}: {hint}expected a rule id ({}), a family ({}), a kind ({}) or a severity ({}, with `+` for and above)",
            ids.collect::<Vec<_>>().join(", "),
            families.join(", "),
            kinds.join(", "),
            severities.join(", "),
        )))
    }

    /// Parses every term, naming `what` (the flag or key) in an error.
    pub fn parse_all(terms: &[String], what: &str) -> Result<Vec<Selector>> {
        terms
            .iter()
            .map(|t| Selector::parse(t).map_err(|e| e.context(what)))
            .collect()
    }

    /// Whether `finding` is one this selector names.
    pub fn matches(&self, finding: &Finding) -> bool {
        match &self.0 {
            Matcher::Rule(rule) => {
                finding.rule.id == rule
                    || finding
                        .rule
                        .id
                        .strip_prefix(rule.as_str())
                        .is_some_and(|rest| rest.starts_with('-'))
            }
            Matcher::Kind(kind) => finding.kind == *kind,
            Matcher::Severity { level, and_above } => {
                finding.severity == *level || (*and_above && finding.severity > *level)
            }
        }
    }
}

/// Findings accepted on purpose: those at paths matching `paths`, of the rules `rules` names (every
/// rule when empty).
#[derive(Debug, Clone)]
pub struct Allow {
    rules: Vec<Selector>,
    paths: GlobSet,
}

impl Allow {
    /// An allow entry from its rules and path globs (written with or without the leading slash).
    pub fn new(rules: Vec<Selector>, paths: &[String]) -> Result<Allow> {
        let mut b = GlobSetBuilder::new();
        for p in paths {
            let glob = Glob::new(p.trim_start_matches('/'))
                .map_err(|e| Error::usage(format!("allow: invalid glob {p:?}: {e}")))?;
            b.add(glob);
        }
        let paths = b.build().map_err(|e| Error::usage(format!("allow: {e}")))?;
        Ok(Allow { rules, paths })
    }

    fn covers(&self, f: &Finding) -> bool {
        (self.rules.is_empty() || self.rules.iter().any(|r| r.matches(f)))
            && self.paths.is_match(f.path.trim_start_matches('/'))
    }
}

/// Which findings a report leaves out: `--ignore` and `[report] ignore` selectors, and
/// `[[report.allow]]` entries.
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    /// Findings these name are left out wherever they are.
    pub ignore: Vec<Selector>,
    /// Findings these cover are left out at their paths only.
    pub allow: Vec<Allow>,
}

impl FindingFilter {
    /// Whether the report keeps `f`.
    pub fn keeps(&self, f: &Finding) -> bool {
        !self.ignore.iter().any(|s| s.matches(f)) && !self.allow.iter().any(|a| a.covers(f))
    }

    /// Drops the findings the filter leaves out of `analysis`, and recounts the net reclaimable
    /// bytes over those kept.
    pub fn apply(&self, analysis: &mut Analysis) {
        analysis.findings.retain(|f| self.keeps(f));
        analysis.reclaimable = net_reclaimable(&analysis.findings);
    }
}

#[derive(Debug, Deserialize)]
struct RawFile {
    report: Option<RawReport>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReport {
    #[serde(default)]
    ignore: Vec<String>,
    #[serde(default)]
    allow: Vec<RawAllow>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllow {
    #[serde(default)]
    rules: Vec<String>,
    paths: Vec<String>,
}

/// The `[report]` table of `file`: `ignore = [selectors]` and `[[report.allow]]` entries with
/// `paths = [globs]` and optional `rules = [selectors]`. An absent table filters nothing.
pub fn load_report_filter(file: &Path) -> Result<FindingFilter> {
    let text = std::fs::read_to_string(file).map_err(|e| Error::io(file.display(), e))?;
    let raw: RawFile = toml::from_str(&text)
        .map_err(|e| Error::usage(format!("{}: {}", file.display(), e.message())))?;
    let Some(report) = raw.report else {
        return Ok(FindingFilter::default());
    };
    let key = |k: &str| format!("{}: [report] {k}", file.display());
    let ignore = Selector::parse_all(&report.ignore, &key("ignore"))?;
    let allow = report
        .allow
        .iter()
        .map(|a| {
            let rules = Selector::parse_all(&a.rules, &key("allow rules"))?;
            Allow::new(rules, &a.paths).map_err(|e| e.context(key("allow")))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(FindingFilter { ignore, allow })
}

/// The filter a command applies: `[report]` of the config file (`explicit`, else the nearest
/// `strata.toml`), plus the `--ignore` flags.
pub fn finding_filter(explicit: Option<&Path>, ignore_flags: &[String]) -> Result<FindingFilter> {
    let mut filter = match locate(explicit)? {
        Some(file) => load_report_filter(&file)?,
        None => FindingFilter::default(),
    };
    filter
        .ignore
        .extend(Selector::parse_all(ignore_flags, "--ignore")?);
    Ok(filter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::findings::Reclaim;

    fn finding(kind: FindingKind, rule: &str, severity: Severity, path: &str) -> Finding {
        Finding {
            kind,
            rule: crate::analysis::rules::by_id(rule).unwrap(),
            severity,
            layer: 0,
            hidden_by: None,
            path: path.into(),
            ecosystem: None,
            bytes: 1,
            message: String::new(),
            packages: Vec::new(),
            fingerprint: None,
            fix: None,
            reclaims: Vec::<Reclaim>::new(),
        }
    }

    fn sel(t: &str) -> Selector {
        Selector::parse(t).unwrap()
    }

    #[test]
    fn rules_families_kinds_and_severities_match() {
        let aws = finding(
            FindingKind::Secret,
            "secret-aws-key",
            Severity::High,
            "/app/k",
        );
        let root = finding(
            FindingKind::Permission,
            "runs-as-root",
            Severity::Medium,
            "(config) User",
        );
        assert!(sel("secret-aws-key").matches(&aws));
        assert!(sel("secret").matches(&aws));
        assert!(!sel("secret").matches(&root));
        assert!(sel("permission").matches(&root));
        assert!(sel("medium").matches(&root) && !sel("medium").matches(&aws));
        assert!(sel("medium+").matches(&aws) && sel("medium+").matches(&root));
        assert!(!sel("high+").matches(&root));
        // A family is whole words: `secret-aws` matches `secret-aws-key`, `secret-a` does not
        // parse (no rule starts with `secret-a-`).
        assert!(sel("secret-aws").matches(&aws));
        assert!(Selector::parse("secret-a").is_err());
    }

    #[test]
    fn unknown_names_are_usage_errors_listing_what_exists() {
        let e = Selector::parse("secrets").unwrap_err();
        assert!(matches!(e, Error::Usage(_)));
        assert!(e.to_string().contains("secret-aws-key"), "{e}");
        assert!(Selector::parse("bloat+").is_err());
    }

    #[test]
    fn report_table_ignores_and_allows_by_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("strata.toml");
        std::fs::write(
            &file,
            "[check]\nmax_total = \"1GB\"\n[report]\nignore = [\"runs-as-root\"]\n[[report.allow]]\nrules = [\"secret-env-file\"]\npaths = [\"/app/.env.example\"]\n",
        )
        .unwrap();
        let filter = load_report_filter(&file).unwrap();
        let env =
            |path: &str| finding(FindingKind::Secret, "secret-env-file", Severity::High, path);
        let root = finding(
            FindingKind::Permission,
            "runs-as-root",
            Severity::Medium,
            "(config) User",
        );
        assert!(!filter.keeps(&env("/app/.env.example")));
        assert!(filter.keeps(&env("/app/.env")));
        assert!(!filter.keeps(&root));

        std::fs::write(&file, "[report]\nignore = [\"root\"]\n").unwrap();
        let e = load_report_filter(&file).unwrap_err().to_string();
        assert!(
            e.contains("[report] ignore") && e.contains("\"root\""),
            "{e}"
        );
    }
}
