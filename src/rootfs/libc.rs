//! Which C library a base image ships, read from its layers with no daemon: glibc's version is
//! the highest `GLIBC_*` version its `libc.so.6` defines (what a manylinux wheel's tag floor is
//! compared with), musl is told by its loader (`ld-musl-*.so.1`). Builds that install wheels for
//! the base's platform ask it which wheel tags the base can load.

use std::io::Read;

use crate::error::{Error, Result};
use crate::layer::elf::{ElfReader, GlibcVersion};
use crate::layer::walk::HEAD_LIMIT;
use crate::source::OpenedImage;

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

/// The C library of `base`, looked for from its top layer down (the first layer that has one
/// decides); `None` when the base has neither glibc nor musl (scratch, a static-only base).
pub fn detect(base: &OpenedImage) -> Result<Option<Libc>> {
    for index in (0..base.image.layers.len()).rev() {
        let context = |e: Error| e.context(format!("base layer {}", index + 1));
        let stream = base.open_uncompressed(index).map_err(context)?;
        let mut archive = tar::Archive::new(stream);
        let entries = archive
            .entries()
            .map_err(|e| context(Error::io("the layer's tar", e)))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| context(Error::io("the layer's tar", e)))?;
            let path = entry.path().map(|p| p.to_string_lossy().into_owned());
            let path = path.unwrap_or_default();
            let path = path.trim_start_matches("./").trim_start_matches('/');
            match telling(path) {
                Some(false) => return Ok(Some(Libc::Musl)),
                Some(true) if entry.header().entry_type().is_file() => {
                    let mut bytes = Vec::new();
                    entry
                        .read_to_end(&mut bytes)
                        .map_err(|e| context(Error::io(path, e)))?;
                    if let Some(v) = defined_version(&bytes) {
                        return Ok(Some(Libc::Glibc(v)));
                    }
                }
                _ => {}
            }
        }
    }
    Ok(None)
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

    #[test]
    fn the_host_libc_defines_its_version() {
        let found = ["/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6"]
            .iter()
            .find_map(|p| std::fs::read(p).ok())
            .expect("the host's libc.so.6 (Debian's or Fedora's path)");
        let v = defined_version(&found).expect("a GLIBC_ version");
        assert!(v.0[0] == 2 && v.0[1] >= 17, "{v}");
    }
}
