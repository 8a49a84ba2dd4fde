//! dive's CI rules file (`.dive-ci`), read with dive's semantics so a team can switch by pointing
//! strata at the file it has: `rules.lowestEfficiency` (fails when threshold > efficiency),
//! `rules.highestWastedBytes` (fails when wasted > threshold; sizes as go-humanize parses them),
//! `rules.highestUserWastedPercent` (fails when percent > threshold). `""`, `disabled`, `off` and
//! `false` disable a rule; a missing rule takes dive's default (0.9, disabled, 0.1); other keys
//! are ignored, as dive ignores them.

use std::path::Path;

use crate::error::{Error, Result};
use crate::policy::units::{parse_ratio, parse_size};

/// One dive rule: its limit, or disabled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit<T> {
    /// The rule is off.
    Disabled,
    /// The rule's threshold.
    Threshold(T),
}

/// dive's three rules.
#[derive(Debug, Clone, PartialEq)]
pub struct DiveRules {
    /// `lowestEfficiency`.
    pub lowest_efficiency: Limit<f64>,
    /// `highestWastedBytes`.
    pub highest_wasted_bytes: Limit<u64>,
    /// `highestUserWastedPercent`.
    pub highest_user_wasted_percent: Limit<f64>,
    /// The texts as written, for reports (`20Mb`).
    pub written: [String; 3],
}

fn text_of(v: Option<&serde_yaml_ng::Value>) -> Option<String> {
    match v? {
        serde_yaml_ng::Value::String(s) => Some(s.clone()),
        serde_yaml_ng::Value::Number(n) => Some(n.to_string()),
        serde_yaml_ng::Value::Bool(b) => Some(b.to_string()),
        serde_yaml_ng::Value::Null => Some(String::new()),
        _ => Some("<not a scalar>".into()),
    }
}

fn is_disabled(s: &str) -> bool {
    matches!(s.trim(), "" | "disabled" | "off" | "false")
}

fn limit<T>(
    text: Option<String>,
    default: &str,
    parse: impl Fn(&str) -> std::result::Result<T, String>,
    key: &str,
    file: &Path,
) -> Result<(Limit<T>, String)> {
    let text = text.unwrap_or_else(|| default.to_string());
    if is_disabled(&text) {
        return Ok((Limit::Disabled, "disabled".into()));
    }
    parse(&text)
        .map(|v| (Limit::Threshold(v), text.clone()))
        .map_err(|m| Error::usage(format!("{}: rules.{key}: {m}", file.display())))
}

/// How deep `[`/`{` flow collections may nest. The YAML scanner (libyaml's, under serde_yaml_ng)
/// takes time quadratic in the nesting depth: 32 000 `[` (a 64 KB file) ran for minutes. dive's
/// file is a flat mapping of three scalars, so any depth near this is not one.
const MAX_FLOW_DEPTH: usize = 64;

/// The deepest nesting of `[`/`{` in `text`, counting every bracket (also inside quotes and
/// comments, where they are harmless, so the count never falls short of what the scanner sees).
fn flow_depth(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for b in text.bytes() {
        match b {
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Parses dive CI rules from YAML text (`file` names it in errors).
pub fn parse(text: &str, file: &Path) -> Result<DiveRules> {
    if flow_depth(text) > MAX_FLOW_DEPTH {
        return Err(Error::usage(format!(
            "{}: not a dive CI file: brackets nested more than {MAX_FLOW_DEPTH} deep",
            file.display()
        )));
    }
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(text)
        .map_err(|e| Error::usage(format!("{}: not valid YAML: {e}", file.display())))?;
    let rules = doc.get("rules");
    let get = |k: &str| text_of(rules.and_then(|r| r.get(k)));
    let (eff, eff_t) = limit(
        get("lowestEfficiency"),
        "0.9",
        parse_ratio,
        "lowestEfficiency",
        file,
    )?;
    let (wasted, wasted_t) = limit(
        get("highestWastedBytes"),
        "disabled",
        parse_size,
        "highestWastedBytes",
        file,
    )?;
    let (pct, pct_t) = limit(
        get("highestUserWastedPercent"),
        "0.1",
        parse_ratio,
        "highestUserWastedPercent",
        file,
    )?;
    Ok(DiveRules {
        lowest_efficiency: eff,
        highest_wasted_bytes: wasted,
        highest_user_wasted_percent: pct,
        written: [eff_t, wasted_t, pct_t],
    })
}

/// Reads a dive CI file.
pub fn load(file: &Path) -> Result<DiveRules> {
    let text = std::fs::read_to_string(file).map_err(|e| Error::io(file.display(), e))?;
    parse(&text, file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Result<DiveRules> {
        parse(text, Path::new(".dive-ci"))
    }

    #[test]
    fn reads_dives_own_file_and_defaults() {
        let r = rules("plugins:\n  - plugin1\nrules:\n  lowestEfficiency: 0.95\n  highestWastedBytes: 20Mb\n  highestUserWastedPercent: 0.5\n  plugin1/rule1: error\n").unwrap();
        assert_eq!(r.lowest_efficiency, Limit::Threshold(0.95));
        assert_eq!(r.highest_wasted_bytes, Limit::Threshold(20_000_000));
        assert_eq!(r.highest_user_wasted_percent, Limit::Threshold(0.5));
        let d = rules("rules: {}\n").unwrap();
        assert_eq!(d.lowest_efficiency, Limit::Threshold(0.9));
        assert_eq!(d.highest_wasted_bytes, Limit::Disabled);
        assert_eq!(d.highest_user_wasted_percent, Limit::Threshold(0.1));
    }

    #[test]
    fn disabled_spellings_and_invalid_values() {
        let r = rules("rules:\n  lowestEfficiency: disabled\n  highestWastedBytes: off\n  highestUserWastedPercent: false\n").unwrap();
        assert_eq!(r.lowest_efficiency, Limit::Disabled);
        assert_eq!(r.highest_wasted_bytes, Limit::Disabled);
        assert_eq!(r.highest_user_wasted_percent, Limit::Disabled);
        // dive's evaluator_test.go config errors.
        for bad in [
            "rules:\n  lowestEfficiency: 1.1\n",
            "rules:\n  lowestEfficiency: -0.1\n",
            "rules:\n  lowestEfficiency: abc\n",
            "rules:\n  highestUserWastedPercent: 1.1\n",
            "rules:\n  highestUserWastedPercent: -0.1\n",
            "rules:\n  highestUserWastedPercent: abc\n",
            "rules:\n  highestWastedBytes: not_a_size\n",
        ] {
            let e = rules(bad).unwrap_err().to_string();
            assert!(e.starts_with(".dive-ci: rules."), "{bad}: {e}");
        }
    }
}
