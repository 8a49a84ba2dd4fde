//! Which new layer each path of the merged filesystem goes to. Every path the ecosystem
//! registry places in a dependency tree under a named package (a Python distribution, a
//! `node_modules` package, …; `analysis::dependencies::classify`, the attribution `report`
//! makes) belongs to that package, unless the package is the image's own project (named by a
//! manifest in the image, like `report` tells); a Python distribution is what its RECORD lists
//! ([`records`]), whatever its top-level names. Packages are ordered largest first (ties by
//! ecosystem and name): the big third-party trees change least often and cost most to ship, so
//! they sit lowest, one layer each, while the layers last; the remaining packages share the
//! last dependency layer, where adding a small one disturbs no big one; when they must share,
//! one layer of `--max-layers` is left free for the packages a next version adds. Below them all, one
//! layer holds the OS packages installed above the base (the files their dpkg or apk database
//! says they own, and that database; `rootfs::packages`): they change least often, and one
//! `apt-get install` is one unit, so however many packages it is they take one layer (of
//! `--max-layers`, like any other). Everything else (the code, and the files of a tree outside
//! any package) is the app layer, on top.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Read;

use serde::{Deserialize, Serialize};

use crate::analysis::dependencies::classify;
use crate::ecosystem;
use crate::ecosystem::python;
use crate::error::Result;
use crate::optimize::merged::{Kind, Merged, SpoolReader};
use crate::optimize::ospkg::os_packages;
use crate::optimize::records;
use crate::rootfs::packages::is_os_ecosystem;

/// What a new layer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerRole {
    /// Third-party packages of an ecosystem.
    Dependencies,
    /// The code: whatever no package claims, and the deletions of base paths.
    App,
}

impl LayerRole {
    /// Its name in summaries and annotations.
    pub fn as_str(self) -> &'static str {
        match self {
            LayerRole::Dependencies => "dependencies",
            LayerRole::App => "app",
        }
    }
}

/// A package of an ecosystem found in the merged filesystem.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Package {
    /// The ecosystem's name (`python`), or the OS package manager's (`deb`, `apk`).
    pub ecosystem: &'static str,
    /// The package's name as the ecosystem normalizes it (`numpy`).
    pub name: String,
    /// Its version, when its metadata directory names one (`numpy-2.1.3.dist-info`).
    pub version: Option<String>,
}

/// One new layer of the plan: what it holds and which paths.
#[derive(Debug, Clone)]
pub struct Group {
    /// What it is for.
    pub role: LayerRole,
    /// Its packages (none for the app layer).
    pub packages: Vec<Package>,
    /// Its paths, sorted.
    pub paths: Vec<String>,
    /// Bytes of file content in it.
    pub bytes: u64,
}

