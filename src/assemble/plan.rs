//! What to build: the `[image]` and `[[layer]]` tables of `strata.toml`, overridden by flags. A
//! layer copies paths (files, directories, globs) of the project to a destination in the image;
//! layers keep their declared order and the last one that holds a path wins.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::ecosystem::PresetSpec;
use crate::error::{Error, Result};
use crate::layer::writer::LayerCompression;

/// One declared layer.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LayerSpec {
    /// Its name (shown in plans and history).
    pub name: String,
    /// Project paths or globs copied into it.
    pub from: Vec<String>,
    /// The absolute destination directory in the image.
    pub to: String,
    /// Globs (relative to each source) left out.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Names or globs of the top-level entries of each source directory to take (all when
    /// empty): how one site-packages directory is split into per-distribution layers.
    #[serde(default)]
    pub include: Vec<String>,
    /// `uid:gid` owning every entry (default 0:0).
    #[serde(default)]
    pub owner: Option<String>,
    /// Whether it holds dependencies only (the presets' dependency layers, or `dependencies =
    /// true`): its history entry says so, and every command counts it as a dependency layer.
    #[serde(default)]
    pub dependencies: bool,
}

/// The image settings of `[image]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageSpec {
    /// The base image (any reference strata reads), or `scratch`.
    pub base: Option<String>,
    /// The platform to take from a multi-platform base.
    pub platform: Option<String>,
    /// Entrypoint.
    pub entrypoint: Option<Vec<String>>,
    /// Default arguments.
    pub cmd: Option<Vec<String>>,
    /// Environment variables (merged over the base's).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Working directory.
    pub workdir: Option<String>,
    /// User.
    pub user: Option<String>,
    /// Labels (merged over the base's).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Exposed ports (`8080/tcp`).
    #[serde(default)]
    pub exposed_ports: Vec<String>,
    /// `gzip` (default) or `zstd`.
    pub compression: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawFile {
    image: Option<ImageSpec>,
    layer: Option<Vec<LayerSpec>>,
    preset: Option<PresetSpec>,
}

/// A complete build plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The directory sources are relative to (the config file's).
    pub root: PathBuf,
    /// Image settings.
    pub image: ImageSpec,
    /// Layers, bottom first.
    pub layers: Vec<LayerSpec>,
    /// Compressor of new layers.
    pub compression: LayerCompression,
    /// The project preset that plans layers below the declared ones, if any.
    pub preset: Option<PresetSpec>,
}

impl Plan {
    /// Reads `strata.toml` (when present) at `file`; `root` is where sources are looked up.
    pub fn load(file: Option<&Path>, root: &Path) -> Result<Plan> {
        let (image, layers, preset) = match file {
            Some(f) => {
                let text = std::fs::read_to_string(f).map_err(|e| Error::io(f.display(), e))?;
                let raw: RawFile = toml::from_str(&text)
                    .map_err(|e| Error::usage(format!("{}: {}", f.display(), e.message())))?;
                (
                    raw.image.unwrap_or_default(),
                    raw.layer.unwrap_or_default(),
                    raw.preset,
                )
            }
            None => (ImageSpec::default(), Vec::new(), None),
        };
        let mut plan = Plan {
            root: root.to_path_buf(),
            image,
            layers,
            compression: LayerCompression::Gzip,
            preset,
        };
        plan.set_compression(plan.image.compression.clone().as_deref())?;
        Ok(plan)
    }

    /// Sets the compressor from its name.
    pub fn set_compression(&mut self, name: Option<&str>) -> Result<()> {
        self.compression = match name {
            None | Some("gzip") => LayerCompression::Gzip,
            Some("zstd") => LayerCompression::Zstd,
            Some(other) => {
                return Err(Error::usage(format!(
                    "unknown compression {other:?}: gzip or zstd"
                )))
            }
        };
        Ok(())
    }

    /// Adds (or replaces, by name) a layer from `NAME=SRC[,SRC...]:DEST`.
    pub fn add_layer_flag(&mut self, flag: &str) -> Result<()> {
        let bad = || Error::usage(format!("--layer {flag:?}: expected NAME=SRC[,SRC...]:DEST"));
        let (name, rest) = flag.split_once('=').ok_or_else(bad)?;
        let (sources, to) = rest.rsplit_once(':').ok_or_else(bad)?;
        if name.is_empty() || sources.is_empty() || to.is_empty() {
            return Err(bad());
        }
        let spec = LayerSpec {
            name: name.to_string(),
            from: sources.split(',').map(str::to_string).collect(),
            to: to.to_string(),
            exclude: Vec::new(),
            include: Vec::new(),
            owner: None,
            dependencies: false,
        };
        match self.layers.iter_mut().find(|l| l.name == spec.name) {
            Some(existing) => *existing = spec,
            None => self.layers.push(spec),
        }
        Ok(())
    }
}

