//! A small Dockerfile parser, just enough for linting: instructions with the line they start on,
//! the `# escape=` directive, line continuations (with comments inside them), shell and exec
//! forms, flags such as `--mount=...`, heredocs (`RUN <<EOF`), and `# strata-ignore` comments.

use crate::error::{Error, Result};

/// The instructions Docker accepts; anything else is a parse error, as in `docker build`.
const KEYWORDS: &[&str] = &[
    "FROM",
    "RUN",
    "CMD",
    "LABEL",
    "MAINTAINER",
    "EXPOSE",
    "ENV",
    "ADD",
    "COPY",
    "ENTRYPOINT",
    "VOLUME",
    "USER",
    "WORKDIR",
    "ARG",
    "ONBUILD",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
];

/// Instructions whose leading `--name=value` words are flags rather than arguments.
const FLAGGED: &[&str] = &["FROM", "RUN", "COPY", "ADD", "HEALTHCHECK"];

/// How an instruction gives its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arguments {
    /// Shell form: the text after the keyword and flags, continuations joined.
    Shell(String),
    /// Exec form: a JSON array of strings.
    Exec(Vec<String>),
}

/// A here-document attached to an instruction (`RUN <<EOF` ... `EOF`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter word.
    pub name: String,
    /// The lines between the marker and the delimiter.
    pub body: String,
}

/// One `--mount=` flag of a `RUN`, reduced to what the lint rules look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// `bind` (the default), `cache`, `tmpfs`, `secret` or `ssh`.
    pub kind: String,
    /// Where the mount appears in the container.
    pub target: String,
    /// The mounted path in the context or in `from`.
    pub source: String,
    /// The stage or image mounted from.
    pub from: Option<String>,
}

/// One instruction, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// The 1-based line the instruction starts on.
    pub line: usize,
    /// The keyword, upper case.
    pub keyword: String,
    /// Leading flags, name without `--`, value empty when none was given.
    pub flags: Vec<(String, String)>,
    /// The arguments after the flags.
    pub args: Arguments,
    /// Here-documents, in order.
    pub heredocs: Vec<Heredoc>,
    /// Rules silenced by `# strata-ignore` comments right above the instruction.
    pub ignores: Vec<String>,
}

impl Instruction {
    /// The value of flag `name` (the last one when repeated).
    pub fn flag(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The arguments as words: exec items, or the shell text split on whitespace with quotes
    /// removed.
    pub fn words(&self) -> Vec<String> {
        match &self.args {
            Arguments::Exec(items) => items.clone(),
            Arguments::Shell(text) => text
                .split_whitespace()
                .map(|w| w.trim_matches(|c| c == '"' || c == '\'').to_string())
                .collect(),
        }
    }

    /// The sources of a `COPY` or `ADD`: every word but the destination, heredocs left out.
    pub fn sources(&self) -> Vec<String> {
        let mut words = self.words();
        words.pop();
        words.retain(|w| !w.starts_with("<<"));
        words
    }

    /// Whether a `COPY` or `ADD` copies the whole build context (`COPY . .`).
    pub fn copies_whole_context(&self) -> bool {
        self.flag("from").is_none()
            && self
                .sources()
                .iter()
                .any(|s| matches!(s.as_str(), "." | "./" | "*" | "./*"))
    }

    /// The `--mount=` flags.
    pub fn mounts(&self) -> Vec<Mount> {
        self.flags
            .iter()
            .filter(|(n, _)| n == "mount")
            .map(|(_, v)| parse_mount(v))
            .collect()
    }
}

fn parse_mount(spec: &str) -> Mount {
    let mut m = Mount {
        kind: "bind".into(),
        target: String::new(),
        source: String::new(),
        from: None,
    };
    for part in spec.split(',') {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        match k.trim() {
            "type" => m.kind = v.to_string(),
            "target" | "dst" | "destination" => m.target = v.to_string(),
            "source" | "src" => m.source = v.to_string(),
            "from" => m.from = Some(v.to_string()),
            _ => {}
        }
    }
    m
}

fn bad(line: usize, msg: impl std::fmt::Display) -> Error {
    Error::invalid(format!("line {line}: {msg}"))
}

/// Reads the parser directives at the top of the file; returns the escape character and the index
/// of the first line after them.
fn directives(lines: &[&str]) -> Result<(char, usize)> {
    let mut escape = '\\';
    for (i, line) in lines.iter().enumerate() {
        let Some((key, value)) = line
            .trim()
            .strip_prefix('#')
            .and_then(|d| d.split_once('='))
        else {
            return Ok((escape, i));
        };
        match key.trim().to_ascii_lowercase().as_str() {
            "escape" => {
                escape = match value.trim() {
                    "\\" => '\\',
                    "`" => '`',
                    other => {
                        return Err(bad(
                            i + 1,
                            format!("escape directive must be \\ or `, not {other:?}"),
                        ))
                    }
                }
            }
            "syntax" | "check" => {}
            _ => return Ok((escape, i)),
        }
    }
    Ok((escape, lines.len()))
}

/// The rules named by a `# strata-ignore RULE[,RULE]` comment.
fn ignore_comment(comment: &str) -> Option<Vec<String>> {
    let rest = comment
        .trim_start_matches('#')
        .trim()
        .strip_prefix("strata-ignore")?;
    Some(
        rest.split([',', ' ', '\t'])
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .collect(),
    )
}

/// Heredoc markers (`<<EOF`, `<<-"EOF"`) in an instruction's text: the word and whether leading
/// tabs are stripped.
fn heredoc_markers(text: &str) -> Vec<(String, bool)> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("<<") {
        rest = &rest[at + 2..];
        if rest.starts_with('<') {
            rest = rest.trim_start_matches('<');
            continue;
        }
        let dash = rest.starts_with('-');
        let word = rest.trim_start_matches('-').trim_start_matches(['"', '\'']);
        let name: String = word
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            found.push((name, dash));
        }
    }
    found
}

