//! Python distributions by their `*.dist-info/RECORD`: the file pip (or uv) wrote listing every
//! path it installed for the distribution — its packages, its modules at the top of
//! site-packages, their `__pycache__` files, its `.pth` hooks, its console scripts in the venv's
//! `bin/` (`../../../bin/…`). So a distribution is one unit of the plan whatever its top-level
//! names are (`scikit-learn` installs `sklearn/`, `python-dateutil` installs `dateutil/`,
//! `setuptools` installs `_distutils_hack/`, `pkg_resources/` and a `.pth`), which the path
//! shapes the ecosystem registry goes by cannot tell. A directory no RECORD lists (they list files)
//! goes with the distribution owning the first path below it.

use std::collections::BTreeMap;
use std::io::Read;

use crate::ecosystem::python::site_packages::record_line;
use crate::error::{Error, Result};
use crate::optimize::merged::{Kind, Merged, SpoolReader};
use crate::python::pep508::normalize_name;

/// Bytes of a RECORD read at most (the largest wheels' are a few MB).
const RECORD_LIMIT: u64 = 64 * 1024 * 1024;

/// A distribution as its metadata directory names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distribution {
    /// Its name, normalized (`scikit-learn`).
    pub name: String,
    /// Its version (`1.6.1`).
    pub version: Option<String>,
}

/// The distribution (name and version) named by a `NAME-VERSION.dist-info` directory.
fn named(dist_info: &str) -> Option<Distribution> {
    let stem = dist_info.strip_suffix(".dist-info")?;
    let (name, version) = match stem.split_once('-') {
        Some((n, v)) => (n, Some(v.to_string())),
        None => (stem, None),
    };
    Some(Distribution {
        name: normalize_name(name),
        version,
    })
}

/// `base/relative` with `.` and `..` components resolved, or `None` when it climbs above the
/// root.
fn joined(base: &str, relative: &str) -> Option<String> {
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// The distribution owning each path of `merged` some RECORD in it lists (the first RECORD in
/// path order wins a path two list), and each directory above such paths inside the
/// site-packages directories the RECORDs are in.
pub fn owners(merged: &Merged, spool: &mut SpoolReader) -> Result<BTreeMap<String, Distribution>> {
    let mut owner: BTreeMap<String, Distribution> = BTreeMap::new();
    let mut sites = Vec::new();
    for (path, node) in &merged.nodes {
        let Some(dist_dir) = path.strip_suffix("/RECORD") else {
            continue;
        };
        let (site, dir_name) = dist_dir.rsplit_once('/').unwrap_or(("", dist_dir));
        let (Some(dist), Some(stored)) = (named(dir_name), node.stored) else {
            continue;
        };
        if node.kind != Kind::File {
            continue;
        }
        let mut text = Vec::new();
        spool
            .open(stored, node.size.min(RECORD_LIMIT))?
            .read_to_end(&mut text)
            .map_err(|e| Error::io(path, e))?;
        for line in String::from_utf8_lossy(&text).lines() {
            let (listed, _) = record_line(line);
            if let Some(p) = joined(site, &listed).filter(|p| merged.nodes.contains_key(p)) {
                owner.entry(p).or_insert_with(|| dist.clone());
            }
        }
        owner
            .entry(dist_dir.to_string())
            .or_insert_with(|| dist.clone());
        sites.push(format!("{site}/"));
    }
    let mut dirs = Vec::new();
    for (path, node) in &merged.nodes {
        if node.kind != Kind::Dir || owner.contains_key(path) {
            continue;
        }
        if !sites.iter().any(|s| path.starts_with(s.as_str())) {
            continue;
        }
        let below = format!("{path}/");
        let first = owner.range(below.clone()..).next();
        if let Some((_, dist)) = first.filter(|(p, _)| p.starts_with(&below)) {
            dirs.push((path.clone(), dist.clone()));
        }
    }
    owner.extend(dirs);
    Ok(owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dist_info_names_its_distribution() {
        let d = named("scikit_learn-1.6.1.dist-info").unwrap();
        assert_eq!(
            (d.name.as_str(), d.version.as_deref()),
            ("scikit-learn", Some("1.6.1"))
        );
        assert_eq!(named("six.dist-info").unwrap().version, None);
        assert!(named("six-1.0.egg-info").is_none());
    }

    #[test]
    fn record_paths_resolve_against_site_packages() {
        let site = "app/.venv/lib/python3.11/site-packages";
        assert_eq!(joined(site, "six.py").unwrap(), format!("{site}/six.py"));
        assert_eq!(
            joined(site, "../../../bin/f2py").unwrap(),
            "app/.venv/bin/f2py"
        );
        assert_eq!(joined("a", "../../x"), None);
    }
}
