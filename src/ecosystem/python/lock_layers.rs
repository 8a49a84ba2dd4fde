//! The dependency layers of a lockfile build: the lockfile installed by uv for the base's
//! platform ([`super::from_lock`]), checked to start there (every extension module's ELF
//! machine, its libraries, its glibc versions), then split into the pure distributions
//! (`py3-none-any`: one layer whose blob is the same for every platform of an index) and the
//! platform ones (split per distribution as `--deps-layers` asks).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::ecosystem::python::bytecode::{compiled, Group};
use crate::ecosystem::python::from_lock::{install, resolve};
use crate::ecosystem::python::installer;
use crate::ecosystem::python::preset::{
    site_layer, split_layers, DepsLayers, PythonPreset, BYTECODE,
};
use crate::ecosystem::python::sdist_build::SdistBuilder;
use crate::ecosystem::python::site_packages::{distributions, is_pure, Distribution};
use crate::ecosystem::python::target::Target;
use crate::ecosystem::PlanContext;
use crate::error::{Error, Result};
use crate::layer::elf::ElfFacts;
use crate::python::find_lockfile;
use crate::python::pep508::normalize_name;
use crate::rootfs::base_fs::BaseFs;
use crate::rootfs::libc::Libc;
use crate::rootfs::libraries::{missing, oci_arch};

use super::preset::VENV_DIR;

/// Where the pure distributions go: outside `lib/pythonX.Y`, so bases with different Pythons
/// share the layer's blob too; a `.pth` in the venv's site-packages puts it on `sys.path`.
pub const PURE_DIR: &str = "/app/.venv/lib/pure/site-packages";

/// What never goes into a site-packages layer of a lockfile install: bytecode (unless
/// `--compile-bytecode` compiled it for the base), and the scripts uv wrote for the host
/// (`bin/`; the venv layer has launchers for the base's interpreter).
const LEFT_OUT: [&str; 3] = ["**/__pycache__", "**/*.pyc", "bin"];

/// Every file under `dir`, relative to it, sorted.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(rel) = pending.pop() {
        let here = dir.join(&rel);
        for entry in fs::read_dir(&here).map_err(|e| Error::io(here.display(), e))? {
            let entry = entry.map_err(|e| Error::io(here.display(), e))?;
            let kind = entry
                .file_type()
                .map_err(|e| Error::io(here.display(), e))?;
            let path = rel.join(entry.file_name());
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Whether a file name is a shared object (`_core.cpython-311-aarch64-linux-gnu.so`,
/// `libopenblas64_p-r0-1.so.0`).
fn is_shared_object(name: &str) -> bool {
    name.ends_with(".so") || name.contains(".so.")
}

/// The "will it start" check of an install for `target` on `base`: every extension module and
/// vendored library is for the base's CPU, finds its libraries (in the base, or vendored beside
/// it: `numpy.libs`), and needs no newer glibc than the base's (whose libraries `base_fs` keeps).
fn check_extensions(site: &Path, sp_to: &str, target: &Target, base_fs: &BaseFs) -> Result<()> {
    let files = files_under(site)?;
    let vendored: BTreeSet<String> = files
        .iter()
        .filter_map(|f| f.file_name()?.to_str().map(str::to_string))
        .collect();
    for rel in files.iter().filter(|f| {
        f.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(is_shared_object)
    }) {
        let Ok(facts) = ElfFacts::read_file(&site.join(rel)) else {
            continue;
        };
        let shown = rel.display();
        let arch = target.platform.architecture.as_str();
        if let Some(built) = oci_arch(&facts).filter(|a| *a != arch) {
            return Err(Error::invalid(format!(
                "{shown}: built for {built} but the base is {}",
                target.platform
            )));
        }
        if let (Libc::Glibc(have), Some((library, need))) = (
            target.libc,
            facts.glibc_needed.iter().max_by_key(|(_, v)| v.0),
        ) {
            if need.0 > have.0 {
                return Err(Error::invalid(format!(
                    "{shown} needs {need} from {library} but the {} base has glibc {}.{}",
                    target.platform, have.0[0], have.0[1]
                )));
            }
        }
        let install_path = format!("{sp_to}/{}", rel.display());
        let lacking: Vec<String> = missing(&facts, base_fs, &install_path)
            .into_iter()
            .filter(|name| !vendored.contains(name))
            .collect();
        if !lacking.is_empty() {
            return Err(Error::invalid(format!(
                "{shown} cannot load on the {} base: it lacks {}",
                target.platform,
                lacking.join(", ")
            ))
            .with_hint("pick a base that has them, or pin a version whose wheel vendors them"));
        }
    }
    Ok(())
}

/// The `[console_scripts]` of a distribution's `entry_points.txt` (name → `module:object`).
fn console_scripts(site: &Path, dist: &Distribution) -> BTreeMap<String, String> {
    let info = dist.top_level.iter().find(|t| t.ends_with(".dist-info"));
    let text = info
        .and_then(|i| fs::read_to_string(site.join(i).join("entry_points.txt")).ok())
        .unwrap_or_default();
    let mut scripts = BTreeMap::new();
    let mut in_section = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[console_scripts]";
        } else if let (true, Some((name, target))) = (in_section, line.split_once('=')) {
            let target = target.split('[').next().unwrap_or(target).trim();
            scripts.insert(name.trim().to_string(), target.to_string());
        }
    }
    scripts
}

