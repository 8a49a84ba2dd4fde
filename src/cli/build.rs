//! `strata build`: build an image from `strata.toml` and flags, with no daemon, and write it to
//! layouts, archives or registries; `strata cache prune` tidies the layer cache.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use std::sync::Arc;
use strata::assemble::cache::{default_dir, LayerCache};
use strata::assemble::plan::{self, Plan};
use strata::assemble::{build, Built, BuiltLayer};

use crate::cli::progress::Bar;
use crate::cli::{print, write_stdout, ImageOptions, OutputOptions};
use strata::ecosystem::{self, PresetSpec};
use strata::error::{Error, ExitCode, Result};
use strata::mutate::index::{platform_descriptor, Index};
use strata::policy::config::locate;
use strata::preset::{expand, BaseInfo};
use strata::report::{json, new_table, Document, Format};
use strata::sink::copy::{write_image, write_index, CopyStats, PlatformImage};
use strata::sink::open_sink;
use strata::source::platform::Platform;
use strata::source::reference::ImageRef;
use strata::source::{open, SourceOptions};
use strata::temp;
use strata::units::human_bytes;

const EXAMPLES: &str = "\
Examples:
  strata build --plan
  strata build --output oci:./out:v1
  strata build --base oci:./base:latest --layer deps=.venv:/app/.venv --layer app=src:/app/src \\
      --entrypoint /app/.venv/bin/python --cmd -m --cmd app --push registry.example.com/team/app:v2
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) strata build --output docker-archive:app.tar:app:latest
  strata build --base docker://registry.example.com/base/python:3.12 \
      --platform linux/amd64,linux/arm64 --allow-build --push registry.example.com/team/app:v2

