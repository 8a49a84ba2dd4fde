//! Renderers of `strata check` results: a table for people, JSON (results plus the full report),
//! Markdown for `$GITHUB_STEP_SUMMARY`, JUnit XML (one test case per rule) for GitLab and Jenkins,
//! and GitHub Actions `::error` annotations.

use comfy_table::{Attribute, Cell, Color};
use serde::Serialize;

use crate::analysis::diff::Diff;
use crate::analysis::Analysis;
use crate::error::Result;
use crate::policy::rules::{RuleResult, Status};
use crate::report::document::{draw_verdict, Verdict, VERDICT};
use crate::report::escape::{
    github_data, github_property, junit as junit_text, markdown_code, markdown_text, terminal,
};
use crate::report::width::cell;
use crate::report::{new_table, Document, Format};

/// Everything one `strata check` run found: the verdict, each rule, and the report it was
/// computed from.
#[derive(Debug, Serialize)]
pub struct CheckReport<'a> {
    /// JSON schema version.
    pub schema_version: u32,
    /// The image checked.
    pub image: &'a str,
    /// True when no rule failed.
    pub passed: bool,
    /// Every configured rule.
    pub rules: &'a [RuleResult],
    /// The full analysis.
    pub report: &'a Analysis,
    /// The comparison with the deployed image, when `--against` was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<&'a Diff>,
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
        Status::Skip => "SKIP",
    }
}

fn summary(rules: &[RuleResult]) -> String {
    let count = |s: Status| rules.iter().filter(|r| r.status == s).count();
    let (pass, fail, skip) = (
        count(Status::Pass),
        count(Status::Fail),
        count(Status::Skip),
    );
    let mut parts = vec![format!("pass:{pass}")];
    if fail > 0 {
        parts.push(format!("fail:{fail}"));
    }
    if skip > 0 {
        parts.push(format!("skip:{skip}"));
    }
    format!(
        "{} [{}]",
        if fail > 0 { "FAIL" } else { "PASS" },
        parts.join(" ")
    )
}

/// Text table of the rule results.
pub fn table(c: &CheckReport) -> String {
    let mut t = new_table(vec!["Status", "Rule", "Result", "Fix"]);
    for r in c.rules {
        let color = match r.status {
            Status::Pass => Color::Green,
            Status::Fail => Color::Red,
            Status::Skip => Color::Yellow,
        };
        t.add_row(vec![
            Cell::new(status_word(r.status))
                .fg(color)
                .add_attribute(Attribute::Bold),
            Cell::new(cell(&r.rule)),
            Cell::new(cell(&r.message)),
            Cell::new(cell(r.fix.as_deref().unwrap_or_default())),
        ]);
    }
    format!(
        "strata check {}\n{t}\n{}\n",
        terminal(c.image),
        summary(c.rules)
    )
}

/// Markdown of the rule results.
pub fn markdown(c: &CheckReport) -> String {
    let mut out = format!(
        "### strata check: {} — {}\n\n| Status | Rule | Result | Fix |\n|---|---|---|---|\n",
        markdown_code(c.image),
        summary(c.rules)
    );
    for r in c.rules {
        let icon = match r.status {
            Status::Pass => "✅",
            Status::Fail => "❌",
            Status::Skip => "⏭️",
        };
        out.push_str(&format!(
            "| {icon} {} | {} | {} | {} |\n",
            status_word(r.status),
            markdown_code(&r.rule),
            markdown_text(&r.message),
            markdown_text(r.fix.as_deref().unwrap_or_default())
        ));
    }
    out
}

/// JUnit XML: one test case per rule, failures with their message and fix.
pub fn junit(c: &CheckReport) -> String {
    let failures = c.rules.iter().filter(|r| r.status == Status::Fail).count();
    let skipped = c.rules.iter().filter(|r| r.status == Status::Skip).count();
    let name = junit_text(&format!("strata check {}", c.image));
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"strata check\" tests=\"{n}\" failures=\"{failures}\" skipped=\"{skipped}\">\n  <testsuite name=\"{name}\" tests=\"{n}\" failures=\"{failures}\" skipped=\"{skipped}\">\n",
        n = c.rules.len()
    );
    for r in c.rules {
        let case = format!(
            "    <testcase classname=\"strata.check\" name=\"{}\"",
            junit_text(&r.rule)
        );
        match r.status {
            Status::Pass => out.push_str(&format!("{case}/>\n")),
            Status::Skip => out.push_str(&format!("{case}>\n      <skipped/>\n    </testcase>\n")),
            Status::Fail => out.push_str(&format!(
                "{case}>\n      <failure message=\"{}\">{}\nfix: {}</failure>\n    </testcase>\n",
                junit_text(&r.message),
                junit_text(&r.message),
                junit_text(r.fix.as_deref().unwrap_or_default())
            )),
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// GitHub Actions workflow commands: one `::error` per failed rule.
pub fn github_annotations(c: &CheckReport) -> String {
    c.rules
        .iter()
        .filter(|r| r.status == Status::Fail)
        .map(|r| {
            let fix = r
                .fix
                .as_deref()
                .map(|f| format!(" — fix: {f}"))
                .unwrap_or_default();
            format!(
                "::error title={}::{}{}\n",
                github_property(&format!("strata check {}", r.rule)),
                github_data(&r.message),
                github_data(&fix)
            )
        })
        .collect()
}

impl Document for CheckReport<'_> {
    const COMMAND: &'static str = "check";
    const FORMATS: &'static [Format] = VERDICT;

    fn draw(&self, format: Format) -> Result<String> {
        let text = Verdict {
            table,
            markdown,
            junit,
            github: github_annotations,
        };
        draw_verdict(self, format, text)
    }
}
