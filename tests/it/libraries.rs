//! The pre-push library check against real binaries of this machine: a C program linked with zlib,
//! checked against OCI bases holding copies of the host's own libraries at the host's (Debian
//! merged-usr) paths, and busybox-static on `scratch`.


use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use strata::rootfs::libraries::check_binary;
use strata::source::reference::ImageRef;
use strata::source::{open, OpenedImage, SourceOptions};
use crate::support::host::{gcc, host_base, ldd, tar_of};
use crate::support::layout::{write_layout, write_layout_with, Comp};
use crate::support::{require, skip};

fn opened(dir: &Path) -> OpenedImage {
    let reference = ImageRef::parse(&format!("oci:{}:base", dir.display())).expect("reference");
    open(&reference, &SourceOptions::default()).expect("open base")
}

/// A C program linked with zlib, built with the host's gcc (a skip when it cannot be built).
fn zlib_program(dir: &Path) -> PathBuf {
    gcc(
        dir,
        "z",
        "#include <zlib.h>\n#include <stdio.h>\nint main(void) { puts(zlibVersion()); return 0; }\n",
        &["-lz"],
        "zlib headers (zlib1g-dev) for gcc -lz",
    )
}

fn check(program: &Path, dir: &Path, layers: &[(Vec<u8>, Comp)]) -> Vec<String> {
    write_layout(dir, "base", layers);
    check_binary(program, "/app/z", Some(&opened(dir))).expect("check")
}

fn a_base_with_the_hosts_libraries_has_everything_the_program_needs() {
    let tmp = tempfile::tempdir().expect("tmp");
    let program = zlib_program(tmp.path());
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

fn a_base_without_libz_misses_exactly_libz() {
    let tmp = tempfile::tempdir().expect("tmp");
    let program = zlib_program(tmp.path());
    let mut base = host_base(&program);
    base.retain(|path, _| !path.ends_with("libz.so.1"));
    let missing = check(
        &program,
        &tmp.path().join("nolibz"),
        &[(tar_of(&base, &[]), Comp::Zstd)],
    );
    assert_eq!(missing, ["libz.so.1"]);
}

fn a_whiteout_in_a_later_layer_makes_the_library_missing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let program = zlib_program(tmp.path());
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

fn an_empty_base_misses_the_loader_and_every_library() {
    let tmp = tempfile::tempdir().expect("tmp");
    let program = zlib_program(tmp.path());
    let missing = check_binary(&program, "/app/z", None).expect("check");
    assert_eq!(missing.len(), 3, "{missing:?}");
    assert!(
        missing[0].starts_with('/') && missing[0].contains("ld-linux"),
        "{missing:?}"
    );
    assert_eq!(missing[1..], ["libz.so.1", "libc.so.6"]);
}

fn busybox_static_needs_nothing_even_on_scratch() {
    let busybox = Path::new("/bin/busybox");
    require(busybox.is_file(), "busybox-static (/bin/busybox)");
    assert!(check_binary(busybox, "/bin/busybox", None)
        .expect("check")
        .is_empty());
}

fn a_binary_for_another_architecture_is_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let busybox = Path::new("/bin/busybox");
    require(busybox.is_file(), "busybox-static (/bin/busybox)");
    if !cfg!(target_arch = "x86_64") {
        skip("busybox-static is checked against an x86-64 loader");
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

crate::tests![
    a_base_with_the_hosts_libraries_has_everything_the_program_needs,
    a_base_without_libz_misses_exactly_libz,
    a_whiteout_in_a_later_layer_makes_the_library_missing,
    an_empty_base_misses_the_loader_and_every_library,
    busybox_static_needs_nothing_even_on_scratch,
    a_binary_for_another_architecture_is_refused,
    a_text_file_is_a_clear_error,
];
