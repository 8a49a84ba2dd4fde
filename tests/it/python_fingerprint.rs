//! `strata fingerprint` on Python projects, through the binary: for each lockfile format
//! (uv.lock, requirements.txt with an include and hashes, poetry.lock, pylock.toml) the same
//! matrix — reordering, comments and a bump of the project's own version keep the fingerprint; a
//! pin change, an added package, a marker change, another interpreter or platform change it. Plus
//! one real resolution exported by uv in three formats, detection, and errors.


use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use crate::support::strata_in;

/// One edit of the test project's lock.
#[derive(Clone, Copy)]
struct Variant {
    reordered: bool,
    comments: bool,
    project_version: &'static str,
    idna: &'static str,
    added: bool,
    marker: &'static str,
}

const BASE: Variant = Variant {
    reordered: false,
    comments: false,
    project_version: "0.3.0",
    idna: "3.7",
    added: false,
    marker: "sys_platform == 'win32'",
};

/// A locked distribution of the test project.
struct Pkg {
    name: &'static str,
    version: &'static str,
    marker: Option<&'static str>,
    deps: &'static [&'static str],
    direct: bool,
}

impl Pkg {
    fn wheel(&self) -> String {
        format!("{}-{}-py3-none-any.whl", self.name, self.version)
    }
    fn sdist(&self) -> String {
        format!("{}-{}.tar.gz", self.name, self.version)
    }
    fn url(file: &str) -> String {
        format!(
            "https://files.pythonhosted.org/packages/{}/{file}",
            &sha(file)[..8]
        )
    }
}