strata.toml:
  [image]
  base = \"registry.example.com/base/python:3.12\"   # or \"scratch\"
  entrypoint = [\"/app/.venv/bin/python\", \"-m\", \"app\"]
  env = { PYTHONUNBUFFERED = \"1\" }
  [[layer]]
  name = \"deps\"
  from = [\".venv\"]
  to = \"/app/.venv\"
  exclude = [\"**/__pycache__\"]
  [[layer]]
  name = \"app\"
  from = [\"src\"]
  to = \"/app/src\"";

/// Arguments of `strata build`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct BuildArgs {
    /// Config file (default: strata.toml here or in the nearest parent; its directory is the root
    /// sources are relative to).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Base image (any reference strata reads), or `scratch`.
    #[arg(long, value_name = "IMAGE")]
    pub base: Option<String>,
    /// A layer NAME=SRC[,SRC...]:DEST (repeatable; replaces a layer of the same name).
    #[arg(long = "layer", value_name = "NAME=SRC:DEST")]
    pub layers: Vec<String>,
    /// Entrypoint (repeat for each argument).
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    pub entrypoint: Vec<String>,
    /// Default command (repeat for each argument).
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    pub cmd: Vec<String>,
    /// Environment variable KEY=VALUE (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Working directory.
    #[arg(long)]
    pub workdir: Option<String>,
    /// User to run as.
    #[arg(long)]
    pub user: Option<String>,
    /// Compress new layers with zstd instead of gzip.
    #[arg(long)]
    pub zstd: bool,
    /// Where to write the image (repeatable): oci:DIR:TAG, oci-archive:FILE:TAG,
    /// docker-archive:FILE:NAME:TAG, docker://REF, docker-daemon:NAME:TAG.
    #[arg(long = "output", short = 'o', value_name = "DEST")]
    pub outputs: Vec<String>,
    /// Push to a registry (same as --output docker://REF).
    #[arg(long, value_name = "REF")]
    pub push: Vec<String>,
    /// Load into the Docker Engine as NAME:TAG (same as --output docker-daemon:NAME:TAG).
    #[arg(long, value_name = "NAME:TAG")]
    pub load: Vec<String>,
    /// Print the layer plan (sources, destination, files, bytes, cache hit or miss) and stop.
    #[arg(long)]
    pub plan: bool,
    /// Layer cache directory (default: $XDG_CACHE_HOME/strata).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Project preset settings (used when strata.toml declares no layers).
    #[command(flatten)]
    pub preset: PresetArgs,
    /// Image access options.
    #[command(flatten)]
    pub image_options: ImageOptions,
    /// Output options.
    #[command(flatten)]
    pub output: OutputOptions<BuildOutcome<'static>>,
}

/// The project preset flags shared by `strata build` and `strata init`.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Project presets (no [[layer]] tables: Python or Rust detected)")]
pub struct PresetArgs {
    /// Which preset plans the layers: python, rust, or none (default: detected).
    #[arg(long, value_name = "KIND")]
    pub preset: Option<String>,
    /// Python: package this virtual environment of the host instead of installing the lockfile
    /// (the default without a lockfile: $VIRTUAL_ENV, .venv, venv).
    #[arg(long, value_name = "DIR")]
    pub venv: Option<String>,
    /// Python: split the dependencies into N layers, largest distributions in their own.
    #[arg(long, value_name = "N")]
    pub deps_layers: Option<usize>,
    /// Python: install the dependencies from this lockfile for the base's platform, with uv
    /// (default: the project's uv.lock, pylock.toml, poetry.lock or requirements.txt, even when
    /// a venv is there; --venv packages the venv instead).
    #[arg(long, value_name = "FILE")]
    pub lockfile: Option<String>,
    /// Python: install from the project's lockfile (the default when it has one).
    #[arg(long)]
    pub from_lock: bool,
    /// Python: the uv binary that installs the lockfile (default: the pinned version on PATH or
    /// in strata's cache, installed there from the package index when missing).
    #[arg(long, value_name = "PATH")]
    pub installer: Option<String>,
    /// Python (lockfile builds): ship the dependencies' .py compiled to checked-hash .pyc by the
    /// base's own interpreter, run from the base's filesystem (qemu-user for another CPU).
    #[arg(long)]
    pub compile_bytecode: bool,
    /// Python (lockfile builds): build the distributions with no wheel for the base's platform
    /// from their sdist, in a container of the Docker Engine (another CPU through the engine's
    /// qemu binfmt handlers).
    #[arg(long)]
    pub allow_build: bool,
    /// Python (with --allow-build): the image the build runs in (default: the base), e.g. one
    /// with gcc and python3.X-dev for sdists with C code.
    #[arg(long, value_name = "IMAGE", requires = "allow_build")]
    pub builder: Option<String>,
    /// Rust: the binary target to build and package.
    #[arg(long, value_name = "NAME")]
    pub bin: Option<String>,
    /// Rust: cargo profile (default: release).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Rust: target triple (e.g. x86_64-unknown-linux-musl for a static binary on scratch).
    #[arg(long, value_name = "TRIPLE")]
    pub target: Option<String>,
    /// Rust: features to enable (repeatable).
    #[arg(long = "features", short = 'F', value_name = "FEATURES")]
    pub features: Vec<String>,
    /// Rust: do not run cargo; package the binary given with --binary.
    #[arg(long, requires = "binary")]
    pub no_cargo: bool,
    /// Rust: the existing binary to package (with --no-cargo).
    #[arg(long, value_name = "PATH", requires = "no_cargo")]
    pub binary: Option<String>,
    /// Rust: restore the dependency build from this repository (registry or oci:DIR) before
    /// cargo runs, and store it there after a build that compiled it (tag: recipe fingerprint).
    #[arg(long, value_name = "REPOSITORY")]
    pub cargo_cache: Option<String>,
    /// Rust: package the binary with its symbols and debug info (default: stripped in release,
    /// with binutils' strip).
    #[arg(long)]
    pub no_strip: bool,
}

impl PresetArgs {
    /// Applies the flags to the plan: an explicit or detected preset when the plan has none and
    /// declares no layers, then the flags over the preset's settings.
    pub fn apply(&self, plan: &mut Plan) -> Result<()> {
        match self.preset.as_deref() {
            Some("none") => plan.preset = None,
            Some(kind) => {
                let ecosystem = ecosystem::named(kind).ok_or_else(|| {
                    Error::usage(format!(
                        "--preset {kind:?}: expected {} or none",
                        ecosystem::buildable_names()
                    ))
                })?;
                if plan.preset.as_ref().map(|p| p.preset().ecosystem().name()) != Some(kind) {
                    plan.preset = Some(ecosystem.preset());
                }
            }
            None if plan.preset.is_none() && plan.layers.is_empty() => {
                plan.preset = ecosystem::detect(&plan.root).map(|e| e.preset());
            }
            None => {}
        }
        let set = |slot: &mut Option<String>, v: &Option<String>| {
            if v.is_some() {
                slot.clone_from(v);
            }
        };
        match plan.preset.as_mut() {
            Some(PresetSpec::Python(python)) => {
                set(&mut python.venv, &self.venv);
                set(&mut python.lockfile, &self.lockfile);
                set(&mut python.installer, &self.installer);
                if self.from_lock {
                    python.from_lock = Some(true);
                }
                if self.compile_bytecode {
                    python.compile_bytecode = Some(true);
                }
                if self.allow_build {
                    python.allow_build = Some(true);
                }
                set(&mut python.builder, &self.builder);
                if self.deps_layers.is_some() {
                    python.deps_layers = self.deps_layers;
                }
            }
            Some(PresetSpec::Rust(rust)) => {
                set(&mut rust.bin, &self.bin);
                set(&mut rust.profile, &self.profile);
                set(&mut rust.target, &self.target);
                set(&mut rust.binary, &self.binary);
                set(&mut rust.cargo_cache, &self.cargo_cache);
                if !self.features.is_empty() {
                    rust.features.clone_from(&self.features);
                }
                if self.no_strip {
                    rust.strip = Some(false);
                }
            }
            // No preset, or one that takes no flags: the flags of other presets do not apply.
            _ => {}
        }
        Ok(())
    }
}

/// `strata cache ...`.
#[derive(Debug, Args)]
pub struct CacheArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: CacheCommand,
}

/// Cache subcommands.
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Remove layers unused for some days, blobs nothing refers to, and the temp files
    /// interrupted or killed builds left.
    Prune {
        /// Keep layers used within this many days.
        #[arg(long, default_value_t = 30)]
        days: u64,
        /// Layer cache directory (default: $XDG_CACHE_HOME/strata).
        #[arg(long, value_name = "DIR")]
        cache_dir: Option<PathBuf>,
    },
}

impl BuildArgs {
    fn plan(&self) -> Result<Plan> {
        let file = locate(self.config.as_deref())?;
        let root = match &file {
            Some(f) => f.parent().map(PathBuf::from).unwrap_or_default(),
            None => std::env::current_dir().map_err(|e| Error::io(".", e))?,
        };
        let root = if root.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            root
        };
        let mut plan = Plan::load(file.as_deref(), &root)?;
        if let Some(b) = &self.base {
            plan.image.base = Some(b.clone());
        }
        for l in &self.layers {
            plan.add_layer_flag(l)?;
        }
        if !self.entrypoint.is_empty() {
            plan.image.entrypoint = Some(self.entrypoint.clone());
        }
        if !self.cmd.is_empty() {
            plan.image.cmd = Some(self.cmd.clone());
        }
        for kv in &self.env {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| Error::usage(format!("--env {kv:?}: expected KEY=VALUE")))?;
            plan.image.env.insert(k.to_string(), v.to_string());
        }
        if self.workdir.is_some() {
            plan.image.workdir = self.workdir.clone();
        }
        if self.user.is_some() {
            plan.image.user = self.user.clone();
        }
        if self.zstd {
            plan.set_compression(Some("zstd"))?;
        }
        self.preset.apply(&mut plan)?;
        if plan.layers.is_empty() && plan.preset.is_none() {
            return Err(Error::usage(format!(
                "nothing to build: no {} project here; declare [[layer]] tables in strata.toml \
                 or pass --layer NAME=SRC:DEST",
                ecosystem::buildable_titles(" or ")
            )));
        }
        Ok(plan)
    }
}

