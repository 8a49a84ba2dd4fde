//! The HTML page of `strata diff`: what a deploy of NEW downloads where OLD is (shared and new
//! bytes as one bar), the layers on each side, identical rebuilds, config changes and, with
//! `--files`, the files that changed.

use crate::analysis::diff::files::Change;
use crate::analysis::diff::{Diff, LayerInfo};
use crate::analysis::transfer::{human_transfer, CompressedSource};
use crate::report::diff::{change_name, opt_bytes, role_name};
use crate::report::html::svg::{self, Scale, Segment};
use crate::report::html::{bar_cell, card, data, escape, legend, page, table};
use crate::report::{short_command, short_digest};
use crate::units::human_bytes;

const SHARED: &str = "#9aa5b1";
const NEW: &str = "#d9782d";
const REMOVED: &str = "#c9b6d8";

fn sum(layers: &[LayerInfo]) -> u64 {
    layers.iter().map(|l| l.compressed_bytes).sum()
}

fn summary(d: &Diff) -> String {
    let shared = sum(&d.shared_layers);
    let mut out = String::from("<div class=\"cards\" id=\"summary\">\n");
    let (delta, stored) = (d.pull_bytes_source, CompressedSource::Stored);
    for (name, caption, raw, source) in [
        ("pull-bytes", "a pull downloads", d.pull_bytes, delta),
        ("push-bytes", "a push uploads", d.push_bytes, delta),
        (
            "shared-bytes",
            "already there (shared layers)",
            shared,
            stored,
        ),
        (
            "new-compressed-bytes",
            "NEW in all, as stored",
            d.new.compressed_bytes,
            stored,
        ),
        (
            "old-compressed-bytes",
            "OLD in all, as stored",
            d.old.compressed_bytes,
            stored,
        ),
    ] {
        out.push_str(&card(name, caption, &human_transfer(raw, source), raw));
    }
    out.push_str(&card(
        "added-layers",
        "new layers",
        &d.added_layers.len().to_string(),
        d.added_layers.len(),
    ));
    out.push_str("</div>\n");
    out
}

fn bars(d: &Diff) -> String {
    let shared = sum(&d.shared_layers);
    let max = d.new.compressed_bytes.max(d.old.compressed_bytes) as f64;
    let scale = Scale::new(max, 70.0, 985.0);
    let segment = |fill: &str, l: &LayerInfo, status: &str| Segment {
        value: l.compressed_bytes as f64,
        fill: fill.to_string(),
        tooltip: format!(
            "{status} layer {} ({}): {} — {}",
            l.index,
            role_name(l),
            human_transfer(l.compressed_bytes, l.compressed_bytes_source),
            short_command(l.created_by.as_deref(), 80)
        ),
        label: String::new(),
        extra: format!(
            "{}{}",
            data("status", status),
            data("bytes", l.compressed_bytes)
        ),
    };
    let new_row: Vec<Segment> = d
        .shared_layers
        .iter()
        .map(|l| segment(SHARED, l, "shared"))
        .chain(d.added_layers.iter().map(|l| segment(NEW, l, "added")))
        .collect();
    // OLD: what NEW still uses, then what it dropped.
    let old_row: Vec<Segment> = d
        .shared_layers
        .iter()
        .map(|l| segment(SHARED, l, "shared"))
        .chain(
            d.removed_layers
                .iter()
                .map(|l| segment(REMOVED, l, "removed")),
        )
        .collect();
    let mut out = svg::open(1000.0, 120.0, "shared and new bytes of the deploy");
    out.push_str(&svg::text(62.0, 30.0, "end", "", "new"));
    out.push_str(&svg::stacked_bar(&scale, 10.0, 30.0, &new_row));
    out.push_str(&svg::text(62.0, 70.0, "end", "", "old"));
    out.push_str(&svg::stacked_bar(&scale, 50.0, 30.0, &old_row));
    out.push_str(&svg::x_axis(&scale, 92.0, 6, |v| human_bytes(v as u64)));
    out.push_str("</svg>\n");
    out.push_str(&legend(&[
        (SHARED, &format!("shared {}", human_bytes(shared))),
        (
            NEW,
            &format!(
                "downloaded {}",
                human_transfer(d.pull_bytes, d.pull_bytes_source)
            ),
        ),
        (REMOVED, "no longer used"),
    ]));
    out
}

