//! `strata cook`: write a recipe's skeleton in the current directory and compile only the
//! dependencies, with cargo-chef's cook flags.
//!
//! When cargo fails, its diagnostics are already on stderr; strata adds one line naming cargo's
//! exit status and exits with cargo's exit code (README, "Exit codes").

use std::path::{Path, PathBuf};

use clap::{ArgAction, Args};

use strata::cargo::artifact::{cache_tag, push_cache, restore_cache};
use strata::cargo::cook::{cook, CookOptions, Cooked};
use strata::cargo::invoke::{BuildOptions, Subcommand};
use strata::cargo::recipe::Recipe;
use strata::error::{Error, ExitCode, Result};
use strata::source::reference::ImageRef;

const EXAMPLES: &str = "\
Examples:
  strata cook --release --recipe-path recipe.json
  strata cook --recipe-path recipe.json --tests --locked
  strata cook --recipe-path recipe.json --target x86_64-unknown-linux-musl --bin server
  strata cook --recipe-path recipe.json --no-build      # write the skeleton only";

/// Arguments of `strata cook` (cargo-chef's, plus repeatable `--bin` and `--example NAME`).
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct CookArgs {
    /// The recipe to cook.
    #[arg(long, value_name = "PATH", default_value = "recipe.json")]
    pub recipe_path: PathBuf,
    /// Build with the release profile.
    #[arg(long, conflicts_with = "profile")]
    pub release: bool,
    /// Build with this profile (`dev` and `release` map to cargo's defaults).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Target triple or target JSON file; repeatable.
    #[arg(long = "target", value_name = "TRIPLE")]
    pub targets: Vec<String>,
    /// cargo's target directory.
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
    /// Features to enable (comma- or space-separated); repeatable.
    #[arg(long, short = 'F', value_name = "FEATURES")]
    pub features: Vec<String>,
    /// Do not enable the default features.
    #[arg(long)]
    pub no_default_features: bool,
    /// Enable every feature.
    #[arg(long)]
    pub all_features: bool,
    /// Build only this package; repeatable.
    #[arg(long = "package", short = 'p', value_name = "SPEC")]
    pub packages: Vec<String>,
    /// Build every workspace member.
    #[arg(long)]
    pub workspace: bool,
    /// Build this binary's dependencies; repeatable.
    #[arg(long, value_name = "NAME")]
    pub bin: Vec<String>,
    /// Build every binary.
    #[arg(long)]
    pub bins: bool,
    /// Build this example's dependencies; repeatable.
    #[arg(long, value_name = "NAME")]
    pub example: Vec<String>,
    /// Build every example.
    #[arg(long)]
    pub examples: bool,
    /// Build every test target (dev-dependencies included).
    #[arg(long)]
    pub tests: bool,
    /// Build every bench target.
    #[arg(long)]
    pub benches: bool,
    /// Build every target.
    #[arg(long)]
    pub all_targets: bool,
    /// Run `cargo check` instead of `cargo build`.
    #[arg(long, conflicts_with_all = ["clippy", "no_build"])]
    pub check: bool,
    /// Run `cargo clippy` instead of `cargo build`.
    #[arg(long, conflicts_with = "no_build")]
    pub clippy: bool,
    /// Write the skeleton and stop.
    #[arg(long)]
    pub no_build: bool,
    /// Require Cargo.lock to be up to date.
    #[arg(long)]
    pub locked: bool,
    /// Require Cargo.lock and the cache to be up to date (no network).
    #[arg(long)]
    pub frozen: bool,
    /// Run without accessing the network.
    #[arg(long)]
    pub offline: bool,
    /// The Cargo.toml cargo builds (the skeleton is still written in the current directory).
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Parallel jobs.
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<u32>,
    /// Verbose cargo output (-vv for very verbose).
    #[arg(long, short = 'v', action = ArgAction::Count)]
    pub verbose: u8,
    /// Write cargo's build timings report.
    #[arg(long)]
    pub timings: bool,
    /// Write `#![no_std]` stubs.
    #[arg(long)]
    pub no_std: bool,
    /// Write the skeleton even over real sources.
    #[arg(long)]
    pub force: bool,
    /// Before cooking, restore the dependency build stored at this repository (oci:DIR or a
    /// registry repository, without a tag: the tag is the fingerprint of dependencies, toolchain,
    /// targets, profile and features).
    #[arg(long, value_name = "REPOSITORY")]
    pub cache_from: Option<String>,
    /// After cooking, store the dependency build at this repository (same tag scheme).
    #[arg(long, value_name = "REPOSITORY")]
    pub cache_to: Option<String>,
    /// Registry access for --cache-from/--cache-to.
    #[command(flatten)]
    pub image_options: crate::cli::ImageOptions,
}