/// A layer source as the plan table shows it (see [`plan::shown_source`]), for the layer cache
/// at `cache_dir`.
pub(crate) fn shown_source(source: &str, root: &Path, cache_dir: &Path) -> String {
    plan::shown_source(source, root, &cache_dir.join("staging"))
}

fn plan_table(layers: &[BuiltLayer], root: &Path, cache_dir: &Path) -> String {
    let mut t = new_table(vec!["Layer", "From", "To", "Entries", "Bytes", "Cache"]);
    for l in layers {
        let from: Vec<String> = l
            .from
            .iter()
            .map(|f| shown_source(f, root, cache_dir))
            .collect();
        t.add_row(vec![
            l.name.clone(),
            from.join(", "),
            l.to.clone(),
            l.entries.to_string(),
            human_bytes(l.content_bytes),
            if l.cache_hit {
                "hit".into()
            } else {
                "miss".into()
            },
        ]);
    }
    format!("{t}\n")
}

/// Runs the plan's preset (if any), printing what it chose on stderr.
pub fn expand_preset(plan: &mut Plan, opts: &SourceOptions, cache_dir: &Path) -> Result<()> {
    for note in preset_notes(plan, opts, cache_dir)? {
        eprintln!("strata: {note}");
    }
    Ok(())
}