/// A layer source as history and the plan show it: relative to the project `root` (as written
/// when it is relative), `(generated)` for files a preset staged under `staging`, and only its
/// file name for a path elsewhere on the host. Nothing host-specific goes into an image, so the
/// same project in another directory, under another `HOME` or cache, gives the same digest.
pub fn shown_source(source: &str, root: &Path, staging: &Path) -> String {
    let path = Path::new(source);
    if path.is_relative() {
        return source.to_string();
    }
    let forms = |p: &Path| [std::path::absolute(p).ok(), p.canonicalize().ok()];
    let within = |base: &Path| {
        forms(path).into_iter().flatten().find_map(|p| {
            forms(base)
                .into_iter()
                .flatten()
                .find_map(|b| p.strip_prefix(&b).ok().map(Path::to_path_buf))
        })
    };
    if within(staging).is_some() {
        return "(generated)".into();
    }
    match within(root) {
        Some(rel) if rel.as_os_str().is_empty() => ".".into(),
        Some(rel) => rel.display().to_string(),
        None => path
            .file_name()
            .map_or_else(|| "/".into(), |n| n.to_string_lossy().into_owned()),
    }
}

/// `uid:gid` → the two ids.
pub fn parse_owner(owner: &str) -> Result<(u64, u64)> {
    let bad = || Error::usage(format!("invalid owner {owner:?}: expected numeric uid:gid"));
    let (u, g) = owner.split_once(':').ok_or_else(bad)?;
    Ok((u.parse().map_err(|_| bad())?, g.parse().map_err(|_| bad())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_image_and_layers_and_flags_override() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("strata.toml");
        std::fs::write(
            &file,
            "[image]\nbase = \"scratch\"\nentrypoint = [\"/app/run\"]\nenv = { A = \"1\" }\n\n[[layer]]\nname = \"deps\"\nfrom = [\".venv\"]\nto = \"/app/.venv\"\n\n[check]\nmax_total = \"1GB\"\n",
        )
        .unwrap();
        let mut plan = Plan::load(Some(&file), dir.path()).unwrap();
        assert_eq!(plan.image.base.as_deref(), Some("scratch"));
        assert_eq!(plan.layers[0].to, "/app/.venv");
        plan.add_layer_flag("deps=venv:/opt/venv").unwrap();
        plan.add_layer_flag("app=src,README.md:/app").unwrap();
        assert_eq!(plan.layers.len(), 2);
        assert_eq!(plan.layers[0].from, vec!["venv"]);
        assert_eq!(plan.layers[1].from, vec!["src", "README.md"]);
        assert!(plan.add_layer_flag("nodest").is_err());
        assert_eq!(parse_owner("1000:1000").unwrap(), (1000, 1000));
        assert!(parse_owner("app:app").is_err());
    }

    #[test]
    fn sources_are_shown_without_host_paths() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("project");
        let staging = dir.path().join("cache/staging");
        std::fs::create_dir_all(root.join(".venv/lib")).unwrap();
        let shown = |s: &Path| shown_source(&s.display().to_string(), &root, &staging);
        assert_eq!(shown(&root.join(".venv/lib")), ".venv/lib");
        assert_eq!(shown(&root), ".");
        assert_eq!(shown(&staging.join("python-venv-0123")), "(generated)");
        assert_eq!(shown(Path::new("/opt/elsewhere/bin/tool")), "tool");
        assert_eq!(shown_source("src/*.py", &root, &staging), "src/*.py");
        // The project reached through a symlink is still the project.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&root, &link).unwrap();
        assert_eq!(shown(&link.join(".venv/lib")), ".venv/lib");
    }

    #[test]
    fn the_preset_table_is_typed_by_its_kind() {
        use crate::ecosystem::python::PythonPreset;
        use crate::ecosystem::rust::RustPreset;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("strata.toml");
        let load = |text: &str| {
            std::fs::write(&file, text).unwrap();
            Plan::load(Some(&file), dir.path()).map(|p| p.preset)
        };
        assert_eq!(
            load("[preset]\nkind = \"python\"\nvenv = \".venv\"\ndeps_layers = 3\n").unwrap(),
            Some(PresetSpec::Python(PythonPreset {
                venv: Some(".venv".into()),
                deps_layers: Some(3),
                ..PythonPreset::default()
            }))
        );
        assert_eq!(
            load("[preset]\nkind = \"rust\"\nbin = \"server\"\nfeatures = [\"a\"]\ncargo_cache = \"oci:c\"\n")
                .unwrap(),
            Some(PresetSpec::Rust(RustPreset {
                bin: Some("server".into()),
                features: vec!["a".into()],
                cargo_cache: Some("oci:c".into()),
                ..RustPreset::default()
            }))
        );
        for (bad, says) in [
            ("[preset]\nkind = \"node\"\n", "node"),
            ("[preset]\nkind = \"python\"\nbin = \"x\"\n", "bin"),
            ("[preset]\nvenv = \".venv\"\n", "kind"),
        ] {
            let err = load(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