/// The files compileall could not compile, for the note: how many, the first few by name.
fn not_compiled(files: &[String]) -> String {
    const SHOWN: usize = 3;
    if files.is_empty() {
        return String::new();
    }
    let more = match files.len() > SHOWN {
        true => format!(", and {} more", files.len() - SHOWN),
        false => String::new(),
    };
    format!(
        " ({} kept as source: no valid syntax for this Python: {}{more})",
        files.len(),
        files[..files.len().min(SHOWN)].join(", ")
    )
}

/// Plans the dependency layers from the project's lockfile for the base in `ctx`.
pub(crate) fn plan(
    root: &Path,
    spec: &PythonPreset,
    project: &Option<String>,
    ctx: &PlanContext,
) -> Result<DepsLayers> {
    let base = ctx.base.ok_or_else(|| {
        Error::usage("installing from the lockfile needs a base image with Python, not scratch")
    })?;
    let target = Target::read(base, ctx.info)?;
    let cache_dir = ctx.staging.parent().unwrap_or(ctx.staging);
    let installer = installer::find(spec.installer.as_deref().map(Path::new), cache_dir)?;
    let lockfile = match &spec.lockfile {
        Some(l) => root.join(l),
        None => find_lockfile(root)?.ok_or_else(|| {
            Error::usage(format!(
                "{}: no lockfile (uv.lock, pylock.toml, poetry.lock, requirements*.txt) to \
                 install from; lock the project (`uv lock`) or package a venv with --venv",
                root.display()
            ))
        })?,
    };
    let resolved = resolve(root, &lockfile, &installer)?;
    let builder = (spec.allow_build == Some(true)).then_some(SdistBuilder {
        base,
        builder: spec.builder.as_deref(),
        opts: ctx.opts,
        cache_dir,
    });
    let installed = install(
        &installer,
        &resolved,
        &target,
        ctx.staging,
        builder.as_ref(),
    )?;
    let dir = installed.dir;
    let site = dir.join("site-packages");
    let sp_to = format!("{VENV_DIR}/lib/python{}/site-packages", target.python);
    check_extensions(&site, &sp_to, &target, &ctx.info.fs)?;
    let own = project.as_deref().map(normalize_name);
    let all = if site.is_dir() {
        distributions(&site)?
    } else {
        Vec::new()
    };
    let all: Vec<Distribution> = all
        .into_iter()
        .filter(|d| Some(&d.name) != own.as_ref())
        .map(|mut d| {
            d.top_level.remove("bin");
            d
        })
        .collect();
    let (pure, native): (Vec<&Distribution>, Vec<&Distribution>) =
        all.iter().partition(|d| is_pure(&site, d));
    let pure_names: BTreeSet<String> = pure.iter().flat_map(|d| d.top_level.clone()).collect();
    let compile = spec.compile_bytecode == Some(true);
    let (sp_from, source_only) = if compile {
        let native_names: BTreeSet<&String> = native.iter().flat_map(|d| &d.top_level).collect();
        let groups = [
            Group {
                names: pure_names.iter().map(String::as_str).collect(),
                image_dir: PURE_DIR,
            },
            Group {
                names: native_names.iter().map(|s| s.as_str()).collect(),
                image_dir: &sp_to,
            },
        ];
        let done = compiled(
            &dir,
            base,
            ctx.info,
            &target.interpreter,
            &groups,
            ctx.staging,
        )?;
        let from = done.dir.join("site-packages").display().to_string();
        (from, done.source_only)
    } else {
        (site.display().to_string(), Vec::new())
    };
    // Bytecode is left out unless it was compiled for the base here.
    let left_out = || {
        LEFT_OUT
            .iter()
            .filter(move |s| !compile || !BYTECODE.contains(s))
            .map(|s| s.to_string())
    };
    let mut layers = Vec::new();
    if !pure.is_empty() {
        layers.push(site_layer(
            "deps-pure".into(),
            &sp_from,
            PURE_DIR,
            pure_names.clone(),
            left_out().collect(),
        ));
    }
    if !native.is_empty() {
        for mut layer in split_layers(&native, spec.deps_layers, &sp_from, &sp_to, &pure_names) {
            if compile {
                layer.exclude.retain(|e| !BYTECODE.contains(&e.as_str()));
            }
            layer.exclude.extend(left_out());
            layers.push(layer);
        }
    }
    let scripts = all.iter().flat_map(|d| console_scripts(&site, d)).collect();
    let note = format!(
        "python preset: {} for {} ({}, uv {}): {} distributions, {} pure in deps-pure, {} with \
         platform wheels{}{}",
        lockfile.strip_prefix(root).unwrap_or(&lockfile).display(),
        target.describe(),
        target.uv_platform()?,
        installer.version,
        all.len(),
        pure.len(),
        native.len(),
        if compile {
            format!(
                ", bytecode compiled by the base's {}{}",
                target.interpreter,
                not_compiled(&source_only)
            )
        } else {
            String::new()
        },
        if installed.built.is_empty() {
            String::new()
        } else {
            format!(
                ", built from source in {}: {}",
                spec.builder.as_deref().unwrap_or("the base image"),
                installed.built.join(", ")
            )
        }
    );
    Ok(DepsLayers {
        layers,
        python: target.interpreter.clone(),
        xy: target.python.clone(),
        full: target.python.clone(),
        scripts,
        files: if pure.is_empty() {
            Vec::new()
        } else {
            let pth = format!("lib/python{}/site-packages/strata-pure.pth", target.python);
            vec![(pth, format!("{PURE_DIR}\n"))]
        },
        note,
        exclude: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_scripts_come_from_entry_points() {
        let dir = tempfile::tempdir().unwrap();
        let info = dir.path().join("tool-1.0.dist-info");
        fs::create_dir_all(&info).unwrap();
        fs::write(
            info.join("entry_points.txt"),
            "[console_scripts]\ntool = tool.cli:main [extra]\n\n[gui_scripts]\ngui = tool:gui\n",
        )
        .unwrap();
        let dist = Distribution {
            name: "tool".into(),
            top_level: BTreeSet::from(["tool-1.0.dist-info".to_string()]),
            bytes: 0,
        };
        assert_eq!(
            console_scripts(dir.path(), &dist),
            BTreeMap::from([("tool".to_string(), "tool.cli:main".to_string())])
        );
        assert!(is_shared_object("_core.cpython-311-x86_64-linux-gnu.so"));
        assert!(is_shared_object("libscipy_openblas64_-ff651d7f.so.0"));
        assert!(!is_shared_object("sonnet.py"));
    }
}
