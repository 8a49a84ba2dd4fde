//! `history`: one row per tag or image, from manifests and configs; with `content`, each distinct
//! layer of the images shown is read once for its uncompressed and content sizes.

use std::collections::{HashMap, HashSet};

use crate::analysis::history::order::chronological;
use crate::analysis::history::{history as build_history, History, LayerContent, Version};
use crate::analysis::roles::{self, Evidence, OwnPackages, Role};
use crate::analysis::scan::{scan_layers, ScanOptions};
use crate::error::Kind;
use crate::error::{Error, Result};
use crate::layer::digest::Digest;
use crate::layer::walk::{Contents, EntryKind};
use crate::ops::{open_image, Reading};
use crate::source::reference::Repository;
use crate::source::registry::RepositoryClient;
use crate::source::{OpenedImage, SourceOptions};

/// Where the images of a history come from.
pub enum HistoryInput {
    /// Every image tag of a registry repository (`registry/name`), ordered by creation time.
    Repository(Repository),
    /// These images, oldest first.
    Images(Vec<String>),
}

/// Which history to draw.
pub struct HistoryRequest {
    /// The images.
    pub input: HistoryInput,
    /// Show only the N newest (figures still compare with the older ones).
    pub last: Option<usize>,
    /// Also read the layers of the images shown, for uncompressed and content sizes.
    pub content: bool,
    /// How to reach the images and read their layers.
    pub reading: Reading,
}

/// A history and what was skipped on the way.
pub struct Histories {
    /// The history, newest first.
    pub history: History,
    /// Tags skipped because they are not a container image for the platform.
    pub warnings: Vec<String>,
}

/// Runs `strata history`'s pipeline: open every image, order them, read layers if asked.
pub fn history(req: &HistoryRequest) -> Result<Histories> {
    let mut warnings = Vec::new();
    let (source, opened) = open_input(&req.input, &req.reading.source, &mut warnings)?;
    let shown = &opened[opened.len().saturating_sub(req.last.unwrap_or(usize::MAX))..];
    let contents = if req.content {
        Some(layer_contents(shown, &req.reading)?)
    } else {
        None
    };
    let versions: Vec<Version> = opened.into_iter().map(|o| o.version).collect();
    Ok(Histories {
        history: build_history(source, &versions, contents.as_ref(), req.last),
        warnings,
    })
}

/// The name of the history's source and its images, oldest first; tags skipped on the way are
/// said in `warnings`.
pub(crate) fn open_input(
    input: &HistoryInput,
    opts: &SourceOptions,
    warnings: &mut Vec<String>,
) -> Result<(String, Vec<Opened>)> {
    Ok(match input {
        HistoryInput::Repository(name) => {
            (name.to_string(), open_repository(name, opts, warnings)?)
        }
        HistoryInput::Images(images) => {
            let opened = images
                .iter()
                .map(|arg| Opened::new(arg.clone(), open_image(arg, opts)?))
                .collect::<Result<Vec<_>>>()?;
            ("images".to_string(), opened)
        }
    })
}

/// One image of the history with what is needed to read its layers later.
pub(crate) struct Opened {
    /// What its manifest and config say.
    pub(crate) version: Version,
    image: OpenedImage,
}

impl Opened {
    fn new(tag: String, image: OpenedImage) -> Result<Opened> {
        let layers = image.layer_blobs()?;
        let config = &image.image.config;
        let evidence: Vec<Evidence> = config
            .layer_history(layers.len())
            .into_iter()
            .zip(&config.diff_ids)
            .map(|(history, diff_id)| Evidence {
                diff_id,
                history,
                entries: None,
            })
            .collect();
        let dependency_layers = roles::assign(&evidence, None, &OwnPackages::default())
            .into_iter()
            .zip(&layers)
            .filter(|(role, _)| *role == Role::Dependencies)
            .map(|(_, (digest, _))| digest.clone())
            .collect();
        let version = Version {
            tag,
            manifest_digest: image.image.manifest_digest.clone(),
            config_digest: image.image.config_digest.clone(),
            created: image.image.config.created.clone(),
            layers,
            dependency_layers,
        };
        Ok(Opened { version, image })
    }
}

/// Every image tag of `name`, oldest first: manifests and configs only. Tags that are not a
/// container image for the platform (signatures, attestations, other artifacts) are skipped with
/// a warning.
fn open_repository(
    name: &Repository,
    opts: &SourceOptions,
    warnings: &mut Vec<String>,
) -> Result<Vec<Opened>> {
    let repository = RepositoryClient::connect(name, &opts.registry)?;
    let tags = repository.tags()?;
    let mut opened = Vec::with_capacity(tags.len());
    for tag in tags {
        match repository.open(&tag, &opts.platform) {
            Ok((image, layers)) => opened.push(Opened::new(tag, OpenedImage { image, layers })?),
            Err(e) if e.kind() == Kind::Invalid => {
                warnings.push(format!("skipping {name}:{tag}: {}", e.printable().0))
            }
            Err(e) => return Err(e),
        }
    }
    if opened.is_empty() {
        return Err(Error::invalid(format!("{name}: no image tags")));
    }
    opened.sort_by(|a, b| chronological(&a.version, &b.version));
    Ok(opened)
}

/// Reads each distinct layer once, from the first image that has it: uncompressed and content
/// bytes by compressed digest.
fn layer_contents(opened: &[Opened], reading: &Reading) -> Result<HashMap<Digest, LayerContent>> {
    let mut planned: HashSet<&Digest> = HashSet::new();
    let plan: Vec<Vec<usize>> = opened
        .iter()
        .map(|o| {
            (0..o.version.layers.len())
                .filter(|&i| planned.insert(&o.version.layers[i].0))
                .collect()
        })
        .collect();
    let total = opened
        .iter()
        .zip(&plan)
        .flat_map(|(o, which)| which.iter().map(|&i| o.version.layers[i].1))
        .sum();
    reading.progress.start(total);
    let scan = ScanOptions {
        contents: Contents::Skip,
        threads: reading.threads,
        progress: reading.progress.clone(),
    };
    let mut contents = HashMap::new();
    for (o, which) in opened.iter().zip(&plan) {
        let scans = scan_layers(&o.image.image, o.image.layers.as_ref(), which, &scan)
            .map_err(|e| e.context(&o.version.tag))?;
        for (&i, s) in which.iter().zip(scans) {
            let role = roles::assign(
                &[Evidence {
                    diff_id: &s.diff_id,
                    history: None,
                    entries: Some(&s.entries),
                }],
                None,
                &OwnPackages::default(),
            );
            let content_bytes = s
                .entries
                .iter()
                .filter(|e| e.kind == EntryKind::File)
                .map(|e| e.size)
                .sum();
            contents.insert(
                o.version.layers[i].0.clone(),
                LayerContent {
                    uncompressed_bytes: s.uncompressed_bytes,
                    content_bytes,
                    dependencies: role == [Role::Dependencies],
                },
            );
        }
    }
    Ok(contents)
}
