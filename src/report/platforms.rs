//! The documents of a whole multi-platform index: `strata report --all-platforms` (one report
//! per platform) and `strata diff` of two indexes (one comparison per platform they share, the
//! totals, and the platforms only one side has). Each format repeats the single-image rendering
//! in a section per platform.

use serde::Serialize;

use crate::analysis::diff::Diff;
use crate::analysis::tree::layer_trees;
use crate::analysis::Analysis;
use crate::error::Result;
use crate::report::document::{draw_page, PAGE};
use crate::report::escape::{markdown_code, markdown_text, terminal};
use crate::report::html::{escape, page};
use crate::report::image::{ImageReport, TREE_NODES};
use crate::report::index_layers::{index_layers, IndexLayers};
use crate::report::{diff, html, markdown, table, Document, Format};
use crate::units::human_bytes;

/// Version of both JSON documents here (a new field is additive; a change of meaning bumps it).
pub const SCHEMA_VERSION: u32 = 1;

/// One platform's report.
#[derive(Debug)]
pub struct PlatformReport {
    /// `os/arch[/variant]`.
    pub platform: String,
    /// The usual single-image report.
    pub report: ImageReport,
}

/// What `strata report --all-platforms` found: a report per platform of the index.
#[derive(Debug)]
pub struct PlatformReports {
    /// The reference as given.
    pub reference: String,
    /// The reports, in the index's order.
    pub platforms: Vec<PlatformReport>,
    /// Index entries that are no image (attestations), each said in a line.
    pub skipped: Vec<String>,
}

#[derive(Serialize)]
struct ReportsJson<'a> {
    schema_version: u32,
    reference: &'a str,
    platforms: Vec<ReportJson<'a>>,
    /// The index's layers counted once (additive in schema 1).
    layers_across_platforms: IndexLayers,
    skipped: &'a [String],
}

impl PlatformReports {
    /// The layers of every platform's image counted once.
    pub fn layers_across_platforms(&self) -> IndexLayers {
        index_layers(
            self.platforms
                .iter()
                .map(|p| (p.platform.as_str(), p.report.analysis.layers.as_slice())),
        )
    }
}

#[derive(Serialize)]
struct ReportJson<'a> {
    platform: &'a str,
    report: &'a Analysis,
}

impl Serialize for PlatformReports {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        ReportsJson {
            schema_version: SCHEMA_VERSION,
            reference: &self.reference,
            platforms: self
                .platforms
                .iter()
                .map(|p| ReportJson {
                    platform: &p.platform,
                    report: &p.report.analysis,
                })
                .collect(),
            layers_across_platforms: self.layers_across_platforms(),
            skipped: &self.skipped,
        }
        .serialize(s)
    }
}

/// Where the shared lines (headings, totals, what was skipped) go, and so how what an index
/// says is escaped in them.
#[derive(Clone, Copy)]
enum Sink {
    /// The table format: [`terminal`].
    Terminal,
    /// Markdown: [`markdown_text`], lines as list items.
    Markdown,
    /// The page: kept exact here, the HTML escaper applied where the line is placed.
    Html,
}

impl Sink {
    /// `s` escaped for this sink.
    fn escape(self, s: &str) -> String {
        match self {
            Sink::Terminal => terminal(s).into_owned(),
            Sink::Markdown => markdown_text(s),
            Sink::Html => s.to_string(),
        }
    }

    /// What a list item starts with.
    fn bullet(self) -> &'static str {
        match self {
            Sink::Markdown => "- ",
            Sink::Terminal | Sink::Html => "",
        }
    }
}

/// The heading of platform `i` of `n`.
fn heading(platform: &str, i: usize, n: usize, sink: Sink) -> String {
    format!("Platform {} ({} of {n})", sink.escape(platform), i + 1)
}

/// The lines naming what was skipped, for the text formats.
fn skipped_lines(skipped: &[String], sink: Sink) -> String {
    skipped
        .iter()
        .map(|s| format!("{}skipped {}\n", sink.bullet(), sink.escape(s)))
        .collect()
}

