//! OCI image layouts (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`), in a directory or inside an
//! archive: picks the image by tag (`org.opencontainers.image.ref.name`) and platform, following
//! nested indexes, and refuses to guess when several images fit.

use std::io::Read;
use std::sync::Arc;

use oci_spec::image::{Descriptor, ImageIndex};

use crate::error::{Error, Result};
use crate::layer::digest::Digest;
use crate::model::Image;
use crate::source::files::Files;
use crate::source::manifest::{
    choose_from_index, digest_of, image_from_manifest, media_type_of, parse_document, verify_blob,
    Document, FetchedManifest, Store,
};
use crate::source::platform::Platform;

use oci_spec::image::ANNOTATION_REF_NAME as REF_NAME;
const MAX_INDEX_DEPTH: usize = 8;

/// Reads the blob `digest` from the layout and verifies it.
pub fn read_blob(
    files: &dyn Files,
    digest: &Digest,
    size: Option<u64>,
    what: &str,
) -> Result<Vec<u8>> {
    let bytes = files.read_small(&digest.layout_path())?.ok_or_else(|| {
        Error::invalid(format!(
            "{}: missing blob {digest} ({what})",
            files.describe()
        ))
    })?;
    verify_blob(&bytes, digest, size, what)?;
    Ok(bytes)
}

fn tag_of(d: &Descriptor) -> Option<&str> {
    d.annotations()
        .as_ref()
        .and_then(|a| a.get(REF_NAME))
        .map(String::as_str)
}

fn top_index(files: &dyn Files) -> Result<Box<ImageIndex>> {
    let index_bytes = files.read_small("index.json")?.ok_or_else(|| {
        Error::not_found(format!(
            "{} is not an OCI image layout: no index.json",
            files.describe()
        ))
    })?;
    match parse_document(&index_bytes, "index.json")? {
        Document::Index(top) => Ok(top),
        Document::Manifest(_) => Err(Error::invalid("index.json is not an image index")),
    }
}

/// Finds the image of the layout whose config is `config_digest` (Docker 25+ archives list the
/// same image in `manifest.json` and `index.json`); `None` when no entry resolves to it.
pub fn open_layout_by_config(
    files: &dyn Files,
    config_digest: &Digest,
    platform: &Platform,
    reference: String,
) -> Option<Image> {
    let top = top_index(files).ok()?;
    top.manifests().iter().find_map(|d| {
        resolve_descriptor(files, d, platform, reference.clone(), 0)
            .ok()
            .filter(|image| &image.config_digest == config_digest)
    })
}

/// What a layout reference names: one entry of `index.json`, or `index.json` itself when it
/// lists one image per platform.
enum Top<'a> {
    Entry(&'a Descriptor),
    WholeIndex,
}

/// Resolves `tag` (or the only image) to the entry of `index.json` it names.
fn pick<'a>(files: &dyn Files, top: &'a ImageIndex, tag: Option<&str>) -> Result<Top<'a>> {
    match tag {
        Some(tag) => top
            .manifests()
            .iter()
            .find(|d| tag_of(d) == Some(tag) || digest_of(d).is_ok_and(|g| g.to_string() == tag))
            .map(Top::Entry)
            .ok_or_else(|| {
                Error::not_found(format!(
                    "{} has no image tagged {tag:?} (tags: {})",
                    files.describe(),
                    list_tags(top.manifests())
                ))
            }),
        None => match top.manifests().as_slice() {
            [] => Err(Error::invalid(format!(
                "{}: index.json lists no images",
                files.describe()
            ))),
            [only] => Ok(Top::Entry(only)),
            many if many.iter().all(|d| d.platform().is_some()) => Ok(Top::WholeIndex),
            many => Err(Error::invalid(format!(
                "{} holds {} images; pick one with oci:DIR:TAG (tags: {})",
                files.describe(),
                many.len(),
                list_tags(top.manifests())
            ))),
        },
    }
}

