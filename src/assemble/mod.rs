//! `strata build`: a daemonless, reproducible image from a plan — the base image untouched, then
//! each declared layer (dependencies first, code last), each cached by its inputs, then a config and
//! manifest in canonical JSON. Writing goes through the sinks, so base layers are never downloaded
//! to push to a registry that has them.

pub mod cache;
pub mod files;
pub mod plan;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::layer::digest::Digest;
use crate::layer::writer::{normalize_entries, Content, Normalization, WrittenLayer};
use crate::mutate::annotation::DEPENDENCY_LAYER_COMMENT;
use crate::mutate::config::Config;
use crate::mutate::image::{history_entry, Assembled, ManifestLayer, NewImage};
use crate::sink::copy::{bytes_blob, file_blob, layer_blobs, manifest_of, Blob};
use crate::source::reference::ImageRef;
use crate::source::{open, OpenedImage, SourceOptions};
use cache::{memo_scope, LayerCache};
use plan::{parse_owner, shown_source, Plan};

/// One built layer.
#[derive(Debug, Clone, Serialize)]
pub struct BuiltLayer {
    /// Its name in the plan.
    pub name: String,
    /// Its sources.
    pub from: Vec<String>,
    /// Its destination.
    pub to: String,
    /// Entries (files, directories, links).
    pub entries: usize,
    /// Bytes of file content.
    pub content_bytes: u64,
    /// Whether the cache had it (no tar, no compression).
    pub cache_hit: bool,
    /// The layer's identity; `None` (`null`) for a layer a plan-only run would have to write.
    pub layer: Option<WrittenLayer>,
}

/// The built image, ready to be written to sinks.
pub struct Built {
    /// The base image, unless `scratch`.
    pub base: Option<OpenedImage>,
    /// The base's layer digests.
    pub base_digests: Vec<Digest>,
    /// The new layers, as written.
    pub layers: Vec<WrittenLayer>,
    /// The canonical config and manifest.
    pub image: Assembled,
}

impl Built {
    /// Every blob the image needs, base layers first (with their origin, for mounts).
    pub fn blobs<'a>(&'a self, cache: &'a LayerCache) -> Result<Vec<Blob<'a>>> {
        let mut blobs = match &self.base {
            Some(base) => layer_blobs(base, &self.base_digests, 0),
            None => Vec::new(),
        };
        for l in &self.layers {
            blobs.push(file_blob(
                l.digest.clone(),
                l.size,
                cache.blob_path(&l.digest),
            ));
        }
        blobs.push(bytes_blob(self.image.config.clone()));
        Ok(blobs)
    }
}

/// The fixed time of files and history: `SOURCE_DATE_EPOCH`, else 1 s after the epoch for files
/// (some tools take 0 as "missing") and the epoch for the image.
pub fn source_date_epoch() -> Result<Option<u64>> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v.trim().parse().map(Some).map_err(|_| {
            Error::usage(format!(
                "SOURCE_DATE_EPOCH={v:?} is not a whole number of seconds"
            ))
        }),
        Err(_) => Ok(None),
    }
}

/// RFC 3339 UTC for seconds since the epoch.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn base_image(plan: &Plan, opts: &SourceOptions) -> Result<Option<OpenedImage>> {
    match plan.image.base.as_deref() {
        None => Err(Error::usage(
            "no base image: set [image] base in strata.toml or --base (\"scratch\" for none)",
        )),
        Some("scratch") => Ok(None),
        Some(name) => {
            let mut opened = open(&ImageRef::parse(name)?, opts)
                .map_err(|e| e.context(format!("base image {name}")))?;
            opened.image.reference = name.to_string();
            Ok(Some(opened))
        }
    }
}

