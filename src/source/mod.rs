//! Image sources: where an image is read from. Every source resolves a reference to the same
//! [`Image`] model plus a [`LayerSource`] that streams each layer's blob on demand; nothing is
//! extracted to disk and only the layers being analyzed are read.

pub mod certs;
pub mod distribution;
pub mod docker_archive;
pub mod engine;
pub mod files;
pub mod layout;
pub mod manifest;
pub mod mirrors;
pub mod platform;
pub mod reference;
pub mod registry;
pub mod scheme;
pub mod shape;
pub(crate) mod token;

use std::io::Read;
use std::sync::Arc;

use crate::error::{Error, Kind, Result};
use crate::layer::digest::Digest;
use crate::layer::verify::LayerStream;
use crate::model::Image;
use files::{DirFiles, Files, TarFiles};
use platform::Platform;
use reference::ImageRef;
use registry::RegistryOptions;

/// Streams the blob of a layer, by its index in [`Image::layers`]. Implementations are shared by
/// the analysis threads, so each call opens an independent stream. The bytes are unverified:
/// readers go through [`OpenedImage::open_uncompressed`] (or [`crate::layer::Layer::uncompressed`]),
/// or hand them to a sink, which verifies them on receipt.
pub trait LayerSource: Send + Sync {
    /// Opens layer `index` (compressed bytes, exactly as stored, not yet verified).
    fn open_layer(&self, index: usize) -> Result<Box<dyn Read + Send>>;

    /// Whether reading a layer means downloading it (commands avoid that when they can).
    fn is_remote(&self) -> bool {
        false
    }
}

/// How to open images: the platform to pick from indexes, and registry settings.
#[derive(Debug, Clone)]
pub struct SourceOptions {
    /// The platform to choose from multi-platform images.
    pub platform: Platform,
    /// Registry transport and credentials.
    pub registry: RegistryOptions,
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions {
            platform: Platform::host(),
            registry: RegistryOptions::default(),
        }
    }
}

/// An image ready to be analyzed.
pub struct OpenedImage {
    /// The model: manifest, config, layer descriptors.
    pub image: Image,
    /// Where the layer bytes come from.
    pub layers: Box<dyn LayerSource>,
}

impl OpenedImage {
    /// The tar stream of layer `index`, verified against its diff_id (and the blob under it
    /// against digest and size) as it streams.
    pub fn open_uncompressed(&self, index: usize) -> Result<LayerStream> {
        open_uncompressed(&self.image, self.layers.as_ref(), index, |_| {})
    }

    /// The compressed digest of every layer: from the manifest, or (legacy archives, whose
    /// layers are local files) by reading the layer, its diff_id verified.
    pub fn layer_digests(&self) -> Result<Vec<Digest>> {
        Ok(self.layer_blobs()?.into_iter().map(|(d, _)| d).collect())
    }

    /// The compressed digest and size of every layer: from the manifest, or (legacy archives,
    /// whose layers are local files, named by nothing but their diff_id) by reading the layer,
    /// its diff_id verified.
    pub fn layer_blobs(&self) -> Result<Vec<(Digest, u64)>> {
        self.image
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| match (&l.digest, l.size) {
                (Some(d), Some(size)) => Ok((d.clone(), size)),
                _ => {
                    let read = self.open_uncompressed(i)?.finish()?;
                    Ok((read.digest, read.compressed_bytes))
                }
            })
            .collect()
    }
}

/// How errors name layer `index` of `image`: its position, and its digest when the source
/// names one.
pub fn layer_name(image: &Image, index: usize) -> String {
    match &image.layers[index].digest {
        Some(d) => format!("layer {index} ({d})"),
        None => format!("layer {index}"),
    }
}

/// The verified tar stream of layer `index` of `image`, read from `source`; `on_bytes` hears of
/// every chunk of the blob (progress).
pub fn open_uncompressed(
    image: &Image,
    source: &dyn LayerSource,
    index: usize,
    on_bytes: impl Fn(u64) + Send + 'static,
) -> Result<LayerStream> {
    let name = layer_name(image, index);
    image.layers[index].uncompressed(&name, source.open_layer(index)?, on_bytes)
}

