//! Writing a `docker load`-able archive that is also an OCI layout (the Docker 25+ format): blobs
//! stream straight into the tar as they arrive; `index.json`, `oci-layout` and `manifest.json` are
//! appended last, and the file appears under its name only when complete. The same writer streams
//! into the Docker Engine's load (`sink::engine`): an [`ArchiveTarget`] says where the bytes go and
//! what completes them.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use oci_spec::image::{Descriptor, ImageManifest};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::layer::digest::Digest;
use crate::layer::verify::{self, VerifyingReader};
use crate::mutate::annotation::{CONTAINERD_IMAGE_NAME, REF_NAME};
use crate::mutate::canonical::to_canonical;
use crate::mutate::index::{manifest_descriptor, Index};
use crate::sink::layout::untagged;
use crate::sink::{receipt, Opener, Sink};
use crate::source::manifest::{parse_document, Document};
use crate::source::reference::{ArchiveKind, ImageRef};
use crate::temp::{self, TempPath};

/// An entry of `manifest.json`, the index `docker load` reads: a transport detail of this sink,
/// not part of the image (paths are blob paths inside the archive).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DockerLoadEntry {
    config: String,
    repo_tags: Vec<String>,
    layers: Vec<String>,
}

/// Where an archive's bytes go, and what makes them an image there once all are written.
pub trait ArchiveTarget: Write + Send {
    /// Completes the archive, every byte written: a file renamed into place, an engine's load
    /// awaited. A target dropped without it leaves nothing behind.
    fn commit(self: Box<Self>) -> Result<()>;
}

/// An archive file, written beside its name and renamed into place when complete.
struct FileTarget {
    path: PathBuf,
    tmp: TempPath,
    writer: BufWriter<File>,
}

impl Write for FileTarget {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.writer.flush()
    }
}

impl ArchiveTarget for FileTarget {
    fn commit(self: Box<Self>) -> Result<()> {
        let FileTarget { path, tmp, writer } = *self;
        let io_error = |e| Error::io(path.display(), e);
        let file = writer.into_inner().map_err(|e| io_error(e.into_error()))?;
        file.sync_all().map_err(io_error)?;
        tmp.persist(&path).map_err(|e| io_error(e.into()))
    }
}

/// An archive being written.
pub struct ArchiveSink {
    /// What errors name (the file's path, or the engine's image).
    name: String,
    /// The destination as a reference, for messages.
    describe: String,
    tag: Option<String>,
    kind: ArchiveKind,
    builder: Option<tar::Builder<Box<dyn ArchiveTarget>>>,
    written: HashSet<Digest>,
    /// Referrers to list in `index.json` (untagged), as a layout lists them.
    referrers: Vec<Descriptor>,
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
    /// Starts writing the archive `path`; `tag` is a docker `name:tag` or an OCI ref name, as
    /// `kind` says.
    pub fn create(path: &Path, tag: Option<String>, kind: ArchiveKind) -> Result<ArchiveSink> {
        if path.file_name().is_none() {
            return Err(Error::usage(format!("{}: not a file name", path.display())));
        }
        temp::sweep_beside(path);
        let (tmp, file) =
            TempPath::file(temp::beside(path)).map_err(|e| Error::io(path.display(), e))?;
        let target = FileTarget {
            path: path.to_path_buf(),
            tmp,
            writer: BufWriter::new(file),
        };
        let describe = ImageRef::Archive {
            file: path.to_path_buf(),
            tag: tag.clone(),
            kind,
        }
        .to_string();
        let name = path.display().to_string();
        Ok(ArchiveSink::streaming(
            Box::new(target),
            tag,
            kind,
            name,
            describe,
        ))
    }

    /// Writes the archive into `target`; `name` is what errors name, `describe` the destination
    /// as messages spell it.
    pub fn streaming(
        target: Box<dyn ArchiveTarget>,
        tag: Option<String>,
        kind: ArchiveKind,
        name: String,
        describe: String,
    ) -> ArchiveSink {
        ArchiveSink {
            name,
            describe,
            tag,
            kind,
            builder: Some(tar::Builder::new(target)),
            written: HashSet::new(),
            referrers: Vec::new(),
        }
    }

    fn io_error(&self, e: std::io::Error) -> Error {
        Error::io(&self.name, e)
    }

    fn append(&mut self, name: &str, size: u64, data: impl Read) -> Result<()> {
        let builder = self
            .builder
            .as_mut()
            .ok_or_else(|| Error::invalid("archive already finished"))?;
        let appended = builder.append_data(&mut header(size), name, data);
        appended.map_err(|e| verify::carried(e).unwrap_or_else(|e| self.io_error(e)))
    }

