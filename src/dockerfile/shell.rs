//! Just enough shell to read a `RUN` line: split the script into simple commands (at `&&`, `||`,
//! `;`, `|`, newlines, parentheses), honour quotes and escaped newlines, and set leading
//! `NAME=value` assignments and wrappers (`sudo`, `env`) apart from the command's words.

use crate::dockerfile::parse::{Arguments, Instruction};

/// One simple command of a script.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Command {
    /// `NAME=value` assignments in front of the command.
    pub env: Vec<(String, String)>,
    /// The program and its arguments.
    pub words: Vec<String>,
}

impl Command {
    /// The program's file name (`/usr/bin/pip3` → `pip3`), empty for an empty command.
    pub fn program(&self) -> &str {
        self.words
            .first()
            .map_or("", |w| w.rsplit('/').next().unwrap_or(w))
    }

    /// The words after the program that are not options.
    pub fn operands(&self) -> impl Iterator<Item = &str> {
        self.words
            .iter()
            .skip(1)
            .map(String::as_str)
            .filter(|w| !w.starts_with('-'))
    }

    /// The first operand (the subcommand of `apt-get`, `pip`, `npm`, ...).
    pub fn subcommand(&self) -> Option<&str> {
        self.operands().next()
    }

    /// Whether any word is `option` or `option=...`.
    pub fn has(&self, option: &str) -> bool {
        self.words
            .iter()
            .any(|w| w == option || w.strip_prefix(option).is_some_and(|r| r.starts_with('=')))
    }
}

fn is_assignment(word: &str) -> Option<(String, String)> {
    let (name, value) = word.split_once('=')?;
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then(|| (name.to_string(), value.to_string()))
}

fn finish(words: &mut Vec<String>, out: &mut Vec<Command>) {
    let mut cmd = Command::default();
    let mut rest = std::mem::take(words).into_iter().peekable();
    while let Some(w) = rest.peek() {
        if let Some(pair) = is_assignment(w) {
            cmd.env.push(pair);
            rest.next();
        } else if matches!(
            w.as_str(),
            "sudo" | "env" | "exec" | "time" | "then" | "do" | "else"
        ) {
            rest.next();
        } else {
            break;
        }
    }
    cmd.words = rest.collect();
    if !cmd.words.is_empty() {
        out.push(cmd);
    }
}

/// Splits a script into its simple commands.
pub fn commands(script: &str) -> Vec<Command> {
    let mut out = Vec::new();
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut chars = script.chars().peekable();
    let push_word = |word: &mut String, words: &mut Vec<String>| {
        if !word.is_empty() {
            words.push(std::mem::take(word));
        }
    };
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => word.extend(chars.next()),
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => quote = Some(c),
            (None, '\\') => match chars.next() {
                Some('\n') | None => {}
                Some(next) => word.push(next),
            },
            (None, '#') if word.is_empty() => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                push_word(&mut word, &mut words);
                finish(&mut words, &mut out);
            }
            (None, ';' | '&' | '|' | '\n' | '(' | ')' | '`') => {
                push_word(&mut word, &mut words);
                finish(&mut words, &mut out);
            }
            (None, c) if c.is_whitespace() => push_word(&mut word, &mut words),
            (None, c) => word.push(c),
        }
    }
    push_word(&mut word, &mut words);
    finish(&mut words, &mut out);
    out
}

/// The shell script a `RUN` executes: its shell-form text, the `-c` argument of an exec-form
/// `sh -c`, and the bodies of heredocs fed to a shell.
pub fn run_script(run: &Instruction) -> String {
    match &run.args {
        Arguments::Exec(items) => match items.as_slice() {
            [shell, flag, script, ..] if shell.ends_with("sh") && flag == "-c" => script.clone(),
            _ => items.join(" "),
        },
        Arguments::Shell(text) => {
            let first = text.split_whitespace().next().unwrap_or_default();
            let fed_to_shell =
                first.starts_with("<<") || matches!(first, "sh" | "bash" | "/bin/sh" | "/bin/bash");
            let mut script = text.clone();
            if fed_to_shell {
                for doc in &run.heredocs {
                    script.push('\n');
                    script.push_str(&doc.body);
                }
            }
            script
        }
    }
}

/// The simple commands of a `RUN`.
pub fn run_commands(run: &Instruction) -> Vec<Command> {
    commands(&run_script(run))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_commands_assignments_and_quotes() {
        let c = commands("apt-get update && PIP_NO_CACHE_DIR=1 sudo pip install 'a b' \\\n c; rm -rf /x # gone\necho");
        assert_eq!(c.len(), 4);
        assert_eq!(c[1].env, vec![("PIP_NO_CACHE_DIR".into(), "1".into())]);
        assert_eq!(c[1].words, vec!["pip", "install", "a b", "c"]);
        assert_eq!(c[1].subcommand(), Some("install"));
        assert_eq!(c[2].program(), "rm");
        assert_eq!(c[3].words, vec!["echo"]);
    }
}
