//! Image sources: where an image is read from. Every source resolves a reference to the same
//! [`Image`] model plus a [`LayerSource`] that streams each layer's blob on demand; nothing is
//! extracted to disk and only the layers being analyzed are read.

pub mod docker_archive;
pub mod files;
pub mod layout;
pub mod manifest;
pub mod platform;
pub mod reference;
pub mod registry;

use std::io::Read;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::layer::digest::{Algorithm, Digest, HashingReader};
use crate::model::Image;
use files::{DirFiles, Files, TarFiles};
use platform::Platform;
use reference::ImageRef;
use registry::RegistryOptions;

/// Streams the blob of a layer, by its index in [`Image::layers`]. Implementations are shared by
/// the analysis threads, so each call opens an independent stream.
pub trait LayerSource: Send + Sync {
    /// Opens layer `index` (compressed bytes, exactly as stored).
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
    /// The compressed digest of every layer: from the manifest, or (legacy archives, whose
    /// layers are local files) by hashing the blob.
    pub fn layer_digests(&self) -> Result<Vec<Digest>> {
        self.image
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| match &l.digest {
                Some(d) => Ok(d.clone()),
                None => Ok(self.hash_layer(i)?.0),
            })
            .collect()
    }

    /// The compressed digest and size of every layer: from the manifest, or (legacy archives,
    /// whose layers are local files) by hashing and counting the blob.
    pub fn layer_blobs(&self) -> Result<Vec<(Digest, u64)>> {
        self.image
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| match (&l.digest, l.size) {
                (Some(d), Some(size)) => Ok((d.clone(), size)),
                _ => self.hash_layer(i),
            })
            .collect()
    }

    fn hash_layer(&self, index: usize) -> Result<(Digest, u64)> {
        HashingReader::new(self.layers.open_layer(index)?, Algorithm::Sha256)
            .finish()
            .map_err(|e| Error::io(format!("layer {index}"), e))
    }
}

/// Layers stored as named files (layout blobs or archive members).
struct FileLayers {
    files: Arc<dyn Files>,
    paths: Vec<String>,
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
        ImageRef::Archive { file, tag } => {
            if !file.is_file() {
                return Err(Error::not_found(format!(
                    "{}: no such file",
                    file.display()
                )));
            }
            let files: Arc<dyn Files> = Arc::new(TarFiles::index(file)?);
            let found =
                docker_archive::open_archive(files.as_ref(), tag.as_deref(), &opts.platform, name)?;
            Ok(OpenedImage {
                image: found.image,
                layers: Box::new(FileLayers {
                    files,
                    paths: found.layer_paths,
                }),
            })
        }
        ImageRef::Registry(r) => {
            let (image, layers) = registry::open_registry(r, &opts.platform, &opts.registry)?;
            Ok(OpenedImage { image, layers })
        }
    }
}
