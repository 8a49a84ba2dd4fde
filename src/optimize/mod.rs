//! `strata optimize`: an image re-laid for cheap deploys without changing its filesystem. The
//! base layers are kept byte for byte; the layers above are [`merged`] into their final
//! filesystem, [`plan`]ned into an OS-package layer ([`ospkg`]), dependency layers and one app
//! layer, written ([`relay`]) with the reproducible writer, read back and [`prove`]n equal
//! before the image is assembled in `mutate` and written through the sink (manifest last).

pub mod merged;
pub mod ospkg;
pub mod plan;
pub mod prove;
pub mod relay;

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use crate::assemble::{rfc3339, source_date_epoch};
use crate::error::{Error, Result};
use crate::layer::digest::Digest;
use crate::mutate::annotation::{DEPENDENCY_LAYER_COMMENT, OPTIMIZE_PLAN};
use crate::mutate::image::{history_entry, ManifestLayer};
use crate::mutate::rebase::editable;
use crate::progress::Progress;
use crate::sink::copy::{bytes_blob, file_blob, layer_blobs, write_image, CopyStats};
use crate::sink::Sink;
use crate::source::OpenedImage;
use merged::{Kind, Merged, Spool};
use plan::{plan, LayerRole};

/// How to optimize.
#[derive(Debug, Clone)]
pub struct Settings {
    /// At most this many layers above the base (the app layer included).
    pub max_layers: usize,
    /// Keep each entry's mtime instead of normalizing it.
    pub keep_mtimes: bool,
    /// Where contents and new layers are spooled.
    pub temp_dir: PathBuf,
}

/// One layer of the optimized image above its base.
#[derive(Debug, Clone, Serialize)]
pub struct NewLayer {
    /// `dependencies` or `app`.
    pub role: &'static str,
    /// What it holds (`python deps: numpy 2.1.3, six 1.16.0`, `app`).
    pub holds: String,
    /// Paths in it (files, links, directories of its own).
    pub paths: usize,
    /// Bytes of file content.
    pub content_bytes: u64,
    /// Bytes of the compressed blob: what shipping it costs.
    pub size: u64,
    /// The blob's digest.
    pub digest: Digest,
}

/// What `strata optimize` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Optimized {
    /// The image optimized, as named.
    pub source: String,
    /// Layers of the source.
    pub layers_before: usize,
    /// Layers of the result.
    pub layers_after: usize,
    /// Base layers kept byte for byte.
    pub base_layers: usize,
    /// The new layers above the base, bottom first.
    pub layers: Vec<NewLayer>,
    /// Bytes a code-only change ships as built: the compressed size of the source layer that
    /// holds the code (the highest layer providing a file of the app layer).
    pub code_change_bytes_before: u64,
    /// Bytes a code-only change ships optimized: the app layer's.
    pub code_change_bytes_after: u64,
    /// What was written where.
    pub written: CopyStats,
    /// Things the user should know (no base found, …).
    pub warnings: Vec<String>,
}

/// Optimizes the layers of `image` above its first `keep` (its base), proves the result and
/// writes it to the sink `open_sink` opens (only once the proof holds).
pub fn optimize(
    image: &OpenedImage,
    keep: usize,
    settings: &Settings,
    open_sink: impl FnOnce() -> Result<Box<dyn Sink>>,
    progress: Arc<dyn Progress>,
) -> Result<Optimized> {
    if settings.max_layers == 0 {
        return Err(Error::usage("--max-layers must be at least 1"));
    }
    let digests = image.layer_digests()?;
    let n = digests.len();
    if keep >= n {
        return Err(Error::usage(format!(
            "{} has no layers above its base ({keep} of {n}): nothing to optimize",
            image.image.reference
        )));
    }
    let mut spool = Spool::create(&settings.temp_dir)?;
    let merged = Merged::read(
        (keep..n).map(|i| image.open_uncompressed(i)),
        keep,
        Some(&mut spool),
    )
    .map_err(|e| e.context(image.image.reference.clone()))?;
    let mut reader = spool.reader()?;
    let groups = plan(&merged, &mut reader, settings.max_layers)?;
    let epoch = source_date_epoch()?;
    let mtime = (!settings.keep_mtimes).then_some(epoch.unwrap_or(1));
    let relaid = (0..groups.len())
        .map(|i| relay::write_group(&merged, &groups, i, &mut reader, mtime, &settings.temp_dir))
        .collect::<Result<Vec<_>>>()?;
    prove::prove(&merged, &relaid, keep, settings.keep_mtimes)?;

    let mut new = editable(image, &digests)?;
    let created = rfc3339(epoch.unwrap_or(0));
    let mut layers = Vec::new();
    let mut history = Vec::new();
    let mut rows = Vec::new();
    for (group, r) in groups.iter().zip(&relaid) {
        layers.push(ManifestLayer::written(&r.written)?);
        let mut h = history_entry(&created, &format!("strata optimize: {}", group.describe()));
        if group.role == LayerRole::Dependencies {
            h.set_comment(Some(DEPENDENCY_LAYER_COMMENT.to_string()));
        }
        history.push(h);
        rows.push(NewLayer {
            role: group.role.as_str(),
            holds: group.describe(),
            paths: group.paths.len(),
            content_bytes: group.bytes,
            size: r.written.size,
            digest: r.written.digest.clone(),
        });
    }
    new.replace_layers(keep..n, layers, history)?;
    let recorded: Vec<_> = rows
        .iter()
        .map(|r| serde_json::json!({"role": r.role, "holds": r.holds}))
        .collect();
    let plan_json = serde_json::json!({"base_layers": keep, "layers": recorded});
    new.set_annotation(OPTIMIZE_PLAN, &plan_json.to_string());
    let assembled = new.finish()?;

    let mut blobs = layer_blobs(image, &digests[..keep], 0);
    for r in &relaid {
        let w = &r.written;
        blobs.push(file_blob(
            w.digest.clone(),
            w.size,
            r.file.path().to_path_buf(),
        ));
    }
    blobs.push(bytes_blob(assembled.config));
    let mut sink = open_sink()?;
    let written = write_image(
        sink.as_mut(),
        blobs,
        &assembled.manifest,
        &assembled.media_type,
        progress,
    )?;

    let app = groups.iter().position(|g| g.role == LayerRole::App);
    let code_layer = app.and_then(|a| {
        groups[a]
            .paths
            .iter()
            .filter(|p| merged.nodes[*p].kind == Kind::File)
            .map(|p| merged.nodes[p].layer)
            .max()
    });
    Ok(Optimized {
        source: image.image.reference.clone(),
        layers_before: n,
        layers_after: keep + relaid.len(),
        base_layers: keep,
        code_change_bytes_before: code_layer
            .and_then(|l| image.image.layers[l].size)
            .unwrap_or(0),
        code_change_bytes_after: app.map_or(0, |a| rows[a].size),
        layers: rows,
        written,
        warnings: Vec::new(),
    })
}
