//! pip's requirements files (`requirements*.txt`, as written by hand, `pip-compile` or
//! `uv export`), read the way pip reads them:
//!
//! - `#` starts a comment at the start of a line or after whitespace (`...#egg=` is not one);
//!   a line ending in `\` continues on the next.
//! - `-r FILE` / `--requirement FILE` includes a file and `-c FILE` / `--constraint FILE` a
//!   constraints file, both relative to the including file; a file already read is skipped, so
//!   include cycles end.
//! - `name[extras] <specifier> ; marker`, `name @ URL ; marker`, and bare URLs or paths of
//!   archives (`https://…/pkg-1.0-py3-none-any.whl`, `git+https://…#egg=pkg`) are requirements;
//!   `--hash=algorithm:hex` options after them are kept, other per-line options ignored.
//! - `-e .` (the project itself) is dropped; other `-e` targets are kept as direct references.
//! - Global options (`--index-url`, `--find-links`, `--no-binary`, ...) are ignored, not errors.
//!
//! A requirement is pinned by `==V` / `===V` or by a direct reference. Anything else
//! (`requests>=2`, `requests`) is kept with its specifier and reported by
//! [`LockedSet::unpinned`]; the fingerprint then hashes the specifier, so it cannot see a new
//! upstream release.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::python::{pep508, Format, LockedPackage, LockedSet};

/// Reads `path` and everything it includes.
pub fn read(path: &Path) -> Result<LockedSet> {
    let mut reader = Reader::default();
    reader.file(path, Role::Requirements)?;
    Ok(LockedSet::new(
        Format::Requirements,
        path.to_path_buf(),
        reader.packages,
        reader.constraints,
    ))
}

/// Whether a file's entries are installed or only constrain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Role {
    Requirements,
    Constraints,
}

#[derive(Default)]
struct Reader {
    seen: HashSet<(PathBuf, Role)>,
    packages: Vec<LockedPackage>,
    constraints: Vec<LockedPackage>,
}

/// Where a line is, for errors: `requirements.txt:12`.
struct At<'a> {
    file: &'a Path,
    line: usize,
}

impl At<'_> {
    fn error(&self, msg: impl std::fmt::Display) -> Error {
        Error::invalid(format!("{}:{}: {msg}", self.file.display(), self.line))
    }
}

impl Reader {
    fn file(&mut self, path: &Path, role: Role) -> Result<()> {
        let canonical = path
            .canonicalize()
            .map_err(|e| Error::io(path.display(), e))?;
        if !self.seen.insert((canonical, role)) {
            return Ok(());
        }
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path.display(), e))?;
        for (line, logical) in logical_lines(&text) {
            self.line(&At { file: path, line }, &logical, role)?;
        }
        Ok(())
    }

    fn line(&mut self, at: &At, text: &str, role: Role) -> Result<()> {
        let tokens: Vec<&str> = text.split_whitespace().collect();
        if tokens[0].starts_with('-') {
            return self.option(at, &tokens, role);
        }
        let split = tokens
            .iter()
            .position(|t| t.starts_with('-'))
            .unwrap_or(tokens.len());
        let mut package = requirement(at, &tokens[..split].join(" "))?;
        package.hashes = hashes(at, &tokens[split..])?;
        self.push(package, role);
        Ok(())
    }

    fn option(&mut self, at: &At, tokens: &[&str], role: Role) -> Result<()> {
        if let Some(target) = value(at, tokens, "-r", "--requirement")? {
            return self.include(at, target, role);
        }
        if let Some(target) = value(at, tokens, "-c", "--constraint")? {
            return self.include(at, target, Role::Constraints);
        }
        if let Some(target) = value(at, tokens, "-e", "--editable")? {
            if matches!(target, "." | "./" | "file:." | "file:./") {
                return Ok(());
            }
            self.push(direct_reference(target), role);
        }
        Ok(())
    }

    fn push(&mut self, package: LockedPackage, role: Role) {
        match role {
            Role::Requirements => self.packages.push(package),
            Role::Constraints => self.constraints.push(package),
        }
    }

    fn include(&mut self, at: &At, target: &str, role: Role) -> Result<()> {
        if target.contains("://") {
            return Err(at.error(format!("remote include {target} is not supported")));
        }
        let base = at.file.parent().unwrap_or(Path::new(""));
        self.file(&base.join(target), role)
            .map_err(|e| e.context(format!("{}:{}", at.file.display(), at.line)))
    }
}