fn layers(d: &Diff) -> String {
    let mut rows = String::new();
    let groups = [
        ("shared", &d.shared_layers),
        ("added", &d.added_layers),
        ("removed", &d.removed_layers),
    ];
    for (status, list) in groups {
        for l in list {
            rows.push_str(&format!(
                "<tr{}{}{}{}><td>{status}</td><td class=\"num\">{}</td><td>{}</td><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td><code>{}</code></td></tr>\n",
                data("status", status),
                data("layer", l.index),
                data("role", role_name(l)),
                data("compressed-bytes", l.compressed_bytes),
                l.index,
                role_name(l),
                escape(&short_digest(&l.digest)),
                human_transfer(l.compressed_bytes, l.compressed_bytes_source),
                opt_bytes(l.uncompressed_bytes),
                escape(&short_command(l.created_by.as_deref(), 70)),
            ));
        }
    }
    let mut out = table(
        &[
            "Layer",
            "##",
            "Role",
            "Digest",
            "#Compressed",
            "#Uncompressed",
            "Created by",
        ],
        &rows,
    );
    for r in &d.rebuilt_identical_layers {
        out.push_str(&format!(
            "<p class=\"sev-medium\"{}>New layer {} is old layer {} rebuilt with identical content ({}): every deploy downloads {} for nothing; make the build reproducible.</p>\n",
            data("wasted-bytes", r.wasted_bytes),
            r.new_index,
            r.old_index,
            escape(&r.evidence.replace('_', " ")),
            human_bytes(r.wasted_bytes)
        ));
    }
    if !d.config_changes.is_empty() {
        let mut rows = String::new();
        for c in &d.config_changes {
            rows.push_str(&format!(
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td><code>{}</code></td></tr>\n",
                escape(&c.field),
                escape(&c.old.to_string()),
                escape(&c.new.to_string())
            ));
        }
        out.push_str("<h3>Config changes</h3>\n");
        out.push_str(&table(&["Field", "Old", "New"], &rows));
    }
    out
}

fn files(d: &Diff) -> String {
    let mut out = String::from("<h2>Changed files</h2>\n");
    let Some(files) = &d.files else {
        out.push_str("<p class=\"muted\">Run <code>strata diff --files</code> to list the files that changed.</p>\n");
        return out;
    };
    let size = |f: &&crate::analysis::diff::files::FileChange| {
        f.new_bytes.unwrap_or(0).max(f.old_bytes.unwrap_or(0))
    };
    let max = files.iter().map(|f| size(&f)).max().unwrap_or(0);
    out.push_str(&format!(
        "<p{}>{} of {} changed paths, most bytes first.</p>\n",
        data("files-total", d.files_total.unwrap_or(files.len())),
        files.len(),
        d.files_total.unwrap_or(files.len())
    ));
    let mut rows = String::new();
    for f in files {
        let change = change_name(f.change);
        let class = match f.change {
            Change::Added => " class=\"sev-medium\"",
            _ => "",
        };
        rows.push_str(&format!(
            "<tr{}{}><td{class}>{change}</td><td><code>{}</code></td><td class=\"num\">{}</td>{}</tr>\n",
            data("change", change),
            data("path", &f.path),
            escape(&f.path),
            opt_bytes(f.old_bytes),
            bar_cell(size(&f), max, &opt_bytes(f.new_bytes))
        ));
    }
    out.push_str(&table(&["Change", "Path", "#Old", "#New"], &rows));
    out
}

/// Renders the comparison page.
pub fn render(d: &Diff) -> String {
    page(
        &format!("strata diff: {} → {}", d.old.reference, d.new.reference),
        &body(d),
    )
}

/// The diff's page body, which a per-platform page repeats once per platform.
pub fn body(d: &Diff) -> String {
    let mut body = format!(
        "<h1>strata diff</h1>\n<p><code{}>{}</code> → <code{}>{}</code></p>\n",
        data("old", &d.old.reference),
        escape(&d.old.reference),
        data("new", &d.new.reference),
        escape(&d.new.reference),
    );
    body.push_str(&summary(d));
    body.push_str("<h2>What a deploy downloads</h2>\n");
    body.push_str(&bars(d));
    body.push_str("<h2>Layers</h2>\n");
    body.push_str(&layers(d));
    body.push_str(&files(d));
    body
}
