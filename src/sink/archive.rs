//! Writing a `docker load`-able archive that is also an OCI layout (the Docker 25+ format): blobs
//! stream straight into the tar as they arrive; `index.json`, `oci-layout` and `manifest.json` are
//! appended last, and the file appears under its name only when complete.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{BufWriter, Read};
use std::path::{Path, PathBuf};

use oci_spec::image::ImageManifest;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::layer::digest::Digest;
use crate::layer::verify::{self, VerifyingReader};
use crate::mutate::annotation::{CONTAINERD_IMAGE_NAME, REF_NAME};
use crate::mutate::canonical::to_canonical;
use crate::mutate::index::{manifest_descriptor, Index};
use crate::sink::{receipt, Opener, Sink};

/// An entry of `manifest.json`, the index `docker load` reads: a transport detail of this sink,
/// not part of the image (paths are blob paths inside the archive).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DockerLoadEntry {
    config: String,
    repo_tags: Vec<String>,
    layers: Vec<String>,
}

/// An archive being written.
pub struct ArchiveSink {
    path: PathBuf,
    tmp: PathBuf,
    tag: Option<String>,
    builder: Option<tar::Builder<BufWriter<File>>>,
    written: HashSet<Digest>,
}

fn header(size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h.set_entry_type(tar::EntryType::Regular);
    h
}

impl ArchiveSink {
    /// Starts writing the archive `path` (`tag`: `name:tag` for docker, or an OCI ref name).
    pub fn create(path: &Path, tag: Option<String>) -> Result<ArchiveSink> {
        let name = path
            .file_name()
            .ok_or_else(|| Error::usage(format!("{}: not a file name", path.display())))?;
        let tmp = path.with_file_name(format!(
            ".{}.{}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = File::create(&tmp).map_err(|e| Error::io(tmp.display(), e))?;
        Ok(ArchiveSink {
            path: path.to_path_buf(),
            tmp,
            tag,
            builder: Some(tar::Builder::new(BufWriter::new(file))),
            written: HashSet::new(),
        })
    }

    fn append(&mut self, name: &str, size: u64, data: impl Read) -> Result<()> {
        let builder = self
            .builder
            .as_mut()
            .ok_or_else(|| Error::invalid("archive already finished"))?;
        builder
            .append_data(&mut header(size), name, data)
            .map_err(|e| verify::carried(e).unwrap_or_else(|e| Error::io(self.tmp.display(), e)))
    }

    fn finish(&mut self) -> Result<()> {
        let builder = self
            .builder
            .take()
            .ok_or_else(|| Error::invalid("archive already finished"))?;
        let file = builder
            .into_inner()
            .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
            .map_err(|e| Error::io(self.tmp.display(), e))?;
        file.sync_all()
            .map_err(|e| Error::io(self.tmp.display(), e))?;
        fs::rename(&self.tmp, &self.path).map_err(|e| Error::io(self.path.display(), e))
    }

    /// The `RepoTags` docker load applies: only a `name:tag` (or a name, meaning `:latest`).
    fn repo_tags(&self) -> Vec<String> {
        match &self.tag {
            Some(t) if t.contains(':') || t.contains('/') => {
                let last = t.rsplit('/').next().unwrap_or(t);
                vec![if last.contains(':') {
                    t.clone()
                } else {
                    format!("{t}:latest")
                }]
            }
            _ => Vec::new(),
        }
    }
}

impl Drop for ArchiveSink {
    fn drop(&mut self) {
        if self.builder.is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

impl Sink for ArchiveSink {
    fn has_blob(&mut self, digest: &Digest) -> Result<bool> {
        Ok(self.written.contains(digest))
    }

    fn put_blob(&mut self, digest: &Digest, size: u64, open: &mut Opener<'_>) -> Result<()> {
        let reader = open()?;
        let mut verified = VerifyingReader::new(reader, receipt(digest, size));
        self.append(&digest.layout_path(), size, &mut verified)?;
        verified.finish()?;
        self.written.insert(digest.clone());
        Ok(())
    }

    fn put_manifest(&mut self, bytes: &[u8], media_type: &str) -> Result<Digest> {
        let digest = self.put_small(bytes)?;
        let manifest: ImageManifest =
            serde_json::from_slice(bytes).map_err(|e| Error::invalid(format!("manifest: {e}")))?;
        let path_of = |d: &oci_spec::image::Digest| -> Result<String> {
            Ok(Digest::parse(d.as_ref())?.layout_path())
        };
        let docker_manifest = [DockerLoadEntry {
            config: path_of(manifest.config().digest())?,
            repo_tags: self.repo_tags(),
            layers: manifest
                .layers()
                .iter()
                .map(|l| path_of(l.digest()))
                .collect::<Result<_>>()?,
        }];
        let annotations: Vec<(&str, &str)> = match &self.tag {
            Some(tag) => vec![
                (
                    REF_NAME,
                    tag.rsplit_once(':').map_or(tag.as_str(), |(_, t)| t),
                ),
                (CONTAINERD_IMAGE_NAME, tag.as_str()),
            ],
            None => Vec::new(),
        };
        let mut index = Index::new();
        index.put(manifest_descriptor(media_type, bytes, &annotations)?);
        for (name, data) in [
            ("index.json", index.to_bytes()?),
            ("manifest.json", to_canonical(&docker_manifest)?),
        ] {
            self.append(name, data.len() as u64, &data[..])?;
        }
        let layout = br#"{"imageLayoutVersion":"1.0.0"}"#;
        self.append("oci-layout", layout.len() as u64, &layout[..])?;
        self.finish()?;
        Ok(digest)
    }

    fn describe(&self) -> String {
        format!("docker-archive:{}", self.path.display())
    }
}
