//! `strata history REPO` or `strata history IMAGE...`: one row per tag, newest first, with sizes,
//! app bytes and what each deploy downloads. Only manifests and configs are read unless
//! `--content` asks for the layers' uncompressed sizes.

use std::sync::Arc;

use clap::Args;

use crate::cli::optimize::DEFAULT_MAX_LAYERS;
use crate::cli::progress::Bar;
use crate::cli::{print, reading, warn, ImageOptions, OutputOptions};
use strata::analysis::history::History;
use strata::error::{ExitCode, Result};
use strata::ops::history::{history, HistoryInput, HistoryRequest};
use strata::ops::replay::{replay, ReplayRequest};
use strata::optimize::proven::Proven;
use strata::optimize::Settings;
use strata::source::reference::{ImageRef, Repository};
use strata::source::SourceOptions;

const EXAMPLES: &str = "\
A single registry repository without a tag lists its tags (/v2/<name>/tags/list) and orders
them by the configs' `created`, ties by tag name (v9 before v10). Several images (any transport)
are taken in the order given, oldest first. `App` counts the layers not shared by every image;
`Δ previous` is what a deploy from the older image downloads (blobs it does not have).

Examples:
  strata history registry.example.com/team/app --last 10
  strata history localhost:5000/app --format markdown >> \"$GITHUB_STEP_SUMMARY\"
  strata history docker://registry.example.com/team/app --format html > history.html
  strata history oci:./build:v1 oci:./build:v2 docker-archive:v3.tar --content
  strata history localhost:5000/app --optimize --last 12 --base localhost:5000/python:3.12

--optimize replays the deploys: every image, oldest first, is optimized as `strata optimize` would
(into a private OCI layout in the temp directory, removed at the end), each with the optimized
image before it as --previous, and each deploy is counted both ways: the compressed layers the
image before does not have, as built and optimized. The first image replayed ships its whole image
either way and is not counted: N images make N - 1 deploys, and `--last N` replays the N newest
deploys (N + 1 images). A history of one image has no deploy to compare (exit 0).";

/// Arguments of `strata history`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct HistoryArgs {
    /// A registry repository (`registry/name`, no tag), or several images, oldest first.
    #[arg(required = true, value_name = "REPO|IMAGE")]
    pub images: Vec<String>,
    /// Show only the N newest images (figures still compare with the older ones); with
    /// --optimize, replay only the N newest deploys.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub last: Option<u64>,
    /// Also read each distinct layer of the images shown once, for uncompressed and content
    /// sizes (downloads those layers from registries).
    #[arg(long)]
    pub content: bool,
    /// Replay the deploys optimized: optimize every image in turn, each with the one before as
    /// --previous, and say what each deploy shipped as built and would have shipped optimized.
    #[arg(long, conflicts_with = "content")]
    pub optimize: bool,
    /// With --optimize: the base image whose layers are kept (default: each image's base
    /// annotations).
    #[arg(long, value_name = "IMAGE", requires = "optimize")]
    pub base: Option<String>,
    /// With --optimize: at most this many layers above the base, the app layer included.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_LAYERS, requires = "optimize")]
    pub max_layers: usize,
    /// Output options (markdown draws a Mermaid chart, html one page with an SVG chart).
    #[command(flatten)]
    pub output: OutputOptions<History>,
    /// Image access options.
    #[command(flatten)]
    pub image_options: ImageOptions,
}

/// The repository `arg` names when it is a registry reference without tag or digest (a bare
/// Docker Hub name like `ubuntu` stays the image `ubuntu:latest`).
fn repository_name(arg: &str) -> Option<Repository> {
    let Ok(ImageRef::Registry(_) | ImageRef::Named(_)) = ImageRef::parse(arg) else {
        return None;
    };
    Repository::parse(arg).ok().filter(|r| !r.is_short_name())
}

/// Runs `strata history`.
pub fn run(args: &HistoryArgs) -> Result<ExitCode> {
    let source = args.image_options.source_options()?;
    let input = match args.images.as_slice() {
        [only] => match repository_name(only) {
            Some(repository) => HistoryInput::Repository(repository),
            None => HistoryInput::Images(vec![only.clone()]),
        },
        images => HistoryInput::Images(images.to_vec()),
    };
    let last = args.last.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    if args.optimize {
        return replay_deploys(args, input, last, source);
    }
    let bar = Arc::new(Bar::bytes(
        0,
        "reading layers",
        args.content && !args.output.no_progress,
    ));
    let histories = history(&HistoryRequest {
        input,
        last,
        content: args.content,
        reading: reading(source, bar.clone()),
    });
    bar.finish();
    let histories = histories?;
    warn(&histories.warnings);
    print(&histories.history, args.output.format())?;
    Ok(ExitCode::Ok)
}

/// Runs `strata history --optimize`; the bar counts the compressed bytes of the images optimized.
fn replay_deploys(
    args: &HistoryArgs,
    input: HistoryInput,
    last: Option<usize>,
    source: SourceOptions,
) -> Result<ExitCode> {
    let bar = args.output.bar("optimizing images");
    let replays = replay(&ReplayRequest {
        input,
        last,
        base: args.base.clone(),
        settings: Settings {
            max_layers: args.max_layers,
            keep_mtimes: false,
            temp_dir: std::env::temp_dir(),
            proven: Proven::in_default_cache(),
        },
        reading: reading(source, bar.clone()),
    });
    bar.finish();
    let replays = replays?;
    warn(&replays.warnings);
    print(&replays.replay, args.output.format())?;
    Ok(ExitCode::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registry_name_without_tag_is_a_repository() {
        let repo = |s: &str| repository_name(s).map(|r| r.to_string());
        assert_eq!(
            repo("localhost:5000/team/app").as_deref(),
            Some("localhost:5000/team/app")
        );
        assert_eq!(
            repo("docker://registry.example.com/app").as_deref(),
            Some("registry.example.com/app")
        );
        assert_eq!(repo("localhost:5000/team/app:v1"), None);
        assert_eq!(repo("registry.example.com/app@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"), None);
        assert_eq!(repo("oci:/nonexistent/layout"), None);
        assert_eq!(repo("ubuntu"), None);
        assert_eq!(repo("Not A Reference!"), None);
    }
}