fn sha(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The resolution every format locks: requests[socks]-free, colorama only on one platform.
fn resolution(v: &Variant) -> Vec<Pkg> {
    let mut packages = vec![
        Pkg {
            name: "certifi",
            version: "2024.8.30",
            marker: None,
            deps: &[],
            direct: false,
        },
        Pkg {
            name: "colorama",
            version: "0.4.6",
            marker: Some(v.marker),
            deps: &[],
            direct: true,
        },
        Pkg {
            name: "idna",
            version: v.idna,
            marker: None,
            deps: &[],
            direct: false,
        },
        Pkg {
            name: "requests",
            version: "2.32.3",
            marker: None,
            deps: &["certifi", "idna", "urllib3"],
            direct: true,
        },
        Pkg {
            name: "urllib3",
            version: "2.2.3",
            marker: None,
            deps: &[],
            direct: false,
        },
    ];
    if v.added {
        packages.push(Pkg {
            name: "six",
            version: "1.16.0",
            marker: None,
            deps: &[],
            direct: true,
        });
    }
    if v.reordered {
        packages.reverse();
    }
    packages
}

fn comment(v: &Variant, text: &str) -> String {
    if v.comments {
        format!("# {text}\n")
    } else {
        String::new()
    }
}

fn pyproject(v: &Variant) -> (&'static str, String) {
    let mut deps: Vec<String> = resolution(v)
        .iter()
        .filter(|p| p.direct)
        .map(|p| match p.marker {
            Some(m) => format!("\"{}=={}; {m}\"", p.name, p.version),
            None => format!("\"{}=={}\"", p.name, p.version),
        })
        .collect();
    deps.sort();
    (
        "pyproject.toml",
        format!(
            "[project]\nname = \"My_App\"\nversion = \"{}\"\nrequires-python = \">=3.11\"\ndependencies = [{}]\n\n\
             [tool.poetry]\nname = \"My_App\"\nversion = \"{}\"\n",
            v.project_version,
            deps.join(", "),
            v.project_version
        ),
    )
}

fn uv_lock(v: &Variant) -> Vec<(&'static str, String)> {
    let packages = resolution(v);
    let edge = |p: &Pkg| match p.marker {
        Some(m) => format!("    {{ name = \"{}\", marker = \"{m}\" }},\n", p.name),
        None => format!("    {{ name = \"{}\" }},\n", p.name),
    };
    let mut blocks = vec![format!(
        "{}[[package]]\nname = \"my-app\"\nversion = \"{}\"\nsource = {{ editable = \".\" }}\ndependencies = [\n{}]\n\n\
         [package.metadata]\nrequires-dist = [\n{}]\n",
        comment(v, "the project"),
        v.project_version,
        packages.iter().filter(|p| p.direct).map(edge).collect::<String>(),
        packages
            .iter()
            .filter(|p| p.direct)
            .map(|p| format!("    {{ name = \"{}\", specifier = \"=={}\" }},\n", p.name, p.version))
            .collect::<String>(),
    )];
    for p in &packages {
        let deps = if p.deps.is_empty() {
            String::new()
        } else {
            let edges: String = p
                .deps
                .iter()
                .map(|d| format!("    {{ name = \"{d}\" }},\n"))
                .collect();
            format!("dependencies = [\n{edges}]\n")
        };
        blocks.push(format!(
            "{}[[package]]\nname = \"{}\"\nversion = \"{}\"\nsource = {{ registry = \"https://pypi.org/simple\" }}\n{deps}\
             sdist = {{ url = \"{}\", hash = \"sha256:{}\", size = 131000 }}\n\
             wheels = [\n    {{ url = \"{}\", hash = \"sha256:{}\", size = 64000 }},\n]\n",
            comment(v, p.name),
            p.name,
            p.version,
            Pkg::url(&p.sdist()),
            sha(&p.sdist()),
            Pkg::url(&p.wheel()),
            sha(&p.wheel()),
        ));
    }
    if v.reordered {
        blocks.reverse();
    }
    vec![
        pyproject(v),
        (
            "uv.lock",
            format!(
                "version = 1\nrevision = 2\nrequires-python = \">=3.11\"\n\n{}",
                blocks.join("\n")
            ),
        ),
    ]
}

/// `requirements.txt` (the direct dependencies, `-e .`) including `requirements/base.txt` (the
/// rest), both with hashes, as pip-compile writes them.
fn requirements(v: &Variant) -> Vec<(&'static str, String)> {
    let entry = |p: &Pkg| {
        let marker = p.marker.map(|m| format!(" ; {m}")).unwrap_or_default();
        format!(
            "{}=={}{marker} \\\n    --hash=sha256:{} \\\n    --hash=sha256:{}\n{}",
            p.name,
            p.version,
            sha(&p.wheel()),
            sha(&p.sdist()),
            if v.comments { "    # via my-app\n" } else { "" }
        )
    };
    let packages = resolution(v);
    let mut top: Vec<String> = vec![
        "--index-url https://pypi.org/simple\n".into(),
        "-r requirements/base.txt\n".into(),
        "-e .\n".into(),
    ];
    top.extend(packages.iter().filter(|p| p.direct).map(entry));
    let base: Vec<String> = packages.iter().filter(|p| !p.direct).map(entry).collect();
    let header = comment(
        v,
        "This file is autogenerated by pip-compile with Python 3.11",
    );
    vec![
        pyproject(v),
        ("requirements.txt", format!("{header}{}", top.concat())),
        (
            "requirements/base.txt",
            format!("{header}{}", base.concat()),
        ),
    ]
}

fn poetry_lock(v: &Variant) -> Vec<(&'static str, String)> {
    let mut text = comment(
        v,
        "This file is automatically @generated by Poetry 2.1.1 and should not be changed by hand.",
    );
    for p in resolution(v) {
        let markers = p
            .marker
            .map(|m| format!("markers = \"{}\"\n", m.replace('\'', "\\\"")))
            .unwrap_or_default();
        text.push_str(&format!(
            "\n[[package]]\nname = \"{}\"\nversion = \"{}\"\ndescription = \"\"\noptional = false\n\
             python-versions = \">=3.8\"\ngroups = [\"main\"]\n{markers}files = [\n    \
             {{file = \"{}\", hash = \"sha256:{}\"}},\n    {{file = \"{}\", hash = \"sha256:{}\"}},\n]\n",
            p.name,
            p.version,
            p.wheel(),
            sha(&p.wheel()),
            p.sdist(),
            sha(&p.sdist()),
        ));
        if !p.deps.is_empty() {
            text.push_str("\n[package.dependencies]\n");
            for d in p.deps {
                text.push_str(&format!("{d} = \">=1\"\n"));
            }
        }
    }
    text.push_str(
        "\n[metadata]\nlock-version = \"2.1\"\npython-versions = \"^3.11\"\ncontent-hash = \"9f2c\"\n",
    );
    vec![pyproject(v), ("poetry.lock", text)]
}

fn pylock(v: &Variant) -> Vec<(&'static str, String)> {
    let mut text = format!(
        "{}lock-version = \"1.0\"\ncreated-by = \"uv\"\nrequires-python = \">=3.11\"\n\n\
         [[packages]]\nname = \"my-app\"\ndirectory = {{ path = \".\", editable = true }}\n",
        comment(
            v,
            "This file was autogenerated by uv via the following command:"
        )
    );
    for p in resolution(v) {
        let marker = p
            .marker
            .map(|m| format!("marker = \"{m}\"\n"))
            .unwrap_or_default();
        text.push_str(&format!(
            "\n{}[[packages]]\nname = \"{}\"\nversion = \"{}\"\n{marker}index = \"https://pypi.org/simple\"\n\
             sdist = {{ url = \"{}\", upload-time = 2024-08-30T01:55:02Z, size = 131000, hashes = {{ sha256 = \"{}\" }} }}\n\
             wheels = [{{ url = \"{}\", upload-time = 2024-08-30T01:55:04Z, size = 64000, hashes = {{ sha256 = \"{}\" }} }}]\n",
            comment(v, p.name),
            p.name,
            p.version,
            Pkg::url(&p.sdist()),
            sha(&p.sdist()),
            Pkg::url(&p.wheel()),
            sha(&p.wheel()),
        ));
    }
    vec![pyproject(v), ("pylock.toml", text)]
}

fn write_files(dir: &Path, files: &[(&str, String)]) {
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// `strata fingerprint` in a fresh directory holding `files`.
fn fingerprint(files: &[(&str, String)], python: &str, platform: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), files);
    let run = strata_in(
        &["fingerprint", "--python", python, "--platform", platform],
        &[],
        Some(dir.path()),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.is_empty(), "unexpected warnings: {}", run.stderr);
    run.stdout.trim().to_string()
}

