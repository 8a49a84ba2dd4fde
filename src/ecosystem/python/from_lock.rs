//! The dependency tree of an image, installed from the project's lockfile by uv for the base's
//! platform (`--python-platform`, `--python-version`, wheels only, no dependency resolution
//! beyond the lock, hashes enforced when the lock has them) into a target directory that becomes
//! the venv's site-packages. Nothing of the host's Python is used, so a macOS laptop or an amd64
//! runner builds arm64 images. Each install is kept in the layer cache's staging area under a
//! key of (resolved set, platform, Python X.Y, installer version): a rebuild runs nothing.

use std::fs;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::ecosystem::python::installer::Installer;
use crate::ecosystem::python::sdist_build::{requirements, Requirement, SdistBuilder};
use crate::ecosystem::python::target::Target;
use crate::error::{printable, Error, Result};
use crate::layer::digest::Digest;
use crate::python::pep508::normalize_name;
use crate::python::{read_lockfile, Format, LockedSet};
use crate::temp::{self, TempPath};

/// PyPI's simple index, what uv uses when nothing names another.
const PYPI: &str = "https://pypi.org/simple";

/// A lockfile reduced to what uv installs: pinned requirements, one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The lockfile it came from.
    pub lockfile: PathBuf,
    /// The requirements text (`name==version ; marker --hash=sha256:…`).
    pub requirements: String,
    /// Whether every requirement carries a hash (then `--require-hashes`).
    pub hashed: bool,
}

/// One requirement line of a locked package.
fn requirement_line(p: &crate::python::LockedPackage) -> String {
    let mut line = format!("{}=={}", p.name, p.version);
    if let Some(marker) = &p.marker {
        line.push_str(&format!(" ; {marker}"));
    }
    for hash in &p.hashes {
        line.push_str(&format!(" --hash={hash}"));
    }
    line
}

/// The requirements of a set strata parsed (pylock.toml, poetry.lock, requirements*.txt): every
/// package must be pinned to a version from the default index.
fn from_set(set: &LockedSet) -> Result<Resolved> {
    let unpinned: Vec<String> = set.unpinned().iter().map(|p| p.name.clone()).collect();
    if !unpinned.is_empty() {
        return Err(Error::usage(format!(
            "{}: not pinned to one version: {}; pin them (`==`) or lock with uv/pip-compile",
            set.path.display(),
            unpinned.join(", ")
        )));
    }
    if let Some(p) = set.packages.iter().find(|p| p.source.is_some()) {
        return Err(Error::usage(format!(
            "{}: {} comes from {} — installing from anything but the default index is not \
             supported yet; package a venv with --venv",
            set.path.display(),
            p.name,
            p.source.as_deref().unwrap_or_default()
        )));
    }
    let lines: Vec<String> = set.packages.iter().map(requirement_line).collect();
    Ok(Resolved {
        lockfile: set.path.clone(),
        hashed: set.packages.iter().all(|p| !p.hashes.is_empty()),
        requirements: lines.join("\n") + "\n",
    })
}

/// `uv.lock` exported by uv itself (frozen: the lock is not re-resolved), without the project,
/// its workspace members and dev dependencies.
fn from_uv_lock(root: &Path, lockfile: &Path, installer: &Installer) -> Result<Resolved> {
    let out = Command::new(&installer.path)
        .args([
            "export",
            "--frozen",
            "--format",
            "requirements-txt",
            "--no-emit-project",
            "--no-emit-workspace",
            "--no-dev",
            "--no-header",
            "--quiet",
        ])
        .current_dir(root)
        .env("NO_COLOR", "1")
        .output()
        .map_err(|e| Error::io(installer.path.display(), e))?;
    if !out.status.success() {
        return Err(Error::invalid(format!(
            "{}: `uv export --frozen` failed: {}",
            lockfile.display(),
            first_error(&String::from_utf8_lossy(&out.stderr))
        )));
    }
    let requirements = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = requirements
        .lines()
        .filter(|l| !l.starts_with(char::is_whitespace) && !l.starts_with('#'))
        .filter(|l| !l.trim().is_empty())
        .collect();
    if let Some(local) = lines
        .iter()
        .find(|l| l.starts_with("-e") || l.starts_with('.'))
    {
        return Err(Error::usage(format!(
            "{}: a local dependency ({}) is not supported yet; package a venv with --venv",
            lockfile.display(),
            local.trim()
        )));
    }
    Ok(Resolved {
        lockfile: lockfile.to_path_buf(),
        hashed: !lines.is_empty() && requirements.contains("--hash="),
        requirements,
    })
}

