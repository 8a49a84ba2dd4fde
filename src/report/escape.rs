//! Escaping for every sink strata prints image data into, one function per sink: a terminal
//! ([`terminal`]), Markdown text and code spans ([`markdown_text`], [`markdown_code`]) for pull
//! requests and `$GITHUB_STEP_SUMMARY`, GitHub Actions workflow commands ([`github_data`],
//! [`github_property`]) and JUnit XML ([`junit`]; [`xml_escape`] is also the HTML escaper). File names, link targets, history,
//! labels and tags come from images anyone can build: without these, an ESC sequence in a file
//! name retitles or clears a terminal, and a newline followed by `::error` becomes a workflow
//! command in a CI log. JSON (serde) and HTML (its own escaper) keep every character exact.
//!
//! A name's bytes that are not UTF-8 (held escaped, see [`crate::layer::names`]) are written as
//! `\xHH` in every sink here (JSON writes them as `\udcHH`, `report::json`).

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::layer::names::{self, Piece};

/// One unit of text to escape: a character, or a byte of a name that is not UTF-8.
enum Unit {
    Char(char),
    Byte(u8),
}

/// The characters and bytes of `s`, in order.
fn units(s: &str) -> impl Iterator<Item = Unit> + '_ {
    names::pieces(s).flat_map(|piece| {
        let (text, byte) = match piece {
            Piece::Text(text) => (text, None),
            Piece::Byte(b) => ("", Some(b)),
        };
        text.chars().map(Unit::Char).chain(byte.map(Unit::Byte))
    })
}

/// Appends a byte that is not UTF-8 as `\xHH`.
fn push_byte(out: &mut String, b: u8) {
    let _ = write!(out, "\\x{b:02x}");
}

/// Appends `s` to `out`: each byte of a name that is not UTF-8 as `\xHH`, each character as
/// `push_char` writes it.
fn push_units(out: &mut String, s: &str, mut push_char: impl FnMut(&mut String, char)) {
    for unit in units(s) {
        match unit {
            Unit::Byte(b) => push_byte(out, b),
            Unit::Char(c) => push_char(out, c),
        }
    }
}

/// Whether `c` must not reach a terminal raw: C0 controls (ESC, BEL, CR, LF, TAB, …), DEL, C1
/// controls (U+0080–U+009F, which some terminals obey like ESC sequences), and the bidirectional
/// overrides and isolates that reorder what a line shows (U+202A–U+202E, U+2066–U+2069).
fn unsafe_for_terminal(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Appends `c`, one of [`unsafe_for_terminal`]'s characters, as an escape: `\n`, `\r`, `\t`,
/// `\x1b` for the other ASCII controls, `\u{9b}` above ASCII.
fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if c.is_ascii() => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// `s` for a terminal or a plain-text log: every control character written as an escape
/// (`\x1b`, `\x07`, `\n`, `\r`, `\t`, `\x7f`, `\u{9b}`), so one field is one line and cannot
/// move the cursor, set a title or change colours. Other text, backslashes included, is kept.
pub fn terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(unsafe_for_terminal) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    push_units(&mut out, s, |out, c| {
        if unsafe_for_terminal(c) {
            push_escaped(out, c);
        } else {
            out.push(c);
        }
    });
    Cow::Owned(out)
}

/// `s` as Markdown prose (a table cell, a list item), such as strata's messages, which mark
/// commands and paths as code spans and hold image data: [`terminal`]'s escapes; outside code
/// spans a backslash before `\`, `|`, `[`, `]`, `<` and `>`, so no link, image or inline HTML
/// can start and the cell cannot end; inside a span (a backtick run closed by one as long, as
/// CommonMark pairs them) only `|`, as [`markdown_code`] does. An unpaired backtick is text.
/// Emphasis is left alone: at worst a name renders in italics.
pub fn markdown_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut rest = s;
    while let Some(open) = rest.find('`') {
        let (before, from) = rest.split_at(open);
        push_prose(&mut out, before);
        let run = from.len() - from.trim_start_matches('`').len();
        let (fence, after) = from.split_at(run);
        match closing_run(after, run) {
            Some(close) => {
                out.push_str(fence);
                push_span(&mut out, &after[..close]);
                out.push_str(fence);
                rest = &after[close + run..];
            }
            None => {
                push_prose(&mut out, fence);
                rest = after;
            }
        }
    }
    push_prose(&mut out, rest);
    out
}

