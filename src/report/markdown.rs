//! Markdown for pull-request comments and `$GITHUB_STEP_SUMMARY`: the same facts as the table,
//! in GitHub-flavoured tables.

use crate::analysis::Analysis;
use crate::report::{reclaimable_line, short_command, short_digest};
use crate::units::{human_bytes, percent};

fn escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Renders the analysis as Markdown.
pub fn render(a: &Analysis) -> String {
    let img = &a.image;
    let mut out = format!("### strata report: `{}`\n\n", escape(&img.reference));
    out.push_str(&format!(
        "**{}** compressed · {} uncompressed · {} layers · {} dead bytes · dive efficiency {}\n\n",
        human_bytes(img.compressed_bytes),
        human_bytes(img.uncompressed_bytes),
        a.layers.len(),
        human_bytes(a.dead_bytes.total),
        percent(a.dive.efficiency)
    ));
    out.push_str("| # | Role | Digest | Compressed | Uncompressed | Content | Files | Created by | Largest path |\n");
    out.push_str("|--:|---|---|--:|--:|--:|--:|---|---|\n");
    for l in &a.layers {
        let top = l
            .top_paths
            .first()
            .map(|t| format!("`{}` {}", escape(&t.path), human_bytes(t.bytes)))
            .unwrap_or_default();
        out.push_str(&format!(
            "| {} | {} | `{}` | {} | {} | {} | {} | `{}` | {} |\n",
            l.index,
            l.role.as_str(),
            short_digest(&l.digest),
            human_bytes(l.compressed_bytes),
            human_bytes(l.uncompressed_bytes),
            human_bytes(l.content_bytes),
            l.files,
            escape(&short_command(l.created_by.as_deref(), 50)),
            top
        ));
    }
    if !a.findings.is_empty() {
        out.push_str(
            "\n#### Findings\n\n| Layer | Severity | Rule | Path | Bytes | Detail | Fix |\n|--:|---|---|---|--:|---|---|\n",
        );
        for f in &a.findings {
            out.push_str(&format!(
                "| {} | {} | {} | `{}` | {} | {} | {} |\n",
                f.layer,
                f.severity.as_str(),
                f.rule,
                escape(&f.path),
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
