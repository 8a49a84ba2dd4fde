//! `strata init`: detect the project (Python or Rust) and write the preset strata would use as a
//! commented `strata.toml`, to read and edit instead of starting from a blank page.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;

use strata::assemble::plan::{Plan, PresetSpec};
use crate::cli::build::{expand_preset, shown_source, PresetArgs};
use crate::cli::ImageOptions;
use strata::error::{Error, ExitCode, Result};
use strata::policy::config::CONFIG_FILE;

const EXAMPLES: &str = "\
Examples:
  strata init --base registry.example.com/base/python:3.11    # a Python project with a .venv
  strata init --base oci:./debian:bookworm --deps-layers 4
  strata init --preset rust --base scratch --target x86_64-unknown-linux-musl
  strata init --force                                         # overwrite strata.toml";

/// Arguments of `strata init`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct InitArgs {
    /// Base image to write into [image] (and, for Python, to check the interpreter against).
    #[arg(long, value_name = "IMAGE")]
    pub base: Option<String>,
    /// Overwrite an existing strata.toml.
    #[arg(long)]
    pub force: bool,
    /// Preset settings.
    #[command(flatten)]
    pub preset: PresetArgs,
    /// Image access options (to read the base).
    #[command(flatten)]
    pub image_options: ImageOptions,
}

fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn preset_table(spec: &PresetSpec) -> String {
    let mut t = String::from("[preset]\n");
    let _ = writeln!(t, "kind = {}", quoted(&spec.kind));
    let line = |t: &mut String, key: &str, v: &Option<String>, hint: &str| {
        let _ = match v {
            Some(v) => writeln!(t, "{key} = {}", quoted(v)),
            None => writeln!(t, "# {key} = {hint}"),
        };
    };
    if spec.kind == "python" {
        line(&mut t, "venv", &spec.venv, "\".venv\"");
        let _ = writeln!(
            t,
            "deps_layers = {}   # more than 1: the largest distributions get layers of their own",
            spec.deps_layers.unwrap_or(1)
        );
    } else {
        line(
            &mut t,
            "bin",
            &spec.bin,
            "\"server\"            # when the workspace has several binaries",
        );
        line(&mut t, "profile", &spec.profile, "\"release\"");
        line(
            &mut t,
            "target",
            &spec.target,
            "\"x86_64-unknown-linux-musl\"  # static: runs on scratch",
        );
        let _ = if spec.features.is_empty() {
            writeln!(t, "# features = [\"metrics\"]")
        } else {
            writeln!(
                t,
                "features = [{}]",
                spec.features
                    .iter()
                    .map(|f| quoted(f))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        line(
            &mut t,
            "binary",
            &spec.binary,
            "\"target/release/server\"  # package it without running cargo",
        );
    }
    t
}

/// The text of `strata.toml` for `plan` (its preset) and, when the preset could run, the plan it
/// resolved to.
fn render(plan: &Plan, spec: &PresetSpec, resolved: Option<&Plan>, staging: &Path) -> String {
    let mut t = format!(
        "# strata.toml: how `strata build` makes this project's image (written by `strata init` for a\n\
         # {} project). `strata build --plan` prints the layers it gives; flags override this file.\n\n[image]\n",
        spec.kind
    );
    let _ = match &plan.image.base {
        Some(b) => writeln!(t, "base = {}", quoted(b)),
        None => writeln!(
            t,
            "# base = \"registry.example.com/base/debian:bookworm\"   # required: any image reference, or \"scratch\""
        ),
    };
    let image = resolved.map(|r| &r.image);
    let shown = |v: Option<String>| v.unwrap_or_else(|| "set by the preset at build time".into());
    let _ = writeln!(
        t,
        "# entrypoint = {}",
        shown(
            image
                .and_then(|i| i.entrypoint.as_ref())
                .map(|e| format!("{e:?}"))
        )
    );
    let _ = writeln!(t, "# cmd = []");
    match image.filter(|i| !i.env.is_empty()) {
        Some(i) => {
            let _ = writeln!(
                t,
                "# env (set by the preset; entries here are added or override):"
            );
            for (k, v) in &i.env {
                let _ = writeln!(t, "#   {k} = {}", quoted(v));
            }
        }
        None => {
            let _ = writeln!(t, "# env = {{ KEY = \"value\" }}");
        }
    }
    let _ = writeln!(
        t,
        "# workdir = {}\n# user = {}\n# labels = {{ \"org.opencontainers.image.source\" = \"https://example.com/repo\" }}\n# exposed_ports = [\"8080/tcp\"]\n",
        shown(image.and_then(|i| i.workdir.clone()).map(|w| quoted(&w))),
        shown(image.and_then(|i| i.user.clone()).map(|u| quoted(&u))),
    );
    t.push_str(&preset_table(spec));
    if let Some(r) = resolved {
        t.push_str(
            "# The layers it plans, bottom first (`strata build --plan` shows files and bytes):\n",
        );
        for l in &r.layers {
            let from: Vec<String> = l
                .from
                .iter()
                .map(|f| shown_source(f, &plan.root, staging))
                .collect();
            let _ = writeln!(t, "#   {:<16} {} -> {}", l.name, from.join(", "), l.to);
        }
    }
    t.push_str(
        "\n# Layers declared here go on top of the preset's (a layer with a preset layer's name replaces it):\n\
         # [[layer]]\n# name = \"assets\"\n# from = [\"static\"]\n# to = \"/app/static\"\n# exclude = [\"**/*.map\"]\n",
    );
    t
}

/// Runs `strata init`.
pub fn run(args: &InitArgs) -> Result<ExitCode> {
    let root = std::env::current_dir().map_err(|e| Error::io("current directory", e))?;
    let path = root.join(CONFIG_FILE);
    if path.exists() && !args.force {
        return Err(Error::usage(format!(
            "{} exists; pass --force to overwrite it",
            path.display()
        )));
    }
    let mut plan = Plan::load(None, &root)?;
    plan.image.base.clone_from(&args.base);
    args.preset.apply(&mut plan)?;
    let Some(mut spec) = plan.preset.clone() else {
        return Err(Error::usage(
            "no Python or Rust project here (looked for pyproject.toml, uv.lock, poetry.lock, \
             pylock.toml, requirements.txt, setup.py, Cargo.toml); write strata.toml by hand \
             (see `strata build --help`)",
        ));
    };
    if spec.kind == "python" && spec.venv.is_none() {
        let venv = strata::preset::python::find_venv(&root, &spec)?;
        spec.venv = Some(
            venv.strip_prefix(&root)
                .map(PathBuf::from)
                .unwrap_or(venv)
                .display()
                .to_string(),
        );
        plan.preset = Some(spec.clone());
    }
    // Python can be resolved now (reading the base); Rust would have to compile first.
    let staging = std::env::temp_dir().join(format!("strata-init-{}", std::process::id()));
    let resolved = match (&spec.kind[..], &plan.image.base) {
        ("python", Some(_)) => {
            let mut resolved = plan.clone();
            let opts = args.image_options.source_options()?;
            let done = expand_preset(&mut resolved, &opts, &staging);
            let _ = std::fs::remove_dir_all(&staging);
            done?;
            Some(resolved)
        }
        _ => None,
    };
    let text = render(&plan, &spec, resolved.as_ref(), &staging);
    let tmp = root.join(format!(".{CONFIG_FILE}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, &text).map_err(|e| Error::io(tmp.display(), e))?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(path.display(), e))?;
    eprintln!("strata: wrote {} ({} preset)", path.display(), spec.kind);
    Ok(ExitCode::Ok)
}
