//! Names that are not UTF-8, and names past strata's limit, through every output (issue 19,
//! items 1 and 6). The layers are written by Python's `tarfile` (names as bytes, through
//! `surrogateescape`), an independent writer; JSON is read back by Python, whose
//! `s.encode("utf-8", "surrogateescape")` must give each name's bytes exactly.
//!
//! Before: every name went through a lossy decoding, so `a\xff`, `a\xfe` and `a\u{fffd}` were one
//! path (two files reported dead), a whiteout of `\xff` deleted the directory `\u{fffd}` and the
//! `.env` in it, and a 100 KiB name was printed whole in every format (64 MiB ones held in memory
//! several times, `bench/long-names.sh`).

use std::path::Path;

use sha2::{Digest as _, Sha256};

use crate::support::layout::{tar_bytes, write_layout, Comp, Item};
use crate::support::{have, python_with_stdin, require, strata, strata_in, Run};

/// Python that defines `tar(path, fmt, members)`: writes the tar `path` in `fmt` (`GNU_FORMAT`,
/// `PAX_FORMAT`) of `members`, each `(name, kind, data)` with `name` bytes and `kind` `"f"`
/// (a file of `data`), `"d"` (a directory) or `"l"` (a symlink to `data`).
const PY_TAR: &str = r#"
import io, random, sys, tarfile
def tar(path, fmt, members):
    with tarfile.open(path, "w", format=fmt, encoding="utf-8", errors="surrogateescape") as t:
        for name, kind, data in members:
            info = tarfile.TarInfo(name.decode("utf-8", "surrogateescape"))
            info.mtime = 1
            if kind == "f":
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            elif kind == "d":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                t.addfile(info)
            else:
                info.type = tarfile.SYMTYPE
                info.linkname = data.decode("utf-8", "surrogateescape")
                t.addfile(info)
def noise(n, seed):
    return random.Random(seed).randbytes(n)
"#;

