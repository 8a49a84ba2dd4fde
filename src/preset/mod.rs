//! Project presets: what `strata build` does in a project with no `[[layer]]` tables. A preset
//! (one per buildable ecosystem, [`crate::ecosystem::Preset`]) turns the project into layers
//! (dependencies apart from code) and fills the image settings the user left unset; `strata
//! init` writes its choice down as `strata.toml`.

use std::path::Path;

use crate::assemble::plan::{LayerSpec, Plan};
use crate::ecosystem::PlanContext;
use crate::error::Result;
use crate::layer::walk::Entry;
use crate::rootfs::base_fs::BaseFs;
use crate::rootfs::libc::{self, Libc};
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
    /// Its C library, read in the same scan (`None` for `scratch`, a static-only base, or a
    /// preset that reads no files).
    pub libc: Option<Libc>,
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
    /// Reads what presets need of `base` (`None` is `scratch`): its config, and in one pass over
    /// its layers the files whose path `files` selects and its C library (no pass without it:
    /// see [`crate::ecosystem::Preset::base_files`]).
    pub fn read(base: Option<&OpenedImage>, files: Option<fn(&str) -> bool>) -> Result<BaseInfo> {
        let Some(base) = base else {
            return Ok(BaseInfo::default());
        };
        let runtime = &base.image.config.runtime;
        let path = runtime
            .env
            .iter()
            .flatten()
            .find_map(|kv| kv.strip_prefix("PATH=").map(str::to_string));
        let mut finder = libc::Finder::default();
        let (fs, libc) = match files {
            Some(wanted) => {
                let keep = |e: &Entry| wanted(&e.path) || libc::tells(&e.path);
                let fs = BaseFs::scan_inspecting(base, keep, Some(&mut finder))?;
                let libc = finder.libc(&fs);
                (fs, libc)
            }
            None => (BaseFs::default(), None),
        };
        Ok(BaseInfo {
            fs,
            libc,
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
    let context = PlanContext {
        base,
        info,
        opts,
        staging,
    };
    let planned = spec.preset().plan(&plan.root, &mut plan.image, &context)?;
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
