//! The Python virtualenv part of "will it start". A venv is not relocatable: its `bin/python`
//! links to the interpreter of the machine that made it and its scripts' `#!` lines name the path
//! it was made at, so a venv copied from a host finds neither in the image; and its packages are
//! in `lib/pythonX.Y/site-packages`, which only a Python X.Y looks at, so a venv made by another
//! Python than the one its `bin/python` reaches in the image fails every import with
//! `ModuleNotFoundError`. A venv is a directory with a `pyvenv.cfg`; the X.Y of its packages is
//! the `lib/pythonX.Y` holding a distribution's `METADATA`.

use crate::rootfs::base_fs::BaseFs;

/// Whether the startup check keeps the file `path` (an entry path, no leading `/`): a venv's
/// `pyvenv.cfg` and each installed distribution's `METADATA`.
pub(super) fn keeps(path: &str) -> bool {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    name == "pyvenv.cfg"
        || (name == "METADATA" && dir.ends_with(".dist-info") && dir.contains("/site-packages/"))
}

/// The venv the program `path` (absolute) is in: `VENV` for `VENV/bin/NAME` when the image has
/// `VENV/pyvenv.cfg`.
pub(super) fn venv_of(fs: &BaseFs, path: &str) -> Option<String> {
    let (bin, _) = path.rsplit_once('/')?;
    let venv = bin.strip_suffix("/bin")?;
    fs.has_file(&format!("{venv}/pyvenv.cfg"))
        .then(|| venv.to_string())
}

/// The fix for a program of the venv `venv` that needs `missing`, which is not in the image: the
/// venv was made on another machine.
pub(super) fn made_elsewhere_fix(venv: &str, missing: &str) -> String {
    format!(
        "the virtualenv {venv} was made on another machine and is not relocatable: its bin/python \
         and its scripts' #! lines point at that machine's paths ({missing}); create the venv in \
         the image (the Dockerfiles of `strata dockerfile` do) or let `strata build` package it \
         onto the base's Python, and keep .venv out of the build context (.dockerignore)"
    )
}

/// `X.Y` of an interpreter file named `pythonX.Y` (`/usr/bin/python3.11` → `3.11`).
fn interpreter_version(path: &str) -> Option<&str> {
    let version = path.rsplit('/').next()?.strip_prefix("python")?;
    let (major, minor) = version.split_once('.')?;
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (numeric(major) && numeric(minor)).then_some(version)
}

/// What is wrong when the venv `venv`'s interpreter `python` runs the image's file `real` (the
/// path it resolves to): the message and the fix when `real` is a Python X.Y and the venv's
/// packages are in `lib/pythonA.B` only, for another A.B.
pub(super) fn version_mismatch(
    fs: &BaseFs,
    venv: &str,
    python: &str,
    real: &str,
) -> Option<(String, String)> {
    let runs = interpreter_version(real)?;
    let libs: Vec<String> = fs
        .list(&format!("{venv}/lib"))
        .into_iter()
        .filter_map(|n| n.strip_prefix("python").map(str::to_string))
        .collect();
    if libs.is_empty() || libs.iter().any(|v| v == runs) {
        return None;
    }
    let made_by = libs.join(", ");
    let message = format!(
        "{python} runs /{real} (Python {runs}), but the venv {venv} has its packages in \
         lib/python{}/site-packages (made by Python {made_by}): importing them fails with \
         ModuleNotFoundError",
        libs[0]
    );
    let fix = format!(
        "recreate the venv with the image's Python {runs} (`uv venv --python {runs} && uv sync`, \
         or build it in the image with `strata dockerfile`), or use a base with Python {made_by}"
    );
    Some((message, fix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rootfs::base_fs::tests::{file, link, stacked};

    #[test]
    fn pyvenv_cfg_and_distribution_metadata_are_kept() {
        assert!(keeps("app/.venv/pyvenv.cfg"));
        assert!(keeps(
            "app/.venv/lib/python3.12/site-packages/six-1.17.0.dist-info/METADATA"
        ));
        assert!(!keeps("app/.venv/lib/python3.12/site-packages/six.py"));
        assert!(!keeps("app/docs/METADATA"));
    }

    #[test]
    fn a_venv_of_another_python_is_named_with_both_versions() {
        let fs = stacked(&[&[
            file("usr/bin/python3.11"),
            link("usr/bin/python3", "python3.11"),
            file("app/.venv/pyvenv.cfg"),
            link("app/.venv/bin/python", "/usr/bin/python3"),
            file("app/.venv/lib/python3.12/site-packages/six-1.17.0.dist-info/METADATA"),
        ]]);
        assert_eq!(
            venv_of(&fs, "/app/.venv/bin/python").as_deref(),
            Some("/app/.venv")
        );
        assert_eq!(venv_of(&fs, "/usr/bin/python3"), None);
        let (message, fix) = version_mismatch(
            &fs,
            "/app/.venv",
            "/app/.venv/bin/python",
            "usr/bin/python3.11",
        )
        .expect("a mismatch");
        assert!(
            message.contains("Python 3.11") && message.contains("lib/python3.12"),
            "{message}"
        );
        assert!(
            fix.contains("Python 3.11") && fix.contains("Python 3.12"),
            "{fix}"
        );
        let same = stacked(&[&[
            file("app/.venv/pyvenv.cfg"),
            file("app/.venv/lib/python3.11/site-packages/six-1.17.0.dist-info/METADATA"),
        ]]);
        assert_eq!(
            version_mismatch(
                &same,
                "/app/.venv",
                "/app/.venv/bin/python",
                "usr/bin/python3.11"
            ),
            None
        );
        assert_eq!(
            version_mismatch(
                &fs,
                "/app/.venv",
                "/app/.venv/bin/python",
                "usr/bin/python3"
            ),
            None,
            "an interpreter without X.Y in its name is not judged"
        );
    }
}
