//! The files around the Dockerfiles: `.dockerignore`, `digests.env`, the `Makefile` and the
//! GitHub Actions workflow. They are the same for both languages.

use std::fmt::Write as _;

use crate::generate::{AppBase, Dockerfiles, Options, Project};

/// What never belongs in a build context: VCS data, build output, virtualenvs, caches,
/// cargo-fuzz's corpora, crashes and builds (`fuzz/corpus`, `fuzz/artifacts`, `fuzz/target`: a
/// fuzzing run adds and removes inputs while a build reads the context), the generated files
/// themselves (but a recipe made on the host), and `.dockerignore` itself: Docker's
/// classic builder appends the random name of a Dockerfile read from stdin to it, so a copied
/// `.dockerignore` would change the app layer on every build.
pub fn dockerignore(options: &Options) -> String {
    let out = options.out.display();
    let keep = if options.host_recipe {
        format!("!{out}/recipe.json\n")
    } else {
        String::new()
    };
    format!(
        "# Written by strata dockerfile: what the images never need (keeps the context small and\n\
         # the app layer free of build output, virtualenvs and caches).\n\
         .dockerignore\n.git\n.github\ntarget/\nfuzz/target/\nfuzz/corpus/\nfuzz/artifacts/\n\
         .venv/\nvenv/\n**/__pycache__/\n*.pyc\n**/*.egg-info/\n.pytest_cache/\n.mypy_cache/\n\
         .ruff_cache/\n.tox/\n.cache/\n{out}/\n{keep}"
    )
}

