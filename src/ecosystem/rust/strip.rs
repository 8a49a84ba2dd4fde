//! Stripping the binary the Rust preset packages: a release binary still carries its symbol table
//! (and debug info, with `debug = …` in the profile), bytes no container uses, often most of the
//! file. The preset ships a copy made by binutils (`strip --strip-all`, else `objcopy
//! --strip-all`), staged in the layer cache under a name made of the input's digest, so the same
//! binary always gives the same stripped bytes and is stripped once.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};
use crate::layer::digest::Digest;
use crate::temp::{self, TempPath};

/// The tools tried, in order: each takes `--strip-all -o OUT IN`.
const TOOLS: &[&str] = &["strip", "objcopy"];

/// What stripping gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stripped {
    /// The stripped copy, and the sizes before and after.
    Copy {
        /// Where it is (in the staging directory).
        path: PathBuf,
        /// Bytes of the input.
        before: u64,
        /// Bytes of the copy.
        after: u64,
    },
    /// No tool could strip it: why (the binary is packaged as it is).
    Unavailable(String),
}

/// A stripped copy of `binary` under `staging` (`rust-bin/stripped-<digest>/<name>`), made
/// unless it is there already.
pub fn strip(binary: &Path, staging: &Path) -> Result<Stripped> {
    let bytes = std::fs::read(binary).map_err(|e| Error::io(binary.display(), e))?;
    let name = binary
        .file_name()
        .ok_or_else(|| Error::usage(format!("{}: not a file name", binary.display())))?;
    let key = Digest::sha256_of(&bytes);
    let parent = staging.join("rust-bin");
    let dir = parent.join(format!("stripped-{}", &key.hex()[..16]));
    let path = dir.join(name);
    let sized = |path: PathBuf| -> Result<Stripped> {
        let after = std::fs::metadata(&path)
            .map_err(|e| Error::io(path.display(), e))?
            .len();
        Ok(Stripped::Copy {
            path,
            before: bytes.len() as u64,
            after,
        })
    };
    if path.is_file() {
        return sized(path);
    }
    std::fs::create_dir_all(&parent).map_err(|e| Error::io(parent.display(), e))?;
    let (tmp, ()) = TempPath::create(temp::unique_in(&parent), |p| std::fs::create_dir(p))
        .map_err(|e| Error::io(parent.display(), e))?;
    let out = tmp.path().join(name);
    let mut failures = Vec::new();
    for tool in TOOLS {
        match Command::new(tool)
            .arg("--strip-all")
            .arg("-o")
            .arg(&out)
            .arg(binary)
            .output()
        {
            Ok(o) if o.status.success() => {
                use std::os::unix::fs::PermissionsExt;
                let executable = std::fs::Permissions::from_mode(0o755);
                std::fs::set_permissions(&out, executable)
                    .map_err(|e| Error::io(out.display(), e))?;
                if let Err(failed) = tmp.persist(&dir) {
                    // Another build staged the same copy first: same input, same bytes.
                    if !path.is_file() {
                        return Err(Error::io(dir.display(), failed.error));
                    }
                }
                return sized(path);
            }
            Ok(o) => failures.push(format!(
                "{tool}: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => failures.push(format!("{tool}: {e}")),
        }
    }
    Ok(Stripped::Unavailable(failures.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::elf::ElfFacts;

    #[test]
    fn a_stripped_copy_has_no_symbols_and_the_same_bytes_each_time() {
        if !crate::test_tools::require_tool("strip") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let exe = std::env::current_exe().unwrap();
        let staging = dir.path().join("staging");
        let Stripped::Copy {
            path,
            before,
            after,
        } = strip(&exe, &staging).unwrap()
        else {
            panic!("strip is there");
        };
        assert!(after < before, "{after} < {before}");
        let facts = ElfFacts::read_file(&path).unwrap();
        assert_eq!(facts.strippable.map(|s| s.total()), Some(0));
        // Made again from the same input: the same bytes, at the same place.
        let first = std::fs::read(&path).unwrap();
        std::fs::remove_dir_all(staging.join("rust-bin")).unwrap();
        let Stripped::Copy { path: again, .. } = strip(&exe, &staging).unwrap() else {
            panic!("strip is there");
        };
        assert_eq!(again, path);
        assert_eq!(std::fs::read(&again).unwrap(), first, "deterministic");
        let leftovers: Vec<_> = std::fs::read_dir(staging.join("rust-bin"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    }
}
