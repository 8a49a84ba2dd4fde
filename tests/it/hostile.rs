//! Hostile images and hostile sinks: file names and history that carry terminal escapes and
//! GitHub Actions workflow commands, printed by every command in every format; a closed stdout,
//! a reader that goes away, a reference with a password. What is printed for people or CI is
//! escaped for where it goes; JSON keeps every byte; nothing is lost silently; no secret is
//! echoed.
//!
//! The images are built here ([`hostile_layout`]) with the tar crate, one layer of files named
//! by the caller and a history entry with the caller's `created_by`, so another hostile case
//! is a list of names.

use std::path::Path;

use crate::support::layout::{noise, tar_bytes, write_layout, write_layout_with, Comp, Item};
use crate::support::{sh, strata, strata_in, Run};

/// Sets the terminal's title (OSC 0, ended by BEL).
const OSC_TITLE: &str = "\x1b]0;pwn\x07";

/// Directory names that attack a terminal or a CI log: an OSC sequence, a bare BEL, a newline
/// followed by a workflow command, a carriage return that overwrites the line, a C1 CSI.
const HOSTILE_DIRS: [&str; 5] = [
    "\x1b]0;pwn\x07title",
    "bell\x07ring",
    "x\n::error file=x::owned",
    "cr\rover",
    "c1\u{9b}31mred",
];

/// A history command that clears the screen and injects a workflow command.
const HOSTILE_CREATED_BY: &str =
    "/bin/sh -c echo \x1b]0;pwn\x07 \x1b[2J && printf '\n::error file=h::owned\n'";

/// Writes the OCI layout `dir` (tag `hostile`) whose one layer holds `files` (path, contents) and
/// whose history entry was `created_by`.
fn hostile_layout(dir: &Path, files: &[(String, Vec<u8>)], created_by: &str) {
    let items: Vec<Item> = files
        .iter()
        .map(|(path, data)| Item::File(path, data))
        .collect();
    write_layout_with(
        dir,
        "hostile",
        &[(tar_bytes(&items), Comp::Gzip)],
        |config| {
            config["history"][0]["created_by"] = created_by.into();
            config["config"]["Env"] = serde_json::json!([format!("TITLE={OSC_TITLE}")]);
        },
    );
}

/// The files of the standard hostile image: a `.env` in every hostile directory (a finding that
/// names the path), and a large file in one at the root (a largest path).
fn hostile_files() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = HOSTILE_DIRS
        .iter()
        .map(|d| (format!("app/{d}/.env"), b"TOKEN=1\n".to_vec()))
        .collect();
    files.push((format!("{OSC_TITLE}big/blob"), noise(200_000, 7)));
    files
}

/// An old image (one plain file) and the hostile one, as `oci:` references.
fn old_and_hostile(dir: &Path) -> (String, String) {
    let old = dir.join("old");
    write_layout(
        &old,
        "old",
        &[(tar_bytes(&[Item::File("app/ok", b"ok")]), Comp::Gzip)],
    );
    let new = dir.join("new");
    hostile_layout(&new, &hostile_files(), HOSTILE_CREATED_BY);
    (
        format!("oci:{}:old", old.display()),
        format!("oci:{}:hostile", new.display()),
    )
}

/// Asserts text for people or a CI log holds no raw control character an image brought (the
/// newline ends strata's own lines) and no line a runner would take as a workflow command but
/// strata's own `allowed` ones.
fn assert_inert(what: &str, text: &str, allowed: &[&str]) {
    let raw = text
        .chars()
        .find(|&c| (c.is_control() && c != '\n') || matches!(c, '\u{202a}'..='\u{202e}'));
    assert_eq!(raw, None, "{what}: a raw control character:\n{text}");
    for line in text.lines() {
        if line.starts_with("::") {
            assert!(
                allowed.iter().any(|a| line.starts_with(a)),
                "{what}: a workflow command at column 0: {line}\n{text}"
            );
        }
    }
}

/// Every string in a JSON document.
fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
        serde_json::Value::Object(o) => o.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// Asserts `run` succeeded (or, for `check`, failed its rules) and printed JSON holding each of
/// `exact` as some string's end, byte for byte.
fn assert_exact_json(what: &str, run: &Run, exact: &[String]) {
    assert!(run.code <= 1, "{what}: {}", run.stderr);
    let mut all = Vec::new();
    strings(&run.json(), &mut all);
    for e in exact {
        assert!(
            all.iter().any(|s| s.ends_with(e.as_str())),
            "{what}: JSON lost {e:?}"
        );
    }
}