/// `NAME=reference` per base image, for `make` and shells; images not pinned by digest say so.
pub fn digests_env(images: &[(&'static str, String)]) -> String {
    let mut text = String::from(
        "# The base images of the Dockerfiles (written by strata dockerfile). Pin each by digest\n\
         # (NAME=image:tag@sha256:...) so rebuilds start from the same bytes.\n",
    );
    for (name, image) in images {
        if !image.contains("@sha256:") {
            let _ = writeln!(
                text,
                "# {name} is not pinned: `skopeo inspect docker://{image}` shows its digest."
            );
        }
        let _ = writeln!(text, "{name}={image}");
    }
    text
}

/// The `--build-arg`s of the images a Dockerfile declares, as make text.
fn build_args(dockerfile: &str, images: &[(&'static str, String)]) -> String {
    images
        .iter()
        .filter(|(name, _)| dockerfile.contains(&format!("ARG {name}=")))
        .map(|(name, _)| format!(" --build-arg {name}=$({name})"))
        .collect()
}

/// `make check`'s recipe: the app image saved and gated by `strata check` with the README's
/// gates (`CHECK_FLAGS`), its own layers told from those it is built on: the dependency image,
/// saved beside it, or the runtime base, read from its registry.
fn check_recipe(dockerfiles: &Dockerfiles) -> &'static str {
    match dockerfiles.app_base {
        AppBase::Deps => {
            "\ttar=$$(mktemp) && $(DOCKER) save $(IMAGE):$(TAG) $(DEPS_REF) -o $$tar \\\n\
             \t  && $(STRATA) check docker-archive:$$tar:$(IMAGE):$(TAG) \\\n\
             \t    --base docker-archive:$$tar:$(DEPS_REF) $(CHECK_FLAGS); rc=$$?; rm -f $$tar; exit $$rc\n"
        }
        AppBase::Runtime => {
            "\ttar=$$(mktemp) && $(DOCKER) save $(IMAGE):$(TAG) -o $$tar \\\n\
             \t  && $(STRATA) check docker-archive:$$tar --base $(RUNTIME_BASE) $(CHECK_FLAGS); \\\n\
             \trc=$$?; rm -f $$tar; exit $$rc\n"
        }
    }
}

/// The Makefile: `build-base` (only when the fingerprint tag is not there), `build`, `push`
/// (the dependency image only when the registry lacks it), `check` (`strata check`). Without
/// strata (`STRATA`, default `strata` on PATH) there is no tag to build, so make stops with that
/// instead of running `docker build -t  .`.
pub fn makefile(project: &Project, options: &Options, dockerfiles: &Dockerfiles) -> String {
    let out = options.out.display();
    let before_base = match &dockerfiles.before_base {
        Some(command) => format!("\t{command}\n"),
        None => String::new(),
    };
    format!(
        "# Builds the images of {name} (written by strata dockerfile). From the project directory:\n\
         #   make -f {out}/Makefile build        # the dependency image only if its tag is missing\n\
         # Dockerfiles are read from stdin so they stay out of the build context.\n\
         # The dependency image's tag is its fingerprint: `strata base $(DEPS_IMAGE)`.\n\
         include {out}/digests.env\n\n\
         IMAGE ?= {name}\n\
         TAG ?= latest\n\
         DEPS_IMAGE ?= $(IMAGE)-deps\n\
         DOCKER ?= docker\n\
         STRATA ?= strata\n\
         DEPS_REF := $(shell $(STRATA) base $(DEPS_IMAGE) --dockerfile {out}/Dockerfile.base)\n\
         ifeq ($(DEPS_REF),)\n\
         $(error `$(STRATA) base` named no dependency image: put strata on PATH, or pass STRATA=/path/to/strata)\n\
         endif\n\
         DEPS_TAG = $(lastword $(subst :, ,$(DEPS_REF)))\n\
         CHECK_FLAGS ?= --no-dependencies-in-app-layers --no-caches --fail-on secret --fail-on wont-start\n\n\
         .PHONY: build-base build push check\n\n\
         build-base:\n\
         {before_base}\
         \t$(DOCKER) build -f -{base_args} -t $(DEPS_REF) . < {out}/Dockerfile.base\n\n\
         build:\n\
         \t$(DOCKER) image inspect $(DEPS_REF) >/dev/null 2>&1 || $(MAKE) -f {out}/Makefile build-base\n\
         \t$(DOCKER) build -f - --build-arg DEPS_IMAGE=$(DEPS_IMAGE) \
         --build-arg DEPS_TAG=$(DEPS_TAG){app_args} -t $(IMAGE):$(TAG) . < {out}/Dockerfile\n\n\
         push:\n\
         \trc=0; $(STRATA) base --exists $(DEPS_IMAGE) --dockerfile {out}/Dockerfile.base || rc=$$?; \\\n\
         \tif [ $$rc = 1 ]; then $(DOCKER) push $(DEPS_REF); elif [ $$rc != 0 ]; then exit $$rc; fi\n\
         \t$(DOCKER) push $(IMAGE):$(TAG)\n\n\
         check:\n\
         {check}",
        name = project.name,
        base_args = build_args(&dockerfiles.base, &dockerfiles.images),
        app_args = build_args(&dockerfiles.app, &dockerfiles.images),
        check = check_recipe(dockerfiles),
    )
}

/// A GitHub Actions workflow: the dependency image is built and pushed only when the registry
/// has no image at its fingerprint tag; the app image on every push.
pub fn github_workflow(options: &Options) -> String {
    let out = options.out.display();
    format!(
        "# Written by strata dockerfile: the dependency image is rebuilt only when its fingerprint\n\
         # tag (strata base) is missing from the registry; the app image on every push.\n\
         name: image\n\
         on:\n  push:\n    branches: [main]\n\
         permissions:\n  contents: read\n  packages: write\n\
         env:\n  IMAGE: ghcr.io/${{{{ github.repository }}}}\n  DEPS_IMAGE: ghcr.io/${{{{ github.repository }}}}-deps\n\
         jobs:\n\
         \x20 image:\n\
         \x20   runs-on: ubuntu-latest\n\
         \x20   steps:\n\
         \x20     - uses: actions/checkout@v4\n\
         \x20     - name: Install strata (from the git repository named by the STRATA_GIT variable)\n\
         \x20       run: cargo install --locked --git \"${{{{ vars.STRATA_GIT }}}}\" --tag v{version} strata\n\
         \x20     - name: Log in to the registry\n\
         \x20       run: echo \"${{{{ secrets.GITHUB_TOKEN }}}}\" | docker login ghcr.io -u \"${{{{ github.actor }}}}\" --password-stdin\n\
         \x20     - name: Dependency image, only when its fingerprint tag is missing\n\
         \x20       run: |\n\
         \x20         rc=0; strata base --exists \"$DEPS_IMAGE\" --dockerfile {out}/Dockerfile.base || rc=$?\n\
         \x20         if [ $rc = 1 ]; then make -f {out}/Makefile build-base && docker push \"$(strata base \"$DEPS_IMAGE\" --dockerfile {out}/Dockerfile.base)\"\n\
         \x20         elif [ $rc != 0 ]; then exit $rc; fi\n\
         \x20     - name: App image\n\
         \x20       run: |\n\
         \x20         docker pull \"$(strata base \"$DEPS_IMAGE\" --dockerfile {out}/Dockerfile.base)\" || true\n\
         \x20         make -f {out}/Makefile build check push TAG=${{{{ github.sha }}}}\n",
        version = env!("CARGO_PKG_VERSION"),
    )
}
