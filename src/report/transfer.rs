//! The documents of the commands that write images, `strata copy` and `strata rebase`: one summary
//! line for people, the [`CopyStats`] as JSON. A one-line summary has no Markdown or page form, so
//! those formats are refused rather than printed as the line.

use crate::error::Result;
use crate::report::{json, Document, Format};
use crate::sink::copy::CopyStats;

/// What `strata copy` wrote.
#[derive(Debug)]
pub struct Copied(pub CopyStats);

impl Document for Copied {
    const COMMAND: &'static str = "copy";
    const FORMATS: &'static [Format] = &[Format::Table, Format::Json];

    fn draw(&self, format: Format) -> Result<String> {
        match format {
            Format::Table => Ok(format!("copied {}\n", self.0.summary())),
            Format::Json => json::render(&self.0),
            other => Err(Self::refused(other)),
        }
    }
}

/// What `strata rebase` wrote, and from what.
#[derive(Debug)]
pub struct Rebased {
    /// The image rebased, as named.
    pub image: String,
    /// The base it now stands on, as named.
    pub new_base: String,
    /// What was written.
    pub stats: CopyStats,
}

impl Document for Rebased {
    const COMMAND: &'static str = "rebase";
    const FORMATS: &'static [Format] = &[Format::Table, Format::Json];

    fn draw(&self, format: Format) -> Result<String> {
        match format {
            Format::Table => Ok(format!(
                "rebased {} onto {}: {}\n",
                self.image,
                self.new_base,
                self.stats.summary()
            )),
            Format::Json => json::render(&self.stats),
            other => Err(Self::refused(other)),
        }
    }
}
