//! `strata optimize`: an image re-laid for cheap deploys without changing its filesystem. The
//! base layers are kept byte for byte; the layers above are [`merged`] into their final
//! filesystem, [`plan`]ned into an OS-package layer ([`ospkg`]), dependency layers and one app
//! layer, written ([`relay`]) with the reproducible writer, read back and [`prove`]n equal
//! before the image is assembled in `mutate` and written through the sink (manifest last).
//! With a [`previous`] optimized image, its recorded plan lays the packages out again and the
//! groups it already holds are its blobs.

pub mod merged;
pub mod ospkg;
pub mod plan;
pub mod previous;
pub mod prove;
pub mod proven;
pub mod pyc;
pub mod records;
pub mod relay;

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use crate::assemble::{rfc3339, source_date_epoch};
use crate::error::{Error, Result};
use crate::layer::digest::Digest;
use crate::layer::verify::LayerStream;
use crate::mutate::annotation::{DEPENDENCY_LAYER_COMMENT, OPTIMIZE_PLAN};
use crate::mutate::image::{history_entry, ManifestLayer};
use crate::mutate::rebase::editable;
use crate::progress::Progress;
use crate::sink::copy::{bytes_blob, file_blob, layer_blobs, write_image, CopyStats};
use crate::sink::Sink;
use crate::source::OpenedImage;
use merged::{Kind, Merged, Spool};
use plan::{plan, LayerRole};
use previous::{replan, Previous, Recorded};

/// How to optimize.
#[derive(Debug, Clone)]
pub struct Settings {
    /// At most this many layers above the base (the app layer included).
    pub max_layers: usize,
    /// Keep each entry's mtime instead of normalizing it.
    pub keep_mtimes: bool,
    /// Where contents and new layers are spooled.
    pub temp_dir: PathBuf,
    /// The layers this machine proved, so a reused one need not be read back.
    pub proven: proven::Proven,
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
    /// Whether it is the previous image's blob, reused.
    pub reused: bool,
    /// Whether the proof read its blob back (not for a reused blob a record of this machine
    /// says holds the layer's entries: `optimize::proven`).
    pub read_back: bool,
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
    /// The previous image given, as named.
    pub previous: Option<String>,
    /// Bytes a deploy over the previous image ships: the layers it lacks.
    pub shipped_from_previous: Option<u64>,
    /// What was written where.
    pub written: CopyStats,
    /// Timestamp-based `.pyc` files whose header now names their source's normalized mtime.
    pub pyc_headers_rewritten: usize,
    /// Things the user should know (no base found, …).
    pub warnings: Vec<String>,
}

/// A new layer: written to a temp file, or the previous image's layer at that index.
enum Laid<'p, 'i> {
    Written(relay::Relaid),
    Reused(&'p Previous<'i>, usize),
}

