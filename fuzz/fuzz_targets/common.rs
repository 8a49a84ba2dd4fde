//! Helpers shared by the fuzz targets (included with `#[path]`, not a target itself).

#![allow(dead_code)]

use std::io::Read;
use std::path::PathBuf;

use strata::error::{Error, Result};
use strata::source::files::Files;
use strata::source::LayerSource;

/// Writes the input to a per-process scratch file (in `/dev/shm` when it exists, so no disk I/O) and
/// returns its path; the archive readers take paths, not byte slices. One file per process, rewritten
/// for every input.
pub fn scratch_file(name: &str, data: &[u8]) -> PathBuf {
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let path = dir.join(format!("strata-fuzz-{name}-{}.tar", std::process::id()));
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