    fn finish(&mut self) -> Result<()> {
        let builder = self
            .builder
            .take()
            .ok_or_else(|| Error::invalid("archive already finished"))?;
        let target = builder.into_inner().map_err(|e| self.io_error(e))?;
        target.commit()
    }

    /// The `RepoTags` docker load applies: a docker archive's `NAME[:TAG]` (a name meaning
    /// `:latest`); an OCI archive's ref name only when it is spelled as one (`app:v1`, `team/app`),
    /// for a plain ref name (`v2`) names no image.
    fn repo_tags(&self) -> Vec<String> {
        match (&self.tag, self.kind) {
            (Some(t), ArchiveKind::Docker) => vec![docker_name(t)],
            (Some(t), _) if t.contains(':') || t.contains('/') => vec![docker_name(t)],
            _ => Vec::new(),
        }
    }

    /// The `org.opencontainers.image.ref.name` of the image: an OCI archive's tag as given, a
    /// docker archive's tag part (`v1` of `app:v1`).
    fn ref_name(&self) -> Option<String> {
        let tag = self.tag.as_deref()?;
        Some(match self.kind {
            ArchiveKind::Oci => tag.to_string(),
            _ => {
                let name = docker_name(tag);
                let last = name.rsplit('/').next().unwrap_or(&name);
                last.rsplit_once(':').map_or(last, |(_, t)| t).to_string()
            }
        })
    }
}

impl ArchiveSink {
    /// `manifest.json` for `docker load`, naming `manifest`'s config and layers.
    fn docker_load_manifest(&self, manifest: &ImageManifest) -> Result<Vec<u8>> {
        let path_of = |d: &oci_spec::image::Digest| -> Result<String> {
            Ok(Digest::parse(d.as_ref())?.layout_path())
        };
        let entry = [DockerLoadEntry {
            config: path_of(manifest.config().digest())?,
            repo_tags: self.repo_tags(),
            layers: manifest
                .layers()
                .iter()
                .map(|l| path_of(l.digest()))
                .collect::<Result<_>>()?,
        }];
        to_canonical(&entry)
    }
}

/// `app` is `app:latest`, as docker names it.
fn docker_name(tag: &str) -> String {
    let last = tag.rsplit('/').next().unwrap_or(tag);
    if last.contains(':') {
        tag.to_string()
    } else {
        format!("{tag}:latest")
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
        // A multi-platform index is an OCI layout's top entry; `docker load`'s manifest.json
        // names single images, so it is left out.
        let docker_manifest = match parse_document(bytes, "manifest")? {
            Document::Index(_) => match self.refuses_index() {
                Some(why) => return Err(Error::usage(why)),
                None => None,
            },
            Document::Manifest(manifest) => Some(self.docker_load_manifest(&manifest)?),
        };
        let ref_name = self.ref_name();
        let repo_tags = self.repo_tags();
        let annotations: Vec<(&str, &str)> = ref_name
            .iter()
            .map(|r| (REF_NAME, r.as_str()))
            .chain(
                repo_tags
                    .first()
                    .map(|n| (CONTAINERD_IMAGE_NAME, n.as_str())),
            )
            .collect();
        let mut index = Index::new();
        for referrer in std::mem::take(&mut self.referrers) {
            index.put(referrer);
        }
        index.put(manifest_descriptor(media_type, bytes, &annotations)?);
        let index = index.to_bytes()?;
        self.append("index.json", index.len() as u64, &index[..])?;
        if let Some(docker_manifest) = docker_manifest {
            self.append(
                "manifest.json",
                docker_manifest.len() as u64,
                &docker_manifest[..],
            )?;
        }
        let layout = br#"{"imageLayoutVersion":"1.0.0"}"#;
        self.append("oci-layout", layout.len() as u64, &layout[..])?;
        self.finish()?;
        Ok(digest)
    }

    fn add_referrer(&mut self, _subject: &Digest, referrer: &Descriptor) -> Result<()> {
        self.referrers.push(untagged(referrer));
        Ok(())
    }

    fn refuses_index(&self) -> Option<String> {
        (self.kind == ArchiveKind::Docker).then(|| {
            format!(
                "{} cannot hold a multi-platform index (docker-archive names single images): \
                 copy to oci-archive:FILE or oci:DIR, or drop --all to copy one platform",
                self.name
            )
        })
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }
}