/// Optimizes the layers of `image` above its first `keep` (its base), reusing the plan and
/// blobs of `previous` when given, proves the result and writes it to the sink `open_sink`
/// opens (only once the proof holds).
pub fn optimize(
    image: &OpenedImage,
    keep: usize,
    settings: &Settings,
    previous: Option<&Previous>,
    open_sink: impl FnOnce() -> Result<Box<dyn Sink>>,
    progress: Arc<dyn Progress>,
) -> Result<Optimized> {
    if settings.max_layers == 0 {
        return Err(Error::usage("--max-layers must be at least 1"));
    }
    let source_blobs = image.layer_blobs()?;
    let digests: Vec<Digest> = source_blobs.iter().map(|(d, _)| d.clone()).collect();
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
    let groups = match previous.and_then(|p| p.plan.as_ref()) {
        Some(recorded) => replan(&merged, &mut reader, recorded, settings.max_layers)?,
        None => plan(&merged, &mut reader, settings.max_layers)?,
    };
    let epoch = source_date_epoch()?;
    let recorded_mtime = previous.and_then(|p| p.plan.as_ref()).and_then(|r| r.mtime);
    let mtime = (!settings.keep_mtimes).then(|| recorded_mtime.unwrap_or(epoch.unwrap_or(1)));
    let rewrites = pyc::Rewrites::plan(&merged, &mut reader, mtime)?;
    let keys: Vec<Digest> = (0..groups.len())
        .map(|i| relay::content_key(&merged, &groups, i, settings.keep_mtimes, &rewrites))
        .collect();
    // Which groups the previous image holds, decided before anything is written.
    let mut used = Vec::new();
    let reused: Vec<Option<(&Previous, usize)>> = (0..groups.len())
        .map(|i| previous.and_then(|p| Some((p, p.find(groups[i].role, &keys[i], &mut used)?))))
        .collect();
    let identity = |l: &Laid| match l {
        Laid::Written(r) => (r.written.digest.clone(), r.written.diff_id.clone()),
        Laid::Reused(p, index) => (
            p.blobs[*index].0.clone(),
            p.image.image.layers[*index].diff_id.clone(),
        ),
    };
    // A reused blob this machine proved to hold the group's entries is not read back.
    let trusted: Vec<usize> = (0..groups.len())
        .filter(|&i| {
            reused[i].is_some_and(|(p, index)| {
                let (blob, diff_id) = identity(&Laid::Reused(p, index));
                settings.proven.holds(&blob, &diff_id, &keys[i])
            })
        })
        .collect();
    // Each layer is proven (read back) while the next one is written.
    let write = |hand_over: &mut dyn FnMut(Result<LayerStream>)| -> Result<Vec<Laid>> {
        let mut laid = Vec::new();
        for (i, reuse) in reused.iter().enumerate() {
            let l = match *reuse {
                Some((p, index)) => Laid::Reused(p, index),
                None => {
                    let dir = &settings.temp_dir;
                    let written = relay::write_group(
                        &merged,
                        &groups,
                        i,
                        &mut reader,
                        mtime,
                        &rewrites,
                        dir,
                    )?;
                    Laid::Written(written)
                }
            };
            if !trusted.contains(&i) {
                hand_over(match &l {
                    Laid::Written(r) => prove::read_back(r, keep + i),
                    Laid::Reused(p, index) => p.image.open_uncompressed(*index),
                });
            }
            laid.push(l);
        }
        Ok(laid)
    };
    let mtimes = settings.keep_mtimes;
    let laid = prove::while_writing(&merged, &groups, &trusted, keep, mtimes, &rewrites, write)?;
    for (l, key) in laid.iter().zip(&keys) {
        let (blob, diff_id) = identity(l);
        settings.proven.record(&blob, &diff_id, key);
    }

    let mut new = editable(image, &digests)?;
    let created = rfc3339(epoch.unwrap_or(0));
    let mut layers = Vec::new();
    let mut history = Vec::new();
    let mut rows = Vec::new();
    let mut blobs: Vec<_> = layer_blobs(image, &digests[..keep], 0)
        .into_iter()
        .map(|b| match previous {
            Some(p) => p.lend(b),
            None => b,
        })
        .collect();
    for (group, l) in groups.iter().zip(&laid) {
        let layer = match l {
            Laid::Written(r) => {
                let w = &r.written;
                blobs.push(file_blob(
                    w.digest.clone(),
                    w.size,
                    r.file.path().to_path_buf(),
                ));
                ManifestLayer::written(w)?
            }
            Laid::Reused(p, index) => {
                blobs.push(p.blob(*index));
                p.manifest_layer(*index)?
            }
        };
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
            size: layer.descriptor.size(),
            digest: Digest::parse(layer.descriptor.digest().as_ref())?,
            reused: matches!(l, Laid::Reused(..)),
            read_back: !trusted.contains(&rows.len()),
        });
        layers.push(layer);
    }
    new.replace_layers(keep..n, layers, history)?;
    let base_diff_ids = &image.image.config.diff_ids[..keep];
    let recorded = Recorded::of(base_diff_ids, &groups, &keys, mtime);
    new.set_annotation(OPTIMIZE_PLAN, &recorded.to_json());
    let assembled = new.finish()?;
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
    let out_layers: Vec<(Digest, u64)> = source_blobs
        .into_iter()
        .take(keep)
        .chain(rows.iter().map(|r| (r.digest.clone(), r.size)))
        .collect();
    Ok(Optimized {
        source: image.image.reference.clone(),
        layers_before: n,
        layers_after: keep + laid.len(),
        base_layers: keep,
        code_change_bytes_before: code_layer
            .and_then(|l| image.image.layers[l].size)
            .unwrap_or(0),
        code_change_bytes_after: app.map_or(0, |a| rows[a].size),
        layers: rows,
        previous: previous.map(|p| p.image.image.reference.clone()),
        shipped_from_previous: previous.map(|p| p.shipped(&out_layers)),
        written,
        pyc_headers_rewritten: rewrites.len(),
        warnings: Vec::new(),
    })
}
