//! The Rust preset: `cargo build --release --locked` (profile, target, features and `--bin`
//! passed through), or an existing binary, stripped of its symbols and debug info (in release,
//! unless `strip = false`: see [`super::strip`]) and packaged as one layer at
//! `/usr/local/bin/<name>` with the entrypoint set. The dependencies stay out of the image altogether: a Rust binary carries
//! them, so the "dependency layer" of a Rust image is its base, and the dependency *build* is
//! what is cached (`strata cook --cache-from/--cache-to`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::strip::{strip, Stripped};
use crate::assemble::plan::{ImageSpec, LayerSpec};
use crate::cargo::artifact::{cache_tag, push_cache, restore_cache};
use crate::cargo::cleanup::remove;
use crate::cargo::cook::local_units;
use crate::cargo::invoke::{run, Artifact, BuildOptions};
use crate::cargo::prepare::{prepare, PrepareOptions};
use crate::cargo::recipe::Recipe;
use crate::ecosystem::{init_line, toml_quoted, PlanContext, Preset, ProjectSupport};
use crate::error::{Error, Result};
use crate::preset::{BaseInfo, Planned};
use crate::rootfs::libraries::check_binary;
use crate::source::{OpenedImage, SourceOptions};
use crate::temp::{self, TempPath};
use crate::units::human_bytes;

/// Where the binary goes in the image.
pub const BIN_DIR: &str = "/usr/local/bin";

/// The settings of `[preset] kind = "rust"`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RustPreset {
    /// The binary to package (`--bin`).
    pub bin: Option<String>,
    /// cargo profile (default `release`).
    pub profile: Option<String>,
    /// Target triple.
    pub target: Option<String>,
    /// Features to enable.
    #[serde(default)]
    pub features: Vec<String>,
    /// Package this existing binary instead of running cargo.
    pub binary: Option<String>,
    /// A repository (registry or `oci:DIR`) where the dependency build is restored from and
    /// stored to, tagged by the recipe fingerprint (as `strata cook --cache-from/--cache-to`).
    pub cargo_cache: Option<String>,
    /// Whether to strip the binary before packaging it (default: in the release profile, and
    /// for `binary`); `false` keeps its symbols (`--no-strip`).
    pub strip: Option<bool>,
}

impl RustPreset {
    /// Whether the packaged binary is stripped: as set, else in release (the default profile).
    pub fn strips(&self) -> bool {
        self.strip
            .unwrap_or(matches!(self.profile.as_deref(), None | Some("release")))
    }
}

impl Preset for RustPreset {
    fn ecosystem(&self) -> &'static dyn ProjectSupport {
        &super::Rust
    }

    fn init_table(&self) -> String {
        let mut t = init_line(
            "bin",
            self.bin.as_deref(),
            "\"server\"            # when the workspace has several binaries",
        );
        t.push_str(&init_line(
            "profile",
            self.profile.as_deref(),
            "\"release\"",
        ));
        t.push_str(&init_line(
            "target",
            self.target.as_deref(),
            "\"x86_64-unknown-linux-musl\"  # static: runs on scratch",
        ));
        if self.features.is_empty() {
            t.push_str("# features = [\"metrics\"]\n");
        } else {
            let features: Vec<String> = self.features.iter().map(|f| toml_quoted(f)).collect();
            t.push_str(&format!("features = [{}]\n", features.join(", ")));
        }
        t.push_str(&init_line(
            "binary",
            self.binary.as_deref(),
            "\"target/release/server\"  # package it without running cargo",
        ));
        t.push_str(&match self.strip {
            Some(strip) => format!("strip = {strip}\n"),
            None => {
                "# strip = false            # keep symbols (default: stripped in release)\n".into()
            }
        });
        t
    }

    fn plan(&self, root: &Path, image: &mut ImageSpec, ctx: &PlanContext) -> Result<Planned> {
        plan(root, self, image, ctx.base, ctx.info, ctx.opts, ctx.staging)
    }
}

