//! Reading the TOML lockfiles (`uv.lock`, `pylock.toml`, `poetry.lock`, `pyproject.toml`) with
//! one-line errors that name the file and line, and the few accessors their parsers share.

use std::path::Path;

use toml::{Table, Value};

use crate::error::{Error, Result};

/// Parses `text` (read from `path`) as a TOML document.
pub fn parse(path: &Path, text: &str) -> Result<Table> {
    toml::from_str(text).map_err(|e| {
        let line = e.span().map(|span| {
            text.bytes()
                .take(span.start)
                .filter(|&b| b == b'\n')
                .count()
                + 1
        });
        let message = e.message().trim().replace('\n', " ");
        match line {
            Some(line) => Error::invalid(format!("{}:{line}: {message}", path.display())),
            None => Error::invalid(format!("{}: {message}", path.display())),
        }
    })
}

/// The array of tables under `key` (`[[package]]`); missing means empty, anything else is an
/// error.
pub fn tables<'a>(doc: &'a Table, key: &str, path: &Path) -> Result<Vec<&'a Table>> {
    let Some(value) = doc.get(key) else {
        return Ok(Vec::new());
    };
    value
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .map(Value::as_table)
                .collect::<Option<Vec<_>>>()
        })
        .ok_or_else(|| {
            Error::invalid(format!(
                "{}: `{key}` is not an array of tables",
                path.display()
            ))
        })
}

/// A string field, if present and a string.
pub fn string<'a>(table: &'a Table, key: &str) -> Option<&'a str> {
    table.get(key).and_then(Value::as_str)
}

/// The `name` of the `index`-th entry of `key`, which every lockfile entry must have.
pub fn name<'a>(table: &'a Table, key: &str, index: usize, path: &Path) -> Result<&'a str> {
    string(table, "name").ok_or_else(|| {
        Error::invalid(format!(
            "{}: {key} #{} has no name",
            path.display(),
            index + 1
        ))
    })
}

/// A canonical one-line text for a value: strings as they are, tables as sorted `key=value`
/// pairs, arrays in order. Used for sources, whose exact spelling in the file must not matter.
pub fn canonical(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Table(table) => {
            let mut pairs: Vec<String> = table
                .iter()
                .map(|(k, v)| format!("{k}={}", canonical(v)))
                .collect();
            pairs.sort();
            format!("{{{}}}", pairs.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

/// The strings of an array value (a missing value, or other items, give none).
pub fn str_array(value: Option<&Value>) -> impl Iterator<Item = &str> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// `items` sorted, duplicates removed: artifact hashes compare as sets.
pub fn sorted_unique(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut items: Vec<String> = items.collect();
    items.sort();
    items.dedup();
    items
}

/// Checks a lockfile's format version: `found` (as written, `None` when the key is missing) must
/// satisfy `supported`; the errors name the file, the format (`what`), where the version lives
/// (`key`) and what is `expected`.
pub fn check_version(
    path: &Path,
    what: &str,
    key: &str,
    found: Option<String>,
    supported: impl Fn(&str) -> bool,
    expected: &str,
) -> Result<()> {
    match found {
        Some(v) if supported(&v) => Ok(()),
        Some(v) => Err(Error::invalid(format!(
            "{}: {what} {key} {v} is not supported (expected {expected})",
            path.display()
        ))),
        None => Err(Error::invalid(format!(
            "{}: not a {what} (no {key})",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_are_one_line_with_file_and_line() {
        let err = parse(
            Path::new("uv.lock"),
            "version = 1\n\n[[package]\nname = \"x\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("uv.lock:3: "), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn canonical_text_ignores_key_order() {
        let a: Table = toml::from_str("s = { url = \"u\", subdirectory = \"d\" }").unwrap();
        let b: Table = toml::from_str("s = { subdirectory = \"d\", url = \"u\" }").unwrap();
        assert_eq!(canonical(&a["s"]), canonical(&b["s"]));
        assert_eq!(canonical(&a["s"]), "{subdirectory=d,url=u}");
    }

    #[test]
    fn tables_rejects_a_non_array() {
        let doc: Table = toml::from_str("package = 3").unwrap();
        assert!(tables(&doc, "package", Path::new("x")).is_err());
        assert!(tables(&doc, "missing", Path::new("x")).unwrap().is_empty());
    }
}
