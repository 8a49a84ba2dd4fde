//! Test images made of this machine's own binaries: copies of host files at their host paths
//! (with every symlink met on the way, so merged-usr `/lib` -> `usr/lib` is kept), the loader and
//! libraries `ldd` lists for a program, and C programs built with the host's gcc.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use super::{have, require};

/// A path of the test base: a copy of a host file, or a symlink as the host has it.
pub enum Node {
    File(Vec<u8>),
    Link(PathBuf),
}

/// `path` with `.` and `..` folded lexically (its parent is already free of symlinks).
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(p) => out.push(p),
            _ => {}
        }
    }
    out
}

/// Adds host `path` to `base` the way the host has it: every symlink met on the way (`/lib` →
/// `usr/lib`, the soname link) and the real file at the end.
pub fn mirror(path: &Path, base: &mut BTreeMap<PathBuf, Node>) {
    let parts: Vec<_> = path.components().skip(1).collect();
    let mut prefix = PathBuf::from("/");
    for (i, part) in parts.iter().enumerate() {
        prefix.push(part);
        if prefix.is_symlink() {
            let target = std::fs::read_link(&prefix).expect("readlink");
            let mut next = prefix.parent().expect("parent").join(&target);
            next.extend(&parts[i + 1..]);
            base.insert(prefix, Node::Link(target));
            return mirror(&lexical(&next), base);
        }
    }
    base.insert(prefix, Node::File(std::fs::read(path).expect("read lib")));
}

/// The loader and library paths `ldd` prints for `binary`.
pub fn ldd(binary: &Path) -> Vec<PathBuf> {
    let out = Command::new("ldd").arg(binary).output().expect("ldd");
    assert!(out.status.success(), "ldd failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let l = l.split(" (").next()?.trim();
            let path = l.rsplit("=> ").next()?;
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

/// One layer's tar: copies and symlinks at their image paths, and whiteouts.
pub fn tar_of(base: &BTreeMap<PathBuf, Node>, whiteouts: &[&str]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, node) in base {
        let name = path.strip_prefix("/").expect("absolute");
        let mut h = tar::Header::new_gnu();
        h.set_mtime(1);
        match node {
            Node::File(bytes) => {
                h.set_mode(0o755);
                h.set_size(bytes.len() as u64);
                b.append_data(&mut h, name, &bytes[..]).expect("file");
            }
            Node::Link(target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                h.set_size(0);
                b.append_link(&mut h, name, target).expect("link");
            }
        }
    }
    for path in whiteouts {
        let (dir, name) = path.rsplit_once('/').expect("dir/name");
        let mut h = tar::Header::new_gnu();
        h.set_size(0);
        b.append_data(&mut h, format!("{dir}/.wh.{name}"), &[][..])
            .expect("whiteout");
    }
    b.into_inner().expect("tar")
}

/// Builds the C `source` with the host's gcc and `args` into `dir/name` (a skip, or a failure
/// under CI=true, when gcc or what `what` names is missing).
pub fn gcc(dir: &Path, name: &str, source: &str, args: &[&str], what: &str) -> PathBuf {
    require(have("gcc") && have("ldd"), "gcc and ldd");
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, source).expect("write source");
    let program = dir.join(name);
    let built = Command::new("gcc")
        .arg(&c)
        .arg("-o")
        .arg(&program)
        .args(args)
        .current_dir(dir)
        .status()
        .is_ok_and(|s| s.success());
    require(built, what);
    program
}

/// The host's copies of everything `program` loads, at the host's paths.
pub fn host_base(program: &Path) -> BTreeMap<PathBuf, Node> {
    let mut base = BTreeMap::new();
    for path in ldd(program) {
        mirror(&path, &mut base);
    }
    base
}
