//! The Python Dockerfiles: a dependency image with the locked dependencies in a virtualenv
//! (`pip install -r` into `/opt/venv`, or `uv sync --no-install-project` into `/app/.venv`), and
//! an app image that adds the source at `/app`.
//!
//! uv comes the way the dependencies do: a pinned release from PyPI ([`UV_VERSION`]), installed
//! into `/opt/uv` of a builder stage whose venv is all the image gets, so no second registry is
//! needed to build and no uv at run time. The project itself is not installed, as `strata build`
//! does not install it: its code runs from `/app` on `PYTHONPATH` (`/app/src` for a src layout),
//! its console script is a launcher in the venv's `bin`, and nothing of it lands in
//! site-packages, so the app layers hold code only (`strata check
//! --no-dependencies-in-app-layers`). No bytecode is compiled into any layer (uv's default,
//! `pip --no-compile`, `PYTHONDONTWRITEBYTECODE=1`), again as `strata build`: `.pyc` files embed
//! source times, re-ship on every rebuild and are what `strata report` counts as the `pycache`
//! finding; Python compiles in memory at import instead.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::generate::project::{dir_name, read_toml};
use crate::generate::{
    apt_install, build_hint, healthcheck, quoted, test_stage, AppBase, Dockerfiles, Image, Options,
    Project, APP_USER,
};
use crate::python::{find_lockfile, Format};

use super::preset::{code_path, launcher};

/// The uv release the builder stages install from PyPI (`pip install uv==UV_VERSION`).
pub const UV_VERSION: &str = "0.13.9";

/// What the Python Dockerfiles need to know of a project besides its name and command.
struct Locked {
    /// The lockfile, relative to the project.
    lockfile: PathBuf,
    /// Whether there is a `pyproject.toml` (uv syncs it with the lockfile).
    has_pyproject: bool,
    /// What the console script the image runs calls (`module:function`).
    script: Option<String>,
    /// `major.minor` from `.python-version`.
    python_version: Option<String>,
}

/// The project at `dir` as the generator sees it.
pub fn read_project(dir: &Path) -> Result<Project> {
    read(dir).map(|(project, _)| project)
}

/// The project at `dir`: its lockfile (uv.lock or requirements*.txt, which the Dockerfiles
/// install from), name and first console script from `pyproject.toml`, and the interpreter
/// version of `.python-version`.
fn read(dir: &Path) -> Result<(Project, Locked)> {
    let lockfile = find_lockfile(dir)?.ok_or_else(|| {
        Error::usage(format!(
            "{}: no uv.lock or requirements*.txt to install the dependencies from",
            dir.display()
        ))
    })?;
    if !matches!(
        Format::of(&lockfile),
        Some(Format::Uv | Format::Requirements)
    ) {
        return Err(Error::usage(format!(
            "{}: strata dockerfile installs from uv.lock or requirements*.txt; export one \
             (poetry export -o requirements.lock, or uv export)",
            lockfile.display()
        )));
    }
    let pyproject = read_toml(&dir.join("pyproject.toml"))?;
    let project = pyproject.as_ref().and_then(|t| t.get("project"));
    let name = project
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .map(crate::python::pep508::normalize_name);
    let script = project
        .and_then(|p| p.get("scripts"))
        .and_then(|s| s.as_table())
        .and_then(|s| s.iter().next())
        .map(|(name, target)| {
            (
                name.clone(),
                target.as_str().unwrap_or_default().to_string(),
            )
        });
    let (command, script) = script.unzip();
    let python_version = std::fs::read_to_string(dir.join(".python-version"))
        .ok()
        .and_then(|v| major_minor(v.lines().next()?.trim()));
    let project = Project {
        dir: dir.to_path_buf(),
        ecosystem: &super::Python,
        name: name.unwrap_or_else(|| dir_name(dir)),
        command,
    };
    let locked = Locked {
        lockfile: lockfile
            .strip_prefix(dir)
            .map(Path::to_path_buf)
            .unwrap_or(lockfile),
        has_pyproject: pyproject.is_some(),
        script,
        python_version,
    };
    Ok((project, locked))
}

/// `3.12` from `3.12`, `3.12.4` or `cpython@3.12`; `None` for anything else (`pypy3.10`).
fn major_minor(version: &str) -> Option<String> {
    let version = version.strip_prefix("cpython@").unwrap_or(version);
    let mut parts = version.split('.');
    let (major, minor) = (parts.next()?, parts.next()?);
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (numeric(major) && numeric(minor)).then(|| format!("{major}.{minor}"))
}

/// The Dockerfiles for a Python project.
pub fn dockerfiles(project: &Project, options: &Options) -> Result<Dockerfiles> {
    let (_, locked) = read(&project.dir)?;
    let uv = Format::of(&locked.lockfile) == Some(Format::Uv);
    let runtime = options.runtime_base.clone().unwrap_or_else(|| {
        format!(
            "python:{}-slim",
            locked.python_version.as_deref().unwrap_or("3.12")
        )
    });
    let header = format!(
        "# Dependency image of {}: the interpreter and the locked dependencies, none of the code.\n\
         # Its tag is `strata base IMAGE` (deps-<hash of {} and this file>).\n{}\
         ARG RUNTIME_BASE={runtime}\n",
        project.name,
        locked.lockfile.display(),
        build_hint(project, options, Image::Deps),
    );
    let installer = if uv {
        uv_installer(locked.has_pyproject)
    } else {
        pip_installer(&locked.lockfile)
    };
    let base = format!(
        "{header}FROM ${{RUNTIME_BASE}} AS runtime\n{}WORKDIR /app\n\n\
         # {} installs the dependencies from a venv of its own in this stage; the image gets\n\
         # the dependencies' venv alone.\n\
         FROM runtime AS {}\n{}\n\
         # The app image built on this one sets the user; installs here run as root.\n\
         # strata-ignore runs-as-root\n\
         FROM runtime\n\
         ENV VIRTUAL_ENV={venv} PATH={venv}/bin:$PATH \\\n    \
         PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1\n\
         COPY --from={} {venv} {venv}\n",
        apt_install(&options.system_packages),
        installer.name,
        installer.name,
        installer.stage,
        installer.name,
        venv = installer.venv,
    );
    Ok(Dockerfiles {
        base,
        app: app(project, options, installer.venv, &locked)?,
        images: vec![("RUNTIME_BASE", runtime)],
        before_base: None,
        app_base: AppBase::Deps,
    })
}

