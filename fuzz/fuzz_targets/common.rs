//! Helpers shared by the fuzz targets (included with `#[path]`, not a target itself).

#![allow(dead_code)]

use std::io::Read;
use std::path::PathBuf;

use strata::error::{Error, Result};
use strata::source::files::Files;
use strata::source::LayerSource;

/// Where scratch files go: `/dev/shm` when it exists (no disk I/O), else the temp directory.
fn scratch_base() -> PathBuf {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// Writes the input to a per-process scratch file (in `/dev/shm` when it exists, so no disk I/O) and
/// returns its path; the archive readers take paths, not byte slices. One file per process, rewritten
/// for every input.
pub fn scratch_file(name: &str, data: &[u8]) -> PathBuf {
    let path = scratch_base().join(format!("strata-fuzz-{name}-{}.tar", std::process::id()));
    std::fs::write(&path, data).expect("writing the fuzz scratch file");
    path
}

/// Serves layers by archive member name, as `strata::source::open` does for archives.
pub struct MemberLayers<'a> {
    pub files: &'a dyn Files,
    pub paths: Vec<String>,
}

impl LayerSource for MemberLayers<'_> {
    fn open_layer(&self, index: usize) -> Result<Box<dyn Read + Send>> {
        let path = &self.paths[index];
        let (reader, _) = self
            .files
            .open(path)?
            .ok_or_else(|| Error::invalid(format!("missing layer blob {path}")))?;
        Ok(reader)
    }
}

/// Writes the input as `file_name` into a per-process scratch directory (in `/dev/shm` when it
/// exists) and returns the file's path; for the readers that find a file by its name (lockfiles,
/// `strata.toml`, `config.json`) or look beside it. The directory holds nothing else unless the
/// target writes it.
pub fn scratch_named(target: &str, file_name: &str, data: &[u8]) -> PathBuf {
    let dir = scratch_dir(target);
    let path = dir.join(file_name);
    std::fs::write(&path, data).expect("writing the fuzz scratch file");
    path
}

/// The per-process scratch directory of `target` (`strata-fuzz-TARGET-PID.d`), created on first use.
pub fn scratch_dir(target: &str) -> PathBuf {
    let dir = scratch_base().join(format!("strata-fuzz-{target}-{}.d", std::process::id()));
    std::fs::create_dir_all(&dir).expect("creating the fuzz scratch directory");
    dir
}

/// What `strata` does with a Python lockfile (the dependency-layer presets, `report`'s
/// fingerprint): writes `data` as `file_name` into the target's scratch directory, reads it with
/// `python::read_lockfile` (the format told by the name), then lists names and unpinned packages
/// and fingerprints the set for two environments.
pub fn python_lockfile(target: &str, file_name: &str, data: &[u8]) {
    use strata::python::env::PythonEnv;
    use strata::python::fingerprint::python_fingerprint;

    let path = scratch_named(target, file_name, data);
    match strata::python::read_lockfile(&path) {
        Ok(set) => {
            let _ = (set.names(), set.unpinned());
            for abi in [Some("cp312".to_string()), None] {
                let env = PythonEnv {
                    abi,
                    platform: "linux/amd64".into(),
                };
                let _ = python_fingerprint(&set, &env);
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}
