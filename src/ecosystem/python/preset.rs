//! The Python preset: a project with a virtual environment becomes base → dependency layer(s)
//! (the venv's site-packages, without the project's own package and without bytecode) → a small
//! venv layer (pyvenv.cfg, `bin/python` pointing at the base's interpreter, console-script
//! launchers) → the app layer (the project's code). The venv sits at `/app/.venv` in the image,
//! the code at `/app`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::assemble::plan::{ImageSpec, LayerSpec};
use crate::ecosystem::python::site_packages::{split, Distribution, Venv};
use crate::ecosystem::python::target::{interpreters, version_of};
use crate::ecosystem::{init_line, PlanContext, Preset, ProjectSupport};
use crate::error::{Error, Result};
use crate::preset::{BaseInfo, Planned};
use crate::python::pep508::normalize_name;
use crate::rootfs::base_fs::BaseFs;
use crate::rootfs::libraries::loadable;
use crate::temp::{self, TempPath};

/// Where the project's code goes in the image.
pub const APP_DIR: &str = "/app";
/// Where the virtual environment goes in the image.
pub const VENV_DIR: &str = "/app/.venv";

/// Bytecode never goes into layers: it embeds source mtimes, and the interpreter would rewrite it.
pub(crate) const BYTECODE: [&str; 2] = ["**/__pycache__", "**/*.pyc"];

/// What the app layer leaves out besides the venv: VCS data, tool caches, build outputs, and the
/// lockfiles (they describe the dependency layers, and would re-ship the code on every upgrade).
const NOT_CODE: [&str; 17] = [
    ".git",
    ".hg",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".tox",
    ".nox",
    "dist",
    "build",
    "*.egg-info",
    "**/__pycache__",
    "**/*.pyc",
    "uv.lock",
    "poetry.lock",
    "pylock.toml",
    "pylock.*.toml",
    "requirements*.txt",
];

#[derive(Debug, Default, Deserialize)]
struct PyProject {
    project: Option<ProjectTable>,
}

#[derive(Debug, Default, Deserialize)]
struct ProjectTable {
    name: Option<String>,
    #[serde(default)]
    scripts: BTreeMap<String, String>,
}

/// The parts of `pyproject.toml` the preset uses.
#[derive(Debug, Default)]
struct Project {
    name: Option<String>,
    scripts: BTreeMap<String, String>,
}

fn read_pyproject(root: &Path) -> Result<Project> {
    let path = root.join("pyproject.toml");
    let Ok(text) = fs::read_to_string(&path) else {
        return Ok(Project::default());
    };
    let parsed: PyProject = toml::from_str(&text)
        .map_err(|e| Error::usage(format!("{}: {}", path.display(), e.message())))?;
    let table = parsed.project.unwrap_or_default();
    Ok(Project {
        name: table.name,
        scripts: table.scripts,
    })
}

/// The settings of `[preset] kind = "python"`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PythonPreset {
    /// The virtual environment whose site-packages become the dependency layer(s) (setting it
    /// packages the host's venv even when the project has a lockfile).
    pub venv: Option<String>,
    /// How many layers the dependencies are split into (largest distributions first).
    pub deps_layers: Option<usize>,
    /// Install the dependencies from this lockfile for the base's platform (uv, no venv on the
    /// host) instead of packaging a venv; the project's own lockfile when `from_lock` is set.
    pub lockfile: Option<String>,
    /// Install from the project's lockfile (the default when it has one and no `venv` is set).
    pub from_lock: Option<bool>,
    /// The uv binary that installs the lockfile (default: the pinned uv on `PATH` or in the
    /// cache).
    pub installer: Option<String>,
    /// Ship the lockfile's dependencies compiled to checked-hash `.pyc` by the base's own
    /// interpreter (default: no bytecode, the `.py` only).
    pub compile_bytecode: Option<bool>,
    /// Build the locked distributions that have no wheel for the base's platform from their
    /// sdist, in a builder container of the Docker Engine (default: such a distribution is an
    /// error).
    pub allow_build: Option<bool>,
    /// The image the builder container runs (default: the base): one with a compiler and
    /// Python's headers for sdists with C code. Any image reference; `docker-daemon:NAME` as the
    /// engine has it.
    pub builder: Option<String>,
}

