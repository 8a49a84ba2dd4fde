//! `strata history REPO` or `strata history IMAGE...`: one row per tag, newest first, with sizes,
//! app bytes and what each deploy downloads. Only manifests and configs are read unless
//! `--content` asks for the layers' uncompressed sizes.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use clap::Args;

use strata::analysis::history::order::chronological;
use strata::analysis::history::{history, LayerContent, Version};
use strata::analysis::scan::{scan_layers, ScanOptions};
use crate::cli::progress::Bar;
use crate::cli::{default_threads, write_stdout, ImageOptions};
use strata::error::{Error, ExitCode, Kind, Result};
use strata::layer::digest::Digest;
use strata::layer::walk::{Contents, EntryKind};
use strata::report::history::{markdown, table};
use strata::report::html;
use strata::report::{json, Format};
use strata::source::reference::{ImageRef, Repository};
use strata::source::registry::RepositoryClient;
use strata::source::{open, OpenedImage, SourceOptions};

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
    /// Output format: table, json, markdown (with a Mermaid chart) or html (one page, SVG chart).
    #[arg(long, short = 'f', default_value = "table", value_parser = parse_format)]
    pub format: Format,
    /// Never draw progress bars.
    #[arg(long)]
    pub no_progress: bool,
    /// Image access options.
    #[command(flatten)]
    pub image_options: ImageOptions,
}

fn parse_format(s: &str) -> std::result::Result<Format, String> {
    s.parse::<Format>().map_err(|e| e.to_string())
}

/// The repository `arg` names when it is a registry reference without tag or digest (a bare
/// Docker Hub name like `ubuntu` stays the image `ubuntu:latest`).
fn repository_name(arg: &str) -> Option<Repository> {
    let Ok(ImageRef::Registry(_)) = ImageRef::parse(arg) else {
        return None;
    };
    Repository::parse(arg).ok().filter(|r| !r.is_short_name())
}

/// One image of the history with what is needed to read its layers later.
struct Opened {
    version: Version,
    image: OpenedImage,
}

impl Opened {
    fn new(tag: String, image: OpenedImage) -> Result<Opened> {
        let layers = image.layer_blobs()?;
        let version = Version {
            tag,
            manifest_digest: image.image.manifest_digest.clone(),
            config_digest: image.image.config_digest.clone(),
            created: image.image.config.created.clone(),
            layers,
        };
        Ok(Opened { version, image })
    }
}

/// Every image tag of `name`, oldest first: manifests and configs only. Tags that are not a
/// container image for the platform (signatures, attestations, other artifacts) are skipped with
/// a warning.
fn open_repository(name: &Repository, opts: &SourceOptions) -> Result<Vec<Opened>> {
    let repository = RepositoryClient::connect(name, &opts.registry)?;
    let tags = repository.tags()?;
    let mut opened = Vec::with_capacity(tags.len());
    for tag in tags {
        match repository.open(&tag, &opts.platform) {
            Ok((image, layers)) => opened.push(Opened::new(tag, OpenedImage { image, layers })?),
            Err(e) if e.kind() == Kind::Invalid => {
                eprintln!(
                    "strata: warning: skipping {name}:{tag}: {}",
                    e.printable().0
                );
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
fn layer_contents(opened: &[Opened], no_progress: bool) -> Result<HashMap<Digest, LayerContent>> {
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
    let bar = Arc::new(Bar::bytes(total, "reading layers", !no_progress));
    let scan = ScanOptions {
        contents: Contents::Skip,
        threads: default_threads(),
        progress: bar.clone(),
    };
    let mut contents = HashMap::new();
    for (o, which) in opened.iter().zip(&plan) {
        let scans = scan_layers(&o.image.image, o.image.layers.as_ref(), which, &scan)
            .map_err(|e| e.context(&o.version.tag))?;
        for (&i, s) in which.iter().zip(scans) {
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
                },
            );
        }
    }
    bar.finish();
    Ok(contents)
}

/// Runs `strata history`.
pub fn run(args: &HistoryArgs) -> Result<ExitCode> {
    let opts = args.image_options.source_options()?;
    let repository = match args.images.as_slice() {
        [only] => repository_name(only),
        _ => None,
    };
    let (source, opened) = match repository {
        Some(name) => {
            let opened = open_repository(&name, &opts)?;
            (name.to_string(), opened)
        }
        None => {
            let opened = args
                .images
                .iter()
                .map(|arg| Opened::new(arg.clone(), open(&ImageRef::parse(arg)?, &opts)?))
                .collect::<Result<Vec<_>>>()?;
            ("images".to_string(), opened)
        }
    };
    let last = args.last.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let shown = &opened[opened.len().saturating_sub(last.unwrap_or(usize::MAX))..];
    let contents = if args.content {
        Some(layer_contents(shown, args.no_progress)?)
    } else {
        None
    };
    let versions: Vec<Version> = opened.into_iter().map(|o| o.version).collect();
    let h = history(source, &versions, contents.as_ref(), last);
    let rendered = match args.format {
        Format::Table => table(&h),
        Format::Json => json::render(&h)?,
        Format::Markdown => markdown(&h),
        Format::Html => html::history::render(&h),
    };
    write_stdout(&rendered)?;
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
