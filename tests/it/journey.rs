//! The Python journey, end to end with the Docker Engine: a uv project (real dependencies from
//! PyPI, locked and synced on the host by uv from PyPI) first shipped the naive way — `COPY . /app`
//! with its host `.venv`, on the test-made Debian + Python base — which `docker run` cannot start
//! and `strata report` says why; then `strata dockerfile`, whose files lint clean and build with
//! exactly the commands their headers and Makefile give; a rebuild with no change is the same
//! image, a one-line code change ships less than 100 kB, and `strata check` with the README's
//! gates passes.
//!
//! Beside it, a venv made by another Python than the base's: `strata build` refuses it naming
//! both versions, and `strata report` flags the Docker image that ships it, which Python itself
//! fails with `ModuleNotFoundError`. The venv is laid out as `python3.12 -m venv` lays one out
//! (`pyvenv.cfg`, `bin/python` → the image's `python3`, `lib/python3.12/site-packages` with
//! `six` installed by pip), so the test needs no Python 3.12.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::debian::debian_python_base;
use crate::support::images::{docker_inspect, docker_ready, tool, DockerImages};
use crate::support::uv::{uv_in, UV_VERSION};
use crate::support::{have, read, report_json, require, sh, strata_in, write, Run};

/// What the app prints: its greeting and the versions of its two dependencies.
fn output(greeting: &str) -> String {
    format!("{greeting} six 1.17.0 idna 3.10")
}

/// A uv project named `name` (console script `journey`, package `greet`), for the base's Python.
fn uv_project(dir: &Path, name: &str, python: &str) {
    write(
        dir,
        "pyproject.toml",
        &format!(
            "[project]\nname = \"{name}\"\nversion = \"0.1.0\"\nrequires-python = \">={python}\"\n\
             dependencies = [\"six==1.17.0\", \"idna==3.10\"]\n\n\
             [project.scripts]\njourney = \"greet:main\"\n\n\
             [build-system]\nrequires = [\"setuptools>=61\"]\n\
             build-backend = \"setuptools.build_meta\"\n"
        ),
    );
    write(dir, ".python-version", &format!("{python}\n"));
    write_code(dir, "hello");
}

fn write_code(dir: &Path, greeting: &str) {
    write(
        dir,
        "greet/__init__.py",
        &format!(
            "import idna\nimport six\n\n\ndef main():\n    \
             print(\"{greeting}\", \"six\", six.__version__, \"idna\", idna.__version__)\n"
        ),
    );
}

fn ok(dir: &Path, args: &[&str]) -> Run {
    let run = strata_in(args, &[], Some(dir));
    assert_eq!(run.code, 0, "strata {args:?}: {}{}", run.stdout, run.stderr);
    run
}

/// `docker run --rm ARGS`, whatever its outcome.
fn docker_run(args: &[&str]) -> Output {
    Command::new("docker")
        .arg("run")
        .arg("--rm")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run docker")
}

/// The findings of a JSON report with `rule`, as (path, message, fix).
fn findings(report: &serde_json::Value, rule: &str) -> Vec<(String, String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .map(|f| {
            let text = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (text("path"), text("message"), text("fix"))
        })
        .collect()
}

/// The commands a generated Dockerfile's header gives (its `#   ` lines).
fn header_commands(dockerfile: &str) -> Vec<String> {
    dockerfile
        .lines()
        .take_while(|l| l.starts_with('#'))
        .filter_map(|l| l.strip_prefix("#   "))
        .map(str::to_string)
        .collect()
}