/// Runs the plan's preset (if any); returns what it chose, as notes.
fn preset_notes(plan: &mut Plan, opts: &SourceOptions, cache_dir: &Path) -> Result<Vec<String>> {
    let Some(spec) = &plan.preset else {
        return Ok(Vec::new());
    };
    let base = match plan.image.base.as_deref() {
        None | Some("scratch") => None,
        Some(name) => Some(
            open(&ImageRef::parse(name)?, opts)
                .map_err(|e| e.context(format!("base image {name}")))?,
        ),
    };
    let info = BaseInfo::read(base.as_ref(), spec.preset().base_files())?;
    expand(plan, base.as_ref(), &info, opts, &cache_dir.join("staging"))
}

/// The platforms a comma-separated `--platform` asks for (`linux/amd64,linux/arm64`: one image
/// each and an index), and the options with that list taken out; one platform (or none) stays
/// what it is for every command: the one image picked from the base.
fn platforms(options: &ImageOptions) -> Result<(Vec<Platform>, ImageOptions)> {
    let mut options = options.clone();
    match options.platform.as_deref() {
        Some(list) if list.contains(',') => {
            let wanted = list
                .split(',')
                .filter(|p| !p.trim().is_empty())
                .map(|p| Platform::parse(p.trim()))
                .collect::<Result<Vec<_>>>()?;
            options.platform = None;
            Ok((wanted, options))
        }
        _ => Ok((Vec::new(), options)),
    }
}

/// The platforms a lockfile build makes when `--platform` names none: every platform of an
/// index base that wheels can be installed for (linux/amd64, linux/arm64), noted on stderr with
/// those left out; empty (one image, as for any build) when the base is a single image or the
/// project is packaged from a venv.
fn base_platforms(
    plan: &Plan,
    options: &ImageOptions,
    opts: &SourceOptions,
) -> Result<Vec<Platform>> {
    let Some(PresetSpec::Python(python)) = &plan.preset else {
        return Ok(Vec::new());
    };
    let base = match plan.image.base.as_deref() {
        Some(base) if base != "scratch" => base,
        _ => return Ok(Vec::new()),
    };
    if options.platform.is_some()
        || !plan.layers.is_empty()
        || !python.installs_from_lock(&plan.root)?
    {
        return Ok(Vec::new());
    }
    let Some(listed) = strata::source::platform::platforms(&ImageRef::parse(base)?, opts)
        .map_err(|e| e.context(format!("base image {base}")))?
    else {
        return Ok(Vec::new());
    };
    let (built, left): (Vec<Platform>, Vec<Platform>) = listed
        .images
        .into_iter()
        .partition(|p| p.os == "linux" && matches!(p.architecture.as_str(), "amd64" | "arm64"));
    if built.len() < 2 {
        return Ok(Vec::new());
    }
    if !left.is_empty() {
        let left: Vec<String> = left.iter().map(Platform::to_string).collect();
        eprintln!(
            "strata: the base's {} left out: wheels are installed for linux/amd64 and linux/arm64",
            left.join(", ")
        );
    }
    Ok(built)
}

/// One platform's build: its label (`None` for a single-image build), layers and image.
struct PlatformBuild {
    platform: Option<Platform>,
    layers: Vec<BuiltLayer>,
    built: Option<Built>,
}

