//! The command line: argument parsing (clap) and the glue from arguments to the library. Every
//! subcommand lives in its own module; this one holds the options they share.

pub mod base;
pub mod build;
pub mod check;
pub mod cook;
pub mod copy;
pub mod diff;
pub mod dockerfile;
pub mod explore;
pub mod fingerprint;
pub mod history;
pub mod init;
pub mod lint;
pub mod optimize;
pub mod progress;
pub mod rebase;
pub mod recipe;
pub mod report;
pub mod stdout;

use std::io::Read;
use std::marker::PhantomData;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crate::cli::progress::Bar;
pub use crate::cli::stdout::write_stdout;

use strata::error::{Error, ExitCode, Result};
use strata::ops::Reading;
use strata::progress::Progress;
use strata::report::{document, Document, Format};
use strata::source::distribution::resume::MinRate;
use strata::source::platform::Platform;
use strata::source::registry::RegistryOptions;
use strata::source::SourceOptions;

const AFTER_HELP: &str = "\
Image references:
  oci:DIR[:TAG]                 OCI image layout directory
  oci-archive:FILE[:TAG]        OCI layout in a tar archive
  docker-archive:FILE[:REF]     `docker save` output
  docker://REGISTRY/REPO:TAG    image in a registry (also @sha256:...)
  PATH or REGISTRY/REPO:TAG     detected automatically; a bare name (ubuntu:24.04) is read from
                                Docker Hub, but a destination must name its registry host
                                (a '.', a ':' or localhost) or use docker:// or oci:

Exit codes: 0 ok, 1 a check failed, 2 bad input or usage, 3 registry or network error;
strata cook passes cargo's own exit code through when cargo fails.";

/// strata: find out why container images are big, and make deploys ship only what changed.
#[derive(Debug, Parser)]
#[command(name = "strata", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Explain every layer of an image: sizes, contents, dependencies, caches, dead bytes, fixes.
    Report(report::ReportArgs),
    /// Browse an image layer by layer in the terminal: what each layer added, changed and
    /// removed, findings, file history, view and save files, compare with another image.
    Explore(Box<explore::ExploreArgs>),
    /// Compare two images: what a deploy of NEW downloads where OLD is, and what changed.
    Diff(diff::DiffArgs),
    /// Gate an image in CI: size budgets, dependencies and caches in app layers, dive's rules,
    /// findings by rule or severity.
    Check(Box<check::CheckArgs>),
    /// Show how an image grew tag by tag: sizes, app bytes and what each deploy downloads, from
    /// manifests and configs only.
    History(Box<history::HistoryArgs>),
    /// Copy an image between layouts, archives and registries, sending only missing blobs.
    Copy(copy::CopyArgs),
    /// Move an image's own layers onto a new base image, without downloading or rebuilding them.
    Rebase(rebase::RebaseArgs),
    /// Re-lay an image you already build for cheap deploys: base kept, dependencies by package
    /// lowest, the code last, the same filesystem proven.
    Optimize(Box<optimize::OptimizeArgs>),
    /// Build an image without a daemon: base, dependency layer, app layer, reproducibly.
    Build(Box<build::BuildArgs>),
    /// Manage the layer cache of `strata build`.
    Cache(build::CacheArgs),
    /// Detect the project (Python or Rust) and write the build plan as a commented strata.toml.
    Init(Box<init::InitArgs>),
    /// Lint Dockerfiles for layer-cache busting and image size, with a line and a fix per finding.
    Lint(Box<lint::LintArgs>),
    /// Write a Cargo workspace's dependency recipe (cargo-chef's recipe.json; alias: prepare).
    #[command(alias = "prepare")]
    Recipe(recipe::RecipeArgs),
    /// Write a recipe's skeleton and compile only the dependencies (cargo-chef's cook).
    Cook(Box<cook::CookArgs>),
    /// Print deps-<hash>, a short stable name for a Cargo workspace's or Python lockfile's
    /// dependencies.
    Fingerprint(fingerprint::FingerprintArgs),
    /// Write Dockerfile.base (dependencies, tagged by fingerprint), Dockerfile (the app),
    /// .dockerignore, digests.env and a Makefile for a Python or Rust project.
    Dockerfile(Box<dockerfile::DockerfileArgs>),
    /// Print REF:deps-<hash>, the dependency image's name; --exists asks the registry for it.
    Base(base::BaseArgs),
}

