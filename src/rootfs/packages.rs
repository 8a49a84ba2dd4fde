//! Which OS package owns each path of a filesystem, as the distribution's own package database
//! says: dpkg's (`var/lib/dpkg/status` for the installed packages and their versions,
//! `var/lib/dpkg/info/<pkg>[:<arch>].list` for their files), apk's (`lib/apk/db/installed`) and
//! rpm's SQLite one ([`rpmdb`](crate::rootfs::rpmdb): `var/lib/rpm/rpmdb.sqlite`, or
//! `usr/lib/sysimage/rpm/rpmdb.sqlite` where Fedora 36 and later keep it).
//! It sits in `rootfs` because it is knowledge of a distribution's filesystem, not of a
//! language (those are `ecosystem`'s, found by path patterns; these by a database) nor of one
//! command: the filesystem is any [`Filesystem`], so `optimize` asks it about the merged layers
//! above a base and nothing here knows of layers.
//!
//! dpkg lists absolute paths as the package shipped them, which on a merged-usr system are not
//! where the files are (`/bin/ls` is `usr/bin/ls` when `bin` → `usr/bin`): a listed path is
//! taken as written when the filesystem has it, else resolved through the filesystem's own
//! symbolic links, and a top-level directory the filesystem does not have (`bin`, `sbin`,
//! `lib`, `lib32`, `lib64`, `libx32`) is taken as the usr-merge alias of `usr/<dir>`, the layout
//! of every merged-usr Debian and Ubuntu base (the base itself is not read: its symlinks live in
//! layers the caller may never decompress).
//!
//! dpkg diversions (`var/lib/dpkg/diversions`, as `dpkg-divert` keeps them) move a path other
//! packages ship to another: a package's listed path that another package (or the admin, for a
//! local diversion) diverted is owned at the path it was diverted to, and the diverting package
//! keeps its own file at the original path, as `dpkg-query -L` says ("diverted by P to: …").
//! Like the rest of the database, the diversions are read from the filesystem given: those in a
//! base no upper layer rewrote are not seen.
//!
//! A package is seen when its database entry is in the filesystem and it owns a file or link
//! there (not only a directory, which many share): for the layers above a base, the packages
//! installed or upgraded there. dpkg rewrites the `.list` of packages it did not install (their
//! contents unchanged) and apk keeps one database for all, so the entry alone does not say; a
//! base package is seen only when a file of its own was changed above the base too. Each
//! manager's own state (its database, and what an install leaves beside it: apt's lists,
//! debconf's cache, ldconfig's, `etc/alternatives` and the links update-alternatives made)
//! is claimed too, so a change of packages moves it with them.
//!
//! rpm's older databases (Berkeley DB `Packages` before rpm 4.16, ndb `Packages.db` of SUSE)
//! are not read: the packages of an image that has only those stay with the files around them.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::BufRead;
use std::path::Path;

use crate::error::{Error, Result};
use crate::rootfs::base_fs::follow_links;
use crate::rootfs::rpmdb;
use crate::temp::{unique_in, TempPath};

/// What a path of a [`Filesystem`] is, as far as ownership needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind<'a> {
    /// A symbolic link, with its target.
    Symlink(&'a str),
    /// A regular file.
    File,
    /// A directory or anything else.
    Other,
}

/// A filesystem the package databases are read from: paths relative to the root, no leading or
/// trailing slash.
pub trait Filesystem {
    /// What `path` is, when the filesystem has it.
    fn kind(&self, path: &str) -> Option<Kind<'_>>;
    /// The paths strictly below `dir`.
    fn below(&self, dir: &str) -> Vec<String>;
    /// Reads the file at `path`.
    fn read(&mut self, path: &str) -> Result<Box<dyn BufRead + '_>>;
}

/// An OS package manager whose database is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Manager {
    /// Debian's and Ubuntu's dpkg.
    Dpkg,
    /// Alpine's apk.
    Apk,
    /// Fedora's, RHEL's and their kin's rpm (its SQLite database).
    Rpm,
}