/// The value of `-x VALUE`, `-xVALUE`, `--long VALUE` or `--long=VALUE`; `None` when the line is
/// another option.
fn value<'a>(at: &At, tokens: &[&'a str], short: &str, long: &str) -> Result<Option<&'a str>> {
    let first = tokens[0];
    let inline = first
        .strip_prefix(long)
        .and_then(|rest| rest.strip_prefix('='))
        .or_else(|| {
            first
                .strip_prefix(short)
                .filter(|rest| !rest.is_empty() && !first.starts_with("--"))
        });
    if let Some(value) = inline {
        return Ok(Some(value));
    }
    if first == short || first == long {
        return tokens
            .get(1)
            .copied()
            .map(Some)
            .ok_or_else(|| at.error(format!("{first} needs a value")));
    }
    Ok(None)
}

/// The file's logical lines with their first physical line number: comments removed,
/// continuations joined, blank lines dropped.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        if current.is_empty() {
            start = i + 1;
        }
        let line = strip_comment(raw);
        if let Some(body) = line.strip_suffix('\\') {
            current.push_str(body);
            current.push(' ');
            continue;
        }
        current.push_str(line);
        if !current.trim().is_empty() {
            lines.push((start, current.trim().to_string()));
        }
        current.clear();
    }
    if !current.trim().is_empty() {
        lines.push((start, current.trim().to_string()));
    }
    lines
}

/// The line without a comment: `#` at the start or after whitespace, like pip.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    let cut = (0..bytes.len())
        .find(|&i| bytes[i] == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()))
        .unwrap_or(bytes.len());
    line[..cut].trim_end()
}

/// One requirement: PEP 508, or a bare URL or path of an archive.
fn requirement(at: &At, text: &str) -> Result<LockedPackage> {
    let first = text.split_whitespace().next().unwrap_or_default();
    if first.contains("://") || first.starts_with(['.', '/']) || is_archive(first) {
        let (link, marker) = match text.find(" ;") {
            Some(end) => (&text[..end], Some(text[end + 2..].trim())),
            None => (text, None),
        };
        let mut package = direct_reference(link.trim());
        package.marker = marker
            .filter(|m| !m.is_empty())
            .map(pep508::normalize_marker);
        return Ok(package);
    }
    let r = pep508::requirement(text).map_err(|msg| at.error(msg))?;
    Ok(LockedPackage {
        pinned: r.specifier.pinned.is_some() || r.url.is_some(),
        version: r.specifier.pinned.unwrap_or(r.specifier.text),
        name: r.name,
        extras: r.extras,
        marker: r.marker,
        hashes: Vec::new(),
        source: r.url,
    })
}

