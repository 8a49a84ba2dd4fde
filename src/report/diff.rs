//! Renderers of a [`Diff`]: the deploy cost first, then the layers, identical rebuilds, config
//! changes and (with `--files`) the changed files.

use crate::analysis::diff::files::Change;
use crate::analysis::diff::{Diff, LayerInfo};
use crate::analysis::transfer::human_transfer;
use crate::error::Result;
use crate::report::document::{draw_page, PAGE};
use crate::report::escape::{markdown_code, terminal};
use crate::report::markdown::chart_unit;
use crate::report::width::cell;
use crate::report::{html, new_table, short_command, short_digest, Document, Format};
use crate::units::human_bytes;

/// A size, or `-` when unknown.
pub(crate) fn opt_bytes(b: Option<u64>) -> String {
    b.map_or_else(|| "-".to_string(), human_bytes)
}

/// The word for a change, as every format prints it.
pub(crate) fn change_name(c: Change) -> &'static str {
    match c {
        Change::Added => "added",
        Change::Removed => "removed",
        Change::Modified => "modified",
        Change::MetadataOnly => "metadata",
    }
}

/// A layer's role as the tables print it: `-` when it is not known (a registry layer not read).
pub(crate) fn role_name(l: &LayerInfo) -> String {
    l.role.map_or("-", |r| r.as_str()).to_string()
}

fn headline(d: &Diff) -> String {
    format!(
        "Pull {} ({} new layer{}) · push {} · uncompressed {} · {} shared, {} removed",
        human_transfer(d.pull_bytes, d.pull_bytes_source),
        d.added_layers.len(),
        if d.added_layers.len() == 1 { "" } else { "s" },
        human_transfer(d.push_bytes, d.pull_bytes_source),
        opt_bytes(d.pull_uncompressed_bytes),
        d.shared_layers.len(),
        d.removed_layers.len()
    )
}

fn layer_rows(d: &Diff) -> impl Iterator<Item = (&'static str, &LayerInfo)> {
    d.shared_layers
        .iter()
        .map(|l| ("shared", l))
        .chain(d.added_layers.iter().map(|l| ("added", l)))
        .chain(d.removed_layers.iter().map(|l| ("removed", l)))
}

/// Renders the comparison as text tables.
pub fn table(d: &Diff) -> String {
    let mut out = format!(
        "Old  {}\nNew  {}\n{}\n\n",
        terminal(&d.old.reference),
        terminal(&d.new.reference),
        headline(d)
    );
    let mut t = new_table(vec![
        "Layer",
        "#",
        "Role",
        "Digest",
        "Compressed",
        "Uncompressed",
        "Created by",
    ]);
    for (status, l) in layer_rows(d) {
        t.add_row(vec![
            status.to_string(),
            l.index.to_string(),
            role_name(l),
            short_digest(&l.digest),
            human_transfer(l.compressed_bytes, l.compressed_bytes_source),
            opt_bytes(l.uncompressed_bytes),
            cell(&short_command(l.created_by.as_deref(), 50)),
        ]);
    }
    out.push_str(&t.to_string());
    out.push('\n');
    for r in &d.rebuilt_identical_layers {
        out.push_str(&format!(
            "\nwarning: new layer {} has the same content as old layer {} ({}) under a new digest: every deploy downloads {} for nothing; make the build reproducible (fixed mtimes, pinned compressor)\n",
            r.new_index,
            r.old_index,
            r.evidence.replace('_', " "),
            human_bytes(r.wasted_bytes)
        ));
    }
    if !d.config_changes.is_empty() {
        out.push_str("\nConfig changes\n");
        for c in &d.config_changes {
            out.push_str(&format!(
                "  {}: {} → {}\n",
                terminal(&c.field),
                terminal(&c.old.to_string()),
                terminal(&c.new.to_string())
            ));
        }
    }
    if let Some(files) = &d.files {
        let mut t = new_table(vec!["Change", "Path", "Old", "New"]);
        for f in files {
            t.add_row(vec![
                change_name(f.change).to_string(),
                cell(&f.path),
                opt_bytes(f.old_bytes),
                opt_bytes(f.new_bytes),
            ]);
        }
        out.push_str(&format!(
            "\nChanged files ({} of {})\n{t}\n",
            files.len(),
            d.files_total.unwrap_or(files.len())
        ));
    }
    out
}

/// A Mermaid pie of NEW's download: the bytes a host with OLD already has and those it pulls;
/// empty when both are zero (Mermaid takes only positive slices, so a zero slice is left out).
fn deploy_chart(d: &Diff) -> String {
    let shared: u64 = d.shared_layers.iter().map(|l| l.compressed_bytes).sum();
    let (unit, size) = chart_unit(shared.max(d.pull_bytes));
    let slices: String = [
        ("shared, already there", shared),
        ("downloaded", d.pull_bytes),
    ]
    .iter()
    .filter(|(_, bytes)| *bytes > 0)
    .map(|(name, bytes)| format!("    \"{name} ({unit})\" : {:.2}\n", *bytes as f64 / size))
    .collect();
    if slices.is_empty() {
        return String::new();
    }
    format!("```mermaid\npie title What a deploy of NEW downloads\n{slices}```\n\n")
}

/// Renders the comparison as Markdown.
pub fn markdown(d: &Diff) -> String {
    let mut out = format!(
        "### strata diff\n\n{} → {}\n\n**{}**\n\n{}| Layer | # | Role | Digest | Compressed | Uncompressed | Created by |\n|---|--:|---|---|--:|--:|---|\n",
        markdown_code(&d.old.reference),
        markdown_code(&d.new.reference),
        headline(d),
        deploy_chart(d)
    );
    for (status, l) in layer_rows(d) {
        out.push_str(&format!(
            "| {status} | {} | {} | `{}` | {} | {} | {} |\n",
            l.index,
            role_name(l),
            short_digest(&l.digest),
            human_transfer(l.compressed_bytes, l.compressed_bytes_source),
            opt_bytes(l.uncompressed_bytes),
            markdown_code(&short_command(l.created_by.as_deref(), 50))
        ));
    }
    for r in &d.rebuilt_identical_layers {
        out.push_str(&format!(
            "\n> ⚠️ new layer {} is old layer {} rebuilt with identical content ({}): {} per deploy for nothing\n",
            r.new_index,
            r.old_index,
            r.evidence.replace('_', " "),
            human_bytes(r.wasted_bytes)
        ));
    }
    if !d.config_changes.is_empty() {
        out.push_str("\n| Config | Old | New |\n|---|---|---|\n");
        for c in &d.config_changes {
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                markdown_code(&c.field),
                markdown_code(&c.old.to_string()),
                markdown_code(&c.new.to_string())
            ));
        }
    }
    if let Some(files) = &d.files {
        out.push_str("\n| Change | Path | Old | New |\n|---|---|--:|--:|\n");
        for f in files {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                change_name(f.change),
                markdown_code(&f.path),
                opt_bytes(f.old_bytes),
                opt_bytes(f.new_bytes)
            ));
        }
    }
    out
}

impl Document for Diff {
    const COMMAND: &'static str = "diff";
    const FORMATS: &'static [Format] = PAGE;

    fn draw(&self, format: Format) -> Result<String> {
        draw_page(self, format, table, markdown, html::diff::render)
    }
}
