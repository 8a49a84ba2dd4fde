//! A virtual environment's site-packages read as distributions: each `*.dist-info/RECORD` says
//! which top-level names a distribution installed and how many bytes, so the dependency layer can
//! leave the project's own package out and be split per distribution.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::python::pep508::normalize_name;

/// One installed distribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distribution {
    /// Its name, normalized as PEP 503 says (`scikit_learn` → `scikit-learn`).
    pub name: String,
    /// The top-level entries of site-packages it owns, its `*.dist-info` directory included.
    pub top_level: BTreeSet<String>,
    /// Bytes of its files, as RECORD lists them.
    pub bytes: u64,
}

/// A virtual environment: where its packages are and which python made it.
#[derive(Debug, Clone)]
pub struct Venv {
    /// The environment's root directory.
    pub root: PathBuf,
    /// `lib/pythonX.Y/site-packages` inside it.
    pub site_packages: PathBuf,
    /// `X.Y` of the interpreter that created it.
    pub python: String,
    /// The full version from `pyvenv.cfg` (`3.11.2`), when it says.
    pub python_full: Option<String>,
    /// Every distribution installed, by name.
    pub distributions: Vec<Distribution>,
}

impl Venv {
    /// Reads the environment at `root`: `pyvenv.cfg`, then every distribution's RECORD.
    pub fn read(root: &Path) -> Result<Venv> {
        let cfg_path = root.join("pyvenv.cfg");
        let cfg = fs::read_to_string(&cfg_path).map_err(|e| {
            Error::usage(format!(
                "{}: not a virtual environment (no readable pyvenv.cfg: {e})",
                root.display()
            ))
        })?;
        let python_full = cfg.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            matches!(k.trim(), "version" | "version_info").then(|| v.trim().to_string())
        });
        let lib = root.join("lib");
        let mut candidates: Vec<PathBuf> = fs::read_dir(&lib)
            .map_err(|e| Error::io(lib.display(), e))?
            .filter_map(|d| d.ok())
            .map(|d| d.path().join("site-packages"))
            .filter(|p| p.is_dir())
            .collect();
        candidates.sort();
        let site_packages = match candidates.as_slice() {
            [one] => one.clone(),
            [] => {
                return Err(Error::usage(format!(
                    "{}: no lib/python*/site-packages",
                    root.display()
                )))
            }
            _ => {
                return Err(Error::usage(format!(
                    "{}: several lib/python*/site-packages; recreate the environment",
                    root.display()
                )))
            }
        };
        let python = site_packages
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("python"))
            .unwrap_or_default()
            .to_string();
        let distributions = distributions(&site_packages)?;
        Ok(Venv {
            root: root.to_path_buf(),
            site_packages,
            python,
            python_full,
            distributions,
        })
    }

    /// The distribution called `name` (any spelling), if installed.
    pub fn distribution(&self, name: &str) -> Option<&Distribution> {
        let name = normalize_name(name);
        self.distributions.iter().find(|d| d.name == name)
    }
}