fn reports_table(r: &PlatformReports) -> String {
    let n = r.platforms.len();
    let mut out = String::new();
    for (i, p) in r.platforms.iter().enumerate() {
        out.push_str(&format!(
            "== {} ==\n",
            heading(&p.platform, i, n, Sink::Terminal)
        ));
        out.push_str(&table::render(&p.report.analysis));
        out.push('\n');
    }
    out.push_str(&r.layers_across_platforms().table());
    out + &skipped_lines(&r.skipped, Sink::Terminal)
}

fn reports_markdown(r: &PlatformReports) -> String {
    let n = r.platforms.len();
    let mut out = format!(
        "# strata report: {} ({n} platforms)\n\n",
        markdown_code(&r.reference)
    );
    for (i, p) in r.platforms.iter().enumerate() {
        out.push_str(&format!(
            "## {}\n\n",
            heading(&p.platform, i, n, Sink::Markdown)
        ));
        out.push_str(&markdown::render(&p.report.analysis));
        out.push('\n');
    }
    out.push_str(&r.layers_across_platforms().markdown());
    out.push('\n');
    out + &skipped_lines(&r.skipped, Sink::Markdown)
}

/// Section `n` of a multi-platform page, of `platform` (none for the totals): its element ids
/// (and the treemap zooms naming them) prefixed `p{n}-`, so each section's views stay its own.
fn section(n: usize, platform: Option<&str>, title: &str, body: &str) -> String {
    let body = body
        .replace("id=\"", &format!("id=\"p{n}-"))
        .replace("data-zoom=\"", &format!("data-zoom=\"p{n}-"));
    let data = platform.map_or(String::new(), |p| {
        format!(" data-platform=\"{}\"", escape(p))
    });
    format!(
        "<section{data}>\n<h1>{}</h1>\n{body}</section>\n",
        escape(title)
    )
}

fn skipped_html(skipped: &[String]) -> String {
    skipped
        .iter()
        .map(|s| format!("<p class=\"muted\">skipped {}</p>\n", escape(s)))
        .collect()
}

fn reports_html(r: &PlatformReports) -> String {
    let n = r.platforms.len();
    let mut body = String::new();
    for (i, p) in r.platforms.iter().enumerate() {
        let entries: Vec<_> = p
            .report
            .scans
            .iter()
            .map(|s| s.entries.as_slice())
            .collect();
        let trees = layer_trees(&entries, TREE_NODES);
        body.push_str(&section(
            i,
            Some(&p.platform),
            &heading(&p.platform, i, n, Sink::Html),
            &html::report::body(&p.report.analysis, &trees),
        ));
    }
    body.push_str(&section(
        n,
        None,
        "Layers across platforms",
        &r.layers_across_platforms().html(),
    ));
    body.push_str(&skipped_html(&r.skipped));
    page(
        &format!("strata report: {} ({n} platforms)", r.reference),
        &body,
    )
}

impl Document for PlatformReports {
    const COMMAND: &'static str = "report";
    const FORMATS: &'static [Format] = PAGE;

    fn draw(&self, format: Format) -> Result<String> {
        draw_page(self, format, reports_table, reports_markdown, reports_html)
    }
}

/// One platform both indexes have, compared.
#[derive(Debug, Serialize)]
pub struct PlatformDiff {
    /// `os/arch[/variant]`.
    pub platform: String,
    /// The usual single-image comparison.
    pub diff: Diff,
}

/// The sums over every platform compared: what a deploy of every platform costs.
#[derive(Debug, Default, Serialize)]
pub struct DiffTotal {
    /// Sum of the platforms' `pull_bytes`.
    pub pull_bytes: u64,
    /// Sum of the platforms' `push_bytes`.
    pub push_bytes: u64,
    /// Layers added over all platforms.
    pub added_layers: usize,
    /// Layers removed over all platforms.
    pub removed_layers: usize,
}