/// The state each manager keeps: its database and what installs leave beside it.
const STATE: &[(Manager, &[&str])] = &[
    (
        Manager::Dpkg,
        &[
            "var/lib/dpkg",
            "var/lib/apt",
            "var/cache/apt",
            "var/cache/debconf",
            "var/cache/ldconfig",
            "var/log/apt",
            "var/log/dpkg.log",
            "var/log/alternatives.log",
            "etc/alternatives",
            "etc/ld.so.cache",
        ],
    ),
    (
        Manager::Apk,
        &[
            "lib/apk",
            "etc/apk/world",
            "var/cache/apk",
            "etc/ld.so.cache",
        ],
    ),
    (
        Manager::Rpm,
        &[
            "var/lib/rpm",
            "usr/lib/sysimage/rpm",
            "var/lib/dnf",
            "var/cache/dnf",
            "var/log/dnf.log",
            "var/log/dnf.librepo.log",
            "var/log/dnf.rpm.log",
            "var/log/hawkey.log",
            "var/lib/yum",
            "var/cache/yum",
            "var/log/yum.log",
            "var/lib/alternatives",
            "etc/alternatives",
            "etc/ld.so.cache",
        ],
    ),
];

impl Manager {
    /// The name its packages go by in plans and history (`deb packages: curl 7.88.1-10`).
    pub fn ecosystem(self) -> &'static str {
        match self {
            Manager::Dpkg => "deb",
            Manager::Apk => "apk",
            Manager::Rpm => "rpm",
        }
    }

    /// The database files whose presence says the manager is there.
    fn databases(self) -> &'static [&'static str] {
        match self {
            Manager::Dpkg => &[DPKG_STATUS],
            Manager::Apk => &[APK_INSTALLED],
            Manager::Rpm => RPM_DATABASES,
        }
    }
}

/// Whether `ecosystem` names an OS package manager's packages rather than a language's.
pub fn is_os_ecosystem(ecosystem: &str) -> bool {
    [Manager::Dpkg, Manager::Apk, Manager::Rpm]
        .iter()
        .any(|m| m.ecosystem() == ecosystem)
}

/// One installed OS package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct OsPackage {
    /// Whose database lists it.
    pub manager: Manager,
    /// Its name (`libjq1`).
    pub name: String,
    /// Its version (`1.6-2.1`), when the database says.
    pub version: Option<String>,
    /// Its architecture (`amd64`, `x86_64`, `all`), when the database says.
    pub arch: Option<String>,
}

/// What the databases say of a filesystem's paths.
#[derive(Debug, Default)]
pub struct Owners {
    /// The packages seen, sorted.
    pub packages: Vec<OsPackage>,
    /// Each owned path of the filesystem and its package (an index in `packages`; a directory
    /// several own goes to the first).
    pub owner: BTreeMap<String, usize>,
    /// The paths of the filesystem that are a manager's own state.
    pub state: BTreeSet<String>,
}

const DPKG_STATUS: &str = "var/lib/dpkg/status";
const DPKG_INFO: &str = "var/lib/dpkg/info";
const DPKG_ALTERNATIVES: &str = "var/lib/dpkg/alternatives";
const DPKG_DIVERSIONS: &str = "var/lib/dpkg/diversions";
const APK_INSTALLED: &str = "lib/apk/db/installed";
/// Where rpm keeps its SQLite database (`_dbpath`): the old place, and Fedora 36's.
const RPM_DATABASES: &[&str] = &[
    "var/lib/rpm/rpmdb.sqlite",
    "usr/lib/sysimage/rpm/rpmdb.sqlite",
];

