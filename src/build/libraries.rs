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

use std::collections::BTreeMap;
use std::path::Path;

use goblin::elf::header::{EM_386, EM_AARCH64, EM_ARM, EM_PPC64, EM_RISCV, EM_S390, EM_X86_64};
use goblin::elf::Elf;

use crate::error::{Error, Result};
use crate::layer::compression::decompress;
use crate::layer::walk::{clean_path, walk, Contents, Entry, EntryKind};
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

/// What a path of the final filesystem is, for the files the check keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    /// A regular file (or a hard link to one).
    File,
    /// A symbolic link and its target, as written.
    Symlink(String),
}

/// The base image's final filesystem reduced to what the loader looks at: every symlink and every
/// file whose name looks like a shared object or loader (contains `.so`). Directories are implied.
#[derive(Debug, Default)]
pub struct BaseLibraries {
    nodes: BTreeMap<String, Node>,
}

/// Linux gives up after 40 symbolic links in one lookup (ELOOP); so does the check.
const MAX_LINKS: usize = 40;

impl BaseLibraries {
    /// Streams every layer of `base` (headers only, file contents are skipped) and stacks them.
    /// For a registry base this downloads its layers, so callers only scan for dynamic binaries.
    pub fn scan(base: &OpenedImage) -> Result<BaseLibraries> {
        let mut libraries = BaseLibraries::default();
        for (index, layer) in base.image.layers.iter().enumerate() {
            let context = |e: Error| e.context(format!("base layer {}", index + 1));
            let (_, tar) =
                decompress(base.layers.open_layer(index)?, layer.compression).map_err(context)?;
            let mut kept = Vec::new();
            walk(tar, Contents::Skip, |e| {
                if matters(&e) {
                    kept.push(e)
                }
            })
            .map_err(context)?;
            libraries.apply_layer(&kept);
        }
        Ok(libraries)
    }

    /// Puts one layer on top, as container runtimes extract it: its whiteouts act on the layers
    /// below, then its entries land with their parent directory resolved through the symlinks
    /// already there, each replacing whatever non-directory (and anything below it) held its path.
    fn apply_layer(&mut self, entries: &[Entry]) {
        for e in entries {
            match e.kind {
                EntryKind::Whiteout => {
                    let path = self.resolve_parent(&e.path);
                    self.remove(&path);
                }
                EntryKind::Opaque => {
                    let dir = self.resolve(&e.path).unwrap_or_else(|| e.path.clone());
                    self.clear_below(&dir);
                }
                _ => {}
            }
        }
        for e in entries.iter().filter(|e| !e.path.is_empty()) {
            let node = match e.kind {
                EntryKind::File | EntryKind::Hardlink => Node::File,
                EntryKind::Symlink => Node::Symlink(e.link.as_deref().unwrap_or("").to_string()),
                EntryKind::Dir => {
                    let path = self.resolve_parent(&e.path);
                    self.nodes.remove(&path);
                    continue;
                }
                _ => continue,
            };
            let path = self.resolve_parent(&e.path);
            self.remove(&path);
            self.nodes.insert(path, node);
        }
    }

    fn remove(&mut self, path: &str) {
        self.nodes.remove(path);
        self.clear_below(path);
    }

    fn clear_below(&mut self, dir: &str) {
        if dir.is_empty() {
            self.nodes.clear();
            return;
        }
        let prefix = format!("{dir}/");
        let below: Vec<String> = self
            .nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for path in below {
            self.nodes.remove(&path);
        }
    }

    /// `path` with its directory resolved through the image's symlinks (the last component is
    /// kept as is, like `lstat`).
    fn resolve_parent(&self, path: &str) -> String {
        match path.rsplit_once('/') {
            Some((dir, name)) => match self.resolve(dir) {
                Some(dir) if !dir.is_empty() => format!("{dir}/{name}"),
                Some(_) => name.to_string(),
                None => path.to_string(),
            },
            None => path.to_string(),
        }
    }

    /// Where `path` leads once every symlink on the way is followed inside the image (`..` stops
    /// at the root, absolute targets start again from it); `None` on a symlink loop.
    fn resolve(&self, path: &str) -> Option<String> {
        let mut pending: Vec<String> = path.rsplit('/').map(str::to_string).collect();
        let mut resolved: Vec<String> = Vec::new();
        let mut links = 0;
        while let Some(part) = pending.pop() {
            match part.as_str() {
                "" | "." => continue,
                ".." => {
                    resolved.pop();
                    continue;
                }
                _ => {}
            }
            resolved.push(part);
            if let Some(Node::Symlink(target)) = self.nodes.get(&resolved.join("/")) {
                links += 1;
                if links > MAX_LINKS {
                    return None;
                }
                resolved.pop();
                if target.starts_with('/') {
                    resolved.clear();
                }
                pending.extend(target.rsplit('/').map(str::to_string));
            }
        }
        Some(resolved.join("/"))
    }

