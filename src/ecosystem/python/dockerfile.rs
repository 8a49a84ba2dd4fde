//! The Python Dockerfiles: a dependency image with the locked dependencies in a virtualenv
//! (`pip install -r` into `/opt/venv`, or `uv sync --no-install-project` into `/app/.venv`), and
//! an app image that adds the source and installs the project without dependencies.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::generate::project::{dir_name, read_toml};
use crate::generate::{
    apt_install, build_hint, healthcheck, quoted, test_stage, Dockerfiles, Options, Project,
    APP_USER,
};
use crate::python::{find_lockfile, Format};

/// The uv image the uv binary is copied from (uv's documented way to install it).
const UV_IMAGE: &str = "ghcr.io/astral-sh/uv:0.5";

/// What the Python Dockerfiles need to know of a project besides its name and command.
struct Locked {
    /// The lockfile, relative to the project.
    lockfile: PathBuf,
    /// Whether there is a `pyproject.toml` to install the project from.
    has_pyproject: bool,
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
    let command = project
        .and_then(|p| p.get("scripts"))
        .and_then(|s| s.as_table())
        .and_then(|s| s.keys().next().cloned());
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
    let lockfile = locked.lockfile.as_path();
    let uv = Format::of(lockfile) == Some(Format::Uv);
    let runtime = options.runtime_base.clone().unwrap_or_else(|| {
        format!(
            "python:{}-slim",
            locked.python_version.as_deref().unwrap_or("3.12")
        )
    });
    let mut images = vec![("RUNTIME_BASE", runtime)];
    if uv {
        images.push(("UV_IMAGE", UV_IMAGE.to_string()));
    }
    let args: String = images
        .iter()
        .map(|(name, image)| format!("ARG {name}={image}\n"))
        .collect();
    let header = format!(
        "# Dependency image of {}: the interpreter and the locked dependencies, none of the code.\n\
         # Tag it with `strata base IMAGE` (deps-<hash of {} and this file>).\n{}",
        project.name,
        lockfile.display(),
        build_hint(options, "Dockerfile.base"),
    );
    let install = if uv {
        uv_dependencies(locked.has_pyproject)
    } else {
        pip_dependencies(lockfile)
    };
    let base = format!(
        "{header}{args}{}# The app image built on this one sets the user; installs here run as root.\n\
         # strata-ignore runs-as-root\n\
         FROM ${{RUNTIME_BASE}}\n{}{install}",
        if uv { "FROM ${UV_IMAGE} AS uv\n" } else { "" },
        apt_install(&options.system_packages),
    );
    Ok(Dockerfiles {
        base,
        app: app(project, options, uv, locked.has_pyproject),
        images,
        before_base: None,
    })
}

fn pip_dependencies(lockfile: &Path) -> String {
    let name = lockfile.display();
    format!(
        "ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH \\\n    \
         PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1\n\
         COPY {name} /tmp/deps/{name}\n\
         RUN python3 -m venv /opt/venv \\\n \
         && pip install --no-cache-dir -r /tmp/deps/{name} \\\n \
         && rm -rf /tmp/deps\n\
         WORKDIR /app\n"
    )
}

fn uv_dependencies(has_pyproject: bool) -> String {
    let pyproject = if has_pyproject { "pyproject.toml " } else { "" };
    format!(
        "COPY --from=uv /uv /usr/local/bin/uv\n\
         ENV UV_PROJECT_ENVIRONMENT=/app/.venv UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy \\\n    \
         UV_PYTHON_DOWNLOADS=never UV_NATIVE_TLS=1 VIRTUAL_ENV=/app/.venv \\\n    \
         PATH=/app/.venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1\n\
         WORKDIR /app\n\
         COPY {pyproject}uv.lock /app/\n\
         RUN uv sync --frozen --no-install-project --no-dev --no-cache\n"
    )
}

fn app(project: &Project, options: &Options, uv: bool, has_pyproject: bool) -> String {
    let install = match (uv, has_pyproject) {
        (true, _) => "RUN uv sync --frozen --no-dev --no-editable --no-cache\n",
        (false, true) => "RUN pip install --no-cache-dir --no-deps /app\n",
        (false, false) => "",
    };
    let (test, after_test) = test_stage(options, "app");
    format!(
        "# App image of {name}: the dependency image at its fingerprint tag plus the source.\n\
         {hint}ARG DEPS_IMAGE={name}-deps\n\
         ARG DEPS_TAG=latest\n\
         FROM ${{DEPS_IMAGE}}:${{DEPS_TAG}} AS app\n\
         WORKDIR /app\n\
         COPY . /app\n\
         {install}{test}\n\
         FROM app\n\
         {after_test}USER {APP_USER}\n\
         {}CMD {}\n",
        healthcheck(options),
        command(project),
        name = project.name,
        hint = build_hint(options, "Dockerfile"),
    )
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