/// Reads every package database in `fs` and says who owns what; `temp` is a directory for the
/// private copy SQLite reads rpm's database from.
pub fn owners(fs: &mut dyn Filesystem, temp: &Path) -> Result<Owners> {
    let mut found: Vec<(OsPackage, Vec<String>)> = Vec::new();
    if fs.kind(DPKG_STATUS) == Some(Kind::File) {
        let status =
            parse_dpkg_status(fs.read(DPKG_STATUS)?).map_err(|e| e.context(DPKG_STATUS))?;
        let diversions = match fs.kind(DPKG_DIVERSIONS) {
            Some(Kind::File) => parse_dpkg_diversions(fs.read(DPKG_DIVERSIONS)?)
                .map_err(|e| e.context(DPKG_DIVERSIONS))?,
            _ => Vec::new(),
        };
        for list in fs.below(DPKG_INFO) {
            let Some(stem) = list
                .strip_prefix(DPKG_INFO)
                .and_then(|s| s.strip_prefix('/'))
                .and_then(|s| s.strip_suffix(".list"))
                .filter(|s| !s.contains('/'))
            else {
                continue;
            };
            let (name, arch) = match stem.split_once(':') {
                Some((n, a)) => (n, Some(a)),
                None => (stem, None),
            };
            let entry = status
                .iter()
                .find(|p| p.name == name && (arch.is_none() || p.arch.as_deref() == arch));
            let package = entry.cloned().unwrap_or_else(|| OsPackage {
                manager: Manager::Dpkg,
                name: name.to_string(),
                version: None,
                arch: arch.map(str::to_string),
            });
            let mut paths = parse_lines(fs.read(&list)?).map_err(|e| e.context(&list))?;
            for path in &mut paths {
                if let Some(d) = diversions.iter().find(|d| d.diverts(path, name)) {
                    path.clone_from(&d.to);
                }
            }
            found.push((package, paths));
        }
    }
    if fs.kind(APK_INSTALLED) == Some(Kind::File) {
        let installed =
            parse_apk_installed(fs.read(APK_INSTALLED)?).map_err(|e| e.context(APK_INSTALLED))?;
        found.extend(installed);
    }
    for db in RPM_DATABASES {
        if fs.kind(db) == Some(Kind::File) {
            found.extend(rpm_packages(fs, db, temp).map_err(|e| e.context(*db))?);
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Owners::default();
    for (package, paths) in found {
        let index = out.packages.len();
        let owned: Vec<String> = paths.iter().filter_map(|p| resolve(fs, p)).collect();
        // A directory is shared by many packages, and dpkg rewrites the lists of packages it did
        // not install: a package is here when it owns a file or link here.
        if owned.iter().any(|p| fs.kind(p) != Some(Kind::Other)) {
            for path in owned {
                out.owner.entry(path).or_insert(index);
            }
            out.packages.push(package);
        }
    }
    for (manager, dirs) in STATE {
        if manager.databases().iter().all(|db| fs.kind(db).is_none()) {
            continue;
        }
        for dir in *dirs {
            if fs.kind(dir).is_some() {
                out.state.insert(dir.to_string());
            }
            out.state.extend(fs.below(dir));
        }
    }
    // The links update-alternatives made (`usr/bin/editor`) are the installs' state too.
    for file in fs.below(DPKG_ALTERNATIVES) {
        if fs.kind(&file) == Some(Kind::File) {
            let links = parse_dpkg_alternatives(fs.read(&file)?).map_err(|e| e.context(&file))?;
            out.state
                .extend(links.iter().filter_map(|l| resolve(fs, l)));
        }
    }
    Ok(out)
}

/// The packages of rpm's SQLite database at `db` in `fs`, read from a copy in `temp` (with its
/// write-ahead log, which holds the last transactions until SQLite checkpoints it).
fn rpm_packages(
    fs: &mut dyn Filesystem,
    db: &str,
    temp: &Path,
) -> Result<Vec<(OsPackage, Vec<String>)>> {
    let path = unique_in(temp);
    let (dir, ()) = TempPath::create(path.clone(), |p| std::fs::create_dir(p))
        .map_err(|e| Error::io(path.display(), e))?;
    let copy = dir.path().join("rpmdb.sqlite");
    for suffix in ["", "-wal"] {
        let from = format!("{db}{suffix}");
        if fs.kind(&from) != Some(Kind::File) {
            continue;
        }
        let to = copy.with_file_name(format!("rpmdb.sqlite{suffix}"));
        let mut out = File::create(&to).map_err(|e| Error::io(to.display(), e))?;
        std::io::copy(&mut fs.read(&from)?, &mut out).map_err(|e| Error::io(to.display(), e))?;
    }
    let packages = rpmdb::read(&copy)?;
    Ok(packages
        .into_iter()
        .map(|p| {
            let package = OsPackage {
                manager: Manager::Rpm,
                name: p.name,
                version: Some(p.version),
                arch: p.arch,
            };
            (package, p.files)
        })
        .collect())
}

/// An update-alternatives state file: its mode, its master link, then pairs of a slave's name
/// and link up to a blank line; the links, master first.
pub fn parse_dpkg_alternatives(input: impl BufRead) -> Result<Vec<String>> {
    let lines = parse_lines_keep_blank(input)?;
    let head = lines.iter().skip(1).take_while(|l| !l.is_empty());
    Ok(head
        .step_by(2)
        .filter(|l| l.starts_with('/'))
        .cloned()
        .collect())
}

/// One dpkg diversion: the files packages ship at `from` are installed at `to`, but for those
/// of the package `by` (none: a local diversion, made by the admin for every package).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diversion {
    /// The path as packages list it.
    pub from: String,
    /// Where the diverted files are.
    pub to: String,
    /// The diverting package, which keeps its own file at `from`.
    pub by: Option<String>,
}

impl Diversion {
    /// Whether the file `package` lists at `path` is at [`Diversion::to`] instead.
    fn diverts(&self, path: &str, package: &str) -> bool {
        self.from == path && self.by.as_deref() != Some(package)
    }
}

/// dpkg's diversions file: three lines per diversion (the path, where it is diverted to, the
/// diverting package or `:` for a local one); an incomplete last one is ignored, as a path
/// nothing diverts.
pub fn parse_dpkg_diversions(input: impl BufRead) -> Result<Vec<Diversion>> {
    let lines = parse_lines_keep_blank(input)?;
    Ok(lines
        .chunks_exact(3)
        .map(|d| Diversion {
            from: d[0].clone(),
            to: d[1].clone(),
            by: (d[2] != ":").then(|| d[2].clone()),
        })
        .collect())
}

/// dpkg's status file: the packages it lists with files on disk (every state but
/// `not-installed`), each with its version and architecture.
pub fn parse_dpkg_status(input: impl BufRead) -> Result<Vec<OsPackage>> {
    let mut out = Vec::new();
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    let mut finish = |fields: &mut BTreeMap<String, String>| {
        let installed = fields
            .get("Status")
            .is_some_and(|s| !s.ends_with("not-installed"));
        if let (Some(name), true) = (fields.remove("Package"), installed) {
            out.push(OsPackage {
                manager: Manager::Dpkg,
                name,
                version: fields.remove("Version"),
                arch: fields.remove("Architecture"),
            });
        }
        fields.clear();
    };
    for line in parse_lines_keep_blank(input)? {
        if line.trim().is_empty() {
            finish(&mut fields);
        } else if let Some((key, value)) = line
            .split_once(':')
            .filter(|_| !line.starts_with([' ', '\t']))
        {
            fields.insert(key.to_string(), value.trim().to_string());
        }
    }
    finish(&mut fields);
    Ok(out)
}

/// apk's `installed` database: each package (`P:` name, `V:` version, `A:` architecture) with
/// its paths (`F:` a directory, `R:` a file in the last directory named).
pub fn parse_apk_installed(input: impl BufRead) -> Result<Vec<(OsPackage, Vec<String>)>> {
    let mut out = Vec::new();
    let mut current: Option<(OsPackage, Vec<String>)> = None;
    let mut dir = String::new();
    for line in parse_lines_keep_blank(input)? {
        let Some((key, value)) = line.split_once(':') else {
            out.extend(current.take());
            dir.clear();
            continue;
        };
        let package = current.get_or_insert_with(|| {
            let p = OsPackage {
                manager: Manager::Apk,
                name: String::new(),
                version: None,
                arch: None,
            };
            (p, Vec::new())
        });
        match key {
            "P" => package.0.name = value.to_string(),
            "V" => package.0.version = Some(value.to_string()),
            "A" => package.0.arch = Some(value.to_string()),
            "F" => {
                dir = value.trim_matches('/').to_string();
                package.1.push(dir.clone());
            }
            "R" if dir.is_empty() => package.1.push(value.to_string()),
            "R" => package.1.push(format!("{dir}/{value}")),
            _ => {}
        }
    }
    out.extend(current);
    out.retain(|(p, _)| !p.name.is_empty());
    Ok(out)
}

/// The non-blank lines of a dpkg `.list` (or any one-path-per-line file).
fn parse_lines(input: impl BufRead) -> Result<Vec<String>> {
    Ok(parse_lines_keep_blank(input)?
        .into_iter()
        .filter(|l| !l.is_empty())
        .collect())
}

/// Every line, without its end; a line that is not UTF-8 cannot name a path of the filesystem
/// (whose paths are) and reads as blank.
fn parse_lines_keep_blank(mut input: impl BufRead) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = input
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::invalid(format!("reading a package database: {e}")))?;
        if n == 0 {
            return Ok(out);
        }
        let line = std::str::from_utf8(&buf).unwrap_or("");
        out.push(line.trim_end_matches(['\n', '\r']).to_string());
    }
}