fn matrix(render: fn(&Variant) -> Vec<(&'static str, String)>) {
    let of = |v: Variant| fingerprint(&render(&v), "3.11", "linux/amd64");
    let base = of(BASE);
    assert!(
        base.len() == 21
            && base.starts_with("deps-")
            && base[5..].bytes().all(|b| b.is_ascii_hexdigit()),
        "{base}"
    );
    let same = [
        (
            "reordered",
            Variant {
                reordered: true,
                ..BASE
            },
        ),
        (
            "comments",
            Variant {
                comments: true,
                ..BASE
            },
        ),
        (
            "project version bump",
            Variant {
                project_version: "7.0.0",
                ..BASE
            },
        ),
        (
            "all three",
            Variant {
                reordered: true,
                comments: true,
                project_version: "7.0.0",
                ..BASE
            },
        ),
    ];
    for (what, variant) in same {
        assert_eq!(of(variant), base, "{what} must keep the fingerprint");
    }
    let differs = [
        (
            "pin change",
            Variant {
                idna: "3.8",
                ..BASE
            },
        ),
        (
            "added package",
            Variant {
                added: true,
                ..BASE
            },
        ),
        (
            "marker change",
            Variant {
                marker: "sys_platform == 'darwin'",
                ..BASE
            },
        ),
    ];
    for (what, variant) in differs {
        assert_ne!(of(variant), base, "{what} must change the fingerprint");
    }
    let files = render(&BASE);
    assert_ne!(
        fingerprint(&files, "3.12", "linux/amd64"),
        base,
        "interpreter"
    );
    assert_ne!(fingerprint(&files, "3.11", "linux/arm64"), base, "platform");
}

fn uv_lock_matrix() {
    matrix(uv_lock);
}

fn requirements_matrix() {
    matrix(requirements);
}

fn poetry_lock_matrix() {
    matrix(poetry_lock);
}

fn pylock_matrix() {
    matrix(pylock);
}

fn real_export() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/python/uv-export")
}