impl PythonPreset {
    /// Whether the project at `root` is built from its lockfile (for the base's platform, so
    /// for every platform of an index base) rather than from a venv of the host.
    pub fn installs_from_lock(&self, root: &Path) -> Result<bool> {
        uses_lockfile(root, self)
    }
}

impl Preset for PythonPreset {
    fn ecosystem(&self) -> &'static dyn ProjectSupport {
        &super::Python
    }

    fn base_files(&self) -> Option<fn(&str) -> bool> {
        // The interpreters, and the libraries a lockfile build's startup check looks for.
        Some(|path| {
            let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
            dir.ends_with("bin") && name.starts_with("python") || loadable(path)
        })
    }

    fn plans_at_init(&self) -> bool {
        true
    }

    fn resolve_at_init(&mut self, root: &Path) -> Result<()> {
        if !uses_lockfile(root, self)? {
            let venv = find_venv(root, self)?;
            let shown = venv
                .strip_prefix(root)
                .map(Path::to_path_buf)
                .unwrap_or(venv);
            self.venv = Some(shown.display().to_string());
        }
        Ok(())
    }

    fn init_table(&self) -> String {
        let mut t = init_line("venv", self.venv.as_deref(), "\".venv\"");
        t.push_str(&format!(
            "deps_layers = {}   # more than 1: the largest distributions get layers of their own\n",
            self.deps_layers.unwrap_or(1)
        ));
        t
    }

    fn plan(&self, root: &Path, image: &mut ImageSpec, ctx: &PlanContext) -> Result<Planned> {
        plan(root, self, image, ctx)
    }
}

/// The virtual environment to package: `venv` (from the preset or `--venv`), else `$VIRTUAL_ENV`,
/// else `.venv` or `venv` in the project.
pub fn find_venv(root: &Path, spec: &PythonPreset) -> Result<PathBuf> {
    if let Some(v) = &spec.venv {
        return Ok(root.join(v));
    }
    if let Some(v) = std::env::var_os("VIRTUAL_ENV").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(v));
    }
    [".venv", "venv"]
        .iter()
        .map(|d| root.join(d))
        .find(|d| d.join("pyvenv.cfg").is_file())
        .ok_or_else(|| {
            Error::usage(format!(
                "{}: no virtual environment found (.venv, venv or $VIRTUAL_ENV); create one \
                 (`uv sync`, or `python3 -m venv .venv && .venv/bin/pip install -r requirements.txt`) \
                 or pass --venv DIR",
                root.display()
            ))
        })
}

/// The interpreter of the base that matches the venv's `X.Y`, as an absolute path. A base with
/// another Python is an error: the venv's packages are in `lib/pythonX.Y/site-packages`, which
/// another interpreter never looks at, so the image would fail with `ModuleNotFoundError`.
fn base_python(base: &BaseFs, venv: &Venv) -> Result<String> {
    let dirs = ["/usr/local/bin", "/usr/bin"];
    for dir in dirs {
        let exact = format!("{dir}/python{}", venv.python);
        if base.has_file(&exact) {
            return Ok(exact);
        }
    }
    let mut found = interpreters(base);
    let made_by = venv.python_full.as_deref().unwrap_or(&venv.python);
    match found.pop() {
        Some(other) => {
            let base_version = version_of(&other);
            Err(Error::usage(format!(
                "the venv {} was made by Python {made_by} but the base image has Python \
                 {base_version} ({other}): its packages in lib/python{}/site-packages would not \
                 be found (ModuleNotFoundError)",
                venv.root.display(),
                venv.python,
            ))
            .with_hint(format!(
                "recreate the venv with Python {base_version} (`uv venv --python {base_version} \
                 && uv sync`, or `python{base_version} -m venv`), or build on a base with Python \
                 {}",
                venv.python
            )))
        }
        None => Err(Error::usage(format!(
            "the base image has no python3 interpreter (looked for python{} in /usr/local/bin and \
             /usr/bin); pick a base with Python",
            venv.python
        ))),
    }
}

