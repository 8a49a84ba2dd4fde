//! Renderers of `strata lint` results, in the formats `strata check` offers: a table for people,
//! JSON, Markdown, JUnit XML (one test case per file and rule) and GitHub annotations (one per
//! finding, on its file and line).

use comfy_table::{Attribute, Cell, Color};
use serde::Serialize;

use crate::dockerfile::rules::{Finding, Rule, Severity, ALL};
use crate::error;
use crate::report::document::{draw_verdict, Verdict, VERDICT};
use crate::report::escape::{
    github_data, github_property, junit as junit_text, markdown_code, markdown_text,
};
use crate::report::table::whole_columns;
use crate::report::width::cell;
use crate::report::{new_table, Document, Format};

/// Everything one `strata lint` run found.
#[derive(Debug, Serialize)]
pub struct LintReport<'a> {
    /// JSON schema version.
    pub schema_version: u32,
    /// True when no finding is at or above `fail_on`.
    pub passed: bool,
    /// The lowest severity that fails the run.
    pub fail_on: Severity,
    /// The Dockerfiles linted.
    pub files: &'a [String],
    /// Rules turned off for the whole run.
    #[serde(serialize_with = "rule_ids")]
    pub ignored: &'a [Rule],
    /// Every finding, by file and line.
    pub findings: &'a [Finding],
}

fn rule_ids<S: serde::Serializer>(rules: &&[Rule], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(rules.iter().map(|r| r.id))
}

impl LintReport<'_> {
    fn fails(&self, f: &Finding) -> bool {
        f.severity >= self.fail_on
    }

    fn summary(&self) -> String {
        let count = |s: Severity| self.findings.iter().filter(|f| f.severity == s).count();
        format!(
            "{} [error:{} warning:{} info:{}] in {} file(s)",
            if self.passed { "PASS" } else { "FAIL" },
            count(Severity::Error),
            count(Severity::Warning),
            count(Severity::Info),
            self.files.len()
        )
    }
}

fn location(f: &Finding) -> String {
    format!("{}:{}", f.file, f.line)
}

/// Text table of the findings.
pub fn table(r: &LintReport) -> String {
    let mut t = new_table(vec!["Severity", "Rule", "Where", "Finding", "Fix"]);
    for f in r.findings {
        let color = match f.severity {
            Severity::Error => Color::Red,
            Severity::Warning => Color::Yellow,
            Severity::Info => Color::Blue,
        };
        t.add_row(vec![
            Cell::new(f.severity.word())
                .fg(color)
                .add_attribute(Attribute::Bold),
            Cell::new(format!("{} {}", f.rule, f.name)),
            Cell::new(cell(&location(f))),
            Cell::new(cell(&f.message)),
            Cell::new(cell(&f.fix)),
        ]);
    }
    // Severity and rule (what a user copies into an ignore) never wrap.
    whole_columns(&mut t, &[0, 1]);
    if r.findings.is_empty() {
        format!("strata lint: no findings\n{}\n", r.summary())
    } else {
        format!("{t}\n{}\n", r.summary())
    }
}

/// Markdown of the findings.
pub fn markdown(r: &LintReport) -> String {
    let mut out = format!(
        "### strata lint — {}\n\n| Severity | Rule | Where | Finding | Fix |\n|---|---|---|---|---|\n",
        r.summary()
    );
    for f in r.findings {
        out.push_str(&format!(
            "| {} | `{}` {} | {} | {} | {} |\n",
            f.severity.word(),
            f.rule,
            f.name,
            markdown_code(&location(f)),
            markdown_text(&f.message),
            markdown_text(&f.fix)
        ));
    }
    out
}

/// JUnit XML: per file, one test case per rule; findings at or above `fail_on` are failures,
/// ignored rules are skipped.
pub fn junit(r: &LintReport) -> String {
    let failures = r.findings.iter().filter(|f| r.fails(f)).count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"strata lint\" tests=\"{}\" failures=\"{failures}\">\n",
        r.files.len() * ALL.len()
    );
    for file in r.files {
        let mine: Vec<&Finding> = r.findings.iter().filter(|f| &f.file == file).collect();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\">\n",
            junit_text(file),
            ALL.len(),
            mine.iter().filter(|f| r.fails(f)).count()
        ));
        for rule in ALL {
            let case = format!(
                "    <testcase classname=\"strata.lint\" name=\"{} {}\"",
                rule.id, rule.name
            );
            let failed: Vec<&&Finding> = mine
                .iter()
                .filter(|f| f.rule == rule.id && r.fails(f))
                .collect();
            if r.ignored.contains(rule) {
                out.push_str(&format!("{case}>\n      <skipped/>\n    </testcase>\n"));
            } else if failed.is_empty() {
                out.push_str(&format!("{case}/>\n"));
            } else {
                out.push_str(&format!("{case}>\n"));
                for f in failed {
                    out.push_str(&format!(
                        "      <failure message=\"{location}: {message}\">{location}: {message}\nfix: {}</failure>\n",
                        junit_text(&f.fix),
                        location = junit_text(&location(f)),
                        message = junit_text(&f.message),
                    ));
                }
                out.push_str("    </testcase>\n");
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// GitHub Actions workflow commands: `::error`, `::warning` or `::notice` per finding, on its line.
pub fn github(r: &LintReport) -> String {
    r.findings
        .iter()
        .map(|f| {
            let level = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "notice",
            };
            format!(
                "::{level} file={},line={},title={}::{} — fix: {}\n",
                github_property(&f.file),
                f.line,
                github_property(&format!("strata lint {} {}", f.rule, f.name)),
                github_data(&f.message),
                github_data(&f.fix)
            )
        })
        .collect()
}

impl Document for LintReport<'_> {
    const COMMAND: &'static str = "lint";
    const FORMATS: &'static [Format] = VERDICT;

    fn draw(&self, format: Format) -> error::Result<String> {
        let text = Verdict {
            table,
            markdown,
            junit,
            github,
        };
        draw_verdict(self, format, text)
    }
}