/// Expands the preset and builds the plan for each platform (each base opened for it, each
/// Python lockfile installed for it), or once for the base's default platform.
fn build_each(
    args: &BuildArgs,
    wanted: Vec<Platform>,
    plan: &Plan,
    opts: &SourceOptions,
    cache: &LayerCache,
) -> Result<Vec<PlatformBuild>> {
    let cache_dir = cache.dir().to_path_buf();
    if wanted.is_empty() {
        let mut plan = plan.clone();
        expand_preset(&mut plan, opts, &cache_dir)?;
        let (built, layers) = build(&plan, opts, cache, args.plan)?;
        return Ok(vec![PlatformBuild {
            platform: None,
            layers,
            built,
        }]);
    }
    // The platforms are built at once: each one's downloads (uv's wheels, a base from a
    // registry), builder container, compileall and layer compression overlap the others'. Their
    // notes are printed in the platforms' order once all are done.
    type Done = (Vec<String>, Option<Built>, Vec<BuiltLayer>);
    let done: Vec<Result<Done>> = std::thread::scope(|scope| {
        let running: Vec<_> = wanted
            .iter()
            .map(|platform| {
                let cache_dir = &cache_dir;
                scope.spawn(move || {
                    let mut plan = plan.clone();
                    if let Some(PresetSpec::Python(python)) = plan.preset.as_mut() {
                        python.from_lock = Some(true);
                    }
                    let opts = SourceOptions {
                        platform: platform.clone(),
                        ..opts.clone()
                    };
                    let notes = preset_notes(&mut plan, &opts, cache_dir)
                        .map_err(|e| e.context(format!("platform {platform}")))?;
                    let (built, layers) = build(&plan, &opts, cache, args.plan)?;
                    Ok((notes, built, layers))
                })
            })
            .collect();
        running
            .into_iter()
            .map(|r| {
                r.join().unwrap_or_else(|_| {
                    Err(Error::invalid("a platform's build stopped unexpectedly"))
                })
            })
            .collect()
    });
    let mut out = Vec::new();
    for (platform, result) in wanted.into_iter().zip(done) {
        let (notes, built, layers) = result?;
        for note in notes {
            eprintln!("strata: {note}");
        }
        out.push(PlatformBuild {
            platform: Some(platform),
            layers,
            built,
        });
    }
    Ok(out)
}

/// Writes the built images to `sink`: the image itself, or with several platforms each image by
/// digest and an index over them under the destination's tag.
fn write_built(
    sink: &mut dyn strata::sink::Sink,
    builds: &[PlatformBuild],
    cache: &LayerCache,
    bar: Arc<Bar>,
) -> Result<CopyStats> {
    let images: Vec<(&Option<Platform>, &Built)> = builds
        .iter()
        .filter_map(|b| Some((&b.platform, b.built.as_ref()?)))
        .collect();
    match images.as_slice() {
        [(None, built)] => write_image(
            sink,
            built.blobs(cache)?,
            &built.image.manifest,
            &built.image.media_type,
            bar,
        ),
        _ => {
            let mut index = Index::new();
            let mut each = Vec::new();
            for (platform, built) in &images {
                if let Some(platform) = platform {
                    index.put(platform_descriptor(
                        &built.image.media_type,
                        &built.image.manifest,
                        platform,
                    )?);
                }
                each.push(PlatformImage {
                    blobs: built.blobs(cache)?,
                    manifest: built.image.manifest.clone(),
                    media_type: built.image.media_type.clone(),
                });
            }
            let bytes = index.to_bytes()?;
            write_index(sink, each, &bytes, INDEX_TYPE, bar)
        }
    }
}

/// The media type of the index a multi-platform build writes.
const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";

/// Runs `strata build`.
pub fn run(args: &BuildArgs) -> Result<ExitCode> {
    let plan = args.plan()?;
    let (wanted, image_options) = platforms(&args.image_options)?;
    let opts = image_options.source_options()?;
    let cache_dir = args.cache_dir.clone().unwrap_or_else(default_dir);
    let cache = LayerCache::open(&cache_dir)?;
    // Housekeeping only: what a killed build left does not stop this one (prune reports it).
    let _ = cache.sweep();
    let cache_dir = cache.dir().to_path_buf();
    let mut outputs = args.outputs.clone();
    outputs.extend(
        args.push
            .iter()
            .map(|r| format!("docker://{}", r.trim_start_matches("docker://"))),
    );
    outputs.extend(
        args.load
            .iter()
            .map(|n| format!("docker-daemon:{}", n.trim_start_matches("docker-daemon:"))),
    );
    if outputs.is_empty() && !args.plan {
        return Err(Error::usage(
            "no destination: pass --output DEST, --push REF or --load NAME:TAG (or --plan to preview)",
        ));
    }
    let destinations = outputs
        .iter()
        .map(|d| ImageRef::parse_destination(d))
        .collect::<Result<Vec<_>>>()?;
    let wanted = if wanted.is_empty() {
        base_platforms(&plan, &args.image_options, &opts)?
    } else {
        wanted
    };
    let builds = build_each(args, wanted, &plan, &opts, &cache)?;
    let per_platform: Vec<(Option<String>, &[BuiltLayer])> = builds
        .iter()
        .map(|b| (b.platform.as_ref().map(Platform::to_string), &b.layers[..]))
        .collect();
    let mut results: Vec<CopyStats> = Vec::new();
    if !args.plan {
        for (dest, parsed) in outputs.iter().zip(&destinations) {
            let bar = Arc::new(Bar::bytes(
                0,
                &format!("writing {dest}"),
                !args.output.no_progress,
            ));
            let mut sink = open_sink(parsed, &opts.registry)?;
            results.push(write_built(sink.as_mut(), &builds, &cache, bar.clone())?);
            bar.finish();
        }
    }
    let outcome = BuildOutcome {
        platforms: per_platform,
        outputs: (!args.plan).then_some(&results[..]),
        root: &plan.root,
        cache_dir: &cache_dir,
    };
    print(&outcome, args.output.format())?;
    Ok(ExitCode::Ok)
}

