//! Renderers of every command's result: a terminal table, a stable JSON document, Markdown for PR
//! comments and `$GITHUB_STEP_SUMMARY`, self-contained HTML pages, JUnit XML and GitHub
//! annotations. Which command renders which is declared once, by its [`Document`] impl.

pub mod check;
pub mod diff;
pub mod document;
pub mod escape;
pub mod history;
pub mod html;
pub mod image;
pub mod index_layers;
pub mod json;
pub mod markdown;
pub mod optimize;
pub mod platforms;
pub mod table;
pub mod transfer;
pub mod width;

pub use document::{render, Document, Format};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

use crate::analysis::reclaim::Reclaimable;
use crate::analysis::ImageSummary;
use crate::units::human_bytes;

/// A table in strata's style, the one place tables are made: at most [`width::output_width`]
/// columns wide, its cells wrapped to fit (give it long text through [`width::cell`]). Cells may
/// carry colours; comfy-table draws them only when stdout is a terminal, and never when
/// `NO_COLOR` is set.
pub fn new_table(header: Vec<&str>) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        t.force_no_tty();
    }
    t.set_content_arrangement(ContentArrangement::Dynamic);
    t.set_width(u16::try_from(width::output_width()).unwrap_or(u16::MAX));
    t.set_header(header);
    t
}

/// Shortens a digest for tables: `sha256:2c26b46b68ff`.
pub fn short_digest(d: &impl std::fmt::Display) -> String {
    let s = d.to_string();
    s.chars().take(19).collect()
}

/// Shortens a history command for tables: `/bin/sh -c` and `#(nop)` prefixes dropped, one line,
/// at most `max` characters.
pub fn short_command(cmd: Option<&str>, max: usize) -> String {
    let Some(cmd) = cmd else {
        return "(missing)".into();
    };
    let cmd = cmd
        .trim_start_matches("/bin/sh -c ")
        .trim_start_matches("#(nop) ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if cmd.chars().count() > max {
        let cut: String = cmd.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    } else {
        cmd
    }
}

/// The base the roles were computed against, as every format names it: the reference and how
/// many layers it matched (`None` without a base).
pub fn base_line(image: &ImageSummary) -> Option<String> {
    let base = image.base.as_ref()?;
    Some(match image.base_matched_layers {
        Some(0) => format!("{base} (matched none of the image's layers: no layer counts as base)"),
        Some(1) => format!("{base} (1 layer)"),
        Some(n) => format!("{base} ({n} layers)"),
        None => base.clone(),
    })
}

/// The net reclaimable line both text formats print (`None` when nothing is reclaimable):
/// the de-duplicated total, then each rule's own figure, largest first.
pub fn reclaimable_line(r: &Reclaimable) -> Option<String> {
    if r.total == 0 {
        return None;
    }
    let rules: Vec<String> = r
        .by_rule
        .iter()
        .map(|rule| format!("{} {}", rule.rule, human_bytes(rule.bytes)))
        .collect();
    Some(format!(
        "Net reclaimable {} if every finding is fixed (each file counted once); by rule: {}",
        human_bytes(r.total),
        rules.join(", ")
    ))
}

/// What the text summaries print after the image's compressed figure: when it is an estimate,
/// the size as stored (`, stored 284.9 MB`); else nothing.
pub fn stored_note(img: &ImageSummary) -> String {
    if img.compressed_bytes_source.is_estimate() {
        format!(", stored {}", human_bytes(img.stored_bytes))
    } else {
        String::new()
    }
}
