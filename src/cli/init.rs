//! `strata init`: detect the project (Python or Rust) and write the preset strata would use as a
//! commented `strata.toml`, to read and edit instead of starting from a blank page.

use std::fmt::Write as _;
use std::path::Path;

use clap::Args;

use crate::cli::build::{expand_preset, shown_source, PresetArgs};
use crate::cli::ImageOptions;
use strata::assemble::plan::Plan;
use strata::ecosystem::PresetSpec;
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

/// The `[preset]` table: `kind`, then the ecosystem's settings.
fn preset_table(spec: &PresetSpec) -> String {
    let preset = spec.preset();
    format!(
        "[preset]\nkind = {}\n{}",
        quoted(preset.ecosystem().name()),
        preset.init_table()
    )
}

/// The text of `strata.toml` for `plan` (its preset) and, when the preset could run, the plan it
/// resolved to.
fn render(plan: &Plan, spec: &PresetSpec, resolved: Option<&Plan>, staging: &Path) -> String {
    let mut t = format!(
        "# strata.toml: how `strata build` makes this project's image (written by `strata init` for a\n\
         # {} project). `strata build --plan` prints the layers it gives; flags override this file.\n\n[image]\n",
        spec.preset().ecosystem().name()
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
        return Err(Error::usage(format!(
            "no {} project here (looked for {}); write strata.toml by hand (see `strata build \
             --help`)",
            strata::ecosystem::buildable_titles(" or "),
            strata::ecosystem::markers()
        )));
    };
    spec.preset_mut().resolve_at_init(&root)?;
    plan.preset = Some(spec.clone());
    // A preset that only reads files can be resolved now (reading the base); Rust's would have
    // to compile first.
    let staging = std::env::temp_dir().join(format!("strata-init-{}", std::process::id()));
    let resolved = match &plan.image.base {
        Some(_) if spec.preset().plans_at_init() => {
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
    eprintln!(
        "strata: wrote {} ({} preset)",
        path.display(),
        spec.preset().ecosystem().name()
    );
    Ok(ExitCode::Ok)
}
