//! Shared helpers for the integration tests: running the `strata` binary, locating third-party
//! fixtures, and deciding between "skip" (developer machine: the test shows as ignored, with the
//! reason) and "fail" (CI=true) when an external part is missing.

pub mod cargo;
pub mod debian;
pub mod faulty_proxy;
pub mod harness;
pub mod host;
pub mod images;
pub mod layout;
pub mod listener;
pub mod naive;
pub mod optimized;
pub mod pki;
pub mod python;
pub mod registry;
pub mod tarfile;
pub mod token_server;
pub mod uv;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub use harness::skip;

/// True when running in CI, where a missing fixture or tool is a failure, not a skip.
pub fn in_ci() -> bool {
    matches!(
        std::env::var("CI").as_deref(),
        Ok("true") | Ok("1") | Ok("yes")
    )
}

/// Gates the running test on a tool or fixture: returns when `available`; otherwise the test
/// ends, reported as ignored ("WHAT is missing"), or fails under CI=true.
pub fn require(available: bool, what: &str) {
    if !available {
        fail_in_ci(what);
        skip(format!("{what} is missing (required when CI=true)"));
    }
}

/// Gates an optional part of the running test: true when `available`; false when not (the
/// caller leaves that part out, and the test is reported as ignored, not ok, when it ends), a
/// failure under CI=true.
pub fn optional(available: bool, what: &str) -> bool {
    if !available {
        fail_in_ci(what);
        harness::note_missing(what);
    }
    available
}

/// Under CI=true a missing tool or fixture is a failure: the CI machine must have them all.
fn fail_in_ci(what: &str) {
    if in_ci() {
        panic!("{what} is required in CI but missing");
    }
}

/// Gates the running test on an opt-in environment variable: returns when `var=1`, otherwise
/// the test is reported as ignored with `why` (also under CI, which sets the variable where the
/// test is meant to run).
pub fn opt_in(var: &str, why: &str) {
    if std::env::var(var).as_deref() != Ok("1") {
        skip(format!("{why}: runs with {var}=1"));
    }
}

/// `../shared/fixtures/<rel>` next to the project checkout (the test is skipped, or fails under
/// CI=true, when it is absent).
pub fn shared_fixture(rel: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures")
        .join(rel);
    require(path.exists(), &format!("fixture ../shared/fixtures/{rel}"));
    path
}

/// Whether a command exists on PATH.
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether `docker ARGS` succeeds quietly (`["info"]`: a Docker Engine is running).
pub fn docker_ok(args: &[&str]) -> bool {
    have("docker")
        && Command::new("docker")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// The result of running strata.
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Parses stdout as JSON, panicking with stderr when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}); exit {}; stderr: {}",
                self.code, self.stderr
            )
        })
    }
}

fn finish(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the strata binary with `args`.
pub fn strata(args: &[&str]) -> Run {
    strata_in(args, &[], None)
}

/// Runs the strata binary with `args`, extra environment variables, and optionally another
/// working directory.
pub fn strata_in(args: &[&str], env: &[(&str, &Path)], dir: Option<&Path>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.args(args).env("NO_COLOR", "1").stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    finish(cmd.output().expect("run strata"))
}

/// Runs the strata binary with `stdin` as standard input.
pub fn strata_with_stdin(args: &[&str], stdin: &str) -> Run {
    strata_with_stdin_in(args, stdin, &[])
}

/// Runs the strata binary with `stdin` as standard input and extra environment variables.
pub fn strata_with_stdin_in(args: &[&str], stdin: &str, env: &[(&str, &Path)]) -> Run {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run strata");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    finish(child.wait_with_output().expect("wait strata"))
}

/// `strata report REF --format json`, asserting success.
pub fn report_json(reference: &str) -> serde_json::Value {
    let run = strata(&["report", reference, "--format", "json"]);
    assert_eq!(
        run.code, 0,
        "strata report {reference} failed: {}",
        run.stderr
    );
    run.json()
}

/// Runs the Python `script` (`python3 -c`) with `stdin` as its standard input: an independent
/// reader of what strata wrote.
pub fn python_with_stdin(script: &str, stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    child.wait_with_output().expect("wait python3")
}

/// Runs a shell command, panicking with its output when it fails.
pub fn sh(cmd: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .expect("run sh");
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One finding of a JSON report as the findings tests compare them: (rule, path, layer, hidden_by).
pub type FindingItem = (String, String, u64, Option<u64>);

/// The findings of a JSON report that `keep` accepts, as sorted [`FindingItem`]s.
pub fn finding_items(
    report: &serde_json::Value,
    keep: impl Fn(&serde_json::Value) -> bool,
) -> Vec<FindingItem> {
    let mut found: Vec<FindingItem> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| keep(f))
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["layer"].as_u64().unwrap(),
                f["hidden_by"].as_u64(),
            )
        })
        .collect();
    found.sort();
    found
}

/// `$CARGO_TARGET_TMPDIR/<area>/<pid>`, empty, for a module's shared fixture, after removing the
/// directories of runs that have ended.
pub fn fresh_dir(area: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(area);
    for entry in std::fs::read_dir(&root).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !Path::new("/proc").join(&name).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let dir = root.join(std::process::id().to_string());
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `contents` to `dir/rel`, making its parent directories: how tests lay out projects.
pub fn write(dir: &Path, rel: &str, contents: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

/// The text of `dir/rel`, or a panic naming it.
pub fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}
