//! The document of `strata optimize`: the layers before and after, each new layer's role, what
//! it holds and its size, and what a code-only change ships before and after.

use crate::error::Result;
use crate::optimize::Optimized;
use crate::report::escape::markdown_text;
use crate::report::table::align_right;
use crate::report::width::cell;
use crate::report::{json, new_table, Document, Format};
use crate::units::human_bytes;

/// The lines above and below the layer table, shared by the table and Markdown forms.
fn lines(o: &Optimized) -> (String, String) {
    let head = format!(
        "optimized {}: {} layers → {} ({} base layers kept byte for byte)",
        o.source, o.layers_before, o.layers_after, o.base_layers
    );
    let foot = format!(
        "a code-only change ships {} (was {})\nwritten: {}",
        human_bytes(o.code_change_bytes_after),
        human_bytes(o.code_change_bytes_before),
        o.written.summary()
    );
    (head, foot)
}

fn table(o: &Optimized) -> String {
    let (head, foot) = lines(o);
    let mut t = new_table(vec!["#", "role", "holds", "paths", "content", "size"]);
    for (i, l) in o.layers.iter().enumerate() {
        t.add_row(vec![
            (o.base_layers + i).to_string(),
            l.role.to_string(),
            cell(&l.holds),
            l.paths.to_string(),
            human_bytes(l.content_bytes),
            human_bytes(l.size),
        ]);
    }
    align_right(&mut t, &[0, 3, 4, 5]);
    format!("{head}\n{t}\n{foot}\n")
}

fn markdown(o: &Optimized) -> String {
    let (head, foot) = lines(o);
    let mut out = format!(
        "{head}\n\n| # | role | holds | paths | content | size |\n|---:|---|---|---:|---:|---:|\n"
    );
    for (i, l) in o.layers.iter().enumerate() {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            o.base_layers + i,
            l.role,
            markdown_text(&l.holds),
            l.paths,
            human_bytes(l.content_bytes),
            human_bytes(l.size)
        ));
    }
    out.push('\n');
    for line in foot.lines() {
        out.push_str(&format!("{line}  \n"));
    }
    out
}

impl Document for Optimized {
    const COMMAND: &'static str = "optimize";
    const FORMATS: &'static [Format] = &[Format::Table, Format::Json, Format::Markdown];

    fn draw(&self, format: Format) -> Result<String> {
        match format {
            Format::Table => Ok(table(self)),
            Format::Json => json::render(self),
            Format::Markdown => Ok(markdown(self)),
            other => Err(Self::refused(other)),
        }
    }
}