impl CookArgs {
    fn options(&self) -> CookOptions {
        let subcommand = if self.check {
            Subcommand::Check
        } else if self.clippy {
            Subcommand::Clippy
        } else {
            Subcommand::Build
        };
        CookOptions {
            no_std: self.no_std,
            force: self.force,
            build: (!self.no_build).then(|| BuildOptions {
                subcommand,
                release: self.release,
                profile: self.profile.clone(),
                targets: self.targets.clone(),
                target_dir: self.target_dir.clone(),
                features: self.features.clone(),
                no_default_features: self.no_default_features,
                all_features: self.all_features,
                packages: self.packages.clone(),
                workspace: self.workspace,
                bins: self.bin.clone(),
                all_bins: self.bins,
                examples: self.example.clone(),
                all_examples: self.examples,
                tests: self.tests,
                benches: self.benches,
                all_targets: self.all_targets,
                locked: self.locked,
                frozen: self.frozen,
                offline: self.offline,
                manifest_path: self.manifest_path.clone(),
                jobs: self.jobs,
                verbose: self.verbose,
                timings: self.timings,
            }),
        }
    }
}

/// Reads the recipe to cook; a missing one is a local "not found" with the command that writes
/// it.
fn read_recipe(path: &Path) -> Result<Recipe> {
    if !path.exists() {
        return Err(
            Error::not_found(format!("{}: no such recipe file", path.display())).with_hint(
                format!(
                    "write it first, in the workspace: `strata recipe --recipe-path {}`",
                    path.display()
                ),
            ),
        );
    }
    Recipe::read(path)
}

/// Runs `strata cook`.
pub fn run(args: &CookArgs) -> Result<ExitCode> {
    if let Some(repo) = &args.cache_to {
        // A destination that cannot be written is refused before anything runs or compiles.
        ImageRef::parse_destination(repo)?;
    }
    let recipe = read_recipe(&args.recipe_path)?;
    let dir = std::env::current_dir().map_err(|e| Error::io("current directory", e))?;
    let options = args.options();
    let target = dir.join(
        args.target_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("target")),
    );
    let cache = match (&args.cache_from, &args.cache_to, &options.build) {
        (None, None, _) => None,
        (_, _, None) => {
            return Err(Error::usage(
                "--cache-from/--cache-to need a build (not --no-build)",
            ))
        }
        (_, _, Some(build)) => Some((
            cache_tag(&recipe, build)?,
            args.image_options.source_options()?,
        )),
    };
    let cache_to = match (&args.cache_to, &cache) {
        (Some(repo), Some((tag, _))) => Some(format!("{repo}:{tag}")),
        _ => None,
    };
    if let (Some(repo), Some((tag, opts))) = (&args.cache_from, &cache) {
        let reference = format!("{repo}:{tag}");
        if restore_cache(&target, &reference, opts)? {
            eprintln!("strata: restored the dependency build from {reference}");
        } else {
            eprintln!("strata: no dependency build at {reference} yet; cooking from scratch");
        }
    }
    let cooked = cook(&recipe, &dir, &options)?;
    if let (Some(reference), Some((_, opts)), Cooked::Built { .. }) = (&cache_to, &cache, &cooked) {
        let stats = push_cache(&target, reference, opts)?;
        eprintln!(
            "strata: stored the dependency build at {reference} ({} blobs sent, {} already there)",
            stats.uploaded, stats.skipped
        );
    }
    match cooked {
        Cooked::SkeletonOnly => {
            eprintln!("strata: skeleton written (--no-build: nothing compiled)");
            Ok(ExitCode::Ok)
        }
        Cooked::Built { removed } => {
            eprintln!("strata: dependencies cooked; removed {removed} local stub outputs and fingerprints");
            Ok(ExitCode::Ok)
        }
        Cooked::CargoFailed { code } => {
            let status = code.map_or_else(
                || "killed by a signal".to_string(),
                |c| format!("exit status {c}"),
            );
            eprintln!("strata: error: cargo failed while cooking ({status}); its errors are above");
            // cargo's own exit code, so scripts see what cargo said; 2 when it was killed.
            Ok(code.map_or(ExitCode::BadInput, ExitCode::Tool))
        }
    }
}