/// The cargo flags the preset's settings stand for.
pub fn build_options(root: &Path, spec: &RustPreset) -> BuildOptions {
    let profile = spec.profile.clone().unwrap_or_else(|| "release".into());
    BuildOptions {
        release: profile == "release",
        profile: (profile != "release").then_some(profile),
        targets: spec.target.iter().cloned().collect(),
        features: spec.features.clone(),
        bins: spec.bin.iter().cloned().collect(),
        locked: root.join("Cargo.lock").is_file(),
        ..BuildOptions::default()
    }
}

/// The dependency build cache of a cargo run: where it lives, under which tag, and whether it
/// was restored.
struct DepsCache {
    reference: String,
    recipe: Recipe,
    restored: bool,
}

/// cargo's target directory for the project (`CARGO_TARGET_DIR`, else `target`).
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map_or_else(|| root.join("target"), |d| root.join(d))
}

/// Restores the dependency build from `repository` (tagged by the recipe fingerprint and the
/// build key) into the target directory, when it is there.
fn restore_deps(
    root: &Path,
    spec: &RustPreset,
    repository: &str,
    opts: &SourceOptions,
    notes: &mut Vec<String>,
) -> Result<DepsCache> {
    let recipe = prepare(
        root,
        &PrepareOptions {
            manifest_path: None,
            bins: spec.bin.iter().cloned().collect(),
        },
    )?;
    let reference = format!(
        "{repository}:{}",
        cache_tag(&recipe, &build_options(root, spec))?
    );
    let restored = restore_cache(&target_dir(root), &reference, opts)?;
    notes.push(if restored {
        format!("rust preset: restored the dependency build from {reference}")
    } else {
        format!("rust preset: no dependency build at {reference} yet; compiling everything")
    });
    Ok(DepsCache {
        reference,
        recipe,
        restored,
    })
}

/// After a build that compiled the dependencies, stores them (the workspace's own units removed,
/// as cook does) for the next runner; the binary is copied out first.
fn store_deps(
    root: &Path,
    cache: &DepsCache,
    artifacts: &[Artifact],
    binary: &Path,
    staging: &Path,
    opts: &SourceOptions,
    notes: &mut Vec<String>,
) -> Result<PathBuf> {
    let name = binary.file_name().unwrap_or_default();
    let dir = staging.join("rust-bin");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(dir.display(), e))?;
    let kept = dir.join(name);
    let (tmp, _) = TempPath::create(temp::unique_in(&dir), |t| std::fs::copy(binary, t))
        .map_err(|e| Error::io(binary.display(), e))?;
    tmp.persist(&kept)
        .map_err(|e| Error::io(kept.display(), e.into()))?;
    let units = local_units(&cache.recipe, root)?;
    remove(&units, artifacts)?;
    let stats = push_cache(&target_dir(root), &cache.reference, opts)?;
    notes.push(format!(
        "rust preset: stored the dependency build at {} ({} blobs sent, {} already there)",
        cache.reference, stats.uploaded, stats.skipped
    ));
    Ok(kept)
}

