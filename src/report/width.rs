//! How wide terminal output may be, and text fitted to it: every table is drawn at most
//! [`output_width`] columns wide (cells wrap), every other line of a table-format document is
//! wrapped to it ([`fit_lines`]), and a cell is elided before it reaches the table ([`cell`]), so
//! one huge path cannot make drawing slow. JSON, Markdown and HTML keep everything.

use crate::report::escape;

/// The width when neither `COLUMNS` nor a terminal says: what most terminals and CI logs show.
pub const DEFAULT_WIDTH: usize = 120;

/// The narrowest width honoured: below it no table of strata's fits anyway.
const MIN_WIDTH: usize = 40;

/// The most characters a table cell keeps: enough for any real path or message, few enough
/// that wrapping it stays cheap (wrapping a long word is quadratic in its length).
pub const MAX_CELL_CHARS: usize = 400;

/// The columns text output may use: `COLUMNS` when it is a number, else the terminal's width
/// when stdout is one, else [`DEFAULT_WIDTH`].
pub fn output_width() -> usize {
    let from_env = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0);
    // comfy-table asks the terminal (and answers None when stdout is not one).
    let terminal = || comfy_table::Table::new().width().map(usize::from);
    from_env
        .or_else(terminal)
        .unwrap_or(DEFAULT_WIDTH)
        .max(MIN_WIDTH)
}

/// `text` as a table cell: its control characters escaped for the terminal
/// ([`escape::terminal`]), then at most [`MAX_CELL_CHARS`] characters, the middle elided with `…`
/// (a path keeps its start and its file name).
pub fn cell(text: &str) -> String {
    elide_middle(&escape::terminal(text), MAX_CELL_CHARS)
}

/// `text` cut to `max` characters by replacing its middle with `…`.
fn elide_middle(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_string();
    }
    let keep = max.saturating_sub(1);
    let head = keep - keep / 2;
    let tail = keep / 2;
    let mut out: String = text.chars().take(head).collect();
    out.push('…');
    out.extend(text.chars().skip(count - tail));
    out
}

/// `text` with every line longer than `width` wrapped at spaces (continuation lines indented
/// two more than the line), a word longer than a line split; lines of drawn tables (starting
/// with a box-drawing character), already fitted by the table, are kept as they are.
pub fn fit_lines(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        if body.chars().count() <= width || is_table_line(body) {
            out.push_str(line);
            continue;
        }
        wrap_line(body, width, &mut out);
        out.push_str(newline);
    }
    out
}

/// Whether `line` is drawn by a table (borders are U+2500..U+257F, box drawing).
fn is_table_line(line: &str) -> bool {
    line.chars()
        .next()
        .is_some_and(|c| ('\u{2500}'..='\u{257f}').contains(&c))
}

/// Appends `line` wrapped to `width` to `out`, its pieces joined by newlines.
fn wrap_line(line: &str, width: usize, out: &mut String) {
    let indent = (line.len() - line.trim_start_matches(' ').len()).min(width / 2);
    let continuation = (indent + 2).min(width / 2);
    let mut current = " ".repeat(indent);
    // Characters in `current`; 0 words in it means the next word needs no space before it.
    let mut current_len = indent;
    let mut words_in_line = 0;
    for word in line.trim_start_matches(' ').split(' ') {
        let mut rest = word;
        let mut rest_len = word.chars().count();
        if words_in_line > 0 && current_len + 1 + rest_len > width {
            out.push_str(&current);
            out.push('\n');
            current = " ".repeat(continuation);
            current_len = continuation;
            words_in_line = 0;
        }
        if words_in_line > 0 {
            current.push(' ');
            current_len += 1;
        }
        // A word longer than a whole line is split (only at the start of a line does one get
        // here too long).
        while current_len + rest_len > width {
            let room = width - current_len;
            let split = rest.char_indices().nth(room).map_or(rest.len(), |(i, _)| i);
            out.push_str(&current);
            out.push_str(&rest[..split]);
            out.push('\n');
            current = " ".repeat(continuation);
            current_len = continuation;
            rest = &rest[split..];
            rest_len -= room;
        }
        current.push_str(rest);
        current_len += rest_len;
        words_in_line += 1;
    }
    out.push_str(&current);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widest(text: &str) -> usize {
        text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
    }

    #[test]
    fn long_lines_wrap_at_spaces_and_keep_every_word() {
        let line = format!("Net reclaimable 1 GB: {}", "rule-name 12.5 MB, ".repeat(20));
        let fitted = fit_lines(&format!("short\n{line}\nend\n"), 60);
        assert!(widest(&fitted) <= 60, "{fitted}");
        assert!(fitted.starts_with("short\n") && fitted.ends_with("\nend\n"));
        let words = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert_eq!(words(&fitted), words(&format!("short {line} end")));
        assert!(fitted.lines().nth(2).unwrap().starts_with("  "), "{fitted}");
    }

    #[test]
    fn a_word_longer_than_the_line_is_split_and_tables_are_kept() {
        let path = "x".repeat(250);
        let fitted = fit_lines(&format!("Image      oci:/{path}\n"), 100);
        assert!(widest(&fitted) <= 100, "{fitted}");
        assert_eq!(fitted.chars().filter(|c| *c == 'x').count(), 250);
        let table = format!("│ {} │\n", "y".repeat(200));
        assert_eq!(fit_lines(&table, 100), table);
    }

    #[test]
    fn huge_cells_are_elided_in_the_middle() {
        let long = format!("/usr/{}/libfoo.so", "a/".repeat(100_000));
        let short = cell(&long);
        assert_eq!(short.chars().count(), MAX_CELL_CHARS);
        assert!(short.starts_with("/usr/a/") && short.ends_with("/libfoo.so"));
        assert!(short.contains('…'));
        assert_eq!(cell("/app/main.py"), "/app/main.py");
    }
}
