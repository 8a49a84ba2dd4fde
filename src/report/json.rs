//! The JSON document (`schema_version` 1), written whole or not at all: it is rendered into memory
//! first, so an error never leaves half a document on stdout.
//!
//! A name's byte that is not UTF-8 (held escaped, see [`crate::layer::names`]) is written as
//! the lone surrogate `\udcHH` (PEP 383's `surrogateescape`): the JSON stays valid, other text
//! stays exact, and the name's bytes come back exactly with Python's
//! `s.encode("utf-8", "surrogateescape")` (in Rust: every `\uDC80`–`\uDCFF` is one byte).

use std::io;

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, PrettyFormatter};

use crate::error::{Error, Result};
use crate::layer::names;

/// Renders any report as pretty JSON with a trailing newline.
pub fn render<T: Serialize>(value: &T) -> Result<String> {
    let mut out = Vec::with_capacity(4096);
    let formatter = Surrogates {
        pretty: PrettyFormatter::new(),
        nul: false,
    };
    value
        .serialize(&mut serde_json::Serializer::with_formatter(
            &mut out, formatter,
        ))
        .map_err(|e| Error::invalid(format!("rendering JSON: {e}")))?;
    out.push(b'\n');
    // serde_json writes UTF-8, and the escapes are ASCII.
    String::from_utf8(out).map_err(|e| Error::invalid(format!("rendering JSON: {e}")))
}

/// serde_json's pretty formatter, with each escaped byte of a name (a NUL and two hex digits,
/// which serde_json hands over as an escape and then a fragment) written as `\udcHH`.
struct Surrogates<'a> {
    pretty: PrettyFormatter<'a>,
    /// A NUL was met: an escape if the next fragment starts with its two digits.
    nul: bool,
}

impl Surrogates<'_> {
    /// Writes the NUL met before what follows, which does not start an escape.
    fn flush<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        if std::mem::take(&mut self.nul) {
            writer.write_all(b"\\u0000")?;
        }
        Ok(())
    }
}

/// Forwards the layout methods to the pretty formatter.
macro_rules! forward {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $name<W: ?Sized + io::Write>(&mut self, writer: &mut W $(, $arg: $ty)*) -> io::Result<()> {
            self.pretty.$name(writer $(, $arg)*)
        }
    )*};
}

impl Formatter for Surrogates<'_> {
    forward! {
        begin_array();
        end_array();
        begin_array_value(first: bool);
        end_array_value();
        begin_object();
        end_object();
        begin_object_key(first: bool);
        begin_object_value();
        end_object_value();
    }

    fn end_string<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.flush(writer)?;
        writer.write_all(b"\"")
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut rest = fragment;
        if std::mem::take(&mut self.nul) {
            match names::hex_byte(rest) {
                Some(b) => {
                    write!(writer, "\\udc{b:02x}")?;
                    rest = &rest[2..];
                }
                None => writer.write_all(b"\\u0000")?,
            }
        }
        writer.write_all(rest.as_bytes())
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        char_escape: CharEscape,
    ) -> io::Result<()> {
        self.flush(writer)?;
        if matches!(char_escape, CharEscape::AsciiControl(0)) {
            self.nul = true;
            return Ok(());
        }
        self.pretty.write_char_escape(writer, char_escape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_bytes_are_surrogates_and_other_text_is_exact() {
        let name = names::decode(b"a\xff\xe9\"\n");
        let other = "nul\0 then\0ab, \0";
        let json = render(&serde_json::json!({ name.clone(): [name, other] })).unwrap();
        assert_eq!(
            json,
            "{\n  \"a\\udcff\\udce9\\\"\\n\": [\n    \"a\\udcff\\udce9\\\"\\n\",\n    \
             \"nul\\u0000 then\\udcab, \\u0000\"\n  ]\n}\n"
        );
        let plain = serde_json::json!({"k": ["v", 1, null, {"x": true}]});
        assert_eq!(
            render(&plain).unwrap(),
            serde_json::to_string_pretty(&plain).unwrap() + "\n"
        );
    }
}
