//! Project presets: what `strata build` does in a Python or Rust project with no `[[layer]]`
//! tables. A preset turns the project into layers (dependencies apart from code) and fills the
//! image settings the user left unset; `strata init` writes its choice down as `strata.toml`.

pub mod python;
pub mod rust;
pub mod site_packages;

use std::path::Path;

use crate::assemble::plan::{LayerSpec, Plan, PresetSpec};
use crate::error::{Error, Result};
use crate::rootfs::base_fs::BaseFs;
use crate::source::{OpenedImage, SourceOptions};

/// The layers a preset planned, and what it wants the user told (choices, warnings).
#[derive(Debug, Clone)]
pub struct Planned {
    /// Layers, bottom first; the plan's declared layers go on top of them.
    pub layers: Vec<LayerSpec>,
    /// One line each, for stderr.
    pub notes: Vec<String>,
}

/// What presets need to know of the base image.
#[derive(Debug, Clone, Default)]
pub struct BaseInfo {
    /// Its final filesystem (empty for `scratch`).
    pub fs: BaseFs,
    /// `PATH` of its config, if set.
    pub path: Option<String>,
    /// `User` of its config, if set.
    pub user: Option<String>,
}

/// The `PATH` images get when their base sets none (Docker's default).
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The user images run as when neither the plan nor the base names a non-root one (distroless's
/// `nonroot`).
pub const NONROOT: &str = "65532:65532";

impl BaseInfo {
    /// Reads what presets need of `base` (`None` is `scratch`): its config, and, when
    /// `with_files`, which interpreters its `bin` directories hold.
    pub fn read(base: Option<&OpenedImage>, with_files: bool) -> Result<BaseInfo> {
        let Some(base) = base else {
            return Ok(BaseInfo::default());
        };
        let runtime = &base.image.config.runtime;
        let path = runtime
            .env
            .iter()
            .flatten()
            .find_map(|kv| kv.strip_prefix("PATH=").map(str::to_string));
        let fs = if with_files {
            BaseFs::scan(base, |e| {
                let (dir, name) = e.path.rsplit_once('/').unwrap_or(("", &e.path));
                dir.ends_with("bin") && name.starts_with("python")
            })?
        } else {
            BaseFs::default()
        };
        Ok(BaseInfo {
            fs,
            path,
            user: runtime.user.clone().filter(|u| !u.is_empty()),
        })
    }

    /// The base's `PATH`, or Docker's default.
    pub fn path_env(&self) -> String {
        self.path.clone().unwrap_or_else(|| DEFAULT_PATH.into())
    }

    /// The base's user when it is not root, else [`NONROOT`].
    pub fn default_user(&self) -> String {
        match self.user.as_deref() {
            Some(u) if !matches!(u.split(':').next(), Some("root" | "0")) => u.to_string(),
            _ => NONROOT.to_string(),
        }
    }
}

/// The preset for the project at `root`, when it is one strata knows: Python when it has
/// `pyproject.toml` or a Python lockfile, else Rust when it has `Cargo.toml`.
pub fn detect(root: &Path) -> Option<PresetSpec> {
    let kind = if python::detect(root) {
        "python"
    } else if root.join("Cargo.toml").is_file() {
        "rust"
    } else {
        return None;
    };
    Some(PresetSpec {
        kind: kind.into(),
        ..PresetSpec::default()
    })
}

/// Whether the preset needs the base's file list (Python: to find its interpreter; Rust reads
/// the base's libraries itself, and only for a dynamically linked binary).
pub fn needs_base_files(spec: &PresetSpec) -> bool {
    spec.kind == "python"
}

/// Runs the plan's preset: puts its layers below the declared ones and fills unset image
/// settings. `base` is the opened base (`None`: scratch), `info` what was read of it, `opts` how
/// to reach registries (Rust's dependency build cache); `staging` is where generated files live
/// (inside the layer cache).
pub fn expand(
    plan: &mut Plan,
    base: Option<&OpenedImage>,
    info: &BaseInfo,
    opts: &SourceOptions,
    staging: &Path,
) -> Result<Vec<String>> {
    let Some(spec) = plan.preset.clone() else {
        return Ok(Vec::new());
    };
    let planned = match spec.kind.as_str() {
        "python" => python::plan(&plan.root, &spec, &mut plan.image, info, staging)?,
        "rust" => rust::plan(
            &plan.root,
            &spec,
            &mut plan.image,
            base,
            info,
            opts,
            staging,
        )?,
        other => {
            return Err(Error::usage(format!(
                "[preset] kind {other:?}: expected \"python\" or \"rust\""
            )))
        }
    };
    let declared = std::mem::take(&mut plan.layers);
    plan.layers = planned.layers;
    for layer in declared {
        match plan.layers.iter_mut().find(|l| l.name == layer.name) {
            Some(existing) => *existing = layer,
            None => plan.layers.push(layer),
        }
    }
    Ok(planned.notes)
}
