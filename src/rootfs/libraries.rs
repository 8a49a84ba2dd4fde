//! Will a dynamically linked binary start on this base? An `ldd`-style check done before pushing:
//! the binary's ELF names its dynamic loader (`PT_INTERP`) and the libraries it links (`DT_NEEDED`,
//! searched in `DT_RUNPATH`/`DT_RPATH` and the default directories of its machine); the base's
//! layers are stacked, keeping only symlinks and library-named files, with whiteouts applied and
//! symlinks followed inside the image (`/lib` → `usr/lib` on merged-usr Debian). Whatever the
//! loader could not find is reported by name, so a build can refuse an image that cannot start.
//! Static binaries (musl, busybox-static) need nothing, and `scratch` is a fine base for them.
//!
//! Only the binary's direct needs are checked (the base's libraries are not read, so what they
//! link in turn is not), and `ld.so.conf` is not read: every conventional library directory of
//! the machine counts as searched. The library search itself is shared with `strata report`'s
//! will-it-start check ([`crate::analysis::startup`]), which also follows the libraries' own needs.

use std::path::Path;

use goblin::elf::header::{EM_386, EM_AARCH64, EM_ARM, EM_PPC64, EM_RISCV, EM_S390, EM_X86_64};

use crate::error::{Error, Result};
use crate::layer::elf::ElfFacts;
use crate::layer::walk::{clean_path, Entry, EntryKind};
use crate::rootfs::base_fs::{BaseFs, Origin};
use crate::source::OpenedImage;

/// A machine strata knows: its OCI architecture name and Debian multiarch directories.
struct Arch {
    machine: u16,
    is_64: bool,
    oci: &'static str,
    triplets: &'static [&'static str],
}

const ARCHES: &[Arch] = &[
    Arch {
        machine: EM_X86_64,
        is_64: true,
        oci: "amd64",
        triplets: &["x86_64-linux-gnu"],
    },
    Arch {
        machine: EM_386,
        is_64: false,
        oci: "386",
        triplets: &["i386-linux-gnu"],
    },
    Arch {
        machine: EM_AARCH64,
        is_64: true,
        oci: "arm64",
        triplets: &["aarch64-linux-gnu"],
    },
    Arch {
        machine: EM_ARM,
        is_64: false,
        oci: "arm",
        triplets: &["arm-linux-gnueabihf", "arm-linux-gnueabi"],
    },
    Arch {
        machine: EM_PPC64,
        is_64: true,
        oci: "ppc64le",
        triplets: &["powerpc64le-linux-gnu"],
    },
    Arch {
        machine: EM_S390,
        is_64: true,
        oci: "s390x",
        triplets: &["s390x-linux-gnu"],
    },
    Arch {
        machine: EM_RISCV,
        is_64: true,
        oci: "riscv64",
        triplets: &["riscv64-linux-gnu"],
    },
];

fn arch_of(needs: &ElfFacts) -> Option<&'static Arch> {
    ARCHES
        .iter()
        .find(|a| a.machine == needs.machine && a.is_64 == needs.is_64)
}

/// The OCI architecture (`amd64`, `arm64`, ...) an ELF file runs on, when strata knows its machine.
pub(crate) fn oci_arch(needs: &ElfFacts) -> Option<&'static str> {
    arch_of(needs).map(|a| a.oci)
}

/// The directories the loader searches when no runpath has the library (glibc's and musl's
/// defaults plus Debian's multiarch ones), as image paths without the leading slash.
fn default_dirs(needs: &ElfFacts) -> Vec<String> {
    let triplets = arch_of(needs).map_or(&[][..], |a| a.triplets);
    let mut dirs = Vec::new();
    for prefix in ["lib", "usr/lib", "usr/local/lib"] {
        dirs.extend(triplets.iter().map(|t| format!("{prefix}/{t}")));
        dirs.push(prefix.to_string());
    }
    let class = if needs.is_64 { "64" } else { "32" };
    dirs.extend([format!("lib{class}"), format!("usr/lib{class}")]);
    dirs
}

/// The runpath directories with `$ORIGIN` made the directory the binary is installed in.
/// Entries still relative (to the working directory) or using other tokens (`$LIB`,
/// `$PLATFORM`) cannot be known before the container runs, and are left out.
fn runpath_dirs(needs: &ElfFacts, install_path: &str) -> Vec<String> {
    let installed = clean_path(install_path);
    let origin = installed.rsplit_once('/').map_or("", |(dir, _)| dir);
    needs
        .runpaths
        .iter()
        .map(|r| {
            r.replace("${ORIGIN}", "$ORIGIN")
                .replace("$ORIGIN", &format!("/{origin}"))
        })
        .filter(|r| r.starts_with('/') && !r.contains('$'))
        .map(|r| clean_path(&r))
        .collect()
}

/// Whether the file at `path` is named like a shared object (`libz.so.1`, a loader): the files
/// of a base the loader can look at.
pub fn loadable(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.contains(".so")
}

/// Whether an entry can matter to the loader: links and directories (they redirect or replace
/// paths), whiteouts, and files named like shared objects.
fn matters(e: &Entry) -> bool {
    match e.kind {
        EntryKind::File | EntryKind::Hardlink => loadable(&e.path),
        EntryKind::Other => false,
        _ => true,
    }
}

