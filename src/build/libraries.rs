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
//! the machine counts as searched.

use std::path::Path;

use goblin::elf::header::{EM_386, EM_AARCH64, EM_ARM, EM_PPC64, EM_RISCV, EM_S390, EM_X86_64};
use goblin::elf::Elf;

use crate::build::base_fs::BaseFs;
use crate::error::{Error, Result};
use crate::layer::walk::{clean_path, Entry, EntryKind};
use crate::source::OpenedImage;

/// What the dynamic loader must find for a binary to start, read from its ELF headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryNeeds {
    /// The dynamic loader (`PT_INTERP`, e.g. `/lib64/ld-linux-x86-64.so.2`); `None` when static.
    pub interpreter: Option<String>,
    /// The sonames of `DT_NEEDED`, in link order.
    pub needed: Vec<String>,
    /// The directories of `DT_RUNPATH` (or of `DT_RPATH` when there is no `DT_RUNPATH`, as the
    /// loader does), as written (`$ORIGIN/../lib`).
    pub runpaths: Vec<String>,
    /// The ELF `e_machine` (62 = x86-64), which decides the multiarch directories.
    pub machine: u16,
    /// Whether the binary is 64-bit (ELFCLASS64), which decides `lib64` or `lib32`.
    pub is_64: bool,
}

impl BinaryNeeds {
    /// Reads the needs of the ELF file at `path`; a file that is not ELF is a clear error.
    pub fn read(path: &Path) -> Result<BinaryNeeds> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path.display(), e))?;
        parse(&bytes).map_err(|e| e.context(path.display()))
    }

    /// Whether the binary starts without any loader or library (a static executable).
    fn needs_nothing(&self) -> bool {
        self.interpreter.is_none() && self.needed.is_empty()
    }
}

fn parse(bytes: &[u8]) -> Result<BinaryNeeds> {
    if !bytes.starts_with(b"\x7fELF") {
        return Err(Error::invalid(
            "not an ELF binary (no \\x7fELF magic): only Linux executables can be checked",
        ));
    }
    let elf = Elf::parse(bytes).map_err(|e| Error::invalid(format!("malformed ELF: {e}")))?;
    let runpaths = if elf.runpaths.is_empty() {
        &elf.rpaths
    } else {
        &elf.runpaths
    };
    Ok(BinaryNeeds {
        interpreter: elf.interpreter.map(str::to_string),
        needed: elf.libraries.iter().map(|l| l.to_string()).collect(),
        runpaths: runpaths
            .iter()
            .flat_map(|r| r.split(':'))
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .collect(),
        machine: elf.header.e_machine,
        is_64: elf.is_64,
    })
}

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

fn arch_of(needs: &BinaryNeeds) -> Option<&'static Arch> {
    ARCHES
        .iter()
        .find(|a| a.machine == needs.machine && a.is_64 == needs.is_64)
}

/// The directories the loader searches when no runpath has the library (glibc's and musl's
/// defaults plus Debian's multiarch ones), as image paths without the leading slash.
fn default_dirs(needs: &BinaryNeeds) -> Vec<String> {
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
fn runpath_dirs(needs: &BinaryNeeds, install_path: &str) -> Vec<String> {
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

/// Whether an entry can matter to the loader: links and directories (they redirect or replace
/// paths), whiteouts, and files named like shared objects.
fn matters(e: &Entry) -> bool {
    match e.kind {
        EntryKind::File | EntryKind::Hardlink => {
            let name = e.path.rsplit('/').next().unwrap_or(&e.path);
            name.contains(".so")
        }
        EntryKind::Other => false,
        _ => true,
    }
}

/// What the loader would not find for `needs` on `base` with the binary installed at
/// `install_path` (for `$ORIGIN`): the interpreter's path, then each missing soname, in link
/// order. Empty means the binary can start.
pub fn missing(needs: &BinaryNeeds, base: &BaseFs, install_path: &str) -> Vec<String> {
    let mut missing = Vec::new();
    if let Some(interpreter) = &needs.interpreter {
        if !base.has_file(interpreter) {
            missing.push(interpreter.clone());
        }
    }
    let mut dirs = runpath_dirs(needs, install_path);
    dirs.extend(default_dirs(needs));
    for name in &needs.needed {
        let found = if name.contains('/') {
            base.has_file(name)
        } else {
            dirs.iter().any(|d| base.has_file(&format!("{d}/{name}")))
        };
        if !found {
            missing.push(name.clone());
        }
    }
    missing
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
    let needs = BinaryNeeds::read(binary)?;
    if let (Some(base), Some(arch)) = (base, arch_of(&needs)) {
        let config = &base.image.config;
        if !config.architecture.is_empty() && config.architecture != arch.oci {
            return Err(Error::invalid(format!(
                "{}: built for {} but the base image is {}/{}",
                binary.display(),
                arch.oci,
                config.os,
                config.architecture
            )));
        }
    }
    if needs.needs_nothing() {
        return Ok(Vec::new());
    }
    let libraries = match base {
        Some(base) => BaseFs::scan(base, matters)?,
        None => BaseFs::default(),
    };
    Ok(missing(&needs, &libraries, install_path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::base_fs::tests::{debian, file, stacked};

    fn needs(needed: &[&str], runpaths: &[&str]) -> BinaryNeeds {
        BinaryNeeds {
            interpreter: Some("/lib64/ld-linux-x86-64.so.2".into()),
            needed: needed.iter().map(|s| s.to_string()).collect(),
            runpaths: runpaths.iter().map(|s| s.to_string()).collect(),
            machine: EM_X86_64,
            is_64: true,
        }
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

    #[test]
    fn non_elf_bytes_are_a_clear_error() {
        let err = parse(b"#!/bin/sh\necho hi\n").unwrap_err().to_string();
        assert!(err.contains("not an ELF binary"), "{err}");
        let err = parse(b"\x7fELF\x02\x01").unwrap_err().to_string();
        assert!(err.contains("malformed ELF"), "{err}");
    }
}
