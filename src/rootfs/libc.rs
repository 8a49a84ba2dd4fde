//! Which C library a base image ships, read from its layers with no daemon: glibc's version is
//! the highest `GLIBC_*` version its `libc.so.6` defines (what a manylinux wheel's tag floor is
//! compared with), musl is told by its loader (`ld-musl-*.so.1`). Builds that install wheels for
//! the base's platform ask it which wheel tags the base can load.

use crate::layer::elf::{ElfReader, GlibcVersion};
use crate::layer::walk::{Entry, Inspector, HEAD_LIMIT};
use crate::rootfs::base_fs::{BaseFs, LayerInspector, Origin};

/// The C library of a base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Libc {
    /// GNU libc of this version (`GLIBC_2.36`).
    Glibc(GlibcVersion),
    /// musl (wheels tagged `musllinux_1_*`).
    Musl,
}

/// Whether `path` (a layer entry's path, without a leading `/`) is the file that tells the libc.
fn telling(path: &str) -> Option<bool> {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    let in_lib = dir.starts_with("lib") || dir.starts_with("usr/lib");
    if !in_lib {
        return None;
    }
    if name == "libc.so.6" {
        Some(true)
    } else if name.starts_with("ld-musl-") && name.ends_with(".so.1") {
        Some(false)
    } else {
        None
    }
}

/// The highest `GLIBC_*` version the ELF file `bytes` defines.
fn defined_version(bytes: &[u8]) -> Option<GlibcVersion> {
    let head = &bytes[..bytes.len().min(HEAD_LIMIT)];
    let mut reader = ElfReader::new(head, bytes.len() as u64)?;
    reader.feed(&bytes[head.len()..]);
    reader.finish().glibc_defined
}

/// Whether the file at `path` (a layer entry's path) can tell the C library: a scan that asks
/// [`Finder`] keeps these files in its [`BaseFs`].
pub fn tells(path: &str) -> bool {
    telling(path).is_some()
}

/// Finds the C library in the one scan of a base's layers ([`BaseFs::scan_inspecting`]): each
/// `libc.so.6` file and its `GLIBC_*` version, each musl loader, by the entry that holds it.
#[derive(Debug, Default)]
pub struct Finder {
    layer: usize,
    /// The telling file being read: its path, entry, whether it is glibc's, its bytes so far.
    reading: Option<(String, Origin, Vec<u8>)>,
    found: Vec<(String, Origin, Libc)>,
}

impl Inspector for Finder {
    fn on_file(&mut self, index: usize, entry: &Entry, head: &[u8]) {
        let origin = Origin {
            layer: self.layer,
            entry: index,
        };
        match telling(&entry.path) {
            Some(true) => self.reading = Some((entry.path.to_string(), origin, head.to_vec())),
            Some(false) => self
                .found
                .push((entry.path.to_string(), origin, Libc::Musl)),
            None => {}
        }
    }

    fn on_chunk(&mut self, chunk: &[u8]) {
        if let Some((_, _, bytes)) = &mut self.reading {
            bytes.extend_from_slice(chunk);
        }
    }

    fn on_end(&mut self) {
        if let Some((path, origin, bytes)) = self.reading.take() {
            if let Some(v) = defined_version(&bytes) {
                self.found.push((path, origin, Libc::Glibc(v)));
            }
        }
    }
}

impl LayerInspector for Finder {
    fn layer(&mut self, index: usize) {
        self.layer = index;
    }
}

impl Finder {
    /// The C library of the base whose final filesystem is `fs` (scanned keeping the files
    /// [`tells`] names): the top-most telling file still there (not whited out or replaced);
    /// `None` when the base has neither glibc nor musl (scratch, a static-only base).
    pub fn libc(&self, fs: &BaseFs) -> Option<Libc> {
        self.found
            .iter()
            .rev()
            .find(|(path, origin, _)| fs.file(path) == Some(*origin))
            .map(|(_, _, libc)| *libc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libc_and_the_musl_loader_are_recognized_in_library_dirs_only() {
        assert_eq!(telling("usr/lib/x86_64-linux-gnu/libc.so.6"), Some(true));
        assert_eq!(telling("lib/aarch64-linux-gnu/libc.so.6"), Some(true));
        assert_eq!(telling("lib/ld-musl-aarch64.so.1"), Some(false));
        assert_eq!(telling("app/vendor/libc.so.6"), None);
        assert_eq!(telling("usr/lib/x86_64-linux-gnu/libm.so.6"), None);
    }

    /// The host's libc.so.6, the one real glibc the tests have.
    fn host_libc() -> Vec<u8> {
        ["/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6"]
            .iter()
            .find_map(|p| std::fs::read(p).ok())
            .expect("the host's libc.so.6 (Debian's or Fedora's path)")
    }

    #[test]
    fn the_libc_still_in_the_final_filesystem_decides() {
        use crate::layer::walk::EntryKind;
        use crate::rootfs::base_fs::tests::{debian, entry, stacked};
        let lower = debian();
        let at = lower
            .iter()
            .position(|e| e.path.ends_with("libc.so.6"))
            .unwrap();
        let bytes = host_libc();
        let mut finder = Finder::default();
        finder.layer(0);
        let (head, rest) = bytes.split_at(HEAD_LIMIT.min(bytes.len()));
        finder.on_file(at, &lower[at], head);
        finder.on_chunk(rest);
        finder.on_end();
        let found = finder.libc(&stacked(&[&lower]));
        assert_eq!(found, Some(Libc::Glibc(defined_version(&bytes).unwrap())));
        let removed = [entry(&lower[at].path, EntryKind::Whiteout, None)];
        assert_eq!(finder.libc(&stacked(&[&lower, &removed])), None);
        let musl = [crate::rootfs::base_fs::tests::file(
            "lib/ld-musl-aarch64.so.1",
        )];
        finder.layer(1);
        finder.on_file(0, &musl[0], b"");
        finder.on_end();
        assert_eq!(finder.libc(&stacked(&[&lower, &musl])), Some(Libc::Musl));
    }

    #[test]
    fn the_host_libc_defines_its_version() {
        let v = defined_version(&host_libc()).expect("a GLIBC_ version");
        assert!(v.0[0] == 2 && v.0[1] >= 17, "{v}");
    }
}