/// The builder stage that installs the locked dependencies into a venv of the runtime base's
/// `python3`, with the installer in a venv of its own that the image never gets.
struct Installer {
    /// The installer, which names its stage: `pip` or `uv`.
    name: &'static str,
    /// The venv the dependencies go to (and the image gets).
    venv: &'static str,
    /// The stage's instructions after its `FROM`.
    stage: String,
}

/// pip (the base's own, in `/opt/pip`) installs the requirements into `/opt/venv`, a venv
/// without pip.
fn pip_installer(lockfile: &Path) -> Installer {
    let name = lockfile.display();
    Installer {
        name: "pip",
        venv: "/opt/venv",
        stage: format!(
            "RUN python3 -m venv /opt/pip \\\n \
             && python3 -m venv --without-pip /opt/venv\n\
             COPY {name} /tmp/deps/{name}\n\
             RUN /opt/pip/bin/pip --python /opt/venv/bin/python install --no-cache-dir --no-compile \\\n    \
             -r /tmp/deps/{name}\n"
        ),
    }
}

/// uv from PyPI (pinned, in `/opt/uv`) syncs the lockfile into `/app/.venv` (uv finds the base's
/// `python3` and never downloads one).
fn uv_installer(has_pyproject: bool) -> Installer {
    let pyproject = if has_pyproject { "pyproject.toml " } else { "" };
    Installer {
        name: "uv",
        venv: "/app/.venv",
        stage: format!(
            "RUN python3 -m venv /opt/uv \\\n \
             && /opt/uv/bin/pip install --no-cache-dir uv=={UV_VERSION}\n\
             ENV UV_PROJECT_ENVIRONMENT=/app/.venv UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never \\\n    \
             UV_NATIVE_TLS=1 UV_NO_CACHE=1\n\
             COPY {pyproject}uv.lock /app/\n\
             RUN /opt/uv/bin/uv sync --frozen --no-install-project --no-dev \\\n \
             && rm -f /app/.venv/.lock\n"
        ),
    }
}

/// The app image: the dependency image, the console script's launcher in the venv `venv`, the
/// code at `/app` on `PYTHONPATH`.
fn app(project: &Project, options: &Options, venv: &str, locked: &Locked) -> Result<String> {
    let launcher = match (&project.command, &locked.script) {
        (Some(name), Some(target)) => {
            let path = format!("{venv}/bin/{name}");
            let lines: Vec<String> = launcher(&format!("{venv}/bin/python"), target)?
                .lines()
                .map(sh_quoted)
                .collect();
            format!(
                "# The console script, as pip writes it: the project is not installed, its code runs\n\
                 # from PYTHONPATH.\n\
                 RUN printf '%s\\n' {} > {path} \\\n \
                 && chmod 755 {path}\n",
                lines.join(" ")
            )
        }
        _ => String::new(),
    };
    let (test, after_test) = test_stage(options, "app");
    Ok(format!(
        "# App image of {name}: the dependency image at its fingerprint tag plus the source.\n\
         {hint}ARG DEPS_IMAGE={name}-deps\n\
         ARG DEPS_TAG=latest\n\
         FROM ${{DEPS_IMAGE}}:${{DEPS_TAG}} AS app\n\
         {launcher}ENV PYTHONPATH={path}\n\
         WORKDIR /app\n\
         # The context is the project directory, whose .dockerignore strata dockerfile writes.\n\
         # strata-ignore dockerignore\n\
         COPY . /app\n\
         {test}\n\
         FROM app\n\
         {after_test}USER {APP_USER}\n\
         {}CMD {}\n",
        healthcheck(options),
        command(project),
        name = project.name,
        hint = build_hint(project, options, Image::App),
        path = code_path(&project.dir),
    ))
}

/// `text` as one single-quoted shell word.
fn sh_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// The exec-form command: the first console script, else `main.py`/`app.py`, else the package
/// as a module.
fn command(project: &Project) -> String {
    let argv: Vec<String> = if let Some(script) = &project.command {
        vec![script.clone()]
    } else if let Some(file) = ["main.py", "app.py"]
        .into_iter()
        .find(|f| project.dir.join(f).is_file())
    {
        vec!["python3".into(), file.into()]
    } else {
        vec![
            "python3".into(),
            "-m".into(),
            project.name.replace('-', "_"),
        ]
    };
    let quoted: Vec<String> = argv.iter().map(|a| quoted(a)).collect();
    format!("[{}]", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_versions_reduce_to_major_minor() {
        assert_eq!(major_minor("3.12.4").as_deref(), Some("3.12"));
        assert_eq!(major_minor("cpython@3.11").as_deref(), Some("3.11"));
        assert_eq!(major_minor("pypy3.10"), None);
        assert_eq!(major_minor("3"), None);
    }
}
