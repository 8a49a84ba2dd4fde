//! The JSON document (`schema_version` 1), written whole or not at all: it is rendered into memory
//! first, so an error never leaves half a document on stdout.

use serde::Serialize;

use crate::error::{Error, Result};

/// Renders any report as pretty JSON with a trailing newline.
pub fn render<T: Serialize>(value: &T) -> Result<String> {
    let mut s = serde_json::to_string_pretty(value)
        .map_err(|e| Error::invalid(format!("rendering JSON: {e}")))?;
    s.push('\n');
    Ok(s)
}