fn one_real_resolution_reads_the_same_in_every_format_uv_writes() {
    let dir = real_export();
    let mut fingerprints = Vec::new();
    for name in ["uv.lock", "pylock.toml", "requirements.txt"] {
        let lockfile = dir.join(name);
        let set = strata::python::read_lockfile(&lockfile).unwrap();
        assert_eq!(set.names(), ["colorama", "idna", "six"], "{name}");
        let colorama = &set.packages[0];
        assert_eq!(colorama.version, "0.4.6", "{name}");
        assert_eq!(
            colorama.marker.as_deref(),
            Some("sys_platform == \"win32\""),
            "{name}"
        );
        assert_eq!(colorama.hashes.len(), 2, "{name}: sdist and wheel");
        let run = strata_in(
            &[
                "fingerprint",
                "--lockfile",
                lockfile.to_str().unwrap(),
                "--python",
                "3.11",
                "--platform",
                "linux/amd64",
            ],
            &[],
            None,
        );
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        fingerprints.push(run.stdout.trim().to_string());
    }
    assert!(
        fingerprints.iter().all(|f| f == &fingerprints[0]),
        "the same resolution hashes alike whatever the format: {fingerprints:?}"
    );
}

fn detection_order_python_version_file_and_manifest_path() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = uv_lock(&BASE);
    files.extend(requirements(&Variant {
        added: true,
        ..BASE
    }));
    write_files(dir.path(), &files);
    let run_in = |args: &[&str]| {
        let run = strata_in(args, &[], Some(dir.path()));
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        run
    };
    let pinned = ["--platform", "linux/amd64"];
    let uv = run_in(
        &[
            &["fingerprint", "--lockfile", "uv.lock", "--python", "3.11"][..],
            &pinned,
        ]
        .concat(),
    );
    let auto = run_in(&[&["fingerprint", "--python", "3.11"][..], &pinned].concat());
    assert_eq!(auto.stdout, uv.stdout, "uv.lock wins over requirements.txt");
    let reqs = run_in(
        &[
            &[
                "fingerprint",
                "--lockfile",
                "requirements.txt",
                "--python",
                "3.11",
            ][..],
            &pinned,
        ]
        .concat(),
    );
    assert_ne!(reqs.stdout, uv.stdout);

    let unknown = run_in(&[&["fingerprint"][..], &pinned].concat());
    assert!(
        unknown.stderr.contains("does not cover the interpreter"),
        "{}",
        unknown.stderr
    );
    assert_ne!(unknown.stdout, uv.stdout);
    std::fs::write(dir.path().join(".python-version"), "3.11.9\n").unwrap();
    let from_file = run_in(&[&["fingerprint"][..], &pinned].concat());
    assert_eq!(
        from_file.stdout, uv.stdout,
        ".python-version 3.11.9 is cp311"
    );
    assert!(from_file.stderr.is_empty(), "{}", from_file.stderr);

    let parent = dir.path().parent().unwrap();
    let manifest = dir.path().join("pyproject.toml");
    let run = strata_in(
        &[
            &[
                "fingerprint",
                "--manifest-path",
                manifest.to_str().unwrap(),
                "--python",
                "3.11",
            ][..],
            &pinned,
        ]
        .concat(),
        &[],
        Some(parent),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout, uv.stdout,
        "--manifest-path pyproject.toml finds its uv.lock"
    );
}

fn errors_and_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("uv.lock");
    std::fs::write(&lock, "version = 1\n\n[[package]\nname = \"x\"\n").unwrap();
    let run = strata_in(&["fingerprint"], &[], Some(dir.path()));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("uv.lock:3: "), "{}", run.stderr);
    std::fs::remove_file(&lock).unwrap();

    std::fs::write(
        dir.path().join("requirements.txt"),
        "idna==3.7\nrequests>=2.31\n",
    )
    .unwrap();
    let run = strata_in(&["fingerprint", "--python", "3.11"], &[], Some(dir.path()));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("not pinned (requests)"),
        "unpinned requirements are reported: {}",
        run.stderr
    );
    let run = strata_in(&["fingerprint", "--python", "three"], &[], Some(dir.path()));
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("invalid Python version \"three\""),
        "{}",
        run.stderr
    );

    // A Cargo project (no Python file: with one beside Cargo.toml, Python is detected first).
    std::fs::remove_file(dir.path().join("requirements.txt")).unwrap();
    std::fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"x\"\n").unwrap();
    let run = strata_in(&["fingerprint", "--python", "3.11"], &[], Some(dir.path()));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("apply to Python lockfiles only"),
        "{}",
        run.stderr
    );
}

crate::tests![
    uv_lock_matrix,
    requirements_matrix,
    poetry_lock_matrix,
    pylock_matrix,
    one_real_resolution_reads_the_same_in_every_format_uv_writes,
    detection_order_python_version_file_and_manifest_path,
    errors_and_warnings,
];
