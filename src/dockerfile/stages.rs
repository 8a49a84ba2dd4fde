//! Build stages: which instructions belong to which `FROM`, the base each stage starts from
//! (global `ARG`s substituted), and which stages matter. Only the final stage and the stages it is
//! built `FROM` ship their layers; stages it copies or mounts from are built but do not ship.

use std::collections::HashMap;

use crate::dockerfile::parse::Instruction;
use crate::error::{Error, Result};

/// One `FROM` and the instructions after it.
#[derive(Debug, Clone)]
pub struct Stage {
    /// The `FROM` instruction.
    pub from: Instruction,
    /// The `AS` name, lower case.
    pub name: Option<String>,
    /// The base image with global `ARG` defaults substituted.
    pub base: String,
    /// The earlier stage this one is built on, when `base` names one.
    pub base_stage: Option<usize>,
    /// The instructions after `FROM`.
    pub body: Vec<Instruction>,
    /// Its layers end up in the image: the final stage or one it is built `FROM`.
    pub ships: bool,
    /// The final stage depends on it (`FROM`, `COPY --from`, `RUN --mount=from=`), so it is built.
    pub feeds: bool,
}

/// Substitutes `$NAME`, `${NAME}` and `${NAME:-default}` from `args`; unknown names stay as written.
fn substitute(text: &str, args: &HashMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (expr, len) = match after.strip_prefix('{') {
            Some(inner) => match inner.find('}') {
                Some(end) => (&inner[..end], end + 2),
                None => ("", 0),
            },
            None => {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        let (name, default) = expr.split_once(":-").unwrap_or((expr, ""));
        match args.get(name).filter(|v| !v.is_empty()) {
            Some(v) if len > 0 => out.push_str(v),
            None if len > 0 && !default.is_empty() => out.push_str(default),
            _ => out.push_str(&rest[at..at + 1 + len]),
        }
        rest = &rest[at + 1 + len..];
    }
    out.push_str(rest);
    out
}

/// Finds the stage an image or `--from` reference names, among the stages before `before`.
pub fn stage_named(stages: &[Stage], before: usize, reference: &str) -> Option<usize> {
    let lower = reference.to_ascii_lowercase();
    stages[..before]
        .iter()
        .position(|s| s.name.as_deref() == Some(lower.as_str()))
        .or_else(|| lower.parse::<usize>().ok().filter(|i| *i < before))
}

/// The stages a stage reads from besides its base: `COPY --from` and `RUN --mount=from=`.
fn copied_from(stages: &[Stage], index: usize) -> Vec<usize> {
    let stage = &stages[index];
    let copies = stage
        .body
        .iter()
        .filter_map(|i| i.flag("from").map(str::to_string));
    let mounts = stage
        .body
        .iter()
        .flat_map(Instruction::mounts)
        .filter_map(|m| m.from);
    copies
        .chain(mounts)
        .filter_map(|r| stage_named(stages, index, &r))
        .collect()
}

/// Groups instructions into stages and marks which ship and which feed the final stage.
pub fn stages(instructions: Vec<Instruction>) -> Result<Vec<Stage>> {
    let mut args = HashMap::new();
    let mut stages: Vec<Stage> = Vec::new();
    for ins in instructions {
        if ins.keyword == "FROM" {
            let words = ins.words();
            let (image, name) = match words.as_slice() {
                [image] => (image, None),
                [image, as_, name] if as_.eq_ignore_ascii_case("as") => {
                    (image, Some(name.to_ascii_lowercase()))
                }
                _ => {
                    return Err(Error::invalid(format!(
                        "line {}: FROM takes an image and optionally AS NAME",
                        ins.line
                    )))
                }
            };
            let base = substitute(image, &args);
            let base_stage =
                stage_named(&stages, stages.len(), &base).filter(|i| stages[*i].name.is_some());
            stages.push(Stage {
                from: ins,
                name,
                base,
                base_stage,
                body: Vec::new(),
                ships: false,
                feeds: false,
            });
        } else if let Some(stage) = stages.last_mut() {
            stage.body.push(ins);
        } else if ins.keyword == "ARG" {
            for w in ins.words() {
                let (k, v) = w.split_once('=').unwrap_or((&w, ""));
                args.insert(k.to_string(), v.to_string());
            }
        } else {
            return Err(Error::invalid(format!(
                "line {}: {} before the first FROM",
                ins.line, ins.keyword
            )));
        }
    }
    let Some(last) = stages.len().checked_sub(1) else {
        return Err(Error::invalid("no FROM instruction"));
    };
    let mut todo = vec![(last, true)];
    while let Some((i, ships)) = todo.pop() {
        if stages[i].feeds && (stages[i].ships || !ships) {
            continue;
        }
        stages[i].feeds = true;
        stages[i].ships |= ships;
        if let Some(base) = stages[i].base_stage {
            todo.push((base, ships));
        }
        todo.extend(copied_from(&stages, i).into_iter().map(|s| (s, false)));
    }
    Ok(stages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile::parse::parse;

    #[test]
    fn final_stage_and_its_bases_ship_copied_stages_feed_unused_ones_neither() {
        let text = "ARG PY=3.12\nFROM python:${PY}-slim AS base\nFROM base AS deps\nFROM rust AS tool\nFROM alpine AS unused\nFROM deps\nCOPY --from=tool /x /x\n";
        let s = stages(parse(text).unwrap()).unwrap();
        assert_eq!(s[0].base, "python:3.12-slim");
        let flags: Vec<(bool, bool)> = s.iter().map(|s| (s.ships, s.feeds)).collect();
        assert_eq!(
            flags,
            vec![
                (true, true),
                (true, true),
                (false, true),
                (false, false),
                (true, true)
            ]
        );
    }

    #[test]
    fn substitution_keeps_unknown_names_and_uses_defaults() {
        let args = HashMap::from([("A".to_string(), "1".to_string())]);
        assert_eq!(substitute("x:$A-${B:-2}-$C", &args), "x:1-2-$C");
    }
}