/// Builds the project with cargo and returns the binary to package.
fn cargo_build(
    root: &Path,
    spec: &RustPreset,
    opts: &SourceOptions,
    staging: &Path,
    notes: &mut Vec<String>,
) -> Result<PathBuf> {
    let cache = match &spec.cargo_cache {
        Some(repository) => Some(restore_deps(root, spec, repository, opts, notes)?),
        None => None,
    };
    let report = run(root, &build_options(root, spec))?;
    if !report.status.success() {
        return Err(Error::Tool {
            what: format!(
                "cargo build failed ({}); its errors are above",
                report.status
            ),
            code: report.status.code().unwrap_or(2),
        });
    }
    let canonical = root
        .canonicalize()
        .map_err(|e| Error::io(root.display(), e))?;
    let mut bins: Vec<PathBuf> = report
        .artifacts
        .iter()
        .filter(|a| {
            a.manifest_path
                .as_ref()
                .is_some_and(|m| m.starts_with(&canonical))
        })
        .filter_map(|a| a.executable.clone())
        .collect();
    bins.sort();
    bins.dedup();
    let name = |p: &PathBuf| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let binary = match (bins.as_slice(), &spec.bin) {
        ([one], _) => Ok(one.clone()),
        (_, Some(wanted)) => bins
            .iter()
            .find(|b| &name(b) == wanted)
            .cloned()
            .ok_or_else(|| Error::usage(format!("cargo built no binary named {wanted:?}"))),
        ([], None) => Err(Error::usage(
            "cargo built no binary: the preset packages a binary target (src/main.rs or [[bin]])",
        )),
        (many, None) => Err(Error::usage(format!(
            "the workspace builds several binaries ({}); pick one with --bin",
            many.iter().map(name).collect::<Vec<_>>().join(", ")
        ))),
    }?;
    match cache {
        Some(cache) if !cache.restored => store_deps(
            root,
            &cache,
            &report.artifacts,
            &binary,
            staging,
            opts,
            notes,
        ),
        _ => Ok(binary),
    }
}

/// The stripped copy of `binary` to package, or `binary` itself (with a note saying why) when no
/// tool could strip it.
fn stripped(binary: &Path, staging: &Path, notes: &mut Vec<String>) -> Result<PathBuf> {
    Ok(match strip(binary, staging)? {
        Stripped::Copy {
            path,
            before,
            after,
        } => {
            notes.push(format!(
                "rust preset: stripped {} ({} -> {}; --no-strip keeps the symbols)",
                binary.display(),
                human_bytes(before),
                human_bytes(after)
            ));
            path
        }
        Stripped::Unavailable(why) => {
            notes.push(format!(
                "rust preset: {} is packaged unstripped: {why} (install binutils to strip it)",
                binary.display()
            ));
            binary.to_path_buf()
        }
    })
}

/// Plans the binary layer of the Rust project at `root` (building it unless `binary` is set)
/// and fills the entrypoint and user.
fn plan(
    root: &Path,
    spec: &RustPreset,
    image: &mut ImageSpec,
    base: Option<&OpenedImage>,
    info: &BaseInfo,
    opts: &SourceOptions,
    staging: &Path,
) -> Result<Planned> {
    let mut notes = Vec::new();
    let binary = match &spec.binary {
        Some(b) => {
            let path = root.join(b);
            if !path.is_file() {
                return Err(Error::usage(format!(
                    "--binary {}: no such file",
                    path.display()
                )));
            }
            path
        }
        None => cargo_build(root, spec, opts, staging, &mut notes)?,
    };

    let name = binary
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::usage(format!("{}: not a file name", binary.display())))?;
    let install = format!("{BIN_DIR}/{name}");
    let base_name = image.base.get_or_insert_with(|| "scratch".into()).clone();
    let missing = check_binary(&binary, &install, base)?;
    if !missing.is_empty() {
        return Err(Error::usage(format!(
            "{} cannot start on {base_name}: the base lacks {} (pick a base that has them, or \
             build a static binary, e.g. --target x86_64-unknown-linux-musl)",
            binary.display(),
            missing.join(", ")
        )));
    }
    notes.push(format!(
        "rust preset: {} as {install} on {base_name} (every library it links is there)",
        binary.display()
    ));
    let packaged = match spec.strips() {
        true => stripped(&binary, staging, &mut notes)?,
        false => binary,
    };
    if image.entrypoint.is_none() {
        image.entrypoint = Some(vec![install]);
    }
    if image.user.is_none() {
        image.user = Some(info.default_user());
    }
    Ok(Planned {
        layers: vec![LayerSpec {
            name: "app".into(),
            from: vec![packaged.display().to_string()],
            to: BIN_DIR.into(),
            exclude: Vec::new(),
            include: Vec::new(),
            owner: None,
            dependencies: false,
        }],
        notes,
    })
}
