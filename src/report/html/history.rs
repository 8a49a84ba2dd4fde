//! The history as one self-contained HTML page (the shell of [`crate::report::html`]): an inline
//! SVG line chart of the compressed and app bytes over tags, and the table; it needs no script. Exact byte counts ride along in `data-bytes`
//! attributes (and tooltips) next to the rounded figures people read.

use std::fmt::Write as _;

use crate::analysis::history::{History, TagRow};
use crate::report::history::{delta, headline, short_created};
use crate::report::html::svg::{self, Scale};
use crate::report::html::{escape, legend, page, table};
use crate::report::markdown::chart_unit;
use crate::report::short_digest;
use crate::units::human_bytes;

/// Chart geometry: the SVG's size and the margins around the plot area.
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 320.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 72.0;

/// The SVG line chart, oldest tag on the left.
fn chart(h: &History) -> String {
    let rows: Vec<&TagRow> = h.tags.iter().rev().collect();
    let max = rows.iter().map(|r| r.compressed_bytes).max().unwrap_or(0);
    let (unit, scale) = chart_unit(max);
    let ticks = Scale::new((max as f64 / scale).max(1.0), 0.0, 1.0).ticks(4);
    let step = ticks.get(1).copied().unwrap_or(1.0);
    let top_value = (max as f64 / scale / step).ceil().max(1.0) * step;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |i: usize| match rows.len() {
        0 | 1 => LEFT + plot_w / 2.0,
        n => LEFT + plot_w * i as f64 / (n - 1) as f64,
    };
    let y = |bytes: u64| TOP + plot_h * (1.0 - bytes as f64 / scale / top_value);
    let mut svg = svg::open(
        WIDTH,
        HEIGHT,
        &format!("Compressed and app bytes over tags, in {unit}"),
    );
    let mut value = 0.0;
    while value <= top_value + step / 2.0 {
        let gy = TOP + plot_h * (1.0 - value / top_value);
        let _ = writeln!(
            svg,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{gy:.1}\" y2=\"{gy:.1}\"/><text class=\"axis\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{} {unit}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            gy + 4.0,
            trim_number(value)
        );
        value += step;
    }
    for (i, r) in rows.iter().enumerate() {
        let _ = writeln!(
            svg,
            "<text class=\"axis\" transform=\"translate({:.1} {:.1}) rotate(-35)\" text-anchor=\"end\">{}</text>",
            x(i),
            HEIGHT - BOTTOM + 16.0,
            escape(&r.tag)
        );
    }
    for (class, bytes) in [
        (
            "compressed",
            (|r: &TagRow| r.compressed_bytes) as fn(&TagRow) -> u64,
        ),
        ("app", |r: &TagRow| r.app_bytes),
    ] {
        let points: Vec<String> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| format!("{:.1},{:.1}", x(i), y(bytes(r))))
            .collect();
        let _ = writeln!(
            svg,
            "<polyline class=\"{class}\" points=\"{}\"/>",
            points.join(" ")
        );
        for (i, r) in rows.iter().enumerate() {
            let _ = writeln!(
                svg,
                "<circle class=\"dot-{class}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\"><title>{}: {class} {} ({} bytes)</title></circle>",
                x(i),
                y(bytes(r)),
                escape(&r.tag),
                human_bytes(bytes(r)),
                bytes(r)
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// `2`, `2.5`: grid labels without trailing zeros.
fn trim_number(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A numeric cell: the rounded figure, the exact bytes in `data-bytes` and the tooltip.
pub(crate) fn bytes_cell(bytes: Option<u64>, text: String) -> String {
    match bytes {
        Some(b) => format!("<td class=\"num\" data-bytes=\"{b}\" title=\"{b} bytes\">{text}</td>"),
        None => format!("<td class=\"num\">{text}</td>"),
    }
}

/// Renders the history as one self-contained HTML page.
pub fn render(h: &History) -> String {
    let title = format!("strata history: {}", h.source);
    let mut body = format!(
        "<h1>{}</h1>\n<p>{}</p>\n",
        escape(&title),
        escape(&headline(h))
    );
    body.push_str(&legend(&[
        ("var(--base)", "compressed"),
        (
            "var(--app)",
            "app (neither dependency layers nor shared by every image)",
        ),
    ]));
    body.push_str(&chart(h));
    let mut rows = String::new();
    for r in &h.tags {
        let digest = r
            .manifest_digest
            .as_ref()
            .map_or_else(|| "-".into(), short_digest);
        let _ = writeln!(
            rows,
            "<tr data-tag=\"{}\"><td><code>{}</code></td><td><code>{}</code></td><td>{}</td>{}{}<td class=\"num\" data-layers=\"{}\">{}</td>{}{}{}</tr>",
            escape(&r.tag),
            escape(&r.tag),
            escape(&digest),
            escape(&short_created(r.created.as_deref())),
            bytes_cell(Some(r.compressed_bytes), human_bytes(r.compressed_bytes)),
            bytes_cell(
                r.uncompressed_bytes,
                r.uncompressed_bytes.map_or_else(|| "-".into(), human_bytes)
            ),
            r.layers,
            r.layers,
            bytes_cell(
                Some(r.dependency_bytes),
                human_bytes(r.dependency_bytes)
            ),
            bytes_cell(Some(r.app_bytes), human_bytes(r.app_bytes)),
            bytes_cell(r.delta_bytes, escape(&delta(r))),
        );
    }
    body.push_str(&table(
        &[
            "Tag",
            "Digest",
            "Created",
            "#Compressed",
            "#Uncompressed",
            "#Layers",
            "#Dependencies",
            "#App",
            "#Δ previous",
        ],
        &rows,
    ));
    page(&title, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_labels_drop_trailing_zeros() {
        assert_eq!(trim_number(2.5), "2.5");
        assert_eq!(trim_number(200.0), "200");
    }
}