/// A console-script launcher, as pip writes them, for `module:object.attr`, run by `python`
/// (both images' launchers: `strata build` writes it into the venv layer, the generated app
/// Dockerfile into the image's venv).
pub(crate) fn launcher(python: &str, target: &str) -> Result<String> {
    let (module, object) = target.split_once(':').ok_or_else(|| {
        Error::usage(format!(
            "[project.scripts] entry {target:?}: expected module:function"
        ))
    })?;
    let (module, object) = (module.trim(), object.trim());
    let import = object.split('.').next().unwrap_or(object);
    Ok(format!(
        "#!{python}\nimport sys\nfrom {module} import {import}\n\nif __name__ == \"__main__\":\n    sys.exit({object}())\n"
    ))
}

/// Writes the venv layer's files (pyvenv.cfg, interpreter links, launchers) under `staging`,
/// in a directory named by their content, created atomically; returns it.
fn write_venv_shell(
    staging: &Path,
    (xy, version): (&str, &str),
    python: &str,
    scripts: &BTreeMap<String, String>,
    extra: &[(String, String)],
) -> Result<PathBuf> {
    let home = Path::new(python)
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "/usr/bin".into());
    let cfg = format!("home = {home}\ninclude-system-site-packages = false\nversion = {version}\n");
    let mut files: Vec<(String, String)> = vec![("pyvenv.cfg".into(), cfg)];
    files.extend(extra.iter().cloned());
    for (name, target) in scripts {
        files.push((
            format!("bin/{name}"),
            launcher(&format!("{VENV_DIR}/bin/python"), target)?,
        ));
    }
    let links = [
        ("bin/python", python.to_string()),
        ("bin/python3", "python".to_string()),
        (&*format!("bin/python{xy}"), "python".to_string()),
    ]
    .map(|(p, t)| (p.to_string(), t));
    let key = crate::layer::digest::Digest::sha256_of(format!("{files:?}{links:?}").as_bytes());
    let dir = staging.join(format!("python-venv-{}", &key.hex()[..16]));
    if dir.is_dir() {
        return Ok(dir);
    }
    fs::create_dir_all(staging).map_err(|e| Error::io(staging.display(), e))?;
    let (tmp, ()) = TempPath::create(temp::beside(&dir), |t| fs::create_dir_all(t.join("bin")))
        .map_err(|e| Error::io(dir.display(), e))?;
    for (rel, text) in &files {
        let path = tmp.path().join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io(parent.display(), e))?;
        }
        fs::write(&path, text).map_err(|e| Error::io(path.display(), e))?;
        if rel.starts_with("bin/") {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
                .map_err(|e| Error::io(path.display(), e))?;
        }
    }
    for (rel, target) in &links {
        let path = tmp.path().join(rel);
        std::os::unix::fs::symlink(target, &path).map_err(|e| Error::io(path.display(), e))?;
    }
    match tmp.persist(&dir) {
        Ok(()) => Ok(dir),
        // Another build made the same directory first: same content, keep theirs (ours is
        // removed with the temp path).
        Err(_) if dir.is_dir() => Ok(dir),
        Err(failed) => Err(Error::io(dir.display(), failed.error)),
    }
}

