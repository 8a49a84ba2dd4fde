//! Renderers of a [`Replay`] (`strata history --optimize`): the sentence, then one row per image,
//! oldest first, with what its deploy shipped as built and optimized. HTML is
//! [`crate::report::html::replay`].

use crate::analysis::history::replay::{Replay, ReplayRow};
use crate::error::Result;
use crate::report::document::{draw_page, PAGE};
use crate::report::escape::{markdown_code, markdown_text, terminal};
use crate::report::history::shipped;
use crate::report::table::{align_right, whole_columns};
use crate::report::width::cell;
use crate::report::{html, new_table, Document, Format};
use crate::units::human_bytes;

/// What the figures mean, under the title.
pub(crate) const METHOD: &str =
    "each image optimized in turn, with the optimized image before it as --previous; \
     a deploy ships the layers the image before does not have (compressed, by digest)";

/// The column headers of the table and the Markdown.
const HEADERS: [&str; 4] = ["Tag", "Shipped as built", "Shipped optimized", "Layers"];

/// One row's cells: tag, shipped as built, shipped optimized, layers as built → optimized. The
/// first image (no `previous`) ships its whole image.
pub(crate) fn cells(r: &ReplayRow) -> [String; 4] {
    let whole = |bytes: u64| format!("{} (whole image)", human_bytes(bytes));
    let (built, optimized) = match r.previous {
        Some(_) => (
            shipped(r.shipped_bytes, r.shipped_layers),
            shipped(r.optimized_shipped_bytes, r.optimized_shipped_layers),
        ),
        None => (whole(r.shipped_bytes), whole(r.optimized_shipped_bytes)),
    };
    [
        r.tag.clone(),
        built,
        optimized,
        format!("{} → {}", r.layers, r.optimized_layers),
    ]
}

/// Renders the replay as a text table.
pub fn table(r: &Replay) -> String {
    let mut out = format!(
        "Replay {}\n{METHOD}\n\n{}\n",
        terminal(&r.source),
        terminal(&r.summary)
    );
    if r.tags.is_empty() {
        return out;
    }
    let mut t = new_table(HEADERS.to_vec());
    for row in &r.tags {
        t.add_row(cells(row).map(|c| cell(&c)).to_vec());
    }
    align_right(&mut t, &[1, 2, 3]);
    whole_columns(&mut t, &[1, 2, 3]);
    out.push('\n');
    out.push_str(&t.to_string());
    out.push('\n');
    out
}

/// Renders the replay as Markdown: the sentence and the table.
pub fn markdown(r: &Replay) -> String {
    let mut out = format!(
        "### strata history --optimize: {}\n\n{}\n\n**{}**\n",
        markdown_code(&r.source),
        METHOD,
        markdown_text(&r.summary)
    );
    if r.tags.is_empty() {
        return out;
    }
    out.push_str(&format!(
        "\n| {} |\n|---|--:|--:|--:|\n",
        HEADERS.join(" | ")
    ));
    for row in &r.tags {
        let [tag, rest @ ..] = cells(row);
        let rest = rest.map(|c| markdown_text(&c));
        out.push_str(&format!(
            "| {} | {} |\n",
            markdown_code(&tag),
            rest.join(" | ")
        ));
    }
    out
}

impl Document for Replay {
    const COMMAND: &'static str = "history";
    const FORMATS: &'static [Format] = PAGE;

    fn draw(&self, format: Format) -> Result<String> {
        draw_page(self, format, table, markdown, html::replay::render)
    }
}
