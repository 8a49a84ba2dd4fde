//! The replay (`strata history --optimize`) as one self-contained HTML page: the two totals as
//! cards, the sentence and the table, exact bytes in `data-*` attributes.

use std::fmt::Write as _;

use crate::analysis::history::replay::Replay;
use crate::report::history::replay::{cells, METHOD};
use crate::report::html::history::bytes_cell;
use crate::report::html::{card, escape, page, table};
use crate::units::human_bytes;

/// Renders the replay as one HTML page.
pub fn render(r: &Replay) -> String {
    let title = format!("strata history --optimize: {}", r.source);
    let mut body = format!(
        "<h1>{}</h1>\n<p class=\"muted\">{}</p>\n<div class=\"cards\">\n{}{}</div>\n<p>{}</p>\n",
        escape(&title),
        escape(METHOD),
        card(
            "shipped-bytes",
            "shipped as built",
            &human_bytes(r.shipped_bytes),
            r.shipped_bytes
        ),
        card(
            "optimized-shipped-bytes",
            "shipped optimized",
            &human_bytes(r.optimized_shipped_bytes),
            r.optimized_shipped_bytes
        ),
        escape(&r.summary)
    );
    let mut rows = String::new();
    for row in &r.tags {
        let [tag, built, optimized, layers] = cells(row).map(|c| escape(&c));
        let _ = writeln!(
            rows,
            "<tr data-tag=\"{tag}\"><td><code>{tag}</code></td>{}{}<td class=\"num\">{layers}</td></tr>",
            bytes_cell(Some(row.shipped_bytes), built),
            bytes_cell(Some(row.optimized_shipped_bytes), optimized),
        );
    }
    if !r.tags.is_empty() {
        body.push_str(&table(
            &["Tag", "#Shipped as built", "#Shipped optimized", "#Layers"],
            &rows,
        ));
    }
    page(&title, &body)
}