/// The command the image runs: the project's console script (the one named like the project,
/// else the only one), else `python -m PACKAGE` for a package with `__main__.py`, else
/// `python main.py` / `app.py`.
fn default_entrypoint(root: &Path, project: &Project) -> Result<Vec<String>> {
    let python = format!("{VENV_DIR}/bin/python");
    let scripts = &project.scripts;
    let own = project.name.as_deref().and_then(|n| {
        scripts
            .keys()
            .find(|s| normalize_name(s) == normalize_name(n))
    });
    if let Some(name) = own.or(if scripts.len() == 1 {
        scripts.keys().next()
    } else {
        None
    }) {
        return Ok(vec![format!("{VENV_DIR}/bin/{name}")]);
    }
    if !scripts.is_empty() {
        return Err(Error::usage(format!(
            "[project.scripts] has several entries ({}); pick one with --entrypoint",
            scripts.keys().cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    for dir in [root.join("src"), root.to_path_buf()] {
        let mut packages: Vec<String> = fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .filter_map(|d| d.ok())
            .filter(|d| d.path().join("__main__.py").is_file())
            .map(|d| d.file_name().to_string_lossy().into_owned())
            .collect();
        packages.sort();
        if let Some(p) = packages.first() {
            return Ok(vec![python, "-m".into(), p.clone()]);
        }
    }
    for main in ["main.py", "app.py", "__main__.py"] {
        if root.join(main).is_file() {
            return Ok(vec![python, format!("{APP_DIR}/{main}")]);
        }
    }
    Err(Error::usage(
        "cannot tell how to start the app: add [project.scripts] to pyproject.toml, a package \
         with __main__.py, or main.py, or pass --entrypoint",
    ))
}

/// Where the project's code is imported from in the image (its `PYTHONPATH`): `/app/src` for a
/// src layout, else `/app`. The project is not installed: its code runs from there.
pub(crate) fn code_path(root: &Path) -> String {
    if root.join("src").is_dir() {
        format!("{APP_DIR}/src")
    } else {
        APP_DIR.to_string()
    }
}

/// The dependency layers of a venv on the host: its site-packages without the project's own
/// package, split per distribution as asked. Returns them, the base's interpreter, the venv's
/// `X.Y` and full version, and a note.
fn venv_layers(
    root: &Path,
    spec: &PythonPreset,
    project: &Project,
    base: &BaseInfo,
) -> Result<DepsLayers> {
    let venv = Venv::read(&find_venv(root, spec)?)?;
    let python = base_python(&base.fs, &venv)?;
    let own: BTreeSet<String> = project
        .name
        .as_deref()
        .and_then(|n| venv.distribution(n))
        .map(|d| d.top_level.clone())
        .unwrap_or_default();
    let deps: Vec<&Distribution> = venv
        .distributions
        .iter()
        .filter(|d| Some(d.name.as_str()) != project.name.as_deref().map(normalize_name).as_deref())
        .collect();
    let sp_to = format!("{VENV_DIR}/lib/python{}/site-packages", venv.python);
    let sp_from = venv.site_packages.display().to_string();
    let layers = split_layers(&deps, spec.deps_layers, &sp_from, &sp_to, &own);
    let note = format!(
        "python preset: venv {} (python {}), {} distributions in {} dependency layer(s)",
        venv.root.display(),
        venv.python,
        deps.len(),
        layers.len()
    );
    let full = venv
        .python_full
        .clone()
        .unwrap_or_else(|| venv.python.clone());
    Ok(DepsLayers {
        layers,
        python,
        xy: venv.python.clone(),
        full,
        scripts: BTreeMap::new(),
        files: Vec::new(),
        note,
        exclude: vec![venv
            .root
            .strip_prefix(root)
            .ok()
            .map(|r| r.display().to_string())]
        .into_iter()
        .flatten()
        .collect(),
    })
}

/// What the dependency source (a venv or the lockfile) gives the rest of the plan.
pub(crate) struct DepsLayers {
    /// The site-packages layers.
    pub layers: Vec<LayerSpec>,
    /// The base's interpreter `bin/python` points at.
    pub python: String,
    /// Its `X.Y`.
    pub xy: String,
    /// The version `pyvenv.cfg` gives.
    pub full: String,
    /// Launchers of the dependencies' console scripts (name → `module:object`).
    pub scripts: BTreeMap<String, String>,
    /// More files of the venv layer (path in the venv → text), e.g. a `.pth`.
    pub files: Vec<(String, String)>,
    /// The line for stderr.
    pub note: String,
    /// Project paths the app layer leaves out (the venv).
    pub exclude: Vec<String>,
}

/// The site-packages `sp_from` split into `count` layers at `sp_to` (the largest distributions
/// of `deps` in their own, the rest together, `own` and bytecode left out).
pub(crate) fn split_layers(
    deps: &[&Distribution],
    count: Option<usize>,
    sp_from: &str,
    sp_to: &str,
    own: &BTreeSet<String>,
) -> Vec<LayerSpec> {
    let split_layers = split(deps, count.unwrap_or(1).max(1));
    let taken: BTreeSet<String> = split_layers
        .iter()
        .flat_map(|(_, names)| names.iter().cloned())
        .collect();
    let mut layers = Vec::new();
    for (name, include) in split_layers {
        let mut exclude: Vec<String> = BYTECODE.iter().map(|s| s.to_string()).collect();
        if include.is_empty() {
            exclude.extend(taken.iter().chain(own).cloned());
        }
        layers.push(site_layer(name, sp_from, sp_to, include, exclude));
    }
    layers
}

/// A dependency layer of site-packages: `include` (all when empty) minus `exclude`.
pub(crate) fn site_layer(
    name: String,
    sp_from: &str,
    sp_to: &str,
    include: BTreeSet<String>,
    exclude: Vec<String>,
) -> LayerSpec {
    LayerSpec {
        name,
        from: vec![sp_from.to_string()],
        to: sp_to.to_string(),
        exclude,
        include: include.into_iter().collect(),
        owner: None,
        dependencies: true,
    }
}

/// Whether the dependencies come from the lockfile (installed for the base's platform) rather
/// than a venv on the host: always when the project has a lockfile (it says what the image holds;
/// a host venv may be of another Python or platform), unless a venv is named (`--venv`, `venv =`)
/// and no lockfile is (`--lockfile`, `--from-lock`).
fn uses_lockfile(root: &Path, spec: &PythonPreset) -> Result<bool> {
    if spec.lockfile.is_some() || spec.from_lock == Some(true) {
        return Ok(true);
    }
    if spec.venv.is_some() {
        return Ok(false);
    }
    Ok(spec.installer.is_some() || crate::python::find_lockfile(root)?.is_some())
}

/// Plans the Python layers of the project at `root` and fills the image settings it leaves
/// unset (entrypoint, environment, workdir, user).
fn plan(
    root: &Path,
    spec: &PythonPreset,
    image: &mut ImageSpec,
    ctx: &PlanContext,
) -> Result<Planned> {
    let base = ctx.info;
    if image.base.is_none() {
        return Err(Error::usage(
            "the Python preset needs a base image with Python: pass --base IMAGE or set [image] base",
        ));
    }
    let project = read_pyproject(root)?;
    let deps = if uses_lockfile(root, spec)? {
        super::lock_layers::plan(root, spec, &project.name, ctx)?
    } else {
        venv_layers(root, spec, &project, base)?
    };
    let mut layers = deps.layers;
    let mut scripts = deps.scripts;
    scripts.extend(project.scripts.clone());
    let shell = write_venv_shell(
        ctx.staging,
        (&deps.xy, &deps.full),
        &deps.python,
        &scripts,
        &deps.files,
    )?;
    layers.push(LayerSpec {
        name: "venv".into(),
        from: vec![shell.display().to_string()],
        to: VENV_DIR.into(),
        exclude: Vec::new(),
        include: Vec::new(),
        owner: None,
        dependencies: true,
    });
    let mut app_exclude: Vec<String> = NOT_CODE.iter().map(|s| s.to_string()).collect();
    app_exclude.extend(deps.exclude);
    layers.push(LayerSpec {
        name: "app".into(),
        from: vec![".".into()],
        to: APP_DIR.into(),
        exclude: app_exclude,
        include: Vec::new(),
        owner: None,
        dependencies: false,
    });
    if image.entrypoint.is_none() {
        image.entrypoint = Some(default_entrypoint(root, &project)?);
    }
    let path = format!("{VENV_DIR}/bin:{}", base.path_env());
    for (k, v) in [
        ("VIRTUAL_ENV", VENV_DIR.to_string()),
        ("PATH", path),
        ("PYTHONPATH", code_path(root)),
        ("PYTHONDONTWRITEBYTECODE", "1".into()),
        ("PYTHONUNBUFFERED", "1".into()),
    ] {
        image.env.entry(k.to_string()).or_insert(v);
    }
    image.workdir.get_or_insert_with(|| APP_DIR.to_string());
    if image.user.is_none() {
        image.user = Some(base.default_user());
    }
    Ok(Planned {
        layers,
        notes: vec![deps.note],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launchers_import_the_object_and_call_it() {
        let l = launcher("/app/.venv/bin/python", "app.cli:main").unwrap();
        assert!(l.starts_with("#!/app/.venv/bin/python\n"), "{l}");
        assert!(l.contains("from app.cli import main\n"), "{l}");
        assert!(l.contains("sys.exit(main())"), "{l}");
        let l = launcher("/app/.venv/bin/python", "app:cli.run").unwrap();
        assert!(
            l.contains("from app import cli\n") && l.contains("sys.exit(cli.run())"),
            "{l}"
        );
        assert!(launcher("/app/.venv/bin/python", "nocolon").is_err());
    }

    #[test]
    fn entrypoint_prefers_the_project_script_then_main_modules() {
        let dir = tempfile::tempdir().unwrap();
        let mut project = Project {
            name: Some("My_App".into()),
            scripts: BTreeMap::from([
                ("my-app".into(), "app:main".into()),
                ("other".into(), "app:other".into()),
            ]),
        };
        assert_eq!(
            default_entrypoint(dir.path(), &project).unwrap(),
            ["/app/.venv/bin/my-app"]
        );
        project.name = Some("else".into());
        assert!(default_entrypoint(dir.path(), &project).is_err());
        project.scripts.clear();
        fs::create_dir_all(dir.path().join("src/pkg")).unwrap();
        fs::write(dir.path().join("src/pkg/__main__.py"), "").unwrap();
        assert_eq!(
            default_entrypoint(dir.path(), &project).unwrap(),
            ["/app/.venv/bin/python", "-m", "pkg"]
        );
    }

    #[test]
    fn base_python_matches_the_venv_or_refuses_naming_both() {
        use crate::rootfs::base_fs::tests::{debian, file, stacked};
        let venv = Venv {
            root: PathBuf::from(".venv"),
            site_packages: PathBuf::new(),
            python: "3.12".into(),
            python_full: Some("3.12.1".into()),
            distributions: Vec::new(),
        };
        let fs = stacked(&[&[file("usr/local/bin/python3.12")]]);
        assert_eq!(
            base_python(&fs, &venv).unwrap(),
            "/usr/local/bin/python3.12"
        );
        let e = base_python(&stacked(&[&debian()]), &venv).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::ExitCode::BadInput);
        let shown = format!("{e} {}", e.hint().unwrap_or_default());
        for needle in [
            "Python 3.12.1",
            "Python 3.11",
            "/usr/bin/python3.11",
            "ModuleNotFoundError",
            "uv venv --python 3.11",
        ] {
            assert!(shown.contains(needle), "{needle}: {shown}");
        }
        let e = base_python(&BaseFs::default(), &venv).unwrap_err();
        assert!(e.to_string().contains("no python3"), "{e}");
    }
}