/// Where in `s` a run of exactly `run` backticks starts (the end of a code span), if anywhere.
fn closing_run(s: &str, run: usize) -> Option<usize> {
    let mut i = 0;
    while let Some(found) = s[i..].find('`') {
        let at = i + found;
        let len = s[at..].len() - s[at..].trim_start_matches('`').len();
        if len == run {
            return Some(at);
        }
        i = at + len;
    }
    None
}

/// Appends Markdown text outside a code span: its markup characters backslash-escaped, its
/// control characters as [`terminal`] writes them.
fn push_prose(out: &mut String, text: &str) {
    push_units(out, text, |out, c| {
        if unsafe_for_terminal(c) {
            push_escaped(out, c);
            return;
        }
        if matches!(c, '\\' | '|' | '`' | '[' | ']' | '<' | '>') {
            out.push('\\');
        }
        out.push(c);
    });
}

/// Appends the inside of a code span: control characters as [`terminal`] writes them, `|` as
/// `\|` (GitHub's tables read it before the span), a backslash run in front of it made even so
/// the pipe stays escaped.
fn push_span(out: &mut String, text: &str) {
    let mut backslashes = 0usize;
    for unit in units(text) {
        let c = match unit {
            Unit::Byte(b) => {
                push_byte(out, b);
                backslashes = 0;
                continue;
            }
            Unit::Char(c) => c,
        };
        if unsafe_for_terminal(c) {
            push_escaped(out, c);
        } else if c == '|' {
            if backslashes % 2 == 1 {
                out.push('\\');
            }
            out.push_str("\\|");
        } else {
            out.push(c);
        }
        backslashes = if c == '\\' { backslashes + 1 } else { 0 };
    }
}

/// `s` as a Markdown code span, delimiters included: [`terminal`]'s escapes, a fence of one
/// backtick more than the longest run inside (padded with spaces when the text starts or ends
/// with one; an empty text is a span of one space), and `|` as [`push_span`] writes it.
pub fn markdown_code(s: &str) -> String {
    let mut body = String::with_capacity(s.len() + 4);
    push_span(&mut body, s);
    let longest_run = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    if body.is_empty() {
        return "` `".into();
    }
    let pad = if body.starts_with('`') || body.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{body}{pad}{fence}")
}

/// `s` as the message of a GitHub Actions workflow command (`::error …::MESSAGE`), escaped as the
/// runner documents (`%` → `%25`, CR → `%0D`, LF → `%0A`), so no newline can put a `::` command
/// at the start of a log line; the other control characters as [`terminal`] writes them.
pub fn github_data(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    push_units(&mut out, s, |out, c| match c {
        '%' => out.push_str("%25"),
        '\r' => out.push_str("%0D"),
        '\n' => out.push_str("%0A"),
        c if unsafe_for_terminal(c) => push_escaped(out, c),
        c => out.push(c),
    });
    out
}

/// `s` as a property of a GitHub Actions workflow command (`file=`, `title=`): [`github_data`]
/// plus `:` → `%3A` and `,` → `%2C`, which would end the property list or the property.
pub fn github_property(s: &str) -> String {
    github_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Escapes text for XML attributes and content (JUnit reports); the control characters XML 1.0
/// cannot hold become spaces, a name's bytes that are not UTF-8 `\xHH`.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_units(&mut out, s, push_xml);
    out
}

/// Appends `c` as XML text ([`xml_escape`]).
fn push_xml(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&apos;"),
        c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push(' '),
        c => out.push(c),
    }
}