/// `strata lint` of the two generated Dockerfiles with `extra` arguments: exit 0 and no rule but
/// the reminder to pin the bases (info).
fn lint_clean(dir: &Path, extra: &[&str]) {
    let mut args = vec![
        "lint",
        "container/Dockerfile.base",
        "container/Dockerfile",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let lint = strata_in(&args, &[], Some(dir));
    assert_eq!(lint.code, 0, "lint {extra:?}: {}{}", lint.stdout, lint.stderr);
    let text = lint.stdout;
    let rules: Vec<&str> = text
        .match_indices("\"SL0")
        .map(|(i, _)| &text[i + 1..i + 6])
        .collect();
    assert!(rules.iter().all(|r| *r == "SL006"), "lint {extra:?}: {rules:?}");
}

/// The status of every rule of a `strata check --format json` run.
fn rule_statuses(check: &Run) -> Vec<(String, String, String)> {
    check.json()["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let text = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            (text("rule"), text("status"), text("message"))
        })
        .collect()
}

fn a_uv_project_goes_from_a_naive_image_to_generated_files_that_pass_the_checks() {
    docker_ready();
    let debian = debian_python_base();
    let id = std::process::id();
    let name = format!("journey-{id}");
    let (base, naive) = (
        format!("strata-test-journey-base:{id}"),
        format!("strata-test-journey-naive:{id}"),
    );
    let mut images = DockerImages::default();
    images.load_with_ca(&debian.reference(), &base);
    let project = tempfile::tempdir().unwrap();
    let dir = project.path();
    let saved = tempfile::tempdir().unwrap();
    uv_project(dir, &name, &debian.python);
    uv_in(dir, "lock -q");
    uv_in(dir, "sync -q");

    // The naive image: the context, host venv included, copied whole. It does not start, and the
    // report says that the venv was made on the host.
    let naive_dockerfile = saved.path().join("naive.Dockerfile");
    std::fs::write(
        &naive_dockerfile,
        format!(
            "FROM {base}\nWORKDIR /app\nCOPY . /app\nENV PATH=/app/.venv/bin:$PATH\n\
             USER 10001\nCMD [\"journey\"]\n"
        ),
    )
    .unwrap();
    images.0.push(naive.clone());
    let naive_file = naive_dockerfile.to_str().unwrap();
    tool("docker", &["build", "-q", "-f", naive_file, "-t", &naive, "."], dir);
    let ran = docker_run(&[&naive]);
    assert!(!ran.status.success(), "the naive image started");
    let report = report_json(&DockerImages::save(&naive, saved.path()));
    let host_python = format!("{}/.venv/bin/python", dir.display());
    let missing = findings(&report, "wont-start-missing-interpreter");
    assert_eq!(missing.len(), 1, "{missing:?}");
    let (path, message, fix) = &missing[0];
    assert_eq!(path, "/app/.venv/bin/journey");
    assert!(message.contains(&host_python), "{message}");
    assert!(
        fix.contains("made on another machine and is not relocatable")
            && fix.contains(&host_python)
            && !fix.contains("install the package"),
        "{fix}"
    );
    let deps = findings(&report, "python");
    assert!(deps.iter().any(|(p, _, _)| p == "/app/.venv"), "{deps:?}");

    // The generated files: uv from PyPI in a builder stage, lint clean with and without
    // --context.
    ok(dir, &["dockerfile", "--runtime-base", &base, "--no-pin"]);
    let (deps_file, app_file) = (
        read(dir, "container/Dockerfile.base"),
        read(dir, "container/Dockerfile"),
    );
    assert!(
        deps_file.contains(&format!("/opt/uv/bin/pip install --no-cache-dir uv=={UV_VERSION}\n")),
        "{deps_file}"
    );
    assert!(!deps_file.contains("ghcr.io") && !deps_file.contains("COMPILE_BYTECODE"));
    lint_clean(dir, &["--context", "."]);
    lint_clean(dir, &[]);

    // Built as the headers say, from the project directory with strata on PATH.
    let deps_ref = ok(dir, &["base", &format!("{name}-deps")]).stdout.trim().to_string();
    images.0.extend([deps_ref.clone(), name.clone()]);
    let commands: Vec<String> = [&deps_file, &app_file]
        .iter()
        .flat_map(|f| header_commands(f))
        .collect();
    assert_eq!(commands.len(), 2, "{commands:?}");
    for command in &commands {
        tool("sh", &["-c", command], dir);
    }
    let v1_id = docker_inspect("{{.Id}}", &name);
    let ran = tool("docker", &["run", "--rm", &name], dir);
    assert_eq!(ran.trim(), output("hello"));
    // uv and bytecode stay out of the image: the builder stage kept them.
    let found = tool(
        "docker",
        &[
            "run", "--rm", "--user", "0", "--entrypoint", "sh", &name, "-c",
            "find / -xdev \\( -name uv -o -path /opt/uv -o -path '/app/*__pycache__' \\) -print",
        ],
        dir,
    );
    assert_eq!(found.trim(), "", "uv or bytecode in the image");
    let v1 = DockerImages::save(&name, saved.path());
    let runtime = DockerImages::save(&base, saved.path());
    let report = strata_in(&["report", &v1, "--base", &runtime, "--format", "json"], &[], None);
    let base_layers: u64 = docker_inspect("{{len .RootFS.Layers}}", &base).parse().unwrap();
    let report = report.json();
    let bytecode: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "pycache" && f["layer"].as_u64() >= Some(base_layers))
        .collect();
    assert!(bytecode.is_empty(), "bytecode above the base: {bytecode:?}");

    // The Makefile, with no change: the same image (nothing of the build leaks into the context).
    let make = tool("make", &["-f", "container/Makefile", "build"], dir);
    assert!(!make.contains("Dockerfile.base"), "the dependency image is reused:\n{make}");
    assert_eq!(docker_inspect("{{.Id}}", &name), v1_id, "a no-change rebuild is the same image");
    // Without strata on PATH it stops before running docker.
    let without = Command::new("make")
        .args(["-f", "container/Makefile", "build"])
        .current_dir(dir)
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&without.stderr);
    assert!(!without.status.success() && said.contains("put strata on PATH"), "{said}");
    assert!(!String::from_utf8_lossy(&without.stdout).contains("docker build"));

    // One code line changed: the rebuild ships the code only.
    write_code(dir, "hello again");
    let v2_tag = format!("{name}:v2");
    images.0.push(v2_tag.clone());
    tool("make", &["-f", "container/Makefile", "build", "TAG=v2"], dir);
    let ran = tool("docker", &["run", "--rm", &v2_tag], dir);
    assert_eq!(ran.trim(), output("hello again"));
    let checked = tool("make", &["-f", "container/Makefile", "check", "TAG=v2"], dir);
    assert!(checked.contains("PASS"), "make check:\n{checked}");
    let v2 = DockerImages::save(&v2_tag, saved.path());
    let diff = strata_in(&["diff", &v1, &v2, "--format", "json"], &[], None).json();
    let pull = diff["pull_bytes"].as_u64().unwrap();
    eprintln!("journey: a one-line change ships {pull} bytes");
    assert!(pull < 100_000, "a code change ships {pull} bytes");

    // The README's gates.
    let check = strata_in(
        &[
            "check", &v2, "--base", &runtime, "--against", &v1, "--max-delta", "100kB",
            "--no-caches", "--no-dependencies-in-app-layers", "--fail-on", "secret",
            "--fail-on", "wont-start", "--forbid-path", "**/.env", "--forbid-path",
            "**/.git/**", "--format", "json",
        ],
        &[],
        None,
    );
    let statuses = rule_statuses(&check);
    for (rule, status, message) in &statuses {
        if rule != "no_dependencies_in_app_layers" {
            assert_eq!(status, "pass", "{rule}: {message}");
        }
    }
    // The dependency image's venv layer is a dependency layer, not an app layer: this needs the
    // layer roles (base / dependencies / app) that tell one from the other by content.
    let deps_rule = statuses
        .iter()
        .find(|(rule, _, _)| rule == "no_dependencies_in_app_layers")
        .expect("the rule ran");
    assert_eq!(deps_rule.1, "pass", "{}", deps_rule.2);
    assert_eq!(check.code, 0, "{}", check.stderr);
}

