//! Renderers of a [`History`]: a terminal table, Markdown with a Mermaid chart for pull requests,
//! and one self-contained HTML page with an SVG chart ([`crate::report::html::history`]). Rows are newest first; charts
//! read left to right, oldest to newest.

pub mod replay;

use crate::analysis::history::{History, TagRow};
use crate::error::Result;
use crate::report::diff::opt_bytes;
use crate::report::document::{draw_page, PAGE};
use crate::report::escape::{markdown_code, markdown_text, terminal};
use crate::report::markdown::chart_unit;
use crate::report::table::{align_right, whole_columns};
use crate::report::width::{cell, output_width};
use crate::report::{html, new_table, short_digest, Document, Format};
use crate::timestamp;
use crate::units::human_bytes;

/// `2024-05-01 12:00:00` from an RFC 3339 `created`; `—` for an image built without a date: no
/// `created`, or the epoch itself (what reproducible builds write), which is no date anyone built on.
pub(crate) fn short_created(created: Option<&str>) -> String {
    match created {
        Some(c) if timestamp::instant(c) != Some((0, 0)) => {
            c.get(..19).unwrap_or(c).replacen('T', " ", 1)
        }
        _ => "—".into(),
    }
}

/// The delta column: bytes and blobs a deploy from the previous tag downloads.
pub(crate) fn delta(row: &TagRow) -> String {
    match (row.delta_bytes, row.delta_layers) {
        (Some(bytes), Some(layers)) => shipped(bytes, layers),
        _ => "-".into(),
    }
}

/// `+1.2 MB (2 layers)`: what a deploy downloads.
pub(crate) fn shipped(bytes: u64, layers: usize) -> String {
    format!(
        "+{} ({layers} layer{})",
        human_bytes(bytes),
        if layers == 1 { "" } else { "s" }
    )
}

/// The line under the title: how many images, and what they share.
pub(crate) fn headline(h: &History) -> String {
    let shown = if h.tags.len() < h.images {
        format!("newest {} of {} images", h.tags.len(), h.images)
    } else {
        format!("{} images", h.images)
    };
    format!(
        "{shown} · base (shared by all): {} layer{}, {} · dependencies = dependency layers · app = the other layers",
        h.shared_layers,
        if h.shared_layers == 1 { "" } else { "s" },
        human_bytes(h.shared_bytes)
    )
}

/// The narrowest output that keeps the digest column on one line beside the whole figures (the
/// figures, the digest and the borders take about 100 columns).
const DIGEST_WHOLE_FROM: usize = 110;

/// Renders the history as a text table.
pub fn table(h: &History) -> String {
    let mut out = format!("History {}\n{}\n\n", terminal(&h.source), headline(h));
    let mut t = new_table(vec![
        "Tag",
        "Digest",
        "Created",
        "Compressed",
        "Uncompressed",
        "Layers",
        "Dependencies",
        "App",
        "Δ previous",
    ]);
    for r in &h.tags {
        t.add_row(cells(r).map(|c| cell(&c)).to_vec());
    }
    align_right(&mut t, &[3, 4, 5, 6, 7, 8]);
    // The figures never wrap; the digest neither, where the width leaves room for it.
    if output_width() >= DIGEST_WHOLE_FROM {
        whole_columns(&mut t, &[1, 3, 4, 5, 6, 7]);
    } else {
        whole_columns(&mut t, &[3, 4, 5, 6, 7]);
    }
    out.push_str(&t.to_string());
    out.push('\n');
    out
}

/// One row's cells as people read them: tag, short digest, created, compressed, uncompressed,
/// layers, dependency bytes, app bytes, delta (the table and the Markdown print the same).
fn cells(r: &TagRow) -> [String; 9] {
    [
        r.tag.clone(),
        r.manifest_digest
            .as_ref()
            .map_or_else(|| "-".into(), short_digest),
        short_created(r.created.as_deref()),
        human_bytes(r.compressed_bytes),
        opt_bytes(r.uncompressed_bytes),
        r.layers.to_string(),
        human_bytes(r.dependency_bytes),
        human_bytes(r.app_bytes),
        delta(r),
    ]
}

/// Renders the history as Markdown: a table and a Mermaid `xychart-beta` line chart of the
/// compressed and app bytes (GitHub renders ```mermaid blocks in comments and summaries).
pub fn markdown(h: &History) -> String {
    let mut out = format!(
        "### strata history: {}\n\n{}\n\n",
        markdown_code(&h.source),
        headline(h)
    );
    out.push_str(
        "| Tag | Digest | Created | Compressed | Uncompressed | Layers | Dependencies | App | Δ previous |\n",
    );
    out.push_str("|---|---|---|--:|--:|--:|--:|--:|--:|\n");
    for r in &h.tags {
        let [tag, digest, rest @ ..] = cells(r);
        let rest = rest.map(|c| markdown_text(&c));
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            markdown_code(&tag),
            markdown_code(&digest),
            rest.join(" | ")
        ));
    }
    if h.tags.len() > 1 {
        out.push('\n');
        out.push_str(&mermaid(h));
    }
    out
}

/// The Mermaid chart: compressed bytes (first line) and app bytes (second), oldest first.
fn mermaid(h: &History) -> String {
    let max = h.tags.iter().map(|r| r.compressed_bytes).max().unwrap_or(0);
    let (unit, scale) = chart_unit(max);
    let oldest_first = h.tags.iter().rev();
    let labels: Vec<String> = oldest_first
        .clone()
        .map(|r| format!("\"{}\"", terminal(&r.tag).replace('"', "'")))
        .collect();
    let series = |f: fn(&TagRow) -> u64| -> String {
        let values: Vec<String> = oldest_first
            .clone()
            .map(|r| format!("{:.1}", f(r) as f64 / scale))
            .collect();
        values.join(", ")
    };
    format!(
        "```mermaid\nxychart-beta\n    title \"Size over tags: compressed (upper line) and app ({unit})\"\n    x-axis [{}]\n    y-axis \"{unit}\" 0 --> {:.1}\n    line [{}]\n    line [{}]\n```\n",
        labels.join(", "),
        (max as f64 / scale * 1.1).max(0.1),
        series(|r| r.compressed_bytes),
        series(|r| r.app_bytes)
    )
}

impl Document for History {
    const COMMAND: &'static str = "history";
    const FORMATS: &'static [Format] = PAGE;

    fn draw(&self, format: Format) -> Result<String> {
        draw_page(self, format, table, markdown, html::history::render)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_without_a_date_show_a_dash() {
        assert_eq!(
            short_created(Some("2024-05-01T12:00:00.25Z")),
            "2024-05-01 12:00:00"
        );
        assert_eq!(short_created(Some("1970-01-01T00:00:00Z")), "—");
        assert_eq!(short_created(Some("1970-01-01T01:00:00+01:00")), "—");
        assert_eq!(short_created(None), "—");
    }
}