/// `strata diff` of two indexes, platform by platform.
#[derive(Debug, Serialize)]
pub struct PlatformDiffs {
    /// See [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The old index, as given.
    pub old: String,
    /// The new index, as given.
    pub new: String,
    /// One comparison per platform both have, in the new index's order.
    pub platforms: Vec<PlatformDiff>,
    /// The sums over `platforms`.
    pub total: DiffTotal,
    /// Platforms only the new index has (a deploy adds them whole).
    pub added_platforms: Vec<String>,
    /// Platforms only the old index has.
    pub removed_platforms: Vec<String>,
    /// Index entries that are no image (attestations), each said in a line.
    pub skipped: Vec<String>,
}

impl PlatformDiffs {
    /// The document of `platforms`, its totals summed.
    pub fn new(old: String, new: String, platforms: Vec<PlatformDiff>) -> PlatformDiffs {
        let mut total = DiffTotal::default();
        for p in &platforms {
            total.pull_bytes += p.diff.pull_bytes;
            total.push_bytes += p.diff.push_bytes;
            total.added_layers += p.diff.added_layers.len();
            total.removed_layers += p.diff.removed_layers.len();
        }
        PlatformDiffs {
            schema_version: SCHEMA_VERSION,
            old,
            new,
            platforms,
            total,
            added_platforms: Vec::new(),
            removed_platforms: Vec::new(),
            skipped: Vec::new(),
        }
    }

    /// The closing lines of the text formats: totals, platforms added and removed, skipped.
    fn summary_lines(&self, sink: Sink) -> String {
        let t = &self.total;
        let bullet = sink.bullet();
        let mut out = format!(
            "{bullet}Total over {} platforms: pull {}, push {}, added layers {}, removed layers {}\n",
            self.platforms.len(),
            human_bytes(t.pull_bytes),
            human_bytes(t.push_bytes),
            t.added_layers,
            t.removed_layers
        );
        for (what, list) in [
            ("Added", &self.added_platforms),
            ("Removed", &self.removed_platforms),
        ] {
            if !list.is_empty() {
                out.push_str(&format!(
                    "{bullet}{what} platforms: {}\n",
                    sink.escape(&list.join(", "))
                ));
            }
        }
        out + &skipped_lines(&self.skipped, sink)
    }
}

fn diffs_table(d: &PlatformDiffs) -> String {
    let n = d.platforms.len();
    let mut out = String::new();
    for (i, p) in d.platforms.iter().enumerate() {
        out.push_str(&format!(
            "== {} ==\n",
            heading(&p.platform, i, n, Sink::Terminal)
        ));
        out.push_str(&diff::table(&p.diff));
        out.push('\n');
    }
    out + &d.summary_lines(Sink::Terminal)
}

fn diffs_markdown(d: &PlatformDiffs) -> String {
    let n = d.platforms.len();
    let mut out = format!(
        "# strata diff: {} → {} ({n} platforms)\n\n",
        markdown_code(&d.old),
        markdown_code(&d.new)
    );
    for (i, p) in d.platforms.iter().enumerate() {
        out.push_str(&format!(
            "## {}\n\n",
            heading(&p.platform, i, n, Sink::Markdown)
        ));
        out.push_str(&diff::markdown(&p.diff));
        out.push('\n');
    }
    out + "## Total\n\n" + &d.summary_lines(Sink::Markdown)
}

fn diffs_html(d: &PlatformDiffs) -> String {
    let n = d.platforms.len();
    let mut body = String::new();
    for (i, p) in d.platforms.iter().enumerate() {
        body.push_str(&section(
            i,
            Some(&p.platform),
            &heading(&p.platform, i, n, Sink::Html),
            &html::diff::body(&p.diff),
        ));
    }
    let lines: String = d
        .summary_lines(Sink::Html)
        .lines()
        .map(|l| format!("<p>{}</p>\n", escape(l)))
        .collect();
    body.push_str(&section(n, None, "Total", &lines));
    page(&format!("strata diff: {} → {}", d.old, d.new), &body)
}

impl Document for PlatformDiffs {
    const COMMAND: &'static str = "diff";
    const FORMATS: &'static [Format] = PAGE;

    fn draw(&self, format: Format) -> Result<String> {
        draw_page(self, format, diffs_table, diffs_markdown, diffs_html)
    }
}
