//! The terminal report: one screen that says which layers are big, what is inside them, and what
//! to do about it.

use comfy_table::{CellAlignment, ColumnConstraint, Table};

use crate::analysis::transfer::human_transfer;
use crate::analysis::Analysis;
use crate::report::escape::terminal;
use crate::report::width::cell;
use crate::report::{base_line, new_table, reclaimable_line, short_command, stored_note};
use crate::units::{human_bytes, percent};

/// Right-aligns the numeric `columns` of a table.
pub fn align_right(t: &mut Table, columns: &[usize]) {
    for &c in columns {
        if let Some(col) = t.column_mut(c) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// Keeps `columns` of a table on one line (figures, rule ids a user copies): only the others
/// wrap to fit the width.
pub fn whole_columns(t: &mut Table, columns: &[usize]) {
    for &c in columns {
        if let Some(col) = t.column_mut(c) {
            col.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
}

/// Renders the analysis as text tables.
pub fn render(a: &Analysis) -> String {
    let mut out = String::new();
    let img = &a.image;
    out.push_str(&format!("Image      {}\n", terminal(&img.reference)));
    if let Some(d) = &img.manifest_digest {
        out.push_str(&format!("Manifest   {d}\n"));
    }
    out.push_str(&format!(
        "Platform   {}   Layers {}   Compressed {}   Uncompressed {}   Content {}\n",
        terminal(&img.platform),
        a.layers.len(),
        human_transfer(img.compressed_bytes, img.compressed_bytes_source) + &stored_note(img),
        human_bytes(img.uncompressed_bytes),
        human_bytes(img.content_bytes)
    ));
    out.push_str(&format!(
        "Dead bytes {} in {} files   dive: efficiency {}, wasted {}, user wasted {}\n",
        human_bytes(a.dead_bytes.total),
        a.dead_bytes.files,
        percent(a.dive.efficiency),
        human_bytes(a.dive.wasted_bytes),
        percent(a.dive.user_wasted_percent)
    ));
    if let Some(base) = base_line(img) {
        out.push_str(&format!("Base       {}\n", terminal(&base)));
    }
    out.push('\n');

    let mut layers = new_table(vec![
        "#",
        "Role",
        "Compressed",
        "Share",
        "Uncompressed",
        "Content",
        "Files",
        "Created by",
        "Largest paths",
    ]);
    for l in &a.layers {
        let top: Vec<String> = l
            .top_paths
            .iter()
            .take(3)
            .map(|t| format!("{} {}", cell(&t.path), human_bytes(t.bytes)))
            .collect();
        layers.add_row(vec![
            l.index.to_string(),
            l.role.as_str().into(),
            human_transfer(l.compressed_bytes, l.compressed_bytes_source),
            percent(l.share),
            human_bytes(l.uncompressed_bytes),
            human_bytes(l.content_bytes),
            l.files.to_string(),
            cell(&short_command(l.created_by.as_deref(), 40)),
            top.join("\n"),
        ]);
    }
    align_right(&mut layers, &[0, 2, 3, 4, 5, 6]);
    whole_columns(&mut layers, &[0, 1, 2, 3, 4, 5, 6]);
    out.push_str(&layers.to_string());
    out.push('\n');

    if !a.findings.is_empty() {
        out.push_str("\nFindings\n");
        let mut t = new_table(vec!["Layer", "Severity", "Rule", "Path", "Bytes", "Detail"]);
        for f in &a.findings {
            t.add_row(vec![
                f.layer.to_string(),
                f.severity.as_str().into(),
                f.rule.id.to_string(),
                cell(&f.path),
                human_bytes(f.bytes),
                match &f.fix {
                    Some(fix) => format!("{}\nfix: {}", cell(&f.message), cell(fix)),
                    None => cell(&f.message),
                },
            ]);
        }
        align_right(&mut t, &[0, 4]);
        whole_columns(&mut t, &[0, 1, 2, 4]);
        out.push_str(&t.to_string());
        out.push('\n');
    }
    if let Some(line) = reclaimable_line(&a.reclaimable) {
        out.push_str(&format!("{}\n", terminal(&line)));
    }

    if a.advice.is_empty() {
        out.push_str("\nNo advice: nothing large to move or remove.\n");
    } else {
        out.push_str("\nAdvice (estimated compressed bytes saved per deploy)\n");
        for (i, adv) in a.advice.iter().enumerate() {
            out.push_str(&format!(
                "{:>2}. [{}] {}\n",
                i + 1,
                human_bytes(adv.bytes_saved_per_deploy),
                terminal(&adv.action)
            ));
        }
    }
    out
}
