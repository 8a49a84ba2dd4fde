//! The history as one self-contained HTML page: inline CSS, an inline SVG line chart of the
//! compressed and app bytes over tags, and the table. No script, no font, no URL: the page opens
//! from a file, offline, with JavaScript disabled. Exact byte counts ride along in `data-bytes`
//! attributes (and tooltips) next to the rounded figures people read.

use std::fmt::Write as _;

use crate::analysis::history::{History, TagRow};
use crate::report::history::{chart_unit, delta, headline, short_created};
use crate::report::short_digest;
use crate::units::human_bytes;

/// Escapes text for HTML content and attribute values.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
body{font:15px/1.4 system-ui,sans-serif;margin:1rem auto;max-width:60rem;padding:0 1rem;color:#222}
h1{font-size:1.3rem;word-break:break-all}
.chart{width:100%;height:auto;max-width:48rem}
.grid{stroke:#ddd}.axis{font-size:11px;fill:#555}
.compressed{stroke:#2563eb;fill:none;stroke-width:2}.app{stroke:#ea580c;fill:none;stroke-width:2}
.dot-compressed{fill:#2563eb}.dot-app{fill:#ea580c}
.legend span{display:inline-block;margin-right:1rem}
.swatch{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
.scroll{overflow-x:auto}
table{border-collapse:collapse;margin-top:1rem}th,td{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:left}
td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
code{font-size:.85em}";

/// Chart geometry: the SVG's size and the margins around the plot area.
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 320.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 72.0;

/// A round step for about four grid lines up to `max` (1, 2 or 5 times a power of ten).
fn grid_step(max: f64) -> f64 {
    let rough = (max / 4.0).max(f64::MIN_POSITIVE);
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= rough)
        .unwrap_or(10.0 * magnitude);
    step.max(1.0)
}

/// The SVG line chart, oldest tag on the left.
fn chart(h: &History) -> String {
    let rows: Vec<&TagRow> = h.tags.iter().rev().collect();
    let max = rows.iter().map(|r| r.compressed_bytes).max().unwrap_or(0);
    let (unit, scale) = chart_unit(max);
    let step = grid_step(max as f64 / scale);
    let top_value = (max as f64 / scale / step).ceil().max(1.0) * step;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |i: usize| match rows.len() {
        0 | 1 => LEFT + plot_w / 2.0,
        n => LEFT + plot_w * i as f64 / (n - 1) as f64,
    };
    let y = |bytes: u64| TOP + plot_h * (1.0 - bytes as f64 / scale / top_value);
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"Compressed and app bytes over tags, in {unit}\">\n"
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
fn bytes_cell(bytes: Option<u64>, text: String) -> String {
    match bytes {
        Some(b) => format!("<td class=\"n\" data-bytes=\"{b}\" title=\"{b} bytes\">{text}</td>"),
        None => format!("<td class=\"n\">{text}</td>"),
    }
}

/// Renders the history as one self-contained HTML page.
pub fn render(h: &History) -> String {
    let title = format!("strata history: {}", h.source);
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>\n{STYLE}\n</style>\n</head>\n<body>\n<h1>{}</h1>\n<p>{}</p>\n",
        escape(&title),
        escape(&title),
        escape(&headline(h))
    );
    out.push_str("<p class=\"legend\"><span><i class=\"swatch\" style=\"background:#2563eb\"></i>compressed</span><span><i class=\"swatch\" style=\"background:#ea580c\"></i>app (layers not shared by every image)</span></p>\n");
    out.push_str(&chart(h));
    out.push_str("<div class=\"scroll\"><table>\n<thead><tr><th>Tag</th><th>Digest</th><th>Created</th><th>Compressed</th><th>Uncompressed</th><th>Layers</th><th>App</th><th>Δ previous</th></tr></thead>\n<tbody>\n");
    for r in &h.tags {
        let digest = r
            .manifest_digest
            .as_ref()
            .map_or_else(|| "-".into(), short_digest);
        let _ = writeln!(
            out,
            "<tr data-tag=\"{}\"><td><code>{}</code></td><td><code>{}</code></td><td>{}</td>{}{}<td class=\"n\" data-layers=\"{}\">{}</td>{}{}</tr>",
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
            bytes_cell(Some(r.app_bytes), human_bytes(r.app_bytes)),
            bytes_cell(r.delta_bytes, escape(&delta(r))),
        );
    }
    out.push_str("</tbody>\n</table></div>\n</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_steps_are_round() {
        assert_eq!(grid_step(10.0), 5.0);
        assert_eq!(grid_step(7.3), 2.0);
        assert_eq!(grid_step(430.0), 200.0);
        assert_eq!(grid_step(0.0), 1.0);
        assert_eq!(trim_number(2.5), "2.5");
        assert_eq!(trim_number(200.0), "200");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