/// How to reach an image: platform and registry options shared by every command that reads one.
#[derive(Debug, Args, Clone)]
pub struct ImageOptions {
    /// Platform to pick from multi-platform images, os/arch[/variant] (default: this machine's);
    /// `strata build` takes a comma-separated list: one image per platform and an index.
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
    /// Registry user name (with --password-stdin); otherwise ~/.docker/config.json is used.
    #[arg(long, requires = "password_stdin")]
    pub username: Option<String>,
    /// Read the registry password from standard input.
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
    /// Use plain HTTP and accept any TLS certificate (loopback registries get HTTPS when they
    /// speak it, else plain HTTP, as with Docker).
    #[arg(long)]
    pub insecure: bool,
    /// Directory of CAs (*.crt) for the registry, instead of its certs.d directories
    /// (/etc/containers/certs.d/HOST[:PORT], /etc/docker/certs.d/HOST[:PORT]).
    #[arg(long, value_name = "DIR")]
    pub cert_dir: Option<std::path::PathBuf>,
    /// Seconds to wait for a registry to connect or to send more data, per attempt (transient
    /// failures are retried 3 times with backoff; a layer cut off, or slower than
    /// STRATA_MIN_RATE=KIB/SECONDS, default 10/30, resumes where it stopped).
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub timeout: u64,
}

impl ImageOptions {
    /// Turns the flags into source options, reading the password from stdin when asked.
    pub fn source_options(&self) -> Result<SourceOptions> {
        let platform = match &self.platform {
            Some(p) => Platform::parse(p)?,
            None => Platform::host(),
        };
        let credentials = match (&self.username, self.password_stdin) {
            (Some(user), true) => {
                let mut password = String::new();
                std::io::stdin()
                    .read_to_string(&mut password)
                    .map_err(|e| Error::usage(format!("reading the password from stdin: {e}")))?;
                let password = password.trim_end_matches(['\r', '\n']).to_string();
                if password.is_empty() {
                    return Err(Error::usage("--password-stdin: standard input was empty"));
                }
                Some((user.clone(), password))
            }
            _ => None,
        };
        Ok(SourceOptions {
            platform,
            registry: RegistryOptions {
                insecure: self.insecure,
                cert_dir: self.cert_dir.clone(),
                timeout: std::time::Duration::from_secs(self.timeout.max(1)),
                credentials,
                min_rate: MinRate::from_env()?,
            },
        })
    }
}

/// `--format`, offering exactly the formats command result `D` renders: the help line lists them
/// and any other value is refused while parsing, before any work is done.
#[derive(Debug, Args)]
pub struct FormatOption<D: Document + 'static> {
    /// Output format (the help text lists the command's formats).
    #[arg(
        long,
        short = 'f',
        default_value = "table",
        value_parser = parse_format::<D>,
        help = document::help::<D>()
    )]
    pub format: Format,
    #[arg(skip)]
    document: PhantomData<fn() -> D>,
}

/// Output options shared by the commands that read or write images.
#[derive(Debug, Args)]
pub struct OutputOptions<D: Document + 'static> {
    /// The output format.
    #[command(flatten)]
    pub format: FormatOption<D>,
    /// Never draw progress bars.
    #[arg(long)]
    pub no_progress: bool,
}

impl<D: Document> OutputOptions<D> {
    /// The chosen format.
    pub fn format(&self) -> Format {
        self.format.format
    }

    /// A byte-counting bar for this command's reads or writes, hidden by `--no-progress`.
    pub fn bar(&self, message: &str) -> Arc<Bar> {
        Arc::new(Bar::bytes(0, message, !self.no_progress))
    }
}

fn parse_format<D: Document>(s: &str) -> std::result::Result<Format, String> {
    document::parse::<D>(s).map_err(|e| e.to_string())
}

/// Renders `doc` in `format` and writes it to stdout in one piece.
pub fn print<D: Document>(doc: &D, format: Format) -> Result<()> {
    write_stdout(&document::render(doc, format)?)
}

/// Prints warnings an operation returned, one line each, on stderr.
pub fn warn(warnings: &[String]) {
    for w in warnings {
        eprintln!("strata: warning: {w}");
    }
}

/// How operations read images: these source options, a thread per core, and `progress`.
pub fn reading(source: SourceOptions, progress: Arc<dyn Progress>) -> Reading {
    Reading {
        source,
        threads: default_threads(),
        progress,
    }
}

/// Threads for layer scans: one per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Report(args) => report::run(&args),
        Command::Explore(args) => explore::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Recipe(args) => recipe::run(&args),
        Command::Cook(args) => cook::run(&args),
        Command::Fingerprint(args) => fingerprint::run(&args),
        Command::History(args) => history::run(&args),
        Command::Copy(args) => copy::run(&args),
        Command::Rebase(args) => rebase::run(&args),
        Command::Optimize(args) => optimize::run(&args),
        Command::Build(args) => build::run(&args),
        Command::Cache(args) => build::run_cache(&args),
        Command::Init(args) => init::run(&args),
        Command::Lint(args) => lint::run(&args),
        Command::Dockerfile(args) => dockerfile::run(&args),
        Command::Base(args) => base::run(&args),
    }
}