/// Builds the plan's layers (through the cache) and the config and manifest; `dry_run` only
/// computes what would be built and whether the cache has it (the [`Built`] is then `None`).
pub fn build(
    plan: &Plan,
    opts: &SourceOptions,
    cache: &LayerCache,
    dry_run: bool,
) -> Result<(Option<Built>, Vec<BuiltLayer>)> {
    let base = base_image(plan, opts)?;
    let epoch = source_date_epoch()?;
    let mut layers = Vec::new();
    let mut written = Vec::new();
    for spec in &plan.layers {
        // Loaded only when the layer's stamps are new: an unchanged tree never reads it.
        let mut memo = None;
        let scope = || {
            let root = plan.root.to_string_lossy();
            let selections = spec.from.iter().chain(&spec.include).map(String::as_str);
            cache.file_digests(&memo_scope(
                std::iter::once(root.as_ref()).chain(selections),
            ))
        };
        let entries = normalize_entries(files::collect(spec, &plan.root)?);
        let (uid, gid) = spec
            .owner
            .as_deref()
            .map(parse_owner)
            .transpose()?
            .unwrap_or((0, 0));
        let n = Normalization {
            uid,
            gid,
            mtime: Some(epoch.unwrap_or(1)),
        };
        let stamps = LayerCache::stamp_key(&entries, &n, plan.compression);
        let by_stamps = cache.selector_by_stamps(&stamps);
        let mut selector = by_stamps.clone();
        if selector.is_none() {
            let memo = memo.get_or_insert_with(scope);
            selector = LayerCache::selector(memo, &entries, &n, plan.compression);
            if selector.is_none() && (dry_run || memo.probably_known(&entries)) {
                // Likely a hit (or only a question): hash the files rather than compress them.
                memo.hash_unknown(&entries)?;
                selector = LayerCache::selector(memo, &entries, &n, plan.compression);
            }
        }
        let content_bytes = entries
            .iter()
            .map(|e| match &e.content {
                Content::File(_, stamp) => stamp.size,
                _ => 0,
            })
            .sum();
        let (layer, cache_hit) = match selector.as_deref().and_then(|s| cache.lookup(s)) {
            Some(l) => (Some(l), true),
            None if dry_run => (None, false),
            None => {
                let memo = memo.get_or_insert_with(scope);
                let (layer, stored) =
                    cache.store(selector.as_deref(), memo, &entries, &n, plan.compression)?;
                selector = Some(stored);
                (Some(layer), false)
            }
        };
        written.extend(layer.clone());
        if let (Some(s), None) = (&selector, &by_stamps) {
            cache.remember_stamps(&stamps, s)?;
        }
        layers.push(BuiltLayer {
            name: spec.name.clone(),
            from: spec.from.clone(),
            to: spec.to.clone(),
            entries: entries.len(),
            content_bytes,
            cache_hit,
            layer,
        });
        if let Some(memo) = memo {
            memo.save()?;
        }
    }
    if dry_run {
        return Ok((None, layers));
    }
    let base_digests = match &base {
        Some(b) => b.layer_digests()?,
        None => Vec::new(),
    };
    let created = rfc3339(epoch.unwrap_or(0));
    let mut image = match &base {
        Some(b) => {
            let (manifest, media_type) = manifest_of(b, &base_digests)?;
            let mut image = NewImage::on_base(&manifest, &media_type, &b.image.config_bytes)
                .map_err(|e| e.context("base image"))?;
            image.set_base(&b.image.reference, b.image.manifest_digest.as_ref());
            image
        }
        None => {
            let host = crate::source::platform::Platform::host();
            NewImage::scratch(&host.os, &host.architecture)?
        }
    };
    configure(image.config_mut(), &plan.image, &created);
    let staging = cache.staging_dir();
    for ((built, l), spec) in layers.iter().zip(&written).zip(&plan.layers) {
        let from: Vec<String> = built
            .from
            .iter()
            .map(|f| shown_source(f, &plan.root, &staging))
            .collect();
        let created_by = format!(
            "strata build: layer {} ({} -> {})",
            built.name,
            from.join(", "),
            built.to
        );
        let mut history = history_entry(&created, &created_by);
        if spec.dependencies {
            history.set_comment(Some(DEPENDENCY_LAYER_COMMENT.to_string()));
        }
        image.append_layer(ManifestLayer::written(l)?, history);
    }
    let built = Built {
        base,
        base_digests,
        layers: written,
        image: image.finish()?,
    };
    Ok((Some(built), layers))
}

/// Applies the plan's `[image]` settings (merged over the base's) and the creation time.
fn configure(config: &mut Config, spec: &plan::ImageSpec, created: &str) {
    config.ensure_runtime();
    if let Some(e) = &spec.entrypoint {
        config.set_entrypoint(e);
        if spec.cmd.is_none() {
            config.reset_cmd();
        }
    }
    if let Some(c) = &spec.cmd {
        config.set_cmd(c);
    }
    config.merge_env(&spec.env);
    if let Some(w) = &spec.workdir {
        config.set_working_dir(w);
    }
    if let Some(u) = &spec.user {
        config.set_user(u);
    }
    for (k, v) in &spec.labels {
        config.set_label(k, v);
    }
    for p in &spec.exposed_ports {
        config.expose_port(p);
    }
    config.set_created(created);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_of_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
