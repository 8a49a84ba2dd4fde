//! Lints one Dockerfile: parse, group into stages, run every rule, then drop what the user
//! silenced with `--ignore`, `strata.toml` `[lint] ignore`, or `# strata-ignore` above an
//! instruction.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::dockerfile::parse::parse;
use crate::dockerfile::rules::{lookup, Finding, Rule};
use crate::dockerfile::stages::stages;
use crate::dockerfile::{dependencies, dockerignore, hygiene, packages};
use crate::error::{Error, Result};
use crate::policy::config::locate;

/// What to lint against.
#[derive(Debug, Clone, Default)]
pub struct LintOptions {
    /// The build context (default: the Dockerfile's directory).
    pub context: Option<PathBuf>,
    /// Rules turned off everywhere.
    pub ignore: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
struct RawFile {
    lint: Option<RawLint>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLint {
    #[serde(default)]
    ignore: Vec<String>,
}

/// The rules `strata.toml`'s `[lint] ignore` turns off (the file named, or the nearest one).
pub fn config_ignores(explicit: Option<&Path>) -> Result<Vec<Rule>> {
    let Some(file) = locate(explicit)? else {
        return Ok(Vec::new());
    };
    let text = std::fs::read_to_string(&file).map_err(|e| Error::io(file.display(), e))?;
    let raw: RawFile = toml::from_str(&text)
        .map_err(|e| Error::usage(format!("{}: {}", file.display(), e.message())))?;
    raw.lint
        .map(|l| l.ignore)
        .unwrap_or_default()
        .iter()
        .map(|r| lookup(r).map_err(|e| e.context(format!("{}: [lint] ignore", file.display()))))
        .collect()
}

/// Lints the Dockerfile at `path`; findings name it as `shown`, sorted by line.
pub fn lint_file(path: &Path, shown: &str, options: &LintOptions) -> Result<Vec<Finding>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(shown, e))?;
    let instructions = parse(&text).map_err(|e| e.context(shown))?;
    let mut silenced: Vec<(usize, Rule)> = Vec::new();
    for ins in &instructions {
        for key in &ins.ignores {
            let rule = lookup(key).map_err(|e| e.context(format!("{shown}:{}", ins.line)))?;
            silenced.push((ins.line, rule));
        }
    }
    let stages = stages(instructions).map_err(|e| e.context(shown))?;
    let context = match &options.context {
        Some(dir) => dir.clone(),
        None => path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf(),
    };
    let mut hits = dependencies::check(&stages);
    hits.extend(packages::check(&stages));
    hits.extend(hygiene::check(&stages));
    hits.extend(dockerignore::check(path, &context, &stages));
    hits.retain(|h| !options.ignore.contains(&h.rule) && !silenced.contains(&(h.line, h.rule)));
    hits.sort_by_key(|h| (h.line, h.rule.id));
    Ok(hits.into_iter().map(|h| h.in_file(shown)).collect())
}