/// `s` as text of a JUnit report, which CI often prints into its log: [`xml_escape`], and the
/// line breaks, tabs, DEL and C1 controls an image's names may hold written as character
/// references (`&#10;`), so a name stays on its line and an XML reader still gets it exact.
pub fn junit(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    push_units(&mut out, s, |out, c| match c {
        '\n' | '\r' | '\t' | '\u{7f}'..='\u{9f}' => {
            let _ = write!(out, "&#{};", c as u32);
        }
        c => push_xml(out, c),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "a\x1b]0;pwn\x07b\nc\rd\te\x7ff\u{9b}g\u{202e}h";

    #[test]
    fn terminal_writes_every_control_character_as_an_escape() {
        assert_eq!(
            terminal(HOSTILE),
            "a\\x1b]0;pwn\\x07b\\nc\\rd\\te\\x7ff\\u{9b}g\\u{202e}h"
        );
        assert!(!terminal(HOSTILE).chars().any(unsafe_for_terminal));
        assert!(matches!(terminal("/usr/lib/x86_64 ü\\"), Cow::Borrowed(_)));
        assert_eq!(terminal("\0\x01\x1f"), "\\x00\\x01\\x1f");
    }

    #[test]
    fn markdown_text_cannot_end_a_cell_or_start_markup() {
        assert_eq!(
            markdown_text("a|b *d* _e_ [f](g) <img> \\"),
            "a\\|b *d* _e_ \\[f\\](g) \\<img\\> \\\\"
        );
        // strata's own code spans stay spans, their inside kept but for the pipe.
        assert_eq!(
            markdown_text("use `CMD [\"/x|y\"]` or <b>"),
            "use `CMD [\"/x\\|y\"]` or \\<b\\>"
        );
        // An unpaired backtick is text: what follows it is still escaped.
        assert_eq!(markdown_text("a`b <img>"), "a\\`b \\<img\\>");
        assert_eq!(markdown_text("``a` <i>``"), "``a` <i>``");
        assert_eq!(markdown_text("x\n::error::y\x1b"), "x\\n::error::y\\x1b");
        // A backslash before a pipe cannot un-escape it: the run stays even.
        assert_eq!(markdown_text("a\\|b"), "a\\\\\\|b");
    }

    #[test]
    fn markdown_code_spans_hold_backticks_pipes_and_controls() {
        assert_eq!(markdown_code("/app/x"), "`/app/x`");
        assert_eq!(markdown_code("a`b"), "``a`b``");
        assert_eq!(markdown_code("``x"), "``` ``x ```");
        assert_eq!(markdown_code(""), "` `");
        assert_eq!(markdown_code("a|b"), "`a\\|b`");
        assert_eq!(markdown_code("a\\|b"), "`a\\\\\\|b`");
        assert_eq!(markdown_code("a\\\\|b"), "`a\\\\\\|b`");
        assert_eq!(
            markdown_code("x\n::error file=x::owned"),
            "`x\\n::error file=x::owned`"
        );
        assert_eq!(markdown_code("\x1b[2J"), "`\\x1b[2J`");
    }

    #[test]
    fn github_data_is_escaped_as_the_runner_reads_it() {
        assert_eq!(
            github_data("100% a\r\nb\n::error file=x::owned\x1b"),
            "100%25 a%0D%0Ab%0A::error file=x::owned\\x1b"
        );
        assert!(!github_data(HOSTILE).contains('\n'));
    }

    #[test]
    fn github_properties_also_escape_colons_and_commas() {
        assert_eq!(github_property("a,b:c%\nd"), "a%2Cb%3Ac%25%0Ad");
    }

    #[test]
    fn junit_text_keeps_every_name_on_its_line() {
        assert_eq!(
            junit("a\n::error::x\r\t\u{9b}<&>\x1b"),
            "a&#10;::error::x&#13;&#9;&#155;&lt;&amp;&gt; "
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_are_written_as_hex_in_every_sink() {
        let name = names::decode(b"a\xff|b\xe9`\0ff");
        assert_eq!(terminal(&name), "a\\xff|b\\xe9`");
        assert_eq!(markdown_text(&name), "a\\xff\\|b\\xe9\\`");
        assert_eq!(markdown_code(&name), "`` a\\xff\\|b\\xe9` ``");
        assert_eq!(github_data(&name), "a\\xff|b\\xe9`");
        assert_eq!(xml_escape(&name), "a\\xff|b\\xe9`");
        assert_eq!(junit(&name), "a\\xff|b\\xe9`");
        // A NUL in other text that starts no escape stays a control character.
        assert_eq!(terminal("x\0y"), "x\\x00y");
    }

    #[test]
    fn xml_keeps_markup_out_and_drops_what_xml_cannot_hold() {
        assert_eq!(
            xml_escape("<a href=\"x\">&'\x1b\x07\n"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;  \n"
        );
    }
}
