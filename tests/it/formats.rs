//! The format × command matrix, from the outside: for every subcommand with `--format`, the
//! formats its `--help` lists are exactly the ones that render (each is run on the committed
//! sample image and its output checked for that format's shape), and every other format is
//! refused with exit 2 naming the listed ones. `check --format junit` is the document
//! `--junit FILE` writes.


use std::path::{Path, PathBuf};

use crate::support::{python_with_stdin, strata, strata_in, Run};

/// Every format name strata knows.
const ALL: [&str; 6] = ["table", "json", "markdown", "html", "junit", "github"];

fn sample(tag: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample-app");
    format!("oci:{}:{tag}", dir.display())
}

/// The formats `strata COMMAND --help` offers: the list after `Output format:` on the `--format`
/// option, `a, b or c`.
fn listed(command: &str) -> Vec<String> {
    let mut words: Vec<&str> = command.split(' ').collect();
    words.push("--help");
    let run = strata(&words);
    assert_eq!(run.code, 0, "{command} --help: {}", run.stderr);
    let at = run
        .stdout
        .find("--format <FORMAT>")
        .unwrap_or_else(|| panic!("{command} --help has no --format:\n{}", run.stdout));
    let rest = &run.stdout[at..];
    let from = rest.find("Output format: ").expect("the format help line") + 15;
    let line = rest[from..].lines().next().unwrap();
    let line = line.split(" [default").next().unwrap().trim();
    line.replace(" or ", ", ")
        .split(", ")
        .map(str::to_string)
        .collect()
}

/// A small project `strata build` can plan and build from flags alone.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/hello.txt"), "hello\n").unwrap();
    dir
}

/// Runs `command` on the sample (lint: on a Dockerfile with findings; check: with a budget the
/// sample fails, so every format has something to say) in `format`; `out` is a scratch directory
/// for what it writes.
fn run_in(command: &str, format: &str, out: &Path) -> Run {
    let dest = |name: &str| format!("oci:{}:{format}", out.join(name).display());
    let dockerfile = tempfile::tempdir().unwrap();
    std::fs::write(
        dockerfile.path().join("Dockerfile"),
        "FROM debian\nRUN apt-get update && apt-get install -y curl\n",
    )
    .unwrap();
    let args: Vec<String> = match command {
        "report" => vec![sample("latest")],
        "diff" => vec![sample("base"), sample("latest")],
        "check" => vec![sample("latest"), "--max-total".into(), "1KB".into()],
        "history" | "history --optimize" => vec![sample("base"), sample("latest")],
        "copy" => vec![sample("latest"), dest("copy")],
        "rebase" => vec![
            sample("latest"),
            "--old-base".into(),
            sample("base"),
            "--new-base".into(),
            sample("base"),
            "--output".into(),
            dest("rebase"),
        ],
        "build" => vec![
            "--base".into(),
            "scratch".into(),
            "--layer".into(),
            "app=src:/app".into(),
            "--cache-dir".into(),
            out.join("cache").display().to_string(),
            "--output".into(),
            dest("build"),
        ],
        "lint" => vec![dockerfile.path().join("Dockerfile").display().to_string()],
        "optimize" => vec![
            sample("latest"),
            "--base".into(),
            sample("base"),
            "--output".into(),
            dest("optimize"),
        ],
        other => panic!("no invocation for {other}"),
    };
    let mut all: Vec<&str> = command.split(' ').collect();
    all.extend(args.iter().map(String::as_str));
    all.extend(["--format", format]);
    if command == "build" {
        let project = project();
        let config = project.path().join("strata.toml");
        std::fs::write(&config, "").unwrap();
        let config = config.display().to_string();
        all.extend(["--config", config.as_str()]);
        return strata_in(&all, &[], Some(project.path()));
    }
    strata(&all)
}