fn is_archive(name: &str) -> bool {
    [".whl", ".tar.gz", ".zip", ".tar.bz2"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// A requirement given as a URL or path: named by its `#egg=` fragment, else by its archive's
/// file name (`pkg-1.0-py3-none-any.whl` is `pkg`), else by the reference itself.
fn direct_reference(link: &str) -> LockedPackage {
    let egg = link
        .split_once("#egg=")
        .map(|(_, egg)| egg.split('&').next().unwrap_or(egg));
    let file = link.rsplit('/').next().unwrap_or(link);
    let from_file = is_archive(file).then(|| file.split('-').next().unwrap_or(file));
    LockedPackage {
        name: pep508::normalize_name(egg.or(from_file).unwrap_or(link)),
        version: String::new(),
        pinned: true,
        extras: Vec::new(),
        marker: None,
        hashes: Vec::new(),
        source: Some(link.to_string()),
    }
}

/// The `--hash=algorithm:hex` (or `--hash algorithm:hex`) options, sorted; other options are
/// ignored.
fn hashes(at: &At, options: &[&str]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut tokens = options.iter();
    while let Some(&token) = tokens.next() {
        let value = match token.strip_prefix("--hash") {
            Some("") => *tokens
                .next()
                .ok_or_else(|| at.error("--hash needs a value"))?,
            Some(rest) if rest.starts_with('=') => &rest[1..],
            _ => continue,
        };
        let valid = value.split_once(':').filter(|(alg, hex)| {
            !alg.is_empty() && !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit())
        });
        let (alg, hex) = valid.ok_or_else(|| {
            at.error(format!(
                "invalid --hash {value:?} (expected algorithm:hex, e.g. sha256:…)"
            ))
        })?;
        out.push(format!(
            "{}:{}",
            alg.to_ascii_lowercase(),
            hex.to_ascii_lowercase()
        ));
    }
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitCode;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn comments_continuations_hashes_markers_and_extras() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "requirements.txt",
            "# generated\n--index-url https://pypi.org/simple\n\
             Requests[Socks]==2.32.3 ; python_version >= '3.8' \\\n    --hash=sha256:AB12 \\\n    --hash=sha256:0f\n    # via app\n\
             pkg @ https://example.com/pkg.tar.gz#sha256=00  # pinned by URL\n\
             git+https://github.com/example/tool@v1#egg=Tool\n\
             ./wheels/local_pkg-1.0-py3-none-any.whl\n\
             -e .\n",
        );
        let set = read(&path).unwrap();
        assert_eq!(set.names(), ["local-pkg", "pkg", "requests", "tool"]);
        let requests = &set.packages[2];
        assert_eq!(requests.version, "2.32.3");
        assert_eq!(requests.extras, ["socks"]);
        assert_eq!(
            requests.marker.as_deref(),
            Some("python_version >= \"3.8\"")
        );
        assert_eq!(requests.hashes, ["sha256:0f", "sha256:ab12"]);
        assert_eq!(
            set.packages[1].source.as_deref(),
            Some("https://example.com/pkg.tar.gz#sha256=00")
        );
        assert!(set.unpinned().is_empty());
    }

    #[test]
    fn includes_are_relative_and_cycle_safe_and_constraints_pin() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("reqs")).unwrap();
        write(
            dir.path(),
            "reqs/base.txt",
            "-r ../requirements.txt\nidna==3.7\n",
        );
        write(
            dir.path(),
            "reqs/constraints.txt",
            "urllib3==2.2.1\nflask==3.0.0\n",
        );
        let path = write(
            dir.path(),
            "requirements.txt",
            "-r reqs/base.txt\n--constraint=reqs/constraints.txt\nurllib3>=2\nrequests\n",
        );
        let set = read(&path).unwrap();
        assert_eq!(set.names(), ["idna", "requests", "urllib3"]);
        assert_eq!(set.constraints.len(), 2);
        let unpinned: Vec<&str> = set.unpinned().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(unpinned, ["requests"]);
        assert_eq!(set.packages[1].version, "");
        assert_eq!(set.packages[2].version, ">=2");
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "requirements.txt", "idna==3.7\n\nfoo==1 $bad\n");
        let err = read(&path).unwrap_err().to_string();
        assert!(
            err.ends_with("requirements.txt:3: unexpected '$' in \"foo==1 $bad\""),
            "{err}"
        );

        write(dir.path(), "requirements.txt", "idna==3.7 --hash=md5\n");
        let err = read(&path).unwrap_err().to_string();
        assert!(
            err.contains("requirements.txt:1: invalid --hash \"md5\""),
            "{err}"
        );

        write(dir.path(), "requirements.txt", "# x\n-r missing.txt\n");
        let err = read(&path).unwrap_err();
        assert_eq!(err.exit_code(), ExitCode::BadInput, "{err}");
        let err = err.to_string();
        assert!(
            err.contains("requirements.txt:2: ") && err.contains("missing.txt"),
            "{err}"
        );
        assert!(!err.contains('\n'), "{err}");

        write(dir.path(), "requirements.txt", "-r\n");
        let err = read(&path).unwrap_err().to_string();
        assert!(
            err.contains("requirements.txt:1: -r needs a value"),
            "{err}"
        );
    }

    #[test]
    fn comment_rules_follow_pip() {
        assert_eq!(strip_comment("pkg  # note"), "pkg");
        assert_eq!(
            strip_comment("git+https://x/y#egg=y"),
            "git+https://x/y#egg=y"
        );
        assert_eq!(strip_comment("# whole line"), "");
        assert_eq!(
            logical_lines("a \\\n  b\n\n# c\nd"),
            [(1, "a    b".to_string()), (5, "d".to_string())]
        );
    }
}