/// Splits the leading `--flag[=value]` words off `text`.
fn split_flags(text: &str) -> (Vec<(String, String)>, &str) {
    let mut flags = Vec::new();
    let mut rest = text.trim_start();
    while let Some(flag) = rest.strip_prefix("--") {
        let end = flag.find(char::is_whitespace).unwrap_or(flag.len());
        let (name, value) = flag[..end].split_once('=').unwrap_or((&flag[..end], ""));
        flags.push((name.to_ascii_lowercase(), value.to_string()));
        rest = flag[end..].trim_start();
    }
    (flags, rest)
}

/// Parses a Dockerfile. Errors name the line.
pub fn parse(text: &str) -> Result<Vec<Instruction>> {
    let lines: Vec<&str> = text.lines().collect();
    let (escape, mut i) = directives(&lines)?;
    let mut out = Vec::new();
    let mut ignores = Vec::new();
    while i < lines.len() {
        let trimmed = lines[i].trim();
        if trimmed.is_empty() {
            ignores.clear();
            i += 1;
            continue;
        }
        if trimmed.starts_with('#') {
            ignores.extend(ignore_comment(trimmed).unwrap_or_default());
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut logical = String::new();
        while i < lines.len() {
            let line = lines[i].trim_end();
            i += 1;
            let Some(joined) = line.strip_suffix(escape) else {
                logical.push_str(line);
                break;
            };
            logical.push_str(joined);
            while i < lines.len() && {
                let t = lines[i].trim();
                t.is_empty() || t.starts_with('#')
            } {
                i += 1;
            }
        }
        let logical = logical.trim_start();
        let end = logical.find(char::is_whitespace).unwrap_or(logical.len());
        let keyword = logical[..end].to_ascii_uppercase();
        if !KEYWORDS.contains(&keyword.as_str()) {
            return Err(bad(
                start,
                format!("unknown instruction {:?}", &logical[..end]),
            ));
        }
        let rest = logical[end..].trim();
        let (flags, rest) = if FLAGGED.contains(&keyword.as_str()) {
            split_flags(rest)
        } else {
            (Vec::new(), rest)
        };
        let mut heredocs = Vec::new();
        if matches!(keyword.as_str(), "RUN" | "COPY" | "ADD") {
            for (name, dash) in heredoc_markers(rest) {
                let mut body = String::new();
                loop {
                    let Some(line) = lines.get(i) else {
                        return Err(bad(
                            start,
                            format!("heredoc <<{name} is never closed by a line {name}"),
                        ));
                    };
                    i += 1;
                    let line = if dash {
                        line.trim_start_matches('\t')
                    } else {
                        line
                    };
                    if line.trim_end() == name {
                        break;
                    }
                    body.push_str(line);
                    body.push('\n');
                }
                heredocs.push(Heredoc { name, body });
            }
        }
        let args = match rest
            .starts_with('[')
            .then(|| serde_json::from_str::<Vec<String>>(rest).ok())
            .flatten()
        {
            Some(items) => Arguments::Exec(items),
            None => Arguments::Shell(rest.to_string()),
        };
        out.push(Instruction {
            line: start,
            keyword,
            flags,
            args,
            heredocs,
            ignores: std::mem::take(&mut ignores),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuations_comments_and_lines() {
        let p =
            parse("FROM alpine\n\nRUN apk add \\\n  # a comment\n  curl\nCOPY . /app\n").unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!((p[1].line, p[2].line), (3, 6));
        assert_eq!(p[1].args, Arguments::Shell("apk add   curl".into()));
    }

    #[test]
    fn escape_directive_heredocs_flags_and_exec_form() {
        let text = "# escape=`\nFROM x\nRUN --mount=type=cache,target=/root/.cache/pip <<EOF\npip install a `\nEOF\nCMD [\"a\", \"b\"]\n";
        let p = parse(text).unwrap();
        assert_eq!(p[1].line, 3);
        assert_eq!(p[1].heredocs[0].body, "pip install a `\n");
        assert_eq!(p[1].mounts()[0].kind, "cache");
        assert_eq!(p[2].args, Arguments::Exec(vec!["a".into(), "b".into()]));
        assert_eq!(p[2].line, 6);
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("FROM x\nRUNN y\n").unwrap_err().to_string();
        assert!(e.starts_with("line 2: unknown instruction"), "{e}");
        let e = parse("FROM x\nRUN <<EOF\necho\n").unwrap_err().to_string();
        assert!(e.starts_with("line 2: heredoc <<EOF"), "{e}");
    }

    #[test]
    fn ignore_comments_attach_to_the_next_instruction() {
        let p = parse("# strata-ignore SL001, pip-cache\nFROM x\n\n# unrelated\nRUN y\n").unwrap();
        assert_eq!(p[0].ignores, vec!["SL001", "pip-cache"]);
        assert!(p[1].ignores.is_empty());
    }
}
