//! SL010: when the whole context is copied, `.dockerignore` decides what lands in the layer. Build
//! output (`target/`), virtualenvs (`.venv`) and `.git` change on every build, bust the cache and
//! add bytes. Looks for `<Dockerfile>.dockerignore` next to the Dockerfile, then
//! `<context>/.dockerignore`, as BuildKit does.

use std::path::Path;

use globset::Glob;

use crate::dockerfile::rules::{Hit, DOCKERIGNORE};
use crate::dockerfile::stages::Stage;

/// Whether the ignore file's patterns exclude `name` (the last matching pattern wins, `!`
/// re-includes).
fn excludes(patterns: &str, name: &str) -> bool {
    let mut excluded = false;
    for line in patterns.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (include, pattern) = match line.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, line),
        };
        let pattern = pattern
            .trim_start_matches("./")
            .trim_start_matches('/')
            .trim_end_matches("/**")
            .trim_end_matches('/');
        let matched = Glob::new(pattern).is_ok_and(|g| g.compile_matcher().is_match(name));
        if matched {
            excluded = !include;
        }
    }
    excluded
}

/// The directories a context should keep out: `.git` always, `target` for Rust, `.venv` for Python.
fn expected(context: &Path) -> Vec<&'static str> {
    let has = |p: &str| context.join(p).exists();
    let mut names = vec![".git"];
    if has("Cargo.toml") || has("target") {
        names.push("target");
    }
    if has(".venv") || has("pyproject.toml") || has("requirements.txt") {
        names.push(".venv");
    }
    names
}

/// The rule for one Dockerfile built with `context`.
pub fn check(dockerfile: &Path, context: &Path, stages: &[Stage]) -> Option<Hit> {
    let copy = stages
        .iter()
        .filter(|s| s.feeds)
        .flat_map(|s| &s.body)
        .find(|i| matches!(i.keyword.as_str(), "COPY" | "ADD") && i.copies_whole_context())?;
    let own = dockerfile
        .file_name()
        .map(|n| dockerfile.with_file_name(format!("{}.dockerignore", n.to_string_lossy())));
    let file = own
        .filter(|p| p.is_file())
        .unwrap_or_else(|| context.join(".dockerignore"));
    let Ok(patterns) = std::fs::read_to_string(&file) else {
        return Some(Hit::new(
            DOCKERIGNORE,
            copy.line,
            format!(
                "the whole context is copied but the context {} has no .dockerignore",
                context.display()
            ),
            "add a .dockerignore listing .git, target/, .venv and other build output",
        ));
    };
    let missing: Vec<&str> = expected(context)
        .into_iter()
        .filter(|n| !excludes(&patterns, n))
        .collect();
    (!missing.is_empty()).then(|| {
        Hit::new(
            DOCKERIGNORE,
            copy.line,
            format!(
                "the whole context is copied but {} does not exclude {}",
                file.display(),
                missing.join(", ")
            ),
            format!("add {} to {}", missing.join(" and "), file.display()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_follow_docker_semantics() {
        assert!(excludes("/.git/\ntarget\n", ".git"));
        assert!(excludes("**/.venv", ".venv"));
        assert!(excludes("*\n!src\n", "target"));
        assert!(!excludes("*\n!target\n", "target"));
        assert!(!excludes("# .git\nnode_modules\n", ".git"));
    }
}