/// The requirements of the project's `lockfile` (any format strata reads).
pub fn resolve(root: &Path, lockfile: &Path, installer: &Installer) -> Result<Resolved> {
    match Format::of(lockfile) {
        Some(Format::Uv) => from_uv_lock(root, lockfile, installer),
        _ => from_set(&read_lockfile(lockfile)?),
    }
}

/// The first `error:`/`cause:` line of uv's stderr, printable characters only.
fn first_error(stderr: &str) -> String {
    let line = stderr
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("error:"))
        .or_else(|| stderr.lines().map(str::trim).find(|l| !l.is_empty()))
        .unwrap_or("no diagnostics");
    printable(line.trim_start_matches("error:").trim())
}

/// The text between the first `open` after `after` and the next `close`, in `stderr`.
fn between<'a>(stderr: &'a str, after: &str, close: char) -> Option<&'a str> {
    let start = stderr.find(after)? + after.len();
    let rest = &stderr[start..];
    Some(rest[..rest.find(close)?].trim())
}

/// The index uv is sent to: `UV_DEFAULT_INDEX`, `UV_INDEX_URL`, `PIP_INDEX_URL`, else PyPI.
pub fn index_url() -> String {
    ["UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| PYPI.to_string())
}

/// What a failed `uv pip install` means, as strata's error: a package with no wheel for the
/// target, a hash the index does not match, an index that cannot be reached (exit 3), or uv's
/// own first error line.
fn install_error(stderr: &str, resolved: &Resolved, target: &Target, platform: &str) -> Error {
    if let Some(spec) = no_wheel(stderr) {
        return Error::usage(format!(
            "{spec} has no wheel for {} ({platform}, python {}): strata installs wheels only",
            target.platform, target.python
        ))
        .with_hint(
            "pin a version that publishes wheels for this platform, or build it from source in a \
             container with --allow-build (the Docker Engine; --builder IMAGE for C code), or \
             package a venv built on the target with --venv",
        );
    }
    if let Some(spec) = between(stderr, "Hash mismatch for `", '`') {
        return Error::invalid(format!(
            "{}: the hash locked for {spec} does not match the file the index serves (was the \
             lockfile edited by hand?); refused",
            resolved.lockfile.display()
        ));
    }
    if stderr.contains("Failed to fetch: ") {
        return index_error(stderr);
    }
    Error::invalid(format!(
        "uv pip install for {}: {}",
        target.platform,
        first_error(stderr)
    ))
}

/// A package index uv could not reach (`Failed to fetch: URL` in its `stderr`), exit 3 with the
/// URL and uv's reason.
pub(crate) fn index_error(stderr: &str) -> Error {
    Error::Registry(format!(
        "the package index cannot be reached ({}): {}",
        printable(between(stderr, "Failed to fetch: ", '\n').unwrap_or_default()),
        printable(between(stderr, "cause: ", '\n').unwrap_or_default())
    ))
}

/// The environment uv runs with: pip's index, extra index and CA settings carried over when uv's
/// own are unset (a machine configured for pip's mirror uses it for uv too).
fn pip_settings() -> Vec<(&'static str, String)> {
    let unset = |k: &str| std::env::var_os(k).is_none_or(|v| v.is_empty());
    let mut env = vec![("NO_COLOR", "1".to_string())];
    let mapped = [
        ("PIP_INDEX_URL", "UV_INDEX_URL"),
        ("PIP_EXTRA_INDEX_URL", "UV_EXTRA_INDEX_URL"),
        ("PIP_CERT", "SSL_CERT_FILE"),
    ];
    for (pip, uv) in mapped {
        if let (Ok(v), true) = (std::env::var(pip), unset(uv)) {
            env.push((uv, v));
            if uv == "SSL_CERT_FILE" && unset("UV_NATIVE_TLS") {
                env.push(("UV_NATIVE_TLS", "1".into()));
            }
        }
    }
    env
}

/// What [`install`] made: the directory (its `site-packages` is what the layers take) and the
/// distributions built from source (`--allow-build`).
pub struct Installed {
    /// The install, in the staging area.
    pub dir: PathBuf,
    /// The requirements built in a builder container, by name.
    pub built: Vec<String>,
}

/// Held while uv installs (see [`install`]).
static ONE_INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Where an install records what was built from source (read again on a cache hit).
const BUILT: &str = "built-from-source.txt";

/// The package uv found no wheel for (`Because sgmllib3k==1.0.0 has no usable wheels`).
fn no_wheel(stderr: &str) -> Option<&str> {
    between(stderr, "Because ", ' ')
        .filter(|_| stderr.contains("has no usable wheels") || stderr.contains("has no wheels"))
}

/// Installs `resolved` for `target` with `installer` into a directory of `staging` named by
/// (requirements, platform, Python, installer version, builder), unless it is there already.
/// With `build` (`--allow-build`), each requirement uv finds no wheel for is taken out of the
/// host's install and built from its sdist in a builder container instead.
pub fn install(
    installer: &Installer,
    resolved: &Resolved,
    target: &Target,
    staging: &Path,
    build: Option<&SdistBuilder>,
) -> Result<Installed> {
    let platform = target.uv_platform()?;
    let mut keyed = format!(
        "{}\0{platform}\0{}\0{}",
        resolved.requirements, target.python, installer.version
    );
    if let Some(builder) = build {
        keyed.push('\0');
        keyed.push_str(&builder.key());
    }
    let key = Digest::sha256_of(keyed.as_bytes());
    let dir = staging.join(format!("python-wheels-{}", &key.hex()[..16]));
    let built_in = |dir: &Path| -> Vec<String> {
        fs::read_to_string(dir.join(BUILT))
            .map(|t| t.lines().map(str::to_string).collect())
            .unwrap_or_default()
    };
    if dir.is_dir() {
        return Ok(Installed {
            built: built_in(&dir),
            dir,
        });
    }
    fs::create_dir_all(staging).map_err(|e| Error::io(staging.display(), e))?;
    let (tmp, ()) = TempPath::create(temp::beside(&dir), |t| fs::create_dir_all(t))
        .map_err(|e| Error::io(dir.display(), e))?;
    let site = tmp.path().join("site-packages");
    let all = requirements(&resolved.requirements);
    let mut from_source: Vec<&Requirement> = Vec::new();
    // One install at a time, whatever else the platforms' builds overlap: uv's cache is shared,
    // so the wheels several platforms need (every pure one) are downloaded and unpacked once.
    let one_at_a_time = ONE_INSTALL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    loop {
        let wheels: String = all
            .iter()
            .filter(|r| !from_source.contains(r))
            .map(|r| r.text.as_str())
            .collect();
        if wheels.trim().is_empty() {
            break;
        }
        let out = run_uv(
            installer,
            &wheels,
            resolved.hashed,
            target,
            &platform,
            tmp.path(),
        )?;
        if out.status.success() {
            break;
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let sdist = no_wheel(&stderr).and_then(|spec| {
            let name = normalize_name(spec.split("==").next().unwrap_or(spec));
            all.iter()
                .find(|r| r.name == name && !from_source.contains(r))
        });
        match (build, sdist) {
            (Some(_), Some(requirement)) => from_source.push(requirement),
            _ => return Err(install_error(&stderr, resolved, target, &platform)),
        }
    }
    drop(one_at_a_time);
    let names: Vec<String> = from_source
        .iter()
        .map(|r| {
            r.text
                .split([' ', ';', '\\', '\n'])
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    if let (Some(builder), false) = (build, from_source.is_empty()) {
        if std::io::stderr().is_terminal() {
            eprintln!(
                "strata: building {} from source for {} in a container",
                names.join(", "),
                target.platform
            );
        }
        let text: String = from_source.iter().map(|r| r.text.as_str()).collect();
        builder.build(&text, resolved.hashed, &names, target, &site)?;
        let listed = names.join("\n") + "\n";
        fs::write(tmp.path().join(BUILT), listed).map_err(|e| Error::io(dir.display(), e))?;
    }
    match tmp.persist(&dir) {
        Ok(()) => {}
        // Another build installed the same set first: same content, keep theirs.
        Err(_) if dir.is_dir() => {}
        Err(failed) => return Err(Error::io(dir.display(), failed.error)),
    }
    Ok(Installed {
        built: built_in(&dir),
        dir,
    })
}

/// `uv pip install` of `requirements` (wheels only, no dependencies) for `target` into
/// `work/site-packages`; its output.
fn run_uv(
    installer: &Installer,
    requirements: &str,
    hashed: bool,
    target: &Target,
    platform: &str,
    work: &Path,
) -> Result<std::process::Output> {
    let file = work.join(".requirements.txt");
    fs::write(&file, requirements).map_err(|e| Error::io(file.display(), e))?;
    let mut command = Command::new(&installer.path);
    command
        .args(["pip", "install", "--quiet", "--target"])
        .arg(work.join("site-packages"))
        .args(["--python-platform", platform])
        .args(["--python-version", &target.python])
        .args(["--only-binary", ":all:", "--no-deps", "--link-mode", "copy"])
        .arg("-r")
        .arg(&file)
        .envs(pip_settings());
    if hashed {
        command.arg("--require-hashes");
    }
    let out = command
        .output()
        .map_err(|e| Error::io(installer.path.display(), e))?;
    fs::remove_file(&file).map_err(|e| Error::io(file.display(), e))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::elf::GlibcVersion;
    use crate::rootfs::libc::Libc;
    use crate::source::platform::Platform;

    fn target() -> Target {
        Target {
            platform: Platform::parse("linux/arm64").unwrap(),
            python: "3.11".into(),
            interpreter: "/usr/bin/python3.11".into(),
            libc: Libc::Glibc(GlibcVersion([2, 36, 0])),
        }
    }

    fn resolved() -> Resolved {
        Resolved {
            lockfile: PathBuf::from("uv.lock"),
            requirements: String::new(),
            hashed: true,
        }
    }

    #[test]
    fn uv_failures_become_errors_that_name_the_package_or_the_index() {
        let t = target();
        let sdist = "error: No solution found when resolving dependencies\n  cause: Because \
                     sgmllib3k==1.0.0 has no usable wheels and you require sgmllib3k==1.0.0, we \
                     can conclude that your requirements are unsatisfiable.\n";
        let e = install_error(sdist, &resolved(), &t, "aarch64-manylinux_2_36");
        let shown = format!("{e} {}", e.hint().unwrap_or_default());
        for needle in [
            "sgmllib3k==1.0.0",
            "linux/arm64",
            "--allow-build",
            "pin a version",
        ] {
            assert!(shown.contains(needle), "{needle}: {shown}");
        }
        let hash =
            "error: Failed to download `idna==3.10`\n  cause: Hash mismatch for `idna==3.10`\n";
        let e = install_error(hash, &resolved(), &t, "p");
        assert!(e.to_string().contains("idna==3.10"), "{e}");
        assert!(e.to_string().contains("edited by hand"), "{e}");
        let net = "error: Request failed after 3 retries\n  cause: Failed to fetch: \
                   http://127.0.0.1:9/simple/six/\n  cause: error sending request\n";
        let e = install_error(net, &resolved(), &t, "p");
        assert_eq!(e.exit_code(), crate::error::ExitCode::Registry);
        assert!(
            e.to_string().contains("http://127.0.0.1:9/simple/six/"),
            "{e}"
        );
    }

    #[test]
    fn locked_rows_become_pinned_hashed_requirement_lines() {
        let p = crate::python::LockedPackage {
            name: "numpy".into(),
            version: "2.2.6".into(),
            pinned: true,
            extras: Vec::new(),
            marker: Some("python_version >= \"3.10\"".into()),
            hashes: vec!["sha256:ab".into(), "sha256:cd".into()],
            source: None,
        };
        assert_eq!(
            requirement_line(&p),
            "numpy==2.2.6 ; python_version >= \"3.10\" --hash=sha256:ab --hash=sha256:cd"
        );
        let mut loose = p.clone();
        loose.pinned = false;
        loose.name = "six".into();
        let set = LockedSet::new(
            Format::Requirements,
            PathBuf::from("requirements.txt"),
            vec![p, loose],
            Vec::new(),
        );
        let e = from_set(&set).unwrap_err();
        assert!(
            e.to_string().contains("not pinned to one version: six"),
            "{e}"
        );
    }
}