/// Runs `script` (after [`PY_TAR`]) in `dir` with Python.
fn python(dir: &Path, script: &str) {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(format!("{PY_TAR}\n{script}"))
        .current_dir(dir)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every string of the JSON `run` printed, as Python reads it back to bytes (hex-encoded by
/// Python, decoded here).
fn json_bytes(run: &Run) -> Vec<Vec<u8>> {
    assert!(run.code <= 1, "{}", run.stderr);
    let out = python_with_stdin(
        r#"
import json, sys
def walk(v):
    if isinstance(v, str):
        print(v.encode("utf-8", "surrogateescape").hex())
    elif isinstance(v, list):
        for x in v: walk(x)
    elif isinstance(v, dict):
        for k, x in v.items(): walk(k); walk(x)
walk(json.load(sys.stdin))
"#,
        run.stdout.as_bytes(),
    );
    assert!(out.status.success(), "Python could not read the JSON");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| hex::decode(l).unwrap())
        .collect()
}

/// The rooted paths among `strings` that end with `tail` (paths print rooted, `/a/b`).
fn paths_ending(strings: &[Vec<u8>], tail: &[u8]) -> usize {
    strings
        .iter()
        .filter(|s| s.starts_with(b"/") && s.ends_with(tail))
        .count()
}

/// An OCI layout `dir` tagged `tag` of the plain tars `layers`, gzip-compressed.
fn layout_of(dir: &Path, tag: &str, layers: &[&Path]) -> String {
    let layers: Vec<(Vec<u8>, Comp)> = layers
        .iter()
        .map(|p| (std::fs::read(p).unwrap(), Comp::Gzip))
        .collect();
    write_layout(dir, tag, &layers);
    format!("oci:{}:{tag}", dir.display())
}

/// The image before (one plain file) as an `oci:` reference.
fn plain_image(dir: &Path) -> String {
    let old = dir.join("old");
    write_layout(
        &old,
        "old",
        &[(tar_bytes(&[Item::File("app/ok", b"ok")]), Comp::Gzip)],
    );
    format!("oci:{}:old", old.display())
}

/// The names of the colliding image: three files whose lossy decodings were one, and a `.env`
/// under a directory named U+FFFD (valid UTF-8), which a whiteout of `\xff` hid.
const COLLIDING: [&[u8]; 4] = [
    b"/data/a\xff",
    b"/data/a\xfe",
    b"/data/a\xef\xbf\xbd",
    b"/\xef\xbf\xbd/.env",
];

/// Layer 1: the files (300, 200 and 100 kB and the `.env`); layer 2: a whiteout of `\xff`,
/// which is no file of the image.
fn colliding_image(dir: &Path) -> String {
    python(
        dir,
        r#"
tar("l1.tar", tarfile.GNU_FORMAT, [
    (b"data", "d", b""),
    (b"data/a\xff", "f", noise(300_000, 1)),
    (b"data/a\xfe", "f", noise(200_000, 2)),
    (b"data/a\xef\xbf\xbd", "f", noise(100_000, 3)),
    (b"\xef\xbf\xbd", "d", b""),
    (b"\xef\xbf\xbd/.env", "f", b"API_TOKEN=ghp_0123456789abcdefghijklmnopqrstuvwxyzAB\n"),
])
tar("l2.tar", tarfile.GNU_FORMAT, [(b".wh.\xff", "f", b"")])
"#,
    );
    layout_of(
        &dir.join("image"),
        "names",
        &[&dir.join("l1.tar"), &dir.join("l2.tar")],
    )
}

fn names_that_are_not_utf8_stay_distinct_paths() {
    require(have("python3"), "python3");
    let dir = tempfile::tempdir().unwrap();
    let image = colliding_image(dir.path());
    let report = strata(&["report", &image, "--format", "json"]);
    assert_eq!(report.code, 0, "{}", report.stderr);
    let json = report.json();
    assert_eq!(json["dead_bytes"]["total"], 0, "{}", report.stdout);
    assert_eq!(json["dead_bytes"]["files"], 0, "{}", report.stdout);
    assert_eq!(json["layers"][0]["files"], 4, "{}", report.stdout);

    // diff --files from a plain image: every name added once, exactly.
    let old = plain_image(dir.path());
    let files = strata(&["diff", &old, &image, "--files", "--format", "json"]);
    let strings = json_bytes(&files);
    for name in COLLIDING {
        assert_eq!(
            paths_ending(&strings, name),
            1,
            "{}: {}",
            String::from_utf8_lossy(name),
            files.stdout
        );
    }
    for format in ["table", "markdown"] {
        let run = strata(&["diff", &old, &image, "--files", "--format", format]);
        assert_eq!(run.code, 0, "{format}: {}", run.stderr);
        for shown in ["/data/a\\xff", "/data/a\\xfe", "/data/a\u{fffd} ", "/\u{fffd}/.env"] {
            let shown = match format {
                "markdown" => format!("`{}`", shown.trim_end()),
                _ => shown.to_string(),
            };
            assert!(run.stdout.contains(&shown), "{format} {shown}: {}", run.stdout);
        }
        assert!(!run.stdout.contains('\0'), "{format}: a raw NUL");
    }
}

fn a_whiteout_deletes_exactly_the_bytes_it_names() {
    require(have("python3"), "python3");
    let dir = tempfile::tempdir().unwrap();
    let image = colliding_image(dir.path());
    let below = layout_of(&dir.path().join("below"), "below", &[&dir.path().join("l1.tar")]);
    // The whiteout of `\xff` names no file: the layer changes nothing, the .env is still there.
    let files = strata(&["diff", &below, &image, "--files", "--format", "json"]);
    assert_eq!(files.code, 0, "{}", files.stderr);
    assert_eq!(files.json()["files"], serde_json::json!([]), "{}", files.stdout);
    let table = strata(&["diff", &below, &image, "--files"]);
    assert!(table.stdout.contains("Changed files (0 of 0)"), "{}", table.stdout);
    assert!(!table.stdout.contains(".env"), "{}", table.stdout);

    // check names every path exactly, in every format.
    let check = |format: &str| {
        strata(&[
            "check",
            &image,
            "--forbid-path",
            "/**/.env",
            "--forbid-path",
            "/data/*",
            "--format",
            format,
        ])
    };
    let json = check("json");
    assert_eq!(json.code, 1, "{}", json.stderr);
    let strings = json_bytes(&json);
    for name in COLLIDING {
        let listed = strings
            .iter()
            .any(|s| *s == [name, &b" in layer 0"[..]].concat());
        assert!(listed, "{}: {}", String::from_utf8_lossy(name), json.stdout);
    }
    for format in ["table", "markdown"] {
        let run = check(format);
        assert_eq!(run.code, 1, "{format}: {}", run.stderr);
        for shown in ["/data/a\\xff in layer 0", "/data/a\\xfe in layer 0", "/\u{fffd}/.env"] {
            assert!(run.stdout.contains(shown), "{format} {shown}: {}", run.stdout);
        }
        assert!(!run.stdout.contains('\0'), "{format}: a raw NUL");
    }
}

/// The name strata shows for `name` (bytes) past the limit: its first 64 KiB and the marker.
fn cut_name(name: &[u8]) -> String {
    let digest = hex::encode(Sha256::digest(name));
    format!(
        "{}…(cut: {} bytes, sha256 {})",
        std::str::from_utf8(&name[..64 << 10]).unwrap(),
        name.len(),
        &digest[..16]
    )
}

fn names_past_the_limit_are_cut_with_a_marker_in_every_format() {
    require(have("python3"), "python3");
    let dir = tempfile::tempdir().unwrap();
    // A 100 KiB name, by GNU long name in layer 1 (20 kB) and by PAX path in layer 2 (10 B):
    // one path, cut the same way, so layer 1's copy is dead.
    let name = format!("d/{}", "x".repeat(100 << 10));
    python(
        dir.path(),
        &format!(
            r#"
name = b"{name}"
tar("l1.tar", tarfile.GNU_FORMAT, [(name, "f", noise(20_000, 1)), (b"s", "l", b"/" + b"y" * 102400)])
tar("l2.tar", tarfile.PAX_FORMAT, [(name, "f", b"0123456789")])
"#
        ),
    );
    let image = layout_of(
        &dir.path().join("image"),
        "long",
        &[&dir.path().join("l1.tar"), &dir.path().join("l2.tar")],
    );
    let shown = format!("/{}", cut_name(name.as_bytes()));
    let marker = &shown[shown.find('…').unwrap()..];

    let report = strata(&["report", &image, "--format", "json"]);
    assert_eq!(report.code, 0, "{}", report.stderr);
    let json = report.json();
    assert_eq!(json["dead_bytes"]["total"], 20_000, "{}", report.stderr);
    assert_eq!(json["dead_bytes"]["top"][0]["path"], shown.as_str());
    let markdown = strata(&["report", &image, "--format", "markdown"]);
    assert!(markdown.stdout.contains(&shown), "markdown keeps the cut name whole");
    assert!(!markdown.stdout.contains(&"x".repeat((64 << 10) + 1)));
    // Tables elide a cell's middle (to 400 characters): the marker at its end is shown; 1000
    // columns, so no cell wraps.
    let wide = |args: &[&str]| strata_in(args, &[("COLUMNS", Path::new("1000"))], None);
    let table = wide(&["report", &image, "--format", "table"]);
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(table.stdout.contains(marker), "{}", table.stdout);
    let row = table.stdout.lines().find(|l| l.contains(marker)).unwrap();
    assert!(row.contains("/d/xxx") && row.chars().count() < 1000, "{row}");

    let check = |format: &str| strata(&["check", &image, "--forbid-path", "/d/*", "--format", format]);
    let json = check("json");
    assert_eq!(json.code, 1, "{}", json.stderr);
    let strings = json_bytes(&json);
    assert!(strings.iter().any(|s| s == shown.as_bytes()), "{}", json.stdout.len());
    let markdown = check("markdown");
    assert_eq!(markdown.code, 1, "{}", markdown.stderr);
    assert!(markdown.stdout.contains(&shown), "{}", markdown.stdout.len());
    let table = wide(&["check", &image, "--forbid-path", "/d/*"]);
    assert_eq!(table.code, 1, "{}", table.stderr);
    assert!(table.stdout.contains(marker), "{}", table.stdout);
    let old = plain_image(dir.path());
    let files = strata(&["diff", &old, &image, "--files", "--format", "json"]);
    assert!(json_bytes(&files).iter().any(|s| s == shown.as_bytes()));
    let files = wide(&["diff", &old, &image, "--files"]);
    assert!(files.stdout.contains(marker), "{}", files.stdout);
}

crate::tests![
    names_that_are_not_utf8_stay_distinct_paths,
    a_whiteout_deletes_exactly_the_bytes_it_names,
    names_past_the_limit_are_cut_with_a_marker_in_every_format,
];