    /// Whether `path` (absolute or not) reaches a file, following symlinks.
    fn has_file(&self, path: &str) -> bool {
        self.resolve(path)
            .is_some_and(|p| self.nodes.get(&p) == Some(&Node::File))
    }
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
pub fn missing(needs: &BinaryNeeds, base: &BaseLibraries, install_path: &str) -> Vec<String> {
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
        Some(base) => BaseLibraries::scan(base)?,
        None => BaseLibraries::default(),
    };
    Ok(missing(&needs, &libraries, install_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, kind: EntryKind, link: Option<&str>) -> Entry {
        Entry {
            path: path.into(),
            kind,
            size: 0,
            mode: 0o644,
            link: link.map(Into::into),
            content: None,
        }
    }

    fn file(path: &str) -> Entry {
        entry(path, EntryKind::File, None)
    }

    fn link(path: &str, target: &str) -> Entry {
        entry(path, EntryKind::Symlink, Some(target))
    }

    fn stacked(layers: &[&[Entry]]) -> BaseLibraries {
        let mut base = BaseLibraries::default();
        for layer in layers {
            base.apply_layer(layer);
        }
        base
    }

    /// A Debian-like merged-usr base: `/lib` and `/lib64` link into `/usr`.
    fn debian() -> Vec<Entry> {
        vec![
            link("lib", "usr/lib"),
            link("lib64", "usr/lib64"),
            entry("usr/lib/x86_64-linux-gnu", EntryKind::Dir, None),
            file("usr/lib/x86_64-linux-gnu/libc.so.6"),
            file("usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
            link(
                "usr/lib64/ld-linux-x86-64.so.2",
                "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            ),
            file("usr/lib/x86_64-linux-gnu/libz.so.1.2.13"),
            link("usr/lib/x86_64-linux-gnu/libz.so.1", "libz.so.1.2.13"),
        ]
    }

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
    fn a_symlink_loop_finds_nothing() {
        let base = stacked(&[&[link("a", "b"), link("b", "a/x")]]);
        assert_eq!(base.resolve("a/libc.so.6"), None);
        assert!(!base.has_file("a/libc.so.6"));
    }

    #[test]
    fn whiteouts_through_a_symlinked_parent_remove_the_real_file() {
        let removed = [entry(
            "lib/x86_64-linux-gnu/libz.so.1.2.13",
            EntryKind::Whiteout,
            None,
        )];
        let base = stacked(&[&debian(), &removed]);
        assert!(!base.has_file("lib/x86_64-linux-gnu/libz.so.1"), "dangling");
        assert!(base.has_file("lib/x86_64-linux-gnu/libc.so.6"));
    }

    #[test]
    fn a_layers_whiteouts_spare_its_own_files_and_opaque_dirs_clear_lower_ones() {
        let upper = [
            file("usr/lib/x86_64-linux-gnu/libnew.so.1"),
            entry("usr/lib/x86_64-linux-gnu", EntryKind::Opaque, None),
        ];
        let base = stacked(&[&debian(), &upper]);
        assert!(base.has_file("usr/lib/x86_64-linux-gnu/libnew.so.1"));
        assert!(!base.has_file("usr/lib/x86_64-linux-gnu/libc.so.6"));
        assert!(!base.has_file("usr/lib64/ld-linux-x86-64.so.2"));
    }

    #[test]
    fn entries_under_a_symlinked_dir_land_in_its_target_and_a_dir_replaces_a_link() {
        let upper = [file("lib/x86_64-linux-gnu/libextra.so.2")];
        let base = stacked(&[&debian(), &upper]);
        assert!(base
            .nodes
            .contains_key("usr/lib/x86_64-linux-gnu/libextra.so.2"));
        let unmerged = [entry("lib", EntryKind::Dir, None)];
        let base = stacked(&[&debian(), &unmerged]);
        assert!(!base.has_file("lib/x86_64-linux-gnu/libc.so.6"));
        assert!(base.has_file("usr/lib/x86_64-linux-gnu/libc.so.6"));
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
