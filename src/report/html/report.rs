//! The HTML page of `strata report`: the totals, the layers as stacked bars (compressed and
//! uncompressed, base, dependency and app layers coloured), a treemap of each layer's directories, the findings and
//! their fixes, the dead bytes per path and the dependency packages by size.

use crate::analysis::dead::DeadCause;
use crate::analysis::findings::FindingKind;
use crate::analysis::transfer::human_transfer;
use crate::analysis::tree::TreeNode;
use crate::analysis::{Analysis, LayerReport, Role};
use crate::report::html::svg::{self, Scale, Segment};
use crate::report::html::treemap::{layer_treemap, Palette};
use crate::report::html::{bytes_bar_cell, card, data, escape, legend, page, table};
use crate::report::{base_line, short_command, short_digest};
use crate::units::{human_bytes, percent};

/// Colours of base, dependency and app layers (two shades each, alternating, so neighbours stay
/// apart).
const BASE: [&str; 2] = ["#4f72a8", "#86a3cf"];
const DEPENDENCIES: [&str; 2] = ["#3f8f5a", "#7cc08f"];
const APP: [&str; 2] = ["#d9782d", "#f0a866"];

/// The two shades of a role.
fn shades(role: Role) -> [&'static str; 2] {
    match role {
        Role::Base => BASE,
        Role::Dependencies => DEPENDENCIES,
        Role::App => APP,
    }
}

fn layer_colour(l: &LayerReport) -> &'static str {
    shades(l.role)[l.index % 2]
}

fn summary(a: &Analysis) -> String {
    let img = &a.image;
    let saved: u64 = a.advice.iter().map(|x| x.bytes_saved_per_deploy).sum();
    let compressed_caption = if img.compressed_bytes_source.is_estimate() {
        format!(
            "compressed (a cold pull), estimated: the gzip a push makes of the layers stored uncompressed; stored {}",
            human_bytes(img.stored_bytes)
        )
    } else {
        "compressed (a cold pull)".to_string()
    };
    let mut out = String::from("<div class=\"cards\" id=\"summary\">\n");
    for (name, caption, shown, raw) in [
        (
            "compressed-bytes",
            compressed_caption.as_str(),
            human_transfer(img.compressed_bytes, img.compressed_bytes_source),
            img.compressed_bytes.to_string(),
        ),
        (
            "uncompressed-bytes",
            "uncompressed",
            human_bytes(img.uncompressed_bytes),
            img.uncompressed_bytes.to_string(),
        ),
        (
            "visible-bytes",
            &format!("in {} visible files", img.visible_files),
            human_bytes(img.visible_bytes),
            img.visible_bytes.to_string(),
        ),
        (
            "layers",
            "layers",
            a.layers.len().to_string(),
            a.layers.len().to_string(),
        ),
        (
            "dead-bytes",
            "dead bytes (shipped, hidden)",
            human_bytes(a.dead_bytes.total),
            a.dead_bytes.total.to_string(),
        ),
        (
            "saved-per-deploy",
            "fixes save per deploy",
            human_bytes(saved),
            saved.to_string(),
        ),
        (
            "efficiency",
            "dive efficiency",
            percent(a.dive.efficiency),
            a.dive.efficiency.to_string(),
        ),
    ] {
        out.push_str(&card(name, caption, &shown, raw));
    }
    out.push_str("</div>\n");
    out
}