/// Top-level directories a merged-usr system has as links into `usr/`.
const USR_MERGED: &[&str] = &["bin", "sbin", "lib", "lib32", "lib64", "libx32"];

/// Where the file a package database lists as `listed` is in `fs`, if `fs` has it: as written,
/// else with its directories resolved through `fs`'s symbolic links and the usr-merge aliases
/// (a top-level `bin` the filesystem does not have reads as a link to `usr/bin`). The last
/// component is not followed (a listed symlink is the link).
pub fn resolve(fs: &dyn Filesystem, listed: &str) -> Option<String> {
    let literal = listed.trim_matches('/');
    if fs.kind(literal).is_some() {
        return Some(literal.to_string());
    }
    let (dirs, name) = literal.rsplit_once('/')?;
    let dirs = follow_links(dirs, |p| match fs.kind(p) {
        Some(Kind::Symlink(target)) => Some(target.to_string()),
        None if USR_MERGED.contains(&p) => Some(format!("usr/{p}")),
        _ => None,
    })?;
    let path = if dirs.is_empty() {
        name.to_string()
    } else {
        format!("{dirs}/{name}")
    };
    fs.kind(&path).is_some().then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A filesystem in memory: each path with `/` (a directory), `->target` (a symlink) or
    /// its content.
    struct Mem(BTreeMap<String, String>);

    impl Mem {
        fn new(entries: &[(&str, &str)]) -> Mem {
            Mem(entries
                .iter()
                .map(|(p, c)| (p.to_string(), c.to_string()))
                .collect())
        }
    }

    impl Filesystem for Mem {
        fn kind(&self, path: &str) -> Option<Kind<'_>> {
            self.0.get(path).map(|c| match c.strip_prefix("->") {
                Some(target) => Kind::Symlink(target),
                None if c == "/" => Kind::Other,
                None => Kind::File,
            })
        }
        fn below(&self, dir: &str) -> Vec<String> {
            let prefix = format!("{dir}/");
            self.0
                .keys()
                .filter(|k| k.starts_with(&prefix))
                .cloned()
                .collect()
        }
        fn read(&mut self, path: &str) -> Result<Box<dyn BufRead + '_>> {
            Ok(Box::new(self.0[path].as_bytes()))
        }
    }

    const STATUS: &str = "Package: jq\nStatus: install ok installed\nPriority: optional\n\
        Architecture: amd64\nVersion: 1.6-2.1\nDescription: lightweight JSON processor\n \
        Package: not-a-field\n\nPackage: gone\nStatus: purge ok not-installed\n\
        Architecture: amd64\n\nPackage: libjq1\nStatus: install ok installed\n\
        Architecture: amd64\nMulti-Arch: same\nVersion: 1.6-2.1\n";

    #[test]
    fn dpkg_status_names_installed_packages_with_versions() {
        let got = parse_dpkg_status(STATUS.as_bytes()).unwrap();
        let names: Vec<_> = got
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_deref(), p.arch.as_deref()))
            .collect();
        assert_eq!(
            names,
            [
                ("jq", Some("1.6-2.1"), Some("amd64")),
                ("libjq1", Some("1.6-2.1"), Some("amd64"))
            ]
        );
    }

    #[test]
    fn dpkg_lists_resolve_through_usr_merge_and_links() {
        let mut fs = Mem::new(&[
            (DPKG_STATUS, STATUS),
            (
                "var/lib/dpkg/info/jq.list",
                "/.\n/bin\n/bin/jq\n/usr\n/usr/bin\n/usr/share/doc/jq/copyright\n/etc/gone.conf\n",
            ),
            (
                "var/lib/dpkg/info/libjq1:amd64.list",
                "/lib/x86_64-linux-gnu/libjq.so.1\n/opt/link/libjq.so\n",
            ),
            ("var/lib/dpkg/info/jq.md5sums", "x"),
            // Rewritten by dpkg, but bash owns nothing here but a shared directory.
            ("var/lib/dpkg/info/bash.list", "/bin\n/bin/bash\n/usr/bin\n"),
            (
                "var/lib/dpkg/alternatives/jqq",
                "auto\n/usr/bin/jqq\n\n/bin/jq\n10\n",
            ),
            ("usr/bin", "/"),
            ("usr/bin/jqq", "->/etc/alternatives/jqq"),
            ("var/log/dpkg.log", "log"),
            ("usr/bin/jq", "elf"),
            ("usr/share/doc/jq/copyright", "c"),
            ("usr/lib/x86_64-linux-gnu/libjq.so.1", "elf"),
            ("opt/link", "->../usr/lib/x86_64-linux-gnu"),
            ("usr/lib/x86_64-linux-gnu/libjq.so", "->libjq.so.1"),
            ("app/main.py", "code"),
        ]);
        let o = owners(&mut fs, &std::env::temp_dir()).unwrap();
        let names: Vec<_> = o.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["jq", "libjq1"]);
        assert_eq!(o.packages[1].version.as_deref(), Some("1.6-2.1"));
        let owned: Vec<(&str, usize)> = o.owner.iter().map(|(p, i)| (p.as_str(), *i)).collect();
        assert_eq!(
            owned,
            [
                ("usr/bin", 0),
                ("usr/bin/jq", 0),
                ("usr/lib/x86_64-linux-gnu/libjq.so", 1),
                ("usr/lib/x86_64-linux-gnu/libjq.so.1", 1),
                ("usr/share/doc/jq/copyright", 0),
            ]
        );
        assert!(o.state.contains("var/lib/dpkg/info/jq.md5sums"));
        assert!(o.state.contains("var/lib/dpkg/status"));
        assert!(o.state.contains("var/log/dpkg.log"));
        assert!(o.state.contains("usr/bin/jqq"), "an alternative's link");
        assert!(!o.state.contains("app/main.py"));
    }

    #[test]
    fn diverted_files_are_owned_where_they_were_diverted_to() {
        let status = "Package: vim-tiny\nStatus: install ok installed\nVersion: 2:9.0\n\n\
            Package: vim-runtime\nStatus: install ok installed\nVersion: 2:9.0\n\n\
            Package: ed\nStatus: install ok installed\nVersion: 1.19\n";
        let help = "/usr/share/vim/vim90/doc/help.txt";
        let diversions = format!(
            "{help}\n{help}.vim-tiny\nvim-runtime\n/usr/bin/ed\n/usr/bin/ed.distrib\n:\n/cut\n"
        );
        let mut fs = Mem::new(&[
            (DPKG_STATUS, status),
            (DPKG_DIVERSIONS, &diversions),
            (
                "var/lib/dpkg/info/vim-tiny.list",
                &format!("{help}\n/usr/bin/vim.tiny\n"),
            ),
            ("var/lib/dpkg/info/vim-runtime.list", &format!("{help}\n")),
            ("var/lib/dpkg/info/ed.list", "/usr/bin/ed\n"),
            ("usr/share/vim/vim90/doc/help.txt", "runtime's"),
            ("usr/share/vim/vim90/doc/help.txt.vim-tiny", "tiny's"),
            ("usr/bin/vim.tiny", "elf"),
            ("usr/bin/ed.distrib", "elf"),
            ("usr/bin/ed", "a local wrapper"),
        ]);
        let o = owners(&mut fs, &std::env::temp_dir()).unwrap();
        let owner = |p: &str| o.owner.get(p).map(|i| o.packages[*i].name.as_str());
        assert_eq!(
            owner("usr/share/vim/vim90/doc/help.txt"),
            Some("vim-runtime")
        );
        assert_eq!(
            owner("usr/share/vim/vim90/doc/help.txt.vim-tiny"),
            Some("vim-tiny")
        );
        assert_eq!(owner("usr/bin/ed.distrib"), Some("ed"), "a local diversion");
        assert_eq!(
            owner("usr/bin/ed"),
            None,
            "the admin's file at the diverted path"
        );
        assert!(o.state.contains(DPKG_DIVERSIONS));
    }

    #[test]
    fn alternatives_name_their_links() {
        let editor = "auto\n/usr/bin/editor\neditor.1.gz\n/usr/share/man/man1/editor.1.gz\n\n\
            /bin/ed\n-100\n/usr/share/man/man1/ed.1.gz\n\n";
        let links = parse_dpkg_alternatives(editor.as_bytes()).unwrap();
        assert_eq!(
            links,
            ["/usr/bin/editor", "/usr/share/man/man1/editor.1.gz"]
        );
    }

    #[test]
    fn a_real_top_level_directory_is_not_aliased() {
        // `bin` exists as itself here, so /bin/x is not usr/bin/x.
        let fs = Mem::new(&[("bin", "/"), ("usr/bin/x", "elf"), ("usr/sbin", "/")]);
        assert_eq!(resolve(&fs, "/bin/x"), None);
        assert_eq!(resolve(&fs, "/usr/bin/x").as_deref(), Some("usr/bin/x"));
        // `sbin` is absent: the alias of usr/sbin, whose parent holds bin/x.
        assert_eq!(resolve(&fs, "/sbin/../bin/x").as_deref(), Some("usr/bin/x"));
    }

    #[test]
    fn links_that_loop_resolve_to_nothing() {
        let fs = Mem::new(&[("a", "->b"), ("b", "->a")]);
        assert_eq!(resolve(&fs, "/a/x"), None);
    }

    const INSTALLED: &str =
        "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nS:383152\nT:the musl c library\n\
        F:lib\nR:ld-musl-x86_64.so.1\na:0:0:755\nZ:Q1xyz=\nR:libc.musl-x86_64.so.1\n\n\
        C:Q1def=\nP:jq\nV:1.7.1-r0\nA:x86_64\nF:usr\nF:usr/bin\nR:jq\n\n\
        P:unrelated\nV:1\nF:opt/none\nR:f\n";

    #[test]
    fn apk_installed_lists_packages_dirs_and_files() {
        let got = parse_apk_installed(INSTALLED.as_bytes()).unwrap();
        let flat: Vec<_> = got
            .iter()
            .map(|(p, paths)| {
                (
                    p.name.as_str(),
                    p.version.as_deref(),
                    p.arch.as_deref(),
                    paths.clone(),
                )
            })
            .collect();
        assert_eq!(flat[0].0, "musl");
        assert_eq!(flat[0].1, Some("1.2.4-r2"));
        assert_eq!(flat[0].2, Some("x86_64"));
        assert_eq!(
            flat[0].3,
            [
                "lib",
                "lib/ld-musl-x86_64.so.1",
                "lib/libc.musl-x86_64.so.1"
            ]
        );
        assert_eq!(flat[1].3, ["usr", "usr/bin", "usr/bin/jq"]);
        assert_eq!(flat.len(), 3);
        let mut fs = Mem::new(&[
            (APK_INSTALLED, INSTALLED),
            ("etc/apk/world", "jq\n"),
            ("usr/bin/jq", "elf"),
        ]);
        let o = owners(&mut fs, &std::env::temp_dir()).unwrap();
        // Only jq owns a path here: musl and `unrelated` are in the base or nowhere.
        let names: Vec<_> = o.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["jq"]);
        assert_eq!(o.owner.get("usr/bin/jq"), Some(&0));
        assert!(o.state.contains("etc/apk/world") && o.state.contains(APK_INSTALLED));
    }
}