/// Every `*.dist-info` of `site_packages`, sorted by name.
pub fn distributions(site_packages: &Path) -> Result<Vec<Distribution>> {
    let mut out = Vec::new();
    let entries = fs::read_dir(site_packages).map_err(|e| Error::io(site_packages.display(), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(site_packages.display(), e))?;
        let dir_name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = dir_name.strip_suffix(".dist-info") else {
            continue;
        };
        let name = normalize_name(stem.split('-').next().unwrap_or(stem));
        let mut top_level = BTreeSet::from([dir_name.clone()]);
        let mut bytes = 0;
        let record = entry.path().join("RECORD");
        if let Ok(text) = fs::read_to_string(&record) {
            for line in text.lines() {
                let (path, size) = record_line(line);
                if let Some(first) = path.split('/').next() {
                    if !first.is_empty() && first != ".." && first != "__pycache__" {
                        top_level.insert(first.to_string());
                    }
                }
                bytes += size;
            }
        }
        out.push(Distribution {
            name,
            top_level,
            bytes,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Whether `dist` (installed in `site_packages`) is the same on every platform: its wheel's
/// `WHEEL` file says `Root-Is-Purelib: true` and every tag is generic (`py3-none-any`), so its
/// layer can be one blob for all platforms of an index.
pub fn is_pure(site_packages: &Path, dist: &Distribution) -> bool {
    let Some(info) = dist.top_level.iter().find(|t| t.ends_with(".dist-info")) else {
        return false;
    };
    let Ok(wheel) = fs::read_to_string(site_packages.join(info).join("WHEEL")) else {
        return false;
    };
    let field = |key: &str| {
        wheel
            .lines()
            .filter_map(|l| l.split_once(':'))
            .filter(|(k, _)| k.trim().eq_ignore_ascii_case(key))
            .map(|(_, v)| v.trim().to_string())
            .collect::<Vec<_>>()
    };
    let tags = field("Tag");
    field("Root-Is-Purelib").iter().any(|v| v == "true")
        && !tags.is_empty()
        && tags.iter().all(|t| t.ends_with("-none-any"))
}

/// The path and size of one RECORD line (CSV: path, hash, size; the path may be quoted).
pub(crate) fn record_line(line: &str) -> (String, u64) {
    let (path, rest) = match line.strip_prefix('"') {
        Some(quoted) => {
            let mut path = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                if c == '"' {
                    if quoted[i + 1..].starts_with('"') {
                        path.push('"');
                        chars.next();
                    } else {
                        end = i + 1;
                        break;
                    }
                } else {
                    path.push(c);
                }
            }
            (path, quoted[end..].trim_start_matches(','))
        }
        None => match line.split_once(',') {
            Some((p, rest)) => (p.to_string(), rest),
            None => (line.to_string(), ""),
        },
    };
    let size = rest
        .rsplit(',')
        .next()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    (path, size)
}

/// How the dependencies are cut into layers: the `count - 1` largest distributions each get a
/// layer of their own (largest first), and one layer takes everything else. Returns, per layer,
/// its name and the top-level names it includes (empty for the "everything else" layer, which
/// instead excludes every name the others took).
pub fn split(deps: &[&Distribution], count: usize) -> Vec<(String, BTreeSet<String>)> {
    let mut by_size: Vec<&Distribution> = deps.to_vec();
    by_size.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
    let own = count.saturating_sub(1).min(by_size.len());
    let mut layers: Vec<(String, BTreeSet<String>)> = by_size[..own]
        .iter()
        .map(|d| (format!("deps-{}", d.name), d.top_level.clone()))
        .collect();
    layers.push(("deps".to_string(), BTreeSet::new()));
    layers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist(dir: &Path, name: &str, version: &str, files: &[(&str, usize)]) {
        let info = dir.join(format!("{name}-{version}.dist-info"));
        fs::create_dir_all(&info).unwrap();
        let mut record = String::new();
        for (f, size) in files {
            let p = dir.join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, vec![b'x'; *size]).unwrap();
            record.push_str(&format!("{f},sha256=abc,{size}\n"));
        }
        record.push_str(&format!("{name}-{version}.dist-info/RECORD,,\n"));
        record.push_str("../../../bin/tool,sha256=abc,10\n");
        fs::write(info.join("RECORD"), record).unwrap();
    }

    #[test]
    fn reads_distributions_and_splits_largest_first() {
        let dir = tempfile::tempdir().unwrap();
        let venv = dir.path();
        fs::write(
            venv.join("pyvenv.cfg"),
            "home = /usr/bin\nversion_info = 3.11.2\n",
        )
        .unwrap();
        let sp = venv.join("lib/python3.11/site-packages");
        dist(
            &sp,
            "numpy",
            "2.1.0",
            &[("numpy/core.py", 5000), ("numpy.libs/x.so", 100)],
        );
        dist(&sp, "Scikit_Learn", "1.5", &[("sklearn/a.py", 3000)]);
        dist(&sp, "six", "1.16.0", &[("six.py", 10)]);
        let v = Venv::read(venv).unwrap();
        assert_eq!(v.python, "3.11");
        assert_eq!(v.python_full.as_deref(), Some("3.11.2"));
        let names: Vec<_> = v.distributions.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["numpy", "scikit-learn", "six"]);
        let numpy = v.distribution("NumPy").unwrap();
        assert_eq!(numpy.bytes, 5100 + 10);
        assert_eq!(
            numpy.top_level,
            BTreeSet::from([
                "numpy".into(),
                "numpy-2.1.0.dist-info".into(),
                "numpy.libs".into()
            ])
        );
        let deps: Vec<&Distribution> = v.distributions.iter().collect();
        let layers = split(&deps, 3);
        let names: Vec<_> = layers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["deps-numpy", "deps-scikit-learn", "deps"]);
        assert_eq!(split(&deps, 1).len(), 1);
        assert_eq!(split(&deps, 10).len(), 4);
    }

    #[test]
    fn quoted_record_paths_and_names() {
        assert_eq!(record_line("\"a,b.py\",sha256=x,12"), ("a,b.py".into(), 12));
        assert_eq!(record_line("a.py,,"), ("a.py".into(), 0));
    }

    #[test]
    fn a_directory_without_pyvenv_cfg_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = Venv::read(dir.path()).unwrap_err().to_string();
        assert!(e.contains("not a virtual environment"), "{e}");
    }
}
