//! The pre-push library check against real binaries of this machine: a C program linked with zlib,
//! checked against OCI bases holding copies of the host's own libraries at the host's (Debian
//! merged-usr) paths, and busybox-static on `scratch`.

mod support;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use strata::build::libraries::check_binary;
use strata::source::reference::ImageRef;
use strata::source::{open, OpenedImage, SourceOptions};
use support::layout::{write_layout, write_layout_with, Comp};
use support::{have, require};

/// A path of the test base: a copy of a host file, or a symlink as the host has it.
enum Node {
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
fn mirror(path: &Path, base: &mut BTreeMap<PathBuf, Node>) {
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
fn ldd(binary: &Path) -> Vec<PathBuf> {
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
fn tar_of(base: &BTreeMap<PathBuf, Node>, whiteouts: &[&str]) -> Vec<u8> {
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

fn opened(dir: &Path) -> OpenedImage {
    let reference = ImageRef::parse(&format!("oci:{}:base", dir.display())).expect("reference");
    open(&reference, &SourceOptions::default()).expect("open base")
}

/// A C program linked with zlib, built with the host's gcc (None when it cannot be built).
fn zlib_program(dir: &Path) -> Option<PathBuf> {
    if !require(have("gcc") && have("ldd"), "gcc and ldd") {
        return None;
    }
    let source = dir.join("z.c");
    std::fs::write(
        &source,
        "#include <zlib.h>\n#include <stdio.h>\nint main(void) { puts(zlibVersion()); return 0; }\n",
    )
    .expect("write source");
    let program = dir.join("z");
    let built = Command::new("gcc")
        .arg(&source)
        .arg("-o")
        .arg(&program)
        .arg("-lz")
        .status()
        .is_ok_and(|s| s.success());
    require(built, "zlib headers (zlib1g-dev) for gcc -lz").then_some(program)
}

/// The host's copies of everything `program` loads, at the host's paths.
fn host_base(program: &Path) -> BTreeMap<PathBuf, Node> {
    let mut base = BTreeMap::new();
    for path in ldd(program) {
        mirror(&path, &mut base);
    }
    base
}

fn check(program: &Path, dir: &Path, layers: &[(Vec<u8>, Comp)]) -> Vec<String> {
    write_layout(dir, "base", layers);
    check_binary(program, "/app/z", Some(&opened(dir))).expect("check")
}

#[test]
fn a_base_with_the_hosts_libraries_has_everything_the_program_needs() {
    let tmp = tempfile::tempdir().expect("tmp");
    let Some(program) = zlib_program(tmp.path()) else {
        return;
    };
    let base = host_base(&program);
    assert!(
        base.contains_key(Path::new("/lib")),
        "the host is merged-usr, so the base has /lib -> usr/lib"
    );
    let missing = check(
        &program,
        &tmp.path().join("full"),
        &[(tar_of(&base, &[]), Comp::Gzip)],
    );
    assert!(missing.is_empty(), "{missing:?}");
}

#[test]
fn a_base_without_libz_misses_exactly_libz() {
    let tmp = tempfile::tempdir().expect("tmp");
    let Some(program) = zlib_program(tmp.path()) else {
        return;
    };
    let mut base = host_base(&program);
    base.retain(|path, _| !path.ends_with("libz.so.1"));
    let missing = check(
        &program,
        &tmp.path().join("nolibz"),
        &[(tar_of(&base, &[]), Comp::Zstd)],
    );
    assert_eq!(missing, ["libz.so.1"]);
}

#[test]
fn a_whiteout_in_a_later_layer_makes_the_library_missing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let Some(program) = zlib_program(tmp.path()) else {
        return;
    };
    let base = host_base(&program);
    let libz = ldd(&program)
        .into_iter()
        .find(|p| p.ends_with("libz.so.1"))
        .expect("ldd lists libz");
    let real = std::fs::canonicalize(libz).expect("libz");
    let real = real
        .to_str()
        .expect("utf-8")
        .trim_start_matches('/')
        .to_string();
    let layers = [
        (tar_of(&base, &[]), Comp::Gzip),
        (tar_of(&BTreeMap::new(), &[&real]), Comp::None),
    ];
    let missing = check(&program, &tmp.path().join("whiteout"), &layers);
    assert_eq!(
        missing,
        ["libz.so.1"],
        "the soname link dangles once {real} is deleted"
    );
}

#[test]
fn an_empty_base_misses_the_loader_and_every_library() {
    let tmp = tempfile::tempdir().expect("tmp");
    let Some(program) = zlib_program(tmp.path()) else {
        return;
    };
    let missing = check_binary(&program, "/app/z", None).expect("check");
    assert_eq!(missing.len(), 3, "{missing:?}");
    assert!(
        missing[0].starts_with('/') && missing[0].contains("ld-linux"),
        "{missing:?}"
    );
    assert_eq!(missing[1..], ["libz.so.1", "libc.so.6"]);
}

#[test]
fn busybox_static_needs_nothing_even_on_scratch() {
    let busybox = Path::new("/bin/busybox");
    if !require(busybox.is_file(), "busybox-static (/bin/busybox)") {
        return;
    }
    assert!(check_binary(busybox, "/bin/busybox", None)
        .expect("check")
        .is_empty());
}

#[test]
fn a_binary_for_another_architecture_is_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let busybox = Path::new("/bin/busybox");
    if !require(busybox.is_file(), "busybox-static (/bin/busybox)") || !cfg!(target_arch = "x86_64")
    {
        return;
    }
    let dir = tmp.path().join("arm");
    write_layout_with(&dir, "base", &[], |c| c["architecture"] = "arm64".into());
    let err = check_binary(busybox, "/bin/busybox", Some(&opened(&dir)))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("built for amd64 but the base image is linux/arm64"),
        "{err}"
    );
}

#[test]
fn a_text_file_is_a_clear_error() {
    let tmp = tempfile::tempdir().expect("tmp");
    let script = tmp.path().join("run.sh");
    std::fs::write(&script, "#!/bin/sh\nexec server\n").expect("write");
    let err = check_binary(&script, "/run.sh", None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("run.sh") && err.contains("not an ELF binary"),
        "{err}"
    );
}
