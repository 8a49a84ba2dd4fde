//! The Rust Dockerfiles, cargo-chef style with strata: the dependency image is a builder whose
//! `target/` holds the compiled dependencies (`strata cook` on the workspace's recipe, made in a
//! planner stage or on the host); the app image compiles only the workspace's own crates on it
//! and copies the binary alone into a slim runtime stage.

use std::path::Path;

use crate::error::Result;
use crate::generate::project::{dir_name, read_toml};
use crate::generate::{
    apt_install, build_hint, healthcheck, quoted, test_stage, AppBase, Dockerfiles, Image, Options,
    Project, APP_USER,
};

const BUILDER_BASE: &str = "rust:1-bookworm";
const RUNTIME_BASE: &str = "debian:bookworm-slim";

/// The image the dependency stage takes strata from: this version's, by name.
fn strata_image() -> String {
    format!("strata:{}", env!("CARGO_PKG_VERSION"))
}

/// The Cargo project at `dir` as the generator sees it: its package name, and the binary the
/// image runs (the first `[[bin]]`, else the package's).
pub fn read_project(dir: &Path) -> Result<Project> {
    let manifest = read_toml(&dir.join("Cargo.toml"))?.unwrap_or_default();
    let name = manifest
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_string);
    let bin = manifest
        .get("bin")
        .and_then(|b| b.as_array())
        .and_then(|b| b.first())
        .and_then(|b| b.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_string);
    Ok(Project {
        dir: dir.to_path_buf(),
        ecosystem: &super::Rust,
        command: bin.or_else(|| name.clone()),
        name: name.unwrap_or_else(|| dir_name(dir)),
    })
}

/// The Dockerfiles for a Cargo project.
pub fn dockerfiles(project: &Project, options: &Options) -> Dockerfiles {
    let builder = options
        .builder_base
        .clone()
        .unwrap_or_else(|| BUILDER_BASE.into());
    let runtime = options
        .runtime_base
        .clone()
        .unwrap_or_else(|| RUNTIME_BASE.into());
    let recipe = if options.host_recipe {
        format!(
            "# The recipe comes from the host: `strata recipe --recipe-path {}/recipe.json`.\n\
             COPY {}/recipe.json recipe.json\n",
            options.out.display(),
            options.out.display()
        )
    } else {
        "COPY --from=planner /app/recipe.json recipe.json\n".to_string()
    };
    let planner = if options.host_recipe {
        String::new()
    } else {
        "# The planner reduces the workspace to its dependency recipe; the stages below are\n\
         # cached as long as the recipe is the same (plan on the host instead: --host-recipe).\n\
         FROM strata AS planner\nWORKDIR /app\n\
         # The context is the project directory, whose .dockerignore strata dockerfile writes.\n\
         # strata-ignore dockerignore\n\
         COPY . .\n\
         RUN strata recipe --recipe-path recipe.json\n\n"
            .to_string()
    };
    let base = format!(
        "# Dependency image of {name}: the toolchain, strata and the compiled dependencies.\n\
         # Tag it with `strata base IMAGE` (deps-<hash of the recipe and this file>).\n\
         # strata itself comes from an image that holds it at /usr/local/bin/strata: strata packages\n\
         # itself that way (`strata build` in its own checkout, the Rust preset).\n\
         {hint}ARG BUILDER_BASE={builder}\n\
         ARG STRATA_IMAGE={strata_image}\n\
         FROM ${{STRATA_IMAGE}} AS strata-tool\n\n\
         FROM ${{BUILDER_BASE}} AS strata\n\
         {apt}COPY --from=strata-tool /usr/local/bin/strata /usr/local/bin/strata\n\n\
         {planner}# The app image built on this one runs the binary as a non-root user.\n\
         # strata-ignore runs-as-root\n\
         FROM strata AS deps\n\
         WORKDIR /app\n\
         {recipe}RUN strata cook --release --locked --recipe-path recipe.json\n",
        name = project.name,
        apt = apt_install(&options.system_packages),
        strata_image = strata_image(),
        hint = build_hint(project, options, Image::Deps),
    );
    Dockerfiles {
        base,
        app: app(project, options, &runtime),
        images: vec![
            ("BUILDER_BASE", builder),
            ("RUNTIME_BASE", runtime),
            ("STRATA_IMAGE", strata_image()),
        ],
        app_base: AppBase::Runtime,
        before_base: options.host_recipe.then(|| {
            format!(
                "$(STRATA) recipe --recipe-path {}/recipe.json",
                options.out.display()
            )
        }),
    }
}

fn app(project: &Project, options: &Options, runtime: &str) -> String {
    let bin = project.command.as_deref().unwrap_or(&project.name);
    let (test, after_test) = test_stage(options, "build");
    let binary = format!("/usr/local/bin/{bin}");
    format!(
        "# App image of {name}: compiles the workspace's own crates on the dependency image and\n\
         # ships the binary alone.\n\
         {hint}ARG DEPS_IMAGE={name}-deps\n\
         ARG DEPS_TAG=latest\n\
         ARG RUNTIME_BASE={runtime}\n\
         FROM ${{DEPS_IMAGE}}:${{DEPS_TAG}} AS build\n\
         WORKDIR /app\n\
         # The dependencies are compiled in the dependency image: only the workspace's crates build here.\n\
         # The context is the project directory, whose .dockerignore strata dockerfile writes.\n\
         # strata-ignore context-before-install, dockerignore\n\
         COPY . .\n\
         RUN cargo build --release --locked --bin {bin}\n{test}\n\
         FROM ${{RUNTIME_BASE}}\n\
         {after_test}COPY --from=build /app/target/release/{bin} {binary}\n\
         USER {APP_USER}\n\
         {}ENTRYPOINT [{}]\n",
        healthcheck(options),
        quoted(&binary),
        name = project.name,
        hint = build_hint(project, options, Image::App),
    )
}
