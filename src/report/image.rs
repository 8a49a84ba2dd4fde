//! The document of `strata report`: one image's analysis, with the layer scans its HTML page draws
//! directory trees from.

use crate::analysis::scan::LayerScan;
use crate::analysis::tree::layer_trees;
use crate::analysis::Analysis;
use crate::error::Result;
use crate::report::document::PAGE;
use crate::report::{html, json, markdown, table, Document, Format};

/// How many directory-tree nodes the HTML page draws over all layers: enough to drill three or four
/// levels into the big directories, few enough to keep the page well under 2 MB.
pub(crate) const TREE_NODES: usize = 1500;

/// What `strata report` found in one image.
#[derive(Debug)]
pub struct ImageReport {
    /// The analysis, findings already filtered.
    pub analysis: Analysis,
    /// Every layer's scan, in layer order (the page's directory trees).
    pub scans: Vec<LayerScan>,
}

impl Document for ImageReport {
    const COMMAND: &'static str = "report";
    const FORMATS: &'static [Format] = PAGE;

    fn draw(&self, format: Format) -> Result<String> {
        match format {
            Format::Table => Ok(table::render(&self.analysis)),
            Format::Json => json::render(&self.analysis),
            Format::Markdown => Ok(markdown::render(&self.analysis)),
            Format::Html => {
                let entries: Vec<_> = self.scans.iter().map(|s| s.entries.as_slice()).collect();
                Ok(html::report::render(
                    &self.analysis,
                    &layer_trees(&entries, TREE_NODES),
                ))
            }
            other => Err(Self::refused(other)),
        }
    }
}
