//! Net reclaimable: what fixing every finding would take out of the image. Findings overlap (a
//! deleted log is both `logs` and dead bytes; a cache inside a duplicate tree is both), so each
//! file — a (layer, entry) pair — is counted once, at the largest amount any finding gives back
//! from it (a whole-file removal beats the part stripping saves).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::analysis::findings::Finding;

/// The de-duplicated total and what each rule alone gives back.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Reclaimable {
    /// Bytes given back by fixing every finding, each file counted once.
    pub total: u64,
    /// Per rule id, most bytes first: what fixing that rule's findings alone gives back (the rows
    /// may overlap, so they can add up to more than `total`).
    pub by_rule: Vec<RuleReclaim>,
}

/// What fixing one rule's findings gives back.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RuleReclaim {
    /// The rule id (`duplicate`, `docs`, `apt-lists`, `deleted`, ...).
    pub rule: String,
    /// Bytes, each file counted once within the rule.
    pub bytes: u64,
}

fn add(slot: &mut HashMap<(usize, usize), u64>, key: (usize, usize), bytes: u64) {
    let held = slot.entry(key).or_default();
    *held = (*held).max(bytes);
}

/// Sums the reclaims of `findings`, each (layer, entry) once at its largest reclaim.
pub fn net_reclaimable(findings: &[Finding]) -> Reclaimable {
    let mut all: HashMap<(usize, usize), u64> = HashMap::new();
    let mut per_rule: BTreeMap<&str, HashMap<(usize, usize), u64>> = BTreeMap::new();
    for f in findings {
        for r in &f.reclaims {
            add(&mut all, (r.layer, r.entry), r.bytes);
            add(
                per_rule.entry(f.rule.id).or_default(),
                (r.layer, r.entry),
                r.bytes,
            );
        }
    }
    let mut by_rule: Vec<RuleReclaim> = per_rule
        .into_iter()
        .map(|(rule, files)| RuleReclaim {
            rule: rule.to_string(),
            bytes: files.values().sum(),
        })
        .filter(|r| r.bytes > 0)
        .collect();
    by_rule.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.rule.cmp(&b.rule)));
    Reclaimable {
        total: all.values().sum(),
        by_rule,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::findings::Reclaim;
    use crate::analysis::rules;

    fn finding(rule: &str, reclaims: &[(usize, usize, u64)]) -> Finding {
        Finding {
            reclaims: reclaims
                .iter()
                .map(|&(layer, entry, bytes)| Reclaim {
                    layer,
                    entry,
                    bytes,
                })
                .collect(),
            ..Finding::sized(rules::by_id(rule).unwrap(), 0, "/x".into(), 0)
        }
    }

    #[test]
    fn a_file_two_findings_cover_counts_once_at_its_largest_reclaim() {
        let findings = [
            finding("logs", &[(1, 0, 100), (1, 1, 50)]),
            finding("deleted", &[(1, 0, 100)]),
            finding("unstripped", &[(2, 3, 30)]),
            finding("duplicate", &[(2, 3, 70), (0, 9, 5)]),
        ];
        let net = net_reclaimable(&findings);
        assert_eq!(net.total, 100 + 50 + 70 + 5);
        let rows: Vec<(&str, u64)> = net
            .by_rule
            .iter()
            .map(|r| (r.rule.as_str(), r.bytes))
            .collect();
        assert_eq!(
            rows,
            [
                ("logs", 150),
                ("deleted", 100),
                ("duplicate", 75),
                ("unstripped", 30)
            ]
        );
    }

    #[test]
    fn findings_without_reclaims_give_nothing() {
        assert_eq!(
            net_reclaimable(&[finding("oversized-layer", &[])]),
            Reclaimable::default()
        );
    }
}
