//! The `[check]` table of `strata.toml` (found by walking up from the working directory, or named
//! with `--config`), merged with command-line flags (which win). Every invalid value is an error
//! naming the key and the file.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::policy::dive_ci::DiveRules;
use crate::policy::units::{check_ratio, parse_size};

/// The config file name strata looks for.
pub const CONFIG_FILE: &str = "strata.toml";

/// Every gate `strata check` can apply; `None`/empty means the rule is not configured.
#[derive(Debug, Clone, Default)]
pub struct CheckRules {
    /// Compressed size of the whole image.
    pub max_total: Option<u64>,
    /// Uncompressed size of the whole image.
    pub max_total_uncompressed: Option<u64>,
    /// Compressed size of the largest layer.
    pub max_layer: Option<u64>,
    /// Compressed bytes above the base image.
    pub max_app_layers: Option<u64>,
    /// Number of layers.
    pub max_layers: Option<u64>,
    /// Bytes a deploy downloads where `against` runs (needs `against`).
    pub max_delta: Option<u64>,
    /// dive's efficiency, at least.
    pub min_efficiency: Option<f64>,
    /// dive's wasted bytes, at most.
    pub max_wasted: Option<u64>,
    /// strata's exact dead bytes, at most.
    pub max_dead_bytes: Option<u64>,
    /// Fail when an app layer (one carrying code, not a dependency layer) carries third-party
    /// dependencies.
    pub no_dependencies_in_app_layers: bool,
    /// Fail when a layer the build made (app or dependencies, not base) carries caches or junk.
    pub no_caches: bool,
    /// Globs of paths that must not ship in any layer.
    pub forbid_paths: Vec<String>,
    /// Paths (globs) whose findings are silenced on purpose.
    pub allow: Vec<String>,
    /// Findings that fail the gate wherever they are: rule ids, families, kinds or severities
    /// (see [`crate::policy::selectors`]).
    pub fail_on: Vec<String>,
    /// The base image, for roles (`--base`).
    pub base: Option<String>,
    /// The image currently deployed, for `max_delta` (`--against`).
    pub against: Option<String>,
    /// dive CI rules (`.dive-ci`), when given.
    pub dive: Option<DiveRules>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    max_total: Option<toml::Value>,
    max_total_uncompressed: Option<toml::Value>,
    max_layer: Option<toml::Value>,
    max_app_layers: Option<toml::Value>,
    max_layers: Option<u64>,
    max_delta: Option<toml::Value>,
    min_efficiency: Option<f64>,
    max_wasted: Option<toml::Value>,
    max_dead_bytes: Option<toml::Value>,
    #[serde(default)]
    no_dependencies_in_app_layers: bool,
    #[serde(default)]
    no_caches: bool,
    #[serde(default)]
    forbid_paths: Vec<String>,
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    fail_on: Vec<String>,
    base: Option<String>,
    against: Option<String>,
    dive_ci: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawFile {
    check: Option<RawCheck>,
}

/// The config file to use: `explicit` (which must exist), else `strata.toml` in the working
/// directory or its nearest ancestor, else none.
pub fn locate(explicit: Option<&Path>) -> Result<Option<PathBuf>> {
    match explicit {
        Some(f) if !f.is_file() => Err(Error::usage(format!(
            "{}: no such config file",
            f.display()
        ))),
        Some(f) => Ok(Some(f.to_path_buf())),
        None => Ok(std::env::current_dir().ok().and_then(|d| find_config(&d))),
    }
}

/// Finds `strata.toml` in `dir` or its ancestors.
pub fn find_config(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join(CONFIG_FILE))
        .find(|p| p.is_file())
}

fn size_value(file: &Path, key: &str, v: Option<toml::Value>) -> Result<Option<u64>> {
    let bad = |msg: String| Error::usage(format!("{}: [check] {key}: {msg}", file.display()));
    match v {
        None => Ok(None),
        Some(toml::Value::Integer(n)) if n >= 0 => Ok(Some(n as u64)),
        Some(toml::Value::String(s)) => parse_size(&s).map(Some).map_err(bad),
        Some(other) => Err(bad(format!(
            "expected a size such as \"20MB\", got {other}"
        ))),
    }
}

/// Reads the `[check]` table of `file` (an absent table is an empty rule set).
pub fn load(file: &Path) -> Result<CheckRules> {
    let text = std::fs::read_to_string(file).map_err(|e| Error::io(file.display(), e))?;
    let raw: RawFile = toml::from_str(&text).map_err(|e| {
        let msg = e.message().to_string();
        Error::usage(format!("{}: {msg}", file.display()))
    })?;
    let Some(c) = raw.check else {
        return Ok(CheckRules::default());
    };
    let ratio = |key: &str, v: Option<f64>| -> Result<Option<f64>> {
        v.map(|r| {
            check_ratio(r)
                .map_err(|m| Error::usage(format!("{}: [check] {key}: {m}", file.display())))
        })
        .transpose()
    };
    let dive = match &c.dive_ci {
        Some(p) => {
            let path = file.parent().unwrap_or(Path::new(".")).join(p);
            Some(crate::policy::dive_ci::load(&path)?)
        }
        None => None,
    };
    Ok(CheckRules {
        max_total: size_value(file, "max_total", c.max_total)?,
        max_total_uncompressed: size_value(
            file,
            "max_total_uncompressed",
            c.max_total_uncompressed,
        )?,
        max_layer: size_value(file, "max_layer", c.max_layer)?,
        max_app_layers: size_value(file, "max_app_layers", c.max_app_layers)?,
        max_layers: c.max_layers,
        max_delta: size_value(file, "max_delta", c.max_delta)?,
        min_efficiency: ratio("min_efficiency", c.min_efficiency)?,
        max_wasted: size_value(file, "max_wasted", c.max_wasted)?,
        max_dead_bytes: size_value(file, "max_dead_bytes", c.max_dead_bytes)?,
        no_dependencies_in_app_layers: c.no_dependencies_in_app_layers,
        no_caches: c.no_caches,
        forbid_paths: c.forbid_paths,
        allow: c.allow,
        fail_on: c.fail_on,
        base: c.base,
        against: c.against,
        dive,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str) -> Result<CheckRules> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CONFIG_FILE);
        std::fs::write(&path, text).unwrap();
        load(&path)
    }

    #[test]
    fn reads_sizes_ratios_and_lists() {
        let r = load_str(
            "[check]\nmax_total = \"500MB\"\nmax_layer = 1000\nmax_app_layers = \"20MiB\"\nmin_efficiency = 0.9\nno_caches = true\nforbid_paths = [\"**/.env\"]\n",
        )
        .unwrap();
        assert_eq!(r.max_total, Some(500_000_000));
        assert_eq!(r.max_layer, Some(1000));
        assert_eq!(r.max_app_layers, Some(20_971_520));
        assert_eq!(r.min_efficiency, Some(0.9));
        assert!(r.no_caches);
        assert_eq!(r.forbid_paths, vec!["**/.env"]);
    }

    #[test]
    fn invalid_values_name_the_key_and_the_file() {
        let e = load_str("[check]\nmax_total = \"20XB\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("strata.toml: [check] max_total") && e.contains("20XB"),
            "{e}"
        );
        let e = load_str("[check]\nmin_efficiency = 1.5\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("min_efficiency"), "{e}");
        let e = load_str("[check]\nmax_totl = \"1MB\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_totl"), "{e}");
        assert!(matches!(load_str("[check\n"), Err(Error::Usage(_))));
    }
}
