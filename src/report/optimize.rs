//! The document of `strata optimize`: the layers before and after, each new layer's role, what
//! it holds, its size and whether it was reused from `--previous`, what a code-only change
//! ships before and after, and what the deploy over the previous image ships.

use crate::error::Result;
use crate::optimize::{NewLayer, Optimized};
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
    let over_previous = match (&o.previous, o.shipped_from_previous) {
        (Some(p), Some(bytes)) => format!(
            "\nthe deploy over {p} ships {} ({} of {} new layers reused)",
            human_bytes(bytes),
            o.layers.iter().filter(|l| l.reused).count(),
            o.layers.len()
        ),
        _ => String::new(),
    };
    let mut foot = format!(
        "a code-only change ships {} (was {}){over_previous}\nwritten: {}",
        human_bytes(o.code_change_bytes_after),
        human_bytes(o.code_change_bytes_before),
        o.written.summary()
    );
    if o.pyc_headers_rewritten > 0 {
        foot.push_str(&format!(
            "\n.pyc headers rewritten to their sources' normalized mtimes: {}",
            o.pyc_headers_rewritten
        ));
    }
    (head, foot)
}

/// The reused column: whether the layer is the previous image's blob.
fn reused(l: &NewLayer) -> &'static str {
    if l.reused {
        "yes"
    } else {
        ""
    }
}

fn table(o: &Optimized) -> String {
    let (head, foot) = lines(o);
    let mut t = new_table(vec![
        "#", "role", "holds", "paths", "content", "size", "reused",
    ]);
    for (i, l) in o.layers.iter().enumerate() {
        t.add_row(vec![
            (o.base_layers + i).to_string(),
            l.role.to_string(),
            cell(&l.holds),
            l.paths.to_string(),
            human_bytes(l.content_bytes),
            human_bytes(l.size),
            reused(l).to_string(),
        ]);
    }
    align_right(&mut t, &[0, 3, 4, 5]);
    format!("{head}\n{t}\n{foot}\n")
}

fn markdown(o: &Optimized) -> String {
    let (head, foot) = lines(o);
    let mut out = format!(
        "{head}\n\n| # | role | holds | paths | content | size | reused |\n|---:|---|---|---:|---:|---:|---|\n"
    );
    for (i, l) in o.layers.iter().enumerate() {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            o.base_layers + i,
            l.role,
            markdown_text(&l.holds),
            l.paths,
            human_bytes(l.content_bytes),
            human_bytes(l.size),
            reused(l)
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
