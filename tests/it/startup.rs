//! Will it start, on real binaries: a gcc-built program linked with its own shared library, in an
//! image holding the host's loader and libc at the host's paths, starts (no `wont-start-*`
//! finding); taking away libc, the program's library, a script's interpreter or the entrypoint
//! itself gives exactly the one finding that names it. Unstripped binaries are reported with what
//! stripping saves, stripped ones are not.


use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::host::{gcc, host_base, tar_of, Node};
use crate::support::layout::{write_layout_with, Comp};
use crate::support::strata;

/// The program and its library, built in `dir` (a skip when gcc is missing).
fn program(dir: &Path) -> PathBuf {
    gcc(
        dir,
        "libgreet.so",
        "#include <stdio.h>\nvoid greet(void) { puts(\"hi\"); }\n",
        &["-shared", "-fPIC"],
        "gcc -shared",
    );
    gcc(
        dir,
        "hello",
        "void greet(void);\nint main(void) { greet(); return 0; }\n",
        &["-L.", "-lgreet"],
        "gcc -lgreet",
    )
}

/// What to leave out of or change in the good image.
#[derive(Default)]
struct Broken<'a> {
    /// Host paths ending like this are not copied.
    without: &'a [&'a str],
    /// The entrypoint.
    entrypoint: Option<&'a str>,
    /// Strip the program first.
    strip: bool,
}

/// Writes the image (the host's loader and libc, then the app layer) and returns its
/// `(rule, path)` findings of `kind`.
fn findings(dir: &Path, program: &Path, broken: Broken) -> Vec<(String, String)> {
    let mut base = host_base(program);
    base.retain(|p, _| {
        !broken.without.iter().any(|w| p.ends_with(w)) && !p.ends_with("libgreet.so")
    });
    let mut app: BTreeMap<PathBuf, Node> = BTreeMap::new();
    let binary = if broken.strip {
        let out = dir.join("hello.stripped");
        let ok = std::process::Command::new("strip")
            .arg("-o")
            .arg(&out)
            .arg(program)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "strip");
        out
    } else {
        program.to_path_buf()
    };
    app.insert(
        "/app/hello".into(),
        Node::File(std::fs::read(binary).unwrap()),
    );
    if !broken.without.contains(&"libgreet.so") {
        let lib = std::fs::read(dir.join("libgreet.so")).unwrap();
        app.insert("/usr/local/lib/libgreet.so".into(), Node::File(lib));
    }
    let script = b"#!/usr/bin/python3\nprint('hi')\n".to_vec();
    app.insert("/app/run.py".into(), Node::File(script));
    let layout = dir.join(format!("image-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&layout);
    let entrypoint = broken.entrypoint.unwrap_or("/app/hello");
    write_layout_with(
        &layout,
        "latest",
        &[
            (tar_of(&base, &[]), Comp::Gzip),
            (tar_of(&app, &[]), Comp::Zstd),
        ],
        |c| c["config"] = serde_json::json!({"Entrypoint": [entrypoint], "User": "65532"}),
    );
    let run = strata(&[
        "report",
        &format!("oci:{}:latest", layout.display()),
        "--format",
        "json",
        "--no-progress",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut out: Vec<(String, String)> = run.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "wont_start" || f["path"].as_str().unwrap().starts_with("/app"))
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn rules(found: &[(String, String)]) -> Vec<&str> {
    found.iter().map(|(r, _)| r.as_str()).collect()
}

fn the_good_image_starts_and_each_missing_piece_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let program = program(tmp.path());
    let dir = tmp.path();
    let good = findings(dir, &program, Broken::default());
    assert_eq!(rules(&good), ["unstripped"], "{good:?}");

    let no_libc = findings(
        dir,
        &program,
        Broken {
            without: &["libc.so.6"],
            ..Broken::default()
        },
    );
    assert_eq!(
        rules(&no_libc),
        ["unstripped", "wont-start-missing-library"],
        "{no_libc:?}"
    );
    assert!(no_libc[1].1.contains("needs libc.so.6"), "{no_libc:?}");

    let no_lib = findings(
        dir,
        &program,
        Broken {
            without: &["libgreet.so"],
            ..Broken::default()
        },
    );
    assert_eq!(
        rules(&no_lib),
        ["unstripped", "wont-start-missing-library"],
        "{no_lib:?}"
    );
    assert!(
        no_lib[1].1.contains("/app/hello needs libgreet.so"),
        "{no_lib:?}"
    );

    let no_loader = findings(
        dir,
        &program,
        Broken {
            without: &["ld-linux-x86-64.so.2"],
            ..Broken::default()
        },
    );
    assert_eq!(
        rules(&no_loader),
        ["unstripped", "wont-start-missing-loader"],
        "{no_loader:?}"
    );

    let script = findings(
        dir,
        &program,
        Broken {
            entrypoint: Some("/app/run.py"),
            ..Broken::default()
        },
    );
    assert_eq!(
        rules(&script),
        ["unstripped", "wont-start-missing-interpreter"],
        "{script:?}"
    );
    assert!(
        script[1].1.contains("/usr/bin/python3 is not in the image"),
        "{script:?}"
    );

    let absent = findings(
        dir,
        &program,
        Broken {
            entrypoint: Some("/app/absent"),
            ..Broken::default()
        },
    );
    assert_eq!(
        rules(&absent),
        ["unstripped", "wont-start-missing-program"],
        "{absent:?}"
    );
}

fn stripping_takes_the_binary_off_the_unstripped_list() {
    let tmp = tempfile::tempdir().unwrap();
    let program = program(tmp.path());
    let unstripped = findings(tmp.path(), &program, Broken::default());
    assert!(
        unstripped[0]
            .1
            .starts_with("unstripped ELF: stripping saves"),
        "{unstripped:?}"
    );
    let stripped = findings(
        tmp.path(),
        &program,
        Broken {
            strip: true,
            ..Broken::default()
        },
    );
    assert_eq!(stripped, []);
}

crate::tests![
    the_good_image_starts_and_each_missing_piece_is_named,
    stripping_takes_the_binary_off_the_unstripped_list,
];