/// Parses `xml` with Python's XML parser (an implementation independent of strata's writer)
/// into `name failed` lines, one per `<testcase>`.
fn junit_cases(xml: &str) -> Vec<String> {
    let script = "import sys, xml.etree.ElementTree as E\n\
                  for c in E.fromstring(sys.stdin.read()).iter('testcase'):\n    \
                  print(c.get('name'), c.find('failure') is not None)";
    let out = python_with_stdin(script, xml.as_bytes());
    assert!(
        out.status.success(),
        "not XML ({}):\n{xml}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Checks that `stdout` has the shape of `format`.
fn assert_shape(command: &str, format: &str, stdout: &str) {
    let what = format!("{command} --format {format}");
    assert!(!stdout.trim().is_empty(), "{what}: empty output");
    match format {
        "json" => {
            serde_json::from_str::<serde_json::Value>(stdout)
                .unwrap_or_else(|e| panic!("{what}: not JSON ({e}):\n{stdout}"));
        }
        "html" => assert!(
            stdout.trim_start().starts_with("<!DOCTYPE html>") && stdout.contains("</html>"),
            "{what}: not a page"
        ),
        "junit" => assert!(!junit_cases(stdout).is_empty(), "{what}: no test case"),
        "markdown" => assert!(
            stdout
                .lines()
                .any(|l| l.starts_with('#') || l.starts_with('|')),
            "{what}: no Markdown heading or table:\n{stdout}"
        ),
        "github" => assert!(
            stdout.lines().all(|l| l.starts_with("::")),
            "{what}: not workflow commands:\n{stdout}"
        ),
        _ => {}
    }
}

/// Every subcommand with `--format`, and the modes that render another document.
const COMMANDS: [&str; 10] = [
    "report",
    "diff",
    "check",
    "history",
    "history --optimize",
    "copy",
    "rebase",
    "build",
    "lint",
    "optimize",
];

fn every_format_help_lists_renders_and_every_other_is_refused() {
    for command in COMMANDS {
        let formats = listed(command);
        assert_eq!(formats[0], "table", "{command}: table is the default");
        for format in &formats {
            let out = tempfile::tempdir().unwrap();
            let run = run_in(command, format, out.path());
            assert!(
                run.code == 0 || (run.code == 1 && matches!(command, "check" | "lint")),
                "{command} --format {format}: exit {}: {}",
                run.code,
                run.stderr
            );
            assert_shape(command, format, &run.stdout);
        }
        let works = match formats.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => formats.join(""),
        };
        for format in ALL.iter().filter(|f| !formats.iter().any(|l| l == *f)) {
            let out = tempfile::tempdir().unwrap();
            let run = run_in(command, format, out.path());
            assert_eq!(run.code, 2, "{command} --format {format}: {}", run.stderr);
            let subcommand = command.split(' ').next().unwrap();
            assert!(
                run.stderr.contains(&format!(
                    "strata {subcommand} has no {format} format: use {works}"
                )),
                "{command} --format {format}: {}",
                run.stderr
            );
            assert!(run.stdout.is_empty());
            let written: Vec<PathBuf> = std::fs::read_dir(out.path())
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            assert!(written.is_empty(), "{command}: wrote {written:?}");
        }
    }
}

fn the_commands_that_write_images_print_no_markdown_and_check_and_lint_share_junit() {
    for command in ["build", "copy", "rebase"] {
        assert_eq!(listed(command), ["table", "json"], "{command}");
    }
    for command in ["check", "lint"] {
        assert!(listed(command).iter().any(|f| f == "junit"), "{command}");
    }
}

fn check_format_junit_is_the_junit_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("check.xml");
    let gate = [
        "check",
        &sample("latest"),
        "--max-layers",
        "100",
        "--max-total",
        "1KB",
    ];
    let mut with_file = gate.to_vec();
    let file_arg = file.display().to_string();
    with_file.extend(["--junit", &file_arg]);
    let table = strata(&with_file);
    assert_eq!(table.code, 1, "{}", table.stderr);
    assert!(table.stdout.contains("FAIL"), "{}", table.stdout);
    let from_file = junit_cases(&std::fs::read_to_string(&file).unwrap());

    let mut as_format = gate.to_vec();
    as_format.extend(["--format", "junit"]);
    let printed = strata(&as_format);
    assert_eq!(printed.code, 1, "{}", printed.stderr);
    assert_eq!(junit_cases(&printed.stdout), from_file);

    let mut as_json = gate.to_vec();
    as_json.extend(["--format", "json"]);
    let json = strata(&as_json).json();
    let rules: Vec<String> = json["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["rule"].as_str().unwrap(),
                if r["status"] == "fail" {
                    "True"
                } else {
                    "False"
                }
            )
        })
        .collect();
    assert_eq!(
        from_file, rules,
        "one test case per rule, failed when it failed"
    );
}

crate::tests![
    every_format_help_lists_renders_and_every_other_is_refused,
    the_commands_that_write_images_print_no_markdown_and_check_and_lint_share_junit,
    check_format_junit_is_the_junit_file,
];
