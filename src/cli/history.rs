//! `strata history REPO` or `strata history IMAGE...`: one row per tag, newest first, with sizes,
//! app bytes and what each deploy downloads. Only manifests and configs are read unless
//! `--content` asks for the layers' uncompressed sizes.

use std::sync::Arc;

use clap::Args;

use crate::cli::progress::Bar;
use crate::cli::{print, reading, warn, ImageOptions, OutputOptions};
use strata::analysis::history::History;
use strata::error::{ExitCode, Result};
use strata::ops::history::{history, HistoryInput, HistoryRequest};
use strata::source::reference::{ImageRef, Repository};

const EXAMPLES: &str = "\
A single registry repository without a tag lists its tags (/v2/<name>/tags/list) and orders
them by the configs' `created`, ties by tag name (v9 before v10). Several images (any transport)
are taken in the order given, oldest first. `App` counts the layers not shared by every image;
`Δ previous` is what a deploy from the older image downloads (blobs it does not have).

Examples:
  strata history registry.example.com/team/app --last 10
  strata history localhost:5000/app --format markdown >> \"$GITHUB_STEP_SUMMARY\"
  strata history docker://registry.example.com/team/app --format html > history.html
  strata history oci:./build:v1 oci:./build:v2 docker-archive:v3.tar --content";

/// Arguments of `strata history`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct HistoryArgs {
    /// A registry repository (`registry/name`, no tag), or several images, oldest first.
    #[arg(required = true, value_name = "REPO|IMAGE")]
    pub images: Vec<String>,
    /// Show only the N newest images (figures still compare with the older ones).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub last: Option<u64>,
    /// Also read each distinct layer of the images shown once, for uncompressed and content
    /// sizes (downloads those layers from registries).
    #[arg(long)]
    pub content: bool,
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
    let bar = Arc::new(Bar::bytes(
        0,
        "reading layers",
        args.content && !args.output.no_progress,
    ));
    let histories = history(&HistoryRequest {
        input,
        last: args.last.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        content: args.content,
        reading: reading(source, bar.clone()),
    });
    bar.finish();
    let histories = histories?;
    warn(&histories.warnings);
    print(&histories.history, args.output.format())?;
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
