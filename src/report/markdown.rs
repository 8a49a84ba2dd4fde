//! Markdown for pull-request comments and `$GITHUB_STEP_SUMMARY`: the same facts as the table,
//! in GitHub-flavoured tables, and a Mermaid chart of the layer sizes (GitHub draws ```mermaid
//! blocks as pictures).

use crate::analysis::transfer::human_transfer;
use crate::analysis::Analysis;
use crate::report::escape::{markdown_code as code, markdown_text as escape};
use crate::report::{base_line, reclaimable_line, short_command, short_digest, stored_note};
use crate::units::{human_bytes, percent};

/// The unit a chart of values up to `max` bytes reads best in (SI, like the rest of strata's
/// output): its name and its size in bytes.
pub(crate) fn chart_unit(max: u64) -> (&'static str, f64) {
    [("GB", 1e9), ("MB", 1e6), ("kB", 1e3)]
        .into_iter()
        .find(|(_, size)| max as f64 >= *size)
        .unwrap_or(("bytes", 1.0))
}

/// A Mermaid `xychart-beta` bar chart of each layer's compressed size, labelled `index role`;
/// empty for an image without layers.
fn layer_chart(a: &Analysis) -> String {
    let Some(max) = a.layers.iter().map(|l| l.compressed_bytes).max() else {
        return String::new();
    };
    let (unit, size) = chart_unit(max);
    let labels: Vec<String> = a
        .layers
        .iter()
        .map(|l| format!("\"{} {}\"", l.index, l.role.as_str()))
        .collect();
    let values: Vec<String> = a
        .layers
        .iter()
        .map(|l| format!("{:.2}", l.compressed_bytes as f64 / size))
        .collect();
    let estimated = if a.image.compressed_bytes_source.is_estimate() {
        ", est. push"
    } else {
        ""
    };
    format!(
        "```mermaid\nxychart-beta\n    title \"Compressed size per layer ({unit}{estimated})\"\n    x-axis [{}]\n    y-axis \"{unit}\"\n    bar [{}]\n```\n\n",
        labels.join(", "),
        values.join(", ")
    )
}

/// Renders the analysis as Markdown.
pub fn render(a: &Analysis) -> String {
    let img = &a.image;
    let mut out = format!("### strata report: {}\n\n", code(&img.reference));
    out.push_str(&format!(
        "**{}** compressed{} · {} uncompressed · {} layers · {} dead bytes · dive efficiency {}\n\n",
        human_transfer(img.compressed_bytes, img.compressed_bytes_source),
        stored_note(img),
        human_bytes(img.uncompressed_bytes),
        a.layers.len(),
        human_bytes(a.dead_bytes.total),
        percent(a.dive.efficiency)
    ));
    if let Some(base) = base_line(img) {
        out.push_str(&format!("Base: {}\n\n", escape(&base)));
    }
    out.push_str(&layer_chart(a));
    out.push_str("| # | Role | Digest | Compressed | Uncompressed | Content | Files | Created by | Largest path |\n");
    out.push_str("|--:|---|---|--:|--:|--:|--:|---|---|\n");
    for l in &a.layers {
        let top = l
            .top_paths
            .first()
            .map(|t| format!("{} {}", code(&t.path), human_bytes(t.bytes)))
            .unwrap_or_default();
        out.push_str(&format!(
            "| {} | {} | `{}` | {} | {} | {} | {} | {} | {} |\n",
            l.index,
            l.role.as_str(),
            short_digest(&l.digest),
            human_transfer(l.compressed_bytes, l.compressed_bytes_source),
            human_bytes(l.uncompressed_bytes),
            human_bytes(l.content_bytes),
            l.files,
            code(&short_command(l.created_by.as_deref(), 50)),
            top
        ));
    }
    if !a.findings.is_empty() {
        out.push_str(
            "\n#### Findings\n\n| Layer | Severity | Rule | Path | Bytes | Detail | Fix |\n|--:|---|---|---|--:|---|---|\n",
        );
        for f in &a.findings {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                f.layer,
                f.severity.as_str(),
                f.rule,
                code(&f.path),
                human_bytes(f.bytes),
                escape(&f.message),
                escape(f.fix.as_deref().unwrap_or(""))
            ));
        }
    }
    if let Some(line) = reclaimable_line(&a.reclaimable) {
        out.push_str(&format!("\n**{}**\n", escape(&line)));
    }
    if !a.advice.is_empty() {
        out.push_str("\n#### Advice\n\n");
        for (i, adv) in a.advice.iter().enumerate() {
            out.push_str(&format!(
                "{}. **{}** per deploy: {}\n",
                i + 1,
                human_bytes(adv.bytes_saved_per_deploy),
                escape(&adv.action)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_pick_a_readable_unit() {
        assert_eq!(chart_unit(0), ("bytes", 1.0));
        assert_eq!(chart_unit(999), ("bytes", 1.0));
        assert_eq!(chart_unit(1_000), ("kB", 1e3));
        assert_eq!(chart_unit(1_630_000), ("MB", 1e6));
        assert_eq!(chart_unit(2_000_000_000), ("GB", 1e9));
    }
}