/// Resolves `tag` (or the only image) in the layout to an image manifest and builds the model.
pub fn open_layout(
    files: &dyn Files,
    tag: Option<&str>,
    platform: &Platform,
    reference: String,
) -> Result<Image> {
    let top = top_index(files)?;
    let descriptor = match pick(files, &top, tag)? {
        Top::Entry(d) => d,
        Top::WholeIndex => choose_from_index(&top, platform, "index.json")?,
    };
    resolve_descriptor(files, descriptor, platform, reference, 0)
}

/// A layout (a directory or an OCI archive) read by digest, for whole-index reads and copies.
pub struct LayoutStore {
    files: Arc<dyn Files>,
    tag: Option<String>,
}

impl LayoutStore {
    /// The store of `files`, its top the image `tag` (or the only one) names.
    pub fn new(files: Arc<dyn Files>, tag: Option<String>) -> LayoutStore {
        LayoutStore { files, tag }
    }
}

impl Store for LayoutStore {
    fn top(&self) -> Result<(Vec<u8>, String)> {
        let files = self.files.as_ref();
        let top = top_index(files)?;
        let bytes = match pick(files, &top, self.tag.as_deref())? {
            Top::Entry(d) => read_blob(files, &digest_of(d)?, Some(d.size()), "manifest")?,
            Top::WholeIndex => files.read_small("index.json")?.unwrap_or_default(),
        };
        let media_type = media_type_of(&bytes);
        Ok((bytes, media_type))
    }

    fn manifest(&self, digest: &Digest, size: Option<u64>) -> Result<Vec<u8>> {
        read_blob(self.files.as_ref(), digest, size, "manifest")
    }

    fn open_blob(&self, digest: &Digest) -> Result<Box<dyn Read + Send>> {
        let path = digest.layout_path();
        let (reader, _) = self.files.open(&path)?.ok_or_else(|| {
            Error::invalid(format!("{}: missing blob {digest}", self.files.describe()))
        })?;
        Ok(reader)
    }

    /// The entries of `index.json` whose manifest names `subject` (the image layout keeps
    /// referrers there, untagged).
    fn referrers(&self, subject: &Digest) -> Result<Vec<Descriptor>> {
        let files = self.files.as_ref();
        let mut found = Vec::new();
        for d in top_index(files)?.manifests() {
            let digest = digest_of(d)?;
            let bytes = read_blob(files, &digest, Some(d.size()), "manifest")?;
            if subject_of(&bytes).as_ref() == Some(subject) {
                found.push(d.clone());
            }
        }
        Ok(found)
    }
}

/// The `subject` a manifest names (it is then a referrer of that manifest).
pub fn subject_of(bytes: &[u8]) -> Option<Digest> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    Digest::parse(value.get("subject")?.get("digest")?.as_str()?).ok()
}

fn list_tags(ds: &[Descriptor]) -> String {
    let tags: Vec<&str> = ds.iter().filter_map(tag_of).collect();
    if tags.is_empty() {
        "none".into()
    } else {
        tags.join(", ")
    }
}

fn resolve_descriptor(
    files: &dyn Files,
    descriptor: &Descriptor,
    platform: &Platform,
    reference: String,
    depth: usize,
) -> Result<Image> {
    if depth > MAX_INDEX_DEPTH {
        return Err(Error::invalid("image indexes nested too deeply"));
    }
    let digest = digest_of(descriptor)?;
    let bytes = read_blob(files, &digest, Some(descriptor.size()), "manifest")?;
    match parse_document(&bytes, &format!("manifest {digest}"))? {
        Document::Manifest(manifest) => {
            let config_digest = digest_of(manifest.config())?;
            let config = read_blob(
                files,
                &config_digest,
                Some(manifest.config().size()),
                "config",
            )?;
            let fetched = FetchedManifest {
                digest,
                bytes: &bytes,
                manifest: &manifest,
            };
            image_from_manifest(reference, fetched, &config)
        }
        Document::Index(index) => {
            let child = choose_from_index(&index, platform, &format!("index {digest}"))?;
            resolve_descriptor(files, child, platform, reference, depth + 1)
        }
    }
}