/// A project whose `.venv` is a venv of Python `made_by` (with six in its site-packages) whose
/// `bin/python` links to the image's `python3`.
fn venv_of_another_python(dir: &Path, made_by: &str) {
    uv_project(dir, "other-python", made_by);
    let venv = dir.join(".venv");
    let site = venv.join(format!("lib/python{made_by}/site-packages"));
    std::fs::create_dir_all(venv.join("bin")).unwrap();
    sh(&format!(
        "pip install -q --no-deps --target '{}' six==1.17.0",
        site.display()
    ));
    write(
        &venv,
        "pyvenv.cfg",
        &format!("home = /usr/bin\ninclude-system-site-packages = false\nversion = {made_by}.1\n"),
    );
    std::os::unix::fs::symlink("/usr/bin/python3", venv.join("bin/python")).unwrap();
}

fn a_venv_of_another_python_is_refused_by_build_and_flagged_by_report() {
    docker_ready();
    let debian = debian_python_base();
    require(have("pip"), "pip (host) to install six");
    let other = if debian.python == "3.12" { "3.13" } else { "3.12" };
    let project = tempfile::tempdir().unwrap();
    let dir = project.path();
    venv_of_another_python(dir, other);

    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let build = strata_in(
        &[
            "build", "--base", &debian.reference(), "--cache-dir",
            cache.path().to_str().unwrap(), "--output",
            &format!("oci:{}:v1", out.path().display()), "--no-progress",
        ],
        &[],
        Some(dir),
    );
    assert_eq!(build.code, 2, "{}{}", build.stdout, build.stderr);
    for needle in [
        format!("Python {other}.1"),
        format!("Python {}", debian.python),
        "ModuleNotFoundError".to_string(),
        format!("uv venv --python {}", debian.python),
    ] {
        assert!(build.stderr.contains(&needle), "{needle}: {}", build.stderr);
    }
    assert!(
        std::fs::read_dir(out.path()).unwrap().next().is_none(),
        "nothing is written"
    );

    // The same venv shipped by Docker: Python cannot import six, and the report says why.
    let id = std::process::id();
    let (base, image) = (
        format!("strata-test-journey-other-base:{id}"),
        format!("strata-test-journey-other:{id}"),
    );
    let mut images = DockerImages::default();
    images.load(&debian.reference(), &base);
    images.0.push(image.clone());
    let dockerfile = format!(
        "FROM {base}\nCOPY . /app\nUSER 10001\nCMD [\"/app/.venv/bin/python\", \"-c\", \"import six\"]\n"
    );
    std::fs::write(cache.path().join("Dockerfile"), dockerfile).unwrap();
    let file = cache.path().join("Dockerfile");
    tool("docker", &["build", "-q", "-f", file.to_str().unwrap(), "-t", &image, "."], dir);
    let ran = docker_run(&[&image]);
    let said = String::from_utf8_lossy(&ran.stderr);
    assert!(
        !ran.status.success() && said.contains("ModuleNotFoundError: No module named 'six'"),
        "{said}"
    );
    let report = report_json(&DockerImages::save(&image, cache.path()));
    let flagged = findings(&report, "wont-start-python-version");
    assert_eq!(flagged.len(), 1, "{flagged:?}");
    let (path, message, fix) = &flagged[0];
    assert_eq!(path, "/app/.venv");
    assert!(
        message.contains(&format!("Python {}", debian.python))
            && message.contains(&format!("lib/python{other}/site-packages")),
        "{message}"
    );
    assert!(fix.contains(&format!("Python {other}")), "{fix}");
}

crate::tests![
    a_uv_project_goes_from_a_naive_image_to_generated_files_that_pass_the_checks,
    a_venv_of_another_python_is_refused_by_build_and_flagged_by_report,
];