fn layer_bars(a: &Analysis) -> String {
    let max = a.image.uncompressed_bytes.max(a.image.compressed_bytes) as f64;
    let scale = Scale::new(max, 120.0, 985.0);
    let mut out = svg::open(1000.0, 120.0, "layer sizes, compressed and uncompressed");
    type Pick = fn(&LayerReport) -> u64;
    type Show = fn(&LayerReport) -> String;
    for (row, (name, pick, show)) in [
        (
            "compressed",
            (|l: &LayerReport| l.compressed_bytes) as Pick,
            (|l: &LayerReport| human_transfer(l.compressed_bytes, l.compressed_bytes_source))
                as Show,
        ),
        (
            "uncompressed",
            |l: &LayerReport| l.uncompressed_bytes,
            |l: &LayerReport| human_bytes(l.uncompressed_bytes),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let y = 10.0 + row as f64 * 40.0;
        out.push_str(&svg::text(112.0, y + 20.0, "end", "", name));
        let segments: Vec<Segment> = a
            .layers
            .iter()
            .map(|l| Segment {
                value: pick(l) as f64,
                fill: layer_colour(l).to_string(),
                tooltip: format!(
                    "layer {} ({}): {} {name} — {}",
                    l.index,
                    l.role.as_str(),
                    show(l),
                    short_command(l.created_by.as_deref(), 80)
                ),
                label: l.index.to_string(),
                extra: format!("{}{}", data("layer", l.index), data("bytes", pick(l))),
            })
            .collect();
        out.push_str(&svg::stacked_bar(&scale, y, 30.0, &segments));
    }
    out.push_str(&svg::x_axis(&scale, 92.0, 6, |v| human_bytes(v as u64)));
    out.push_str("</svg>\n");
    out.push_str(&legend(&[
        (BASE[0], "base layers"),
        (DEPENDENCIES[0], "dependency layers"),
        (APP[0], "app layers"),
    ]));
    out
}

fn layer_table(a: &Analysis) -> String {
    let mut rows = String::new();
    for l in &a.layers {
        rows.push_str(&format!(
            "<tr{}{}{}{}{}{}><td class=\"num\">{}</td><td>{}</td><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td><code>{}</code></td></tr>\n",
            data("layer", l.index),
            data("role", l.role.as_str()),
            data("compressed-bytes", l.compressed_bytes),
            data("uncompressed-bytes", l.uncompressed_bytes),
            data("content-bytes", l.content_bytes),
            data("files", l.files),
            l.index,
            l.role.as_str(),
            escape(&short_digest(&l.digest)),
            human_transfer(l.compressed_bytes, l.compressed_bytes_source),
            human_bytes(l.uncompressed_bytes),
            human_bytes(l.content_bytes),
            l.files,
            human_bytes(l.dead_bytes),
            escape(&short_command(l.created_by.as_deref(), 70)),
        ));
    }
    table(
        &[
            "#",
            "Role",
            "Digest",
            "#Compressed",
            "#Uncompressed",
            "#Content",
            "#Files",
            "#Dead",
            "Created by",
        ],
        &rows,
    )
}

fn treemaps(a: &Analysis, trees: &[TreeNode]) -> String {
    let mut out = String::from(
        "<h2>Where the bytes are</h2>\n<p class=\"muted\">Each layer's directories sized by content bytes; click a darker directory to zoom in (small entries are folded together).</p>\n",
    );
    for (l, tree) in a.layers.iter().zip(trees) {
        let [zoom, leaf] = shades(l.role);
        let palette = Palette { zoom, leaf };
        out.push_str(&format!(
            "<section class=\"layer-tree\"{}>\n<h3>Layer {} · {} · {} content in {} files</h3>\n<p><code>{}</code></p>\n{}</section>\n",
            data("layer", l.index),
            l.index,
            l.role.as_str(),
            human_bytes(l.content_bytes),
            l.files,
            escape(&short_command(l.created_by.as_deref(), 120)),
            layer_treemap(l.index, tree, &palette)
        ));
    }
    out
}

fn findings(a: &Analysis) -> String {
    let mut out = String::from("<h2>Findings</h2>\n");
    if a.findings.is_empty() {
        out.push_str("<p>No findings.</p>\n");
    } else {
        let mut rows = String::new();
        for f in &a.findings {
            let sev = f.severity.as_str();
            rows.push_str(&format!(
                "<tr{}{}{}><td class=\"sev-{sev}\">{sev}</td><td><code>{}</code></td><td class=\"num\">{}</td><td><code>{}</code></td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>\n",
                data("rule", f.rule.id),
                data("layer", f.layer),
                data("bytes", f.bytes),
                escape(f.rule.id),
                f.layer,
                escape(&f.path),
                human_bytes(f.bytes),
                escape(&f.message),
                escape(f.fix.as_deref().unwrap_or("")),
            ));
        }
        out.push_str(&table(
            &[
                "Severity", "Rule", "#Layer", "Path", "#Bytes", "Detail", "Fix",
            ],
            &rows,
        ));
    }
    if !a.advice.is_empty() {
        out.push_str("<h3>Fixes, by compressed bytes saved per deploy</h3>\n");
        let max = a.advice[0].bytes_saved_per_deploy;
        let mut rows = String::new();
        for adv in &a.advice {
            rows.push_str(&format!(
                "<tr{}{}><td class=\"num\">{}</td><td>{}</td>{}</tr>\n",
                data("layer", adv.layer),
                data("bytes", adv.bytes_saved_per_deploy),
                adv.layer,
                escape(&adv.action),
                bytes_bar_cell(adv.bytes_saved_per_deploy, max)
            ));
        }
        out.push_str(&table(&["#Layer", "Fix", "#Saves"], &rows));
    }
    out
}

fn dead_bytes(a: &Analysis) -> String {
    let d = &a.dead_bytes;
    let mut out = format!(
        "<h2>Dead bytes</h2>\n<p{}>{} in {} files ship with every pull but are hidden by a later layer.</p>\n",
        data("dead-bytes", d.total),
        human_bytes(d.total),
        d.files
    );
    if let Some(max) = d.top.first().map(|f| f.bytes) {
        let mut rows = String::new();
        for f in &d.top {
            let cause = match f.cause {
                DeadCause::Overwritten => "overwritten",
                DeadCause::Deleted => "deleted",
            };
            rows.push_str(&format!(
                "<tr{}{}><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{cause}</td>{}</tr>\n",
                data("path", &f.path),
                data("bytes", f.bytes),
                escape(&f.path),
                f.layer,
                f.hidden_by,
                bytes_bar_cell(f.bytes, max)
            ));
        }
        out.push_str(&table(
            &["Path", "#Layer", "#Hidden by", "Cause", "#Bytes"],
            &rows,
        ));
    }
    out
}

fn dependencies(a: &Analysis) -> String {
    let roots: Vec<_> = a
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::Dependencies)
        .collect();
    let mut out = String::from("<h2>Dependencies in app layers</h2>\n");
    if roots.is_empty() {
        out.push_str("<p>No third-party dependency directories in app layers.</p>\n");
    }
    for f in roots {
        let ecosystem = f
            .ecosystem
            .map(|e| format!("{e:?}").to_lowercase())
            .unwrap_or_default();
        out.push_str(&format!(
            "<h3{}{}>{} · <code>{}</code> · layer {} · {}</h3>\n",
            data("path", &f.path),
            data("bytes", f.bytes),
            escape(&ecosystem),
            escape(&f.path),
            f.layer,
            human_bytes(f.bytes)
        ));
        if let Some(max) = f.packages.first().map(|p| p.bytes) {
            let mut rows = String::new();
            for p in &f.packages {
                rows.push_str(&format!(
                    "<tr{}{}><td><code>{}</code></td>{}</tr>\n",
                    data("package", &p.name),
                    data("bytes", p.bytes),
                    escape(&p.name),
                    bytes_bar_cell(p.bytes, max)
                ));
            }
            out.push_str(&table(&["Package", "#Bytes"], &rows));
        }
    }
    out
}