fn every_format_escapes_hostile_names_and_json_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = old_and_hostile(dir.path());
    let env_paths: Vec<String> = HOSTILE_DIRS
        .iter()
        .map(|d| format!("app/{d}/.env"))
        .collect();
    let check = |format: &str| {
        strata(&[
            "check",
            &new,
            "--fail-on",
            "secret",
            "--forbid-path",
            "/**/.env",
            "--format",
            format,
        ])
    };
    let mut ran = 0;
    for format in ["table", "markdown", "json", "html"] {
        let runs = [
            ("report", strata(&["report", &new, "--format", format])),
            (
                "diff --files",
                strata(&["diff", &old, &new, "--files", "--format", format]),
            ),
            ("diff", strata(&["diff", &old, &new, "--format", format])),
            (
                "history",
                strata(&["history", &old, &new, "--content", "--format", format]),
            ),
        ];
        for (command, run) in runs {
            let what = format!("{command} --format {format}");
            assert_eq!(run.code, 0, "{what}: {}", run.stderr);
            assert_inert(&what, &run.stderr, &[]);
            match format {
                "json" if command == "history" => {}
                "json" if command == "diff" => {
                    assert_exact_json(&what, &run, &[HOSTILE_CREATED_BY.to_string()])
                }
                "json" => assert_exact_json(&what, &run, &env_paths),
                "html" => assert!(run.stdout.contains("</html>"), "{what}"),
                _ => assert_inert(&what, &run.stdout, &[]),
            }
            ran += 1;
        }
    }
    // The names reach the text formats, escaped: a test of nothing would pass as well.
    let table = strata(&["report", &new, "--format", "table"]);
    assert!(table.stdout.contains("\\x1b]0;pwn\\x07"), "{}", table.stdout);
    let files = strata(&["diff", &old, &new, "--files", "--format", "markdown"]);
    assert!(
        files.stdout.contains("`/app/x\\n::error file=x::owned/.env`"),
        "{}",
        files.stdout
    );
    for format in ["table", "markdown", "junit"] {
        let run = check(format);
        assert_eq!(run.code, 1, "check {format}: {}", run.stderr);
        assert_inert(&format!("check {format}"), &run.stdout, &[]);
        let cr = if format == "junit" { "cr&#13;over" } else { "cr\\rover" };
        assert!(run.stdout.contains(cr), "{}", run.stdout);
        ran += 1;
    }
    assert_exact_json("check json", &check("json"), &env_paths);
    let github = check("github");
    assert_eq!(github.code, 1, "{}", github.stderr);
    assert_inert("check github", &github.stdout, &["::error title=strata check "]);
    assert!(
        github.stdout.contains("x%0A::error file=x::owned"),
        "{}",
        github.stdout
    );
    // In a GitHub Actions job: annotations on stdout, Markdown appended to the step summary.
    let summary = dir.path().join("summary.md");
    let actions = strata_in(
        &["check", &new, "--fail-on", "secret"],
        &[
            ("GITHUB_ACTIONS", Path::new("true")),
            ("GITHUB_STEP_SUMMARY", &summary),
        ],
        None,
    );
    assert_eq!(actions.code, 1, "{}", actions.stderr);
    assert_inert("check in Actions", &actions.stdout, &["::error title=strata check "]);
    let written = std::fs::read_to_string(&summary).expect("the step summary is written");
    assert!(written.contains("### strata check"), "{written}");
    assert_inert("the step summary", &written, &[]);
    assert!(ran >= 19, "{ran} runs");
}

fn a_closed_stdout_is_an_error_not_a_silent_success() {
    let dir = tempfile::tempdir().unwrap();
    let (_, new) = old_and_hostile(dir.path());
    let strata_bin = env!("CARGO_BIN_EXE_strata");
    let closed = sh(&format!(
        "'{strata_bin}' report '{new}' >&- 2>'{err}'; echo $?",
        err = dir.path().join("err").display()
    ));
    let stderr = std::fs::read_to_string(dir.path().join("err")).unwrap();
    assert_eq!(closed.trim(), "1", "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("strata: error: stdout: closed"), "{stderr}");
    // Sent to /dev/null on purpose, the output is discarded and that is a success.
    let discarded = sh(&format!("'{strata_bin}' report '{new}' >/dev/null; echo $?"));
    assert_eq!(discarded.trim(), "0");
}

fn a_reader_that_goes_away_ends_the_output_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let (_, new) = old_and_hostile(dir.path());
    let strata_bin = env!("CARGO_BIN_EXE_strata");
    // `head -c1` reads a byte and leaves; `true` has left before strata writes (EPIPE).
    for reader in ["head -c1 >/dev/null", "true"] {
        let delay = if reader == "true" { "sleep 0.3; " } else { "" };
        let err = dir.path().join("err");
        sh(&format!(
            "{{ {delay}'{strata_bin}' report '{new}' --format html 2>'{err}'; echo \"rc=$?\" >>'{err}'; }} | {reader}",
            err = err.display()
        ));
        let stderr = std::fs::read_to_string(&err).unwrap();
        assert_eq!(stderr, "rc=0\n", "| {reader}");
    }
}

fn a_password_in_a_reference_is_never_echoed() {
    let password = "s3cr3t-pw";
    let dir = tempfile::tempdir().unwrap();
    let (_, new) = old_and_hostile(dir.path());
    let runs = [
        strata(&["report", &format!("docker://user:{password}@127.0.0.1:5000/App")]),
        strata(&["report", &format!("user:{password}@127.0.0.1:5000/app:1")]),
        strata(&["history", &format!("docker://user:{password}@127.0.0.1:5000/app")]),
        strata(&["copy", &new, &format!("user:{password}@127.0.0.1:5000/app")]),
    ];
    for run in runs {
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.contains("user:***@127.0.0.1"), "{}", run.stderr);
        assert!(
            !run.stderr.contains(password) && !run.stdout.contains(password),
            "{}",
            run.stderr
        );
    }
}

crate::tests![
    every_format_escapes_hostile_names_and_json_keeps_them,
    a_closed_stdout_is_an_error_not_a_silent_success,
    a_reader_that_goes_away_ends_the_output_quietly,
    a_password_in_a_reference_is_never_echoed,
];