/// Where the loader looks for the libraries of `needs` installed at `install_path`: its runpaths
/// (with `$ORIGIN` made that directory), then the default directories of its machine.
pub(crate) fn search_dirs(needs: &ElfFacts, install_path: &str) -> Vec<String> {
    let mut dirs = runpath_dirs(needs, install_path);
    dirs.extend(default_dirs(needs));
    dirs
}

/// The file the loader would load for the `DT_NEEDED` entry `name` when searching `dirs` (see
/// [`search_dirs`]) on `fs`: a name with a slash is a path, others are looked up in each
/// directory in turn.
pub(crate) fn find_library(fs: &BaseFs, dirs: &[String], name: &str) -> Option<Origin> {
    if name.contains('/') {
        return fs.file(name);
    }
    dirs.iter().find_map(|d| fs.file(&format!("{d}/{name}")))
}

/// What the loader would not find for `needs` on `base` with the binary installed at
/// `install_path` (for `$ORIGIN`): the interpreter's path, then each missing soname, in link
/// order. Empty means the binary can start.
pub fn missing(needs: &ElfFacts, base: &BaseFs, install_path: &str) -> Vec<String> {
    let mut missing = Vec::new();
    if let Some(interpreter) = &needs.interpreter {
        if !base.has_file(interpreter) {
            missing.push(interpreter.clone());
        }
    }
    let dirs = search_dirs(needs, install_path);
    for name in &needs.needed {
        if find_library(base, &dirs, name).is_none() {
            missing.push(name.clone());
        }
    }
    missing
}

/// The filesystem of `base` with the files a loader looks at (libraries, loaders), for
/// [`missing`].
pub fn libraries_kept(base: &OpenedImage) -> Result<BaseFs> {
    BaseFs::scan(base, matters)
}

/// The check a build runs before pushing: what the binary at `binary` (on the build machine)
/// would miss once installed at `install_path` on `base` (`None` = `scratch`). A binary for
/// another machine than the base's architecture is an error; a static binary needs nothing, and
/// then the base's layers are not read at all.
pub fn check_binary(
    binary: &Path,
    install_path: &str,
    base: Option<&OpenedImage>,
) -> Result<Vec<String>> {
    let needs = ElfFacts::read_file(binary)?;
    if let (Some(base), Some(arch)) = (base, oci_arch(&needs)) {
        let config = &base.image.config;
        if !config.architecture.is_empty() && config.architecture != arch {
            return Err(Error::invalid(format!(
                "{}: built for {} but the base image is {}/{}",
                binary.display(),
                arch,
                config.os,
                config.architecture
            )));
        }
    }
    if needs.interpreter.is_none() && needs.needed.is_empty() {
        return Ok(Vec::new());
    }
    let libraries = match base {
        Some(base) => libraries_kept(base)?,
        None => BaseFs::default(),
    };
    Ok(missing(&needs, &libraries, install_path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rootfs::base_fs::tests::{debian, file, stacked};

    fn needs(needed: &[&str], runpaths: &[&str]) -> ElfFacts {
        ElfFacts::test_dynamic(needed, runpaths)
    }

    #[test]
    fn follows_merged_usr_and_soname_links() {
        let base = stacked(&[&debian()]);
        assert!(base.has_file("/lib64/ld-linux-x86-64.so.2"));
        assert!(base.has_file("lib/x86_64-linux-gnu/libz.so.1"));
        assert!(!base.has_file("lib/x86_64-linux-gnu/libssl.so.3"));
        assert!(missing(&needs(&["libc.so.6", "libz.so.1"], &[]), &base, "/app").is_empty());
        assert_eq!(
            missing(&needs(&["libz.so.1", "libssl.so.3"], &[]), &base, "/app"),
            ["libssl.so.3"]
        );
    }

    #[test]
    fn origin_runpaths_follow_the_install_path() {
        let base = stacked(&[&debian(), &[file("app/lib/libapp.so")]]);
        let app = needs(&["libapp.so"], &["$ORIGIN/../lib", "${ORIGIN}/x", "$LIB"]);
        assert!(missing(&app, &base, "/app/bin/server").is_empty());
        assert_eq!(missing(&app, &base, "/opt/server"), ["libapp.so"]);
        assert_eq!(runpath_dirs(&app, "/opt/server"), ["lib", "opt/x"]);
    }

    #[test]
    fn a_missing_loader_is_named_by_its_path() {
        let base = stacked(&[&[file("usr/lib/libc.so.6")]]);
        assert_eq!(
            missing(&needs(&["libc.so.6"], &[]), &base, "/app"),
            ["/lib64/ld-linux-x86-64.so.2"]
        );
    }

    #[test]
    fn default_dirs_include_multiarch_and_class_dirs() {
        let dirs = default_dirs(&needs(&[], &[]));
        for dir in ["lib/x86_64-linux-gnu", "usr/lib", "usr/local/lib", "lib64"] {
            assert!(dirs.iter().any(|d| d == dir), "{dir} in {dirs:?}");
        }
    }
}
