//! The environment a Python dependency set is installed for: the interpreter's ABI (`cp311`) and
//! the platform (`linux/amd64`). The same lockfile installs different wheels for each, so both
//! are part of the fingerprint.

use std::path::Path;

use crate::error::{Error, Result};

/// The interpreter and platform a dependency layer is built for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonEnv {
    /// The interpreter tag (`cp311`, `cp313t`, `pp310`); `None` when nothing says which
    /// interpreter is meant (the fingerprint then does not cover it).
    pub abi: Option<String>,
    /// `os/arch[/variant]`, as in image platforms.
    pub platform: String,
}

/// The interpreter tag of a version as users write it: `3.11`, `3.11.7` (the patch release
/// shares the ABI), `3.13t` (free-threaded), `cpython@3.12`, `pypy3.10`, or a tag (`cp312`).
pub fn abi_tag(version: &str) -> Result<String> {
    let bad = || {
        Error::usage(format!(
            "invalid Python version {version:?}: expected e.g. 3.12, 3.13t, pypy3.10 or cp312"
        ))
    };
    let text = version.trim().to_ascii_lowercase();
    if let Some(rest) = ["cp", "pp"]
        .iter()
        .find_map(|tag| text.strip_prefix(tag))
        .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
    {
        let digits = rest.strip_suffix('t').unwrap_or(rest);
        let valid = digits.len() >= 2 && digits.bytes().all(|b| b.is_ascii_digit());
        return valid.then_some(text.clone()).ok_or_else(bad);
    }
    let (implementation, rest) = ["cpython", "python", "pypy"]
        .iter()
        .find_map(|name| {
            let rest = text.strip_prefix(name)?;
            Some((*name, rest.trim_start_matches(['@', '-'])))
        })
        .unwrap_or(("cpython", text.as_str()));
    let (rest, threaded) = match rest.strip_suffix('t') {
        Some(rest) => (rest, "t"),
        None => (rest, ""),
    };
    let mut parts = rest.split('.');
    let (Some(major), Some(minor)) = (parts.next(), parts.next()) else {
        return Err(bad());
    };
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !numeric(major) || !numeric(minor) || !parts.all(numeric) {
        return Err(bad());
    }
    let prefix = if implementation == "pypy" { "pp" } else { "cp" };
    Ok(format!("{prefix}{major}{minor}{threaded}"))
}

/// The interpreter tag named by `dir/.python-version` (its first non-comment line, as pyenv and
/// uv read it), if the file exists.
pub fn python_version_file(dir: &Path) -> Result<Option<String>> {
    let path = dir.join(".python-version");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path.display(), e)),
    };
    let Some(line) = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
    else {
        return Ok(None);
    };
    abi_tag(line)
        .map(Some)
        .map_err(|e| Error::invalid(e).context(path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_become_interpreter_tags() {
        for (version, tag) in [
            ("3.11", "cp311"),
            ("3.11.7", "cp311"),
            ("3.13t", "cp313t"),
            ("cpython@3.12", "cp312"),
            ("cpython-3.12.1", "cp312"),
            ("pypy3.10", "pp310"),
            ("pypy@3.10", "pp310"),
            ("CP312", "cp312"),
            ("cp313t", "cp313t"),
        ] {
            assert_eq!(abi_tag(version).unwrap(), tag, "{version}");
        }
        for bad in ["3", "three.eleven", "cp3", "cpx11", "", "3.x"] {
            assert!(matches!(abi_tag(bad), Err(Error::Usage(_))), "{bad}");
        }
    }

    #[test]
    fn python_version_file_skips_comments() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(python_version_file(dir.path()).unwrap(), None);
        std::fs::write(
            dir.path().join(".python-version"),
            "# pinned\n3.12.4\n3.11\n",
        )
        .unwrap();
        assert_eq!(
            python_version_file(dir.path()).unwrap().as_deref(),
            Some("cp312")
        );
        std::fs::write(dir.path().join(".python-version"), "system\n").unwrap();
        let err = python_version_file(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains(".python-version: invalid Python version \"system\""),
            "{err}"
        );
    }
}