impl Group {
    /// What the layer holds, for its history entry: `python deps: numpy 2.1.3, six 1.16.0`.
    pub fn describe(&self) -> String {
        if self.role == LayerRole::App {
            return "app".to_string();
        }
        let mut by_eco: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for p in &self.packages {
            by_eco
                .entry(p.ecosystem)
                .or_default()
                .push(match &p.version {
                    Some(v) => format!("{} {v}", p.name),
                    None => p.name.clone(),
                });
        }
        by_eco
            .iter()
            .map(|(eco, names)| {
                let what = if is_os_ecosystem(eco) {
                    "packages"
                } else {
                    "deps"
                };
                format!("{eco} {what}: {}", names.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Bytes of a manifest read to learn the image's own project name.
const MANIFEST_HEAD: u64 = 64 * 1024;

/// The packages the image's own project installs itself as (its `pyproject.toml`'s name, …),
/// read from the manifests in the merged filesystem.
fn own_packages(
    merged: &Merged,
    spool: &mut SpoolReader,
) -> Result<HashSet<(&'static str, String)>> {
    let mut own = HashSet::new();
    for (path, node) in &merged.nodes {
        let Some(stored) = node.stored.filter(|_| node.kind == Kind::File) else {
            continue;
        };
        if classify(path).is_some() {
            continue;
        }
        // Only a manifest's name is worth reading its head for (`pyproject.toml`, `package.json`).
        if !path.ends_with(".toml") && !path.ends_with(".json") {
            continue;
        }
        let mut head = Vec::new();
        spool
            .open(stored, node.size.min(MANIFEST_HEAD))?
            .read_to_end(&mut head)
            .map_err(|e| crate::error::Error::io(path, e))?;
        for eco in ecosystem::all() {
            if let Some(name) = eco.project_name(path, &head) {
                own.insert((eco.name(), name));
            }
        }
    }
    Ok(own)
}

/// The version a package's metadata directory names (`six-1.16.0.dist-info` → `1.16.0`).
fn version_in(path: &str) -> Option<String> {
    path.split('/')
        .find_map(|part| part.strip_suffix(".dist-info"))
        .and_then(|stem| stem.split_once('-'))
        .map(|(_, v)| v.to_string())
}

/// A unit the plan places whole: its paths, bytes and the packages it stands for (one for an
/// ecosystem package, every OS package installed above the base for the [`OS_UNIT`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct Claimed {
    /// Its paths.
    pub paths: Vec<String>,
    /// Bytes of file content in them.
    pub bytes: u64,
    /// The packages it holds.
    pub packages: Vec<Package>,
}

/// The key of the one unit holding every OS package installed above the base (one
/// `apt-get install` is one unit), placed lowest.
pub(crate) const OS_UNIT: (&str, &str) = ("", "os packages");

/// Every unit claimed, by (ecosystem, name); the OS packages under [`OS_UNIT`].
pub(crate) type Claims = BTreeMap<(&'static str, String), Claimed>;

/// The units of `merged` (packages outside the image's own project, the OS packages as one)
/// and the paths no unit claims (all of them when `max_layers` leaves no room for a dependency
/// layer).
pub(crate) fn claim(
    merged: &Merged,
    spool: &mut SpoolReader,
    max_layers: usize,
) -> Result<(Claims, Vec<String>)> {
    let own = own_packages(merged, spool)?;
    let (os_packages, os_owned) = os_packages(merged, spool)?;
    let recorded = records::owners(merged, spool)?;
    let mut claims = Claims::new();
    let mut app = Vec::new();
    for (path, node) in &merged.nodes {
        let dist = recorded.get(path);
        let package = match dist {
            Some(d) => Some((python::NAME, d.name.clone())),
            None => classify(path).and_then(|(eco, _, package)| Some((eco.name(), package?))),
        };
        let key = if os_owned.contains(path) {
            Some((OS_UNIT.0, OS_UNIT.1.to_string()))
        } else {
            package.filter(|p| !own.contains(p))
        };
        match key {
            Some(key) if max_layers > 1 => {
                let entry = claims.entry(key.clone()).or_default();
                entry.paths.push(path.clone());
                entry.bytes += node.size;
                if key.0 != OS_UNIT.0 {
                    if entry.packages.is_empty() {
                        entry.packages.push(Package {
                            ecosystem: key.0,
                            name: key.1,
                            version: None,
                        });
                    }
                    let package = &mut entry.packages[0];
                    if package.version.is_none() {
                        package.version = dist
                            .and_then(|d| d.version.clone())
                            .or_else(|| version_in(path));
                    }
                }
            }
            _ => app.push(path.clone()),
        }
    }
    if let Some(os) = claims.get_mut(&(OS_UNIT.0, OS_UNIT.1.to_string())) {
        os.packages = os_packages;
    }
    Ok((claims, app))
}

/// Puts the unit `claimed` into dependency layer `index` of `groups` (creating the layers up
/// to it).
pub(crate) fn place(groups: &mut Vec<Group>, index: usize, claimed: Claimed) {
    while groups.len() <= index {
        groups.push(Group {
            role: LayerRole::Dependencies,
            packages: Vec::new(),
            paths: Vec::new(),
            bytes: 0,
        });
    }
    let group = &mut groups[index];
    group.packages.extend(claimed.packages);
    group.paths.extend(claimed.paths);
    group.bytes += claimed.bytes;
}

/// Plans at most `max_layers` layers (at least 1) for `merged`: the OS packages lowest, then
/// the dependency layers, the app layer last. Hard links stay together in the layer of their
/// first path.
pub fn plan(merged: &Merged, spool: &mut SpoolReader, max_layers: usize) -> Result<Vec<Group>> {
    let (claims, app) = claim(merged, spool, max_layers)?;
    let mut ordered: Vec<_> = claims.into_iter().collect();
    // The OS unit first; then the packages, largest first.
    ordered.sort_by(|a, b| {
        let os = |k: &(&str, String)| k.0 != OS_UNIT.0;
        os(&a.0)
            .cmp(&os(&b.0))
            .then_with(|| b.1.bytes.cmp(&a.1.bytes))
            .then_with(|| a.0.cmp(&b.0))
    });
    let (slots, count) = (
        spare_one(max_layers.saturating_sub(1), ordered.len()),
        ordered.len(),
    );
    let mut groups: Vec<Group> = Vec::new();
    for (i, (_, claimed)) in ordered.into_iter().enumerate() {
        // One layer each while they last; past that, the smallest share the last one.
        let index = if count <= slots { i } else { i.min(slots - 1) };
        place(&mut groups, index, claimed);
    }
    Ok(finish(merged, groups, app))
}

/// The dependency layers a fresh plan fills of `slots` for `count` units: when they must share,
/// one layer is left for later — a package added by a next version (`--previous`) then gets it
/// to itself instead of joining, and reshipping, the shared one.
fn spare_one(slots: usize, count: usize) -> usize {
    if count >= slots && slots >= 3 {
        slots - 1
    } else {
        slots
    }
}

/// The plan's last steps: the app layer (holding `app`) on top, hard links kept together,
/// paths and packages sorted, bytes counted, empty dependency layers dropped.
pub(crate) fn finish(merged: &Merged, mut groups: Vec<Group>, app: Vec<String>) -> Vec<Group> {
    groups.push(Group {
        role: LayerRole::App,
        packages: Vec::new(),
        paths: app,
        bytes: 0,
    });
    keep_hard_links_together(merged, &mut groups);
    for g in &mut groups {
        g.paths.sort();
        g.packages.sort();
        g.bytes = g.paths.iter().map(|p| merged.nodes[p].size).sum();
    }
    groups.retain(|g| g.role == LayerRole::App || !g.paths.is_empty());
    groups
}

/// Moves every path sharing a hard-linked content to the group of the first such path, so each
/// layer can write the links it holds.
fn keep_hard_links_together(merged: &Merged, groups: &mut [Group]) {
    let mut home: BTreeMap<u64, (String, usize)> = BTreeMap::new();
    for (g, group) in groups.iter().enumerate() {
        for path in &group.paths {
            if let Some(s) = merged.nodes[path].stored {
                let e = home.entry(s.origin).or_insert((path.clone(), g));
                if *path < e.0 {
                    *e = (path.clone(), g);
                }
            }
        }
    }
    let mut moved: Vec<BTreeSet<String>> = vec![BTreeSet::new(); groups.len()];
    for group in groups.iter_mut() {
        let mut kept = Vec::with_capacity(group.paths.len());
        for path in group.paths.drain(..) {
            match merged.nodes[&path].stored.map(|s| &home[&s.origin]) {
                Some((_, g)) => {
                    moved[*g].insert(path);
                }
                None => kept.push(path),
            }
        }
        group.paths = kept;
    }
    for (group, extra) in groups.iter_mut().zip(moved) {
        group.paths.extend(extra);
    }
}
