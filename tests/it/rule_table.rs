//! The finding-rule table: an image planted with findings of every family gets only rule ids the
//! table (`strata::analysis::rules::all()`) and the command line's own list know, with the table's
//! kind and severity; the list names each id once; a mistyped `--ignore` or `--fail-on` is a
//! one-line usage error (exit 2) that says which id was meant.


use std::collections::BTreeSet;
use std::path::Path;

use strata::analysis::rules;
use crate::support::layout::{tar_bytes, write_layout, Comp, Item};
use crate::support::{report_json, strata};

/// Writes, as `oci:DIR:latest`, an image with secrets, caches, dependencies, bloat, dead bytes, no
/// `User` and a command that is not in the image.
fn planted(dir: &Path) -> String {
    // Built at run time so the source holds no secret whole.
    let aws_key = format!("AKIA{}", "Q7RZ".repeat(4));
    let npmrc = format!(
        "//registry.npmjs.org/:_authToken=npm_{}\n",
        "Tq8".repeat(12)
    );
    let env = format!("DB_PASSWORD=dbpass{}\n", "Xv3".repeat(5));
    let settings = format!("AWS_KEY = '{aws_key}'\n");
    let copy = vec![b'd'; 4096];
    let big = vec![b'b'; 1_200_000];
    let base = tar_bytes(&[
        Item::File("usr/share/doc/pkg/README", b"read me"),
        Item::File("usr/include/pkg.h", b"int pkg(void);\n"),
        Item::File("usr/lib/gcc/x86_64-linux-gnu/12/cc1", b"compiler"),
        Item::File("var/log/dpkg.log", b"installed pkg\n"),
        Item::File("var/lib/apt/lists/deb_Packages", b"Package: pkg\n"),
        Item::File("var/cache/apt/archives/pkg.deb", b"deb"),
        Item::File("tmp/build.o", b"object"),
        Item::File("app/old.txt", b"deleted later"),
        Item::File("app/config.txt", b"overwritten later"),
        Item::File("data/a.bin", &copy),
        Item::File("data/b.bin", &copy),
    ]);
    let app = tar_bytes(&[
        Item::File("app/.env", env.as_bytes()),
        Item::File("app/.npmrc", npmrc.as_bytes()),
        Item::File("app/settings.py", settings.as_bytes()),
        Item::File("root/.cache/pip/http/a/b", b"wheel"),
        Item::File("root/.npm/_cacache/index", b"npm"),
        Item::File("usr/local/share/.cache/yarn/v6/pkg/index.js", b"yarn"),
        Item::File("app/.git/HEAD", b"ref: refs/heads/main\n"),
        Item::File("app/__pycache__/main.cpython-311.pyc", b"pyc"),
        Item::File(
            "app/.venv/lib/python3.11/site-packages/numpy/__init__.py",
            b"numpy",
        ),
        Item::File("app/node_modules/left-pad/index.js", b"left-pad"),
        Item::File("app/.DS_Store", b"finder"),
    ]);
    let top = tar_bytes(&[
        Item::Whiteout("app/old.txt"),
        Item::File("app/config.txt", b"new"),
        Item::File("app/big.bin", &big),
    ]);
    write_layout(
        dir,
        "latest",
        &[(base, Comp::Gzip), (app, Comp::Gzip), (top, Comp::None)],
    );
    format!("oci:{}:latest", dir.display())
}

/// The rule ids the command line lists when a selector names none.
fn listed_ids(reference: &str) -> Vec<String> {
    let run = strata(&["report", reference, "--ignore", "no-such-rule-at-all"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let (_, list) = run
        .stderr
        .split_once("a rule id (")
        .unwrap_or_else(|| panic!("no id list in {}", run.stderr));
    let (list, _) = list.split_once(')').expect("closing parenthesis");
    list.split(", ").map(str::to_string).collect()
}

fn every_rule_a_report_emits_is_in_the_table_with_its_kind_and_severity() {
    let dir = tempfile::tempdir().unwrap();
    let reference = planted(dir.path());
    let report = report_json(&reference);
    let listed = listed_ids(&reference);
    let findings = report["findings"].as_array().expect("findings");
    let mut emitted = BTreeSet::new();
    for f in findings {
        let id = f["rule"].as_str().expect("rule");
        let rule = rules::by_id(id).unwrap_or_else(|| panic!("{id} is not in the table"));
        assert!(listed.iter().any(|l| l == id), "{id} is not in {listed:?}");
        assert_eq!(f["kind"], serde_json::to_value(rule.kind).unwrap(), "{f}");
        assert_eq!(f["severity"], rule.severity.as_str(), "{f}");
        emitted.insert(id);
    }
    let planted = [
        "secret-env-file",
        "secret-npm-token",
        "secret-aws-key",
        "runs-as-root",
        "wont-start-missing-program",
        "python",
        "node",
        "apt-lists",
        "apt-cache",
        "pip-cache",
        "npm-cache",
        "yarn-cache",
        "git",
        "pycache",
        "tmp",
        "deleted",
        "overwritten",
        "docs",
        "logs",
        "dev-artifacts",
        "toolchain",
        "junk",
        "duplicate",
        "large-recent-file",
    ];
    let missing: Vec<&str> = planted
        .iter()
        .copied()
        .filter(|id| !emitted.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "not reported: {missing:?} (got {emitted:?})"
    );
}

fn the_command_line_lists_every_rule_of_the_table_once() {
    let dir = tempfile::tempdir().unwrap();
    let reference = planted(dir.path());
    let listed = listed_ids(&reference);
    let unique: BTreeSet<&str> = listed.iter().map(String::as_str).collect();
    assert_eq!(
        unique.len(),
        listed.len(),
        "an id is listed twice: {listed:?}"
    );
    let table: BTreeSet<&str> = rules::all().map(|r| r.id).collect();
    assert_eq!(unique, table);
}

fn a_mistyped_rule_is_one_line_saying_which_was_meant() {
    let dir = tempfile::tempdir().unwrap();
    let reference = planted(dir.path());
    for (args, meant) in [
        (
            vec!["report", &reference, "--ignore", "yarn-cach"],
            "did you mean yarn-cache?",
        ),
        (
            vec!["check", &reference, "--fail-on", "wont-strat"],
            "did you mean wont-start?",
        ),
        (
            vec!["report", &reference, "--ignore", "secrets"],
            "did you mean secret?",
        ),
    ] {
        let run = strata(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", run.stderr);
        assert!(run.stderr.contains(meant), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{}", run.stdout);
    }
    let far = strata(&["report", &reference, "--ignore", "bananas"]);
    assert_eq!(far.code, 2);
    assert!(!far.stderr.contains("did you mean"), "{}", far.stderr);
}

crate::tests![
    every_rule_a_report_emits_is_in_the_table_with_its_kind_and_severity,
    the_command_line_lists_every_rule_of_the_table_once,
    a_mistyped_rule_is_one_line_saying_which_was_meant,
];