/// Renders the report page; `trees` holds each layer's directory tree, bottom layer first.
pub fn render(a: &Analysis, trees: &[TreeNode]) -> String {
    page(
        &format!("strata report: {}", a.image.reference),
        &body(a, trees),
    )
}

/// The report's page body, which a multi-platform page repeats once per platform.
pub fn body(a: &Analysis, trees: &[TreeNode]) -> String {
    let img = &a.image;
    let mut body = format!(
        "<h1>strata report</h1>\n<p><code{}>{}</code></p>\n<p class=\"muted\">{} · config <code>{}</code>{}{}</p>\n",
        data("reference", &img.reference),
        escape(&img.reference),
        escape(&img.platform),
        escape(&short_digest(&img.config_digest)),
        img.manifest_digest
            .as_ref()
            .map(|d| format!(" · manifest <code>{}</code>", escape(&short_digest(d))))
            .unwrap_or_default(),
        base_line(img)
            .map(|b| format!(" · base <code{}>{}</code>", data("base-matched-layers", img.base_matched_layers.unwrap_or(0)), escape(&b)))
            .unwrap_or_default(),
    );
    body.push_str(&summary(a));
    body.push_str("<h2>Layers</h2>\n");
    body.push_str(&layer_bars(a));
    body.push_str(&layer_table(a));
    body.push_str(&treemaps(a, trees));
    body.push_str(&findings(a));
    body.push_str(&dead_bytes(a));
    body.push_str(&dependencies(a));
    body
}
