//! `history --optimize`, the replay: the images of a history optimized in turn, oldest first,
//! each with the optimized image before it as `previous`, into one private OCI layout in the temp
//! directory (removed at the end, and on Ctrl-C); then what each deploy shipped both ways.

use std::sync::Arc;

use crate::analysis::history::replay::{nothing_to_compare, replay as replay_of, Replay, Step};
use crate::error::{Error, Result};
use crate::ops::history::{open_input, HistoryInput, Opened};
use crate::ops::optimize::{optimize, OptimizeRequest};
use crate::ops::{open_image, Reading};
use crate::optimize::Settings;
use crate::source::reference::pinned_base;
use crate::temp::{self, TempPath};

/// Which deploys to replay, and how to optimize them.
pub struct ReplayRequest {
    /// The images.
    pub input: HistoryInput,
    /// Replay only the N newest deploys (from the image before the first of them).
    pub last: Option<usize>,
    /// The base whose layers optimize keeps; `None` reads each image's base annotations.
    pub base: Option<String>,
    /// How to optimize (the temp directory holds the replay's layout).
    pub settings: Settings,
    /// How to reach the images; the progress counts the compressed bytes of the images
    /// optimized so far.
    pub reading: Reading,
}

/// A replay and what was said on the way.
pub struct Replays {
    /// The replay.
    pub replay: Replay,
    /// Tags skipped, and what optimize warned of (each naming its image).
    pub warnings: Vec<String>,
}

/// The reference optimize reads an image of the history from: a tag pinned to the digest the
/// history read, or a local image as given.
fn reference(input: &HistoryInput, opened: &Opened) -> String {
    let v = &opened.version;
    match input {
        HistoryInput::Repository(name) => pinned_base(
            &format!("docker://{}", name.tagged(&v.tag)),
            v.manifest_digest
                .as_ref()
                .map(ToString::to_string)
                .as_deref(),
        ),
        HistoryInput::Images(_) => v.tag.clone(),
    }
}

/// Runs the replay: opens the history, optimizes the images of the deploys asked for in turn and
/// compares each with the one before, as built and optimized.
pub fn replay(req: &ReplayRequest) -> Result<Replays> {
    let opts = &req.reading.source;
    let mut warnings = Vec::new();
    let (source, opened) = open_input(&req.input, opts, &mut warnings)?;
    if let [only] = opened.as_slice() {
        let replay = nothing_to_compare(source, &only.version.tag);
        return Ok(Replays { replay, warnings });
    }
    let images = opened.len();
    let deploys = req.last.unwrap_or(usize::MAX).min(images - 1);
    let replayed = &opened[images - deploys - 1..];
    let path = temp::unique_in(&req.settings.temp_dir);
    let (dir, ()) = TempPath::create(path.clone(), |p| std::fs::create_dir(p))
        .map_err(|e| Error::io(path.display(), e))?;
    let progress = &req.reading.progress;
    progress.start(
        replayed
            .iter()
            .flat_map(|o| &o.version.layers)
            .map(|(_, size)| size)
            .sum(),
    );
    let mut steps: Vec<Step> = Vec::with_capacity(replayed.len());
    let mut previous: Option<String> = None;
    for (i, o) in replayed.iter().enumerate() {
        let v = &o.version;
        let destination = format!("oci:{}:{i}", dir.path().join("replay").display());
        let optimized = optimize(&OptimizeRequest {
            source: reference(&req.input, o),
            destination: destination.clone(),
            base: req.base.clone(),
            previous: previous.clone(),
            settings: req.settings.clone(),
            options: opts.clone(),
            progress: Arc::new(()),
        })
        .map_err(|e| e.context(format!("optimizing {}", v.tag)))?;
        warnings.extend(optimized.warnings);
        let written = open_image(&destination, opts)?;
        steps.push(Step {
            tag: v.tag.clone(),
            manifest_digest: v.manifest_digest.clone(),
            layers: v.layers.clone(),
            optimized_manifest_digest: written.image.manifest_digest.clone(),
            optimized_layers: written.layer_blobs()?,
        });
        progress.advance(v.layers.iter().map(|(_, size)| size).sum());
        previous = Some(destination);
    }
    Ok(Replays {
        replay: replay_of(source, images, &steps),
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::tests::{reading, sample};

    fn request(images: &[&str], last: Option<usize>, temp_dir: &std::path::Path) -> ReplayRequest {
        ReplayRequest {
            input: HistoryInput::Images(images.iter().map(|s| s.to_string()).collect()),
            last,
            base: None,
            settings: Settings {
                max_layers: 8,
                keep_mtimes: false,
                temp_dir: temp_dir.to_path_buf(),
                proven: Default::default(),
            },
            reading: reading(),
        }
    }

    #[test]
    fn each_image_is_optimized_in_turn_and_nothing_is_left_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let (base, latest) = (sample("base"), sample("latest"));
        let r = replay(&request(&[&base, &latest, &latest], Some(1), tmp.path())).unwrap();
        let tags: Vec<&str> = r.replay.tags.iter().map(|t| t.tag.as_str()).collect();
        assert_eq!(
            tags,
            [latest.as_str(), latest.as_str()],
            "--last 1: one deploy"
        );
        assert_eq!(r.replay.images, 3);
        // The same image deployed again ships nothing, built or optimized.
        assert_eq!(
            (r.replay.shipped_bytes, r.replay.optimized_shipped_bytes),
            (0, 0)
        );
        assert!(r.replay.tags[1].optimized_manifest_digest.is_some());
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_failing_image_is_named_and_its_temp_layout_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let base = sample("base");
        let mut req = request(&[&base, &base], None, tmp.path());
        req.base = Some(base.clone());
        let e = replay(&req).err().unwrap();
        assert!(
            e.to_string().starts_with(&format!("optimizing {base}: ")),
            "{e}"
        );
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    }
}