/// The image of the archive (`docker save` or OCI) whose members `files` holds, its layers
/// streamed from those members: a file on disk, or an engine's export.
pub(crate) fn open_archive_in(
    files: Arc<dyn Files>,
    tag: Option<&str>,
    kind: reference::ArchiveKind,
    platform: &Platform,
    name: String,
) -> Result<OpenedImage> {
    let found = docker_archive::open_archive(files.as_ref(), tag, kind, platform, name)?;
    Ok(OpenedImage {
        image: found.image,
        layers: Box::new(FileLayers {
            files,
            paths: found.layer_paths,
        }),
    })
}

/// Layers stored as named files (layout blobs, archive members, members of an engine's export).
pub(crate) struct FileLayers {
    /// Where the files are.
    pub(crate) files: Arc<dyn Files>,
    /// The file of each layer, bottom first.
    pub(crate) paths: Vec<String>,
}

impl LayerSource for FileLayers {
    fn open_layer(&self, index: usize) -> Result<Box<dyn Read + Send>> {
        let path = &self.paths[index];
        let (reader, _) = self.files.open(path)?.ok_or_else(|| {
            Error::invalid(format!(
                "{}: missing layer blob {path}",
                self.files.describe()
            ))
        })?;
        Ok(reader)
    }
}

/// Opens the image `reference` names.
pub fn open(reference: &ImageRef, opts: &SourceOptions) -> Result<OpenedImage> {
    let name = reference.to_string();
    match reference {
        ImageRef::Layout { dir, tag } => {
            if !dir.is_dir() {
                return Err(Error::not_found(format!(
                    "{}: no such directory",
                    dir.display()
                )));
            }
            if !dir.join("oci-layout").is_file() {
                return Err(Error::invalid(format!(
                    "{} is not an OCI image layout: no oci-layout file",
                    dir.display()
                )));
            }
            let files: Arc<dyn Files> = Arc::new(DirFiles::new(dir));
            let image = layout::open_layout(files.as_ref(), tag.as_deref(), &opts.platform, name)?;
            let paths = image
                .layers
                .iter()
                .map(|l| {
                    l.digest
                        .as_ref()
                        .map(|d| d.layout_path())
                        .unwrap_or_default()
                })
                .collect();
            Ok(OpenedImage {
                image,
                layers: Box::new(FileLayers { files, paths }),
            })
        }
        ImageRef::Archive { file, tag, kind } => {
            if !file.is_file() {
                return Err(Error::not_found(format!(
                    "{}: no such file",
                    file.display()
                )));
            }
            let files: Arc<dyn Files> = Arc::new(TarFiles::index(file)?);
            open_archive_in(files, tag.as_deref(), *kind, &opts.platform, name)
        }
        ImageRef::Registry(r) => {
            let (image, layers) = registry::open_registry(r, &opts.platform, &opts.registry)?;
            Ok(OpenedImage { image, layers })
        }
        ImageRef::Daemon(r) => engine::open_daemon(r, &opts.platform, name),
        ImageRef::Named(n) => open_named(n, opts),
    }
}

/// The image a bare name (`app:1`) names: the Docker Engine's, else Docker Hub's; when neither
/// has it, the error names every place looked at.
fn open_named(name: &str, opts: &SourceOptions) -> Result<OpenedImage> {
    let in_engine = match engine::Engine::connect() {
        Ok(found) => match found.has_image(name) {
            Ok(true) => {
                let reference = ImageRef::Daemon(name.to_string()).to_string();
                return engine::open_engine_image(found, name, &opts.platform, reference);
            }
            Ok(false) => format!("not in the Docker Engine at {}", found.host()),
            Err(e) => e.to_string(),
        },
        Err(e) => e.to_string(),
    };
    let (image, layers) = registry::open_registry(name, &opts.platform, &opts.registry)
        .map_err(|e| looked_everywhere(name, &in_engine, e))?;
    Ok(OpenedImage { image, layers })
}

/// A failure to read the bare name `name` from Docker Hub, said with every place looked at: no
/// such file or directory here, the Docker Engine (`in_engine`: what it said, or why it could not
/// be asked), and Docker Hub (`e`, whose kind the error keeps), with how to name another registry.
fn looked_everywhere(name: &str, in_engine: &str, e: Error) -> Error {
    let e = e.context(format!(
        "{name} is no file or directory here, {in_engine}, and Docker Hub failed"
    ));
    match e.kind() {
        Kind::Registry | Kind::NotFound => e.with_hint(format!(
            "for an image in another registry, name its host: REGISTRY/{name}; for the engine \
             at another address, set DOCKER_HOST"
        )),
        _ => e,
    }
}