/// What `strata build` made: the layers (per platform with `--platform`) and, unless `--plan`,
/// where the image went. A table and JSON only: there is no Markdown form of the plan.
#[derive(Debug)]
pub struct BuildOutcome<'a> {
    /// The layers, built or planned, of each platform (`None`: the single image's).
    pub platforms: Vec<(Option<String>, &'a [BuiltLayer])>,
    /// Where the image was written; `None` for `--plan`.
    pub outputs: Option<&'a [CopyStats]>,
    /// The project root sources are shown relative to.
    pub root: &'a Path,
    /// The layer cache, which staged sources are shown relative to.
    pub cache_dir: &'a Path,
}

impl BuildOutcome<'_> {
    /// The layers as JSON: the single image's list, or `[{"platform", "layers"}]`.
    fn layers_json(&self) -> serde_json::Value {
        match self.platforms.as_slice() {
            [(None, layers)] => serde_json::json!(layers),
            many => serde_json::json!(many
                .iter()
                .map(|(p, layers)| serde_json::json!({"platform": p, "layers": layers}))
                .collect::<Vec<_>>()),
        }
    }
}

impl Document for BuildOutcome<'_> {
    const COMMAND: &'static str = "build";
    const FORMATS: &'static [Format] = &[Format::Table, Format::Json];

    fn draw(&self, format: Format) -> Result<String> {
        match (format, self.outputs) {
            (Format::Table, outputs) => {
                let mut out = String::new();
                for (platform, layers) in &self.platforms {
                    if let Some(p) = platform {
                        out.push_str(&format!("{p}:\n"));
                    }
                    out.push_str(&plan_table(layers, self.root, self.cache_dir));
                }
                for s in outputs.unwrap_or_default() {
                    out.push_str(&s.summary());
                    out.push('\n');
                }
                Ok(out)
            }
            (Format::Json, None) => json::render(&self.layers_json()),
            (Format::Json, Some(outputs)) => {
                json::render(&serde_json::json!({"layers": self.layers_json(), "outputs": outputs}))
            }
            (other, _) => Err(Self::refused(other)),
        }
    }
}

/// Runs `strata cache`.
pub fn run_cache(args: &CacheArgs) -> Result<ExitCode> {
    match &args.command {
        CacheCommand::Prune { days, cache_dir } => {
            let cache = LayerCache::open(&cache_dir.clone().unwrap_or_else(default_dir))?;
            let pruned = cache.prune(std::time::Duration::from_secs(days * 86_400))?;
            // Spools of killed `optimize` and `cook` runs sit in the system temp directory.
            let tmp = std::env::temp_dir();
            let spools =
                temp::sweep(&tmp, Some("strata")).map_err(|e| Error::io(tmp.display(), e))?;
            let spools = match spools.paths {
                0 => String::new(),
                n => format!(
                    "; {n} spools killed runs left in {} ({})",
                    tmp.display(),
                    human_bytes(spools.bytes)
                ),
            };
            write_stdout(&format!(
                "removed {} cache entries, {} of blobs, and {} temp files interrupted builds left ({}){spools}\n",
                pruned.entries,
                human_bytes(pruned.blob_bytes),
                pruned.temp_files,
                human_bytes(pruned.temp_bytes)
            ))?;
            Ok(ExitCode::Ok)
        }
    }
}
