//! The format × command matrix, declared once per command: each command's result is a
//! [`Document`] that names the [`Format`]s it renders, and [`render`] is the one place a format is
//! chosen. The command line builds its `--format` parser and help text from the same declaration
//! ([`parse`], [`help`]), so `--help` offers exactly what renders.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::report::{json, width};

/// Every output format some command renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human tables (the default of every command).
    Table,
    /// The versioned JSON document.
    Json,
    /// GitHub-flavoured Markdown, for PR comments and `$GITHUB_STEP_SUMMARY`.
    Markdown,
    /// One self-contained HTML page with charts.
    Html,
    /// JUnit XML, one test case per rule, for GitLab and Jenkins.
    Junit,
    /// GitHub Actions workflow commands (`::error file=…`), one annotation per finding.
    Github,
}

impl Format {
    /// Every format, in the order help text lists them.
    pub const ALL: [Format; 6] = [
        Format::Table,
        Format::Json,
        Format::Markdown,
        Format::Html,
        Format::Junit,
        Format::Github,
    ];

    /// The name `--format` takes.
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::Junit => "junit",
            Format::Github => "github",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = Error;

    /// Any format's name (`md` is markdown); which command renders it is [`parse`]'s question.
    fn from_str(s: &str) -> Result<Self> {
        if s == "md" {
            return Ok(Format::Markdown);
        }
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| unknown(s, &Format::ALL))
    }
}

/// A command's result, and the formats it can be rendered in.
pub trait Document {
    /// The subcommand whose result this is, for messages (`strata COMMAND has no … format`).
    const COMMAND: &'static str;
    /// The formats [`Document::draw`] renders, table first (the default).
    const FORMATS: &'static [Format];

    /// Renders the document in `format`, one of [`Document::FORMATS`]. Call [`render`], which
    /// refuses the others first.
    fn draw(&self, format: Format) -> Result<String>;

    /// The refusal of a format this document does not render, for `draw`'s last arm.
    fn refused(format: Format) -> Error
    where
        Self: Sized,
    {
        unsupported(Self::COMMAND, format, Self::FORMATS)
    }
}

/// Renders `doc` in `format`, or refuses a format it does not declare with a usage error (exit 2)
/// naming the ones it does. A table is fitted to the output's width (`COLUMNS`, the terminal);
/// the other formats keep every character.
pub fn render<D: Document>(doc: &D, format: Format) -> Result<String> {
    supported::<D>(format)?;
    let drawn = doc.draw(format)?;
    Ok(match format {
        Format::Table => width::fit_lines(&drawn, width::output_width()),
        _ => drawn,
    })
}

/// The formats of a document that is also a page: `report`, `diff`, `history`.
pub const PAGE: &[Format] = &[Format::Table, Format::Json, Format::Markdown, Format::Html];

/// The formats of a verdict CI reads: `check`, `lint`.
pub const VERDICT: &[Format] = &[
    Format::Table,
    Format::Json,
    Format::Markdown,
    Format::Junit,
    Format::Github,
];

/// [`Document::draw`] of a [`PAGE`] document: these renderers, and JSON its serialization.
pub fn draw_page<D: Document + Serialize>(
    doc: &D,
    format: Format,
    table: impl Fn(&D) -> String,
    markdown: impl Fn(&D) -> String,
    html: impl Fn(&D) -> String,
) -> Result<String> {
    match format {
        Format::Table => Ok(table(doc)),
        Format::Json => json::render(doc),
        Format::Markdown => Ok(markdown(doc)),
        Format::Html => Ok(html(doc)),
        other => Err(D::refused(other)),
    }
}

/// The text renderers of a [`VERDICT`] document, JSON being its serialization.
pub struct Verdict<T, M, J, G> {
    /// The table for people.
    pub table: T,
    /// Markdown for `$GITHUB_STEP_SUMMARY`.
    pub markdown: M,
    /// JUnit XML.
    pub junit: J,
    /// GitHub annotations.
    pub github: G,
}

/// [`Document::draw`] of a [`VERDICT`] document.
pub fn draw_verdict<D, T, M, J, G>(
    doc: &D,
    format: Format,
    text: Verdict<T, M, J, G>,
) -> Result<String>
where
    D: Document + Serialize,
    T: Fn(&D) -> String,
    M: Fn(&D) -> String,
    J: Fn(&D) -> String,
    G: Fn(&D) -> String,
{
    match format {
        Format::Table => Ok((text.table)(doc)),
        Format::Json => json::render(doc),
        Format::Markdown => Ok((text.markdown)(doc)),
        Format::Junit => Ok((text.junit)(doc)),
        Format::Github => Ok((text.github)(doc)),
        other => Err(D::refused(other)),
    }
}

/// `format` when `D` renders it, else the usage error [`render`] would give.
pub fn supported<D: Document>(format: Format) -> Result<Format> {
    if D::FORMATS.contains(&format) {
        Ok(format)
    } else {
        Err(D::refused(format))
    }
}

/// Parses a `--format` value for `D`'s command: an unknown name and a known one `D` does not
/// render are both refused, each naming the formats that work.
pub fn parse<D: Document>(s: &str) -> Result<Format> {
    let format = s.parse::<Format>().map_err(|_| unknown(s, D::FORMATS))?;
    supported::<D>(format)
}

/// The help line of `--format` for `D`'s command.
pub fn help<D: Document>() -> String {
    format!("Output format: {}", list(D::FORMATS))
}

/// The refusal of `format` by `command`, which renders `formats`.
pub fn unsupported(command: &str, format: Format, formats: &[Format]) -> Error {
    Error::usage(format!(
        "strata {command} has no {format} format: use {}",
        list(formats)
    ))
}

fn unknown(s: &str, formats: &[Format]) -> Error {
    Error::usage(format!("unknown format {s:?}: expected {}", list(formats)))
}

/// `table, json or markdown`.
fn list(formats: &[Format]) -> String {
    let names: Vec<&str> = formats.iter().map(|f| f.name()).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Summary;

    impl Document for Summary {
        const COMMAND: &'static str = "copy";
        const FORMATS: &'static [Format] = &[Format::Table, Format::Json];

        fn draw(&self, format: Format) -> Result<String> {
            match format {
                Format::Table => Ok("copied\n".into()),
                Format::Json => Ok("{}\n".into()),
                other => Err(Self::refused(other)),
            }
        }
    }

    #[test]
    fn a_declared_format_renders_and_the_others_are_refused_by_name() {
        assert_eq!(render(&Summary, Format::Table).unwrap(), "copied\n");
        let e = render(&Summary, Format::Markdown).unwrap_err();
        assert_eq!(e.exit_code().code(), 2);
        assert_eq!(
            e.to_string(),
            "strata copy has no markdown format: use table or json"
        );
    }

    #[test]
    fn parsing_names_the_formats_of_the_command() {
        assert_eq!(parse::<Summary>("json").unwrap(), Format::Json);
        assert_eq!(
            parse::<Summary>("pdf").unwrap_err().to_string(),
            "unknown format \"pdf\": expected table or json"
        );
        assert!(parse::<Summary>("html")
            .unwrap_err()
            .to_string()
            .starts_with("strata copy has no html format"));
        assert_eq!(help::<Summary>(), "Output format: table or json");
    }

    #[test]
    fn every_name_parses_back_to_its_format() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>().unwrap(), f);
        }
        assert_eq!("md".parse::<Format>().unwrap(), Format::Markdown);
    }
}
