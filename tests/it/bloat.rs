//! Bloat findings and the net reclaimable total of `strata report`: an image planted with one
//! instance of every bloat rule (plus a cache and a file a later layer deletes, which is both a
//! cache and dead bytes) gets exactly those findings and a total that counts the deleted file
//! once; a clean control image with the same shape gets no finding at all.


use std::path::Path;

use crate::support::layout::{noise, tar_bytes, write_layout_with, Comp, Item};
use crate::support::strata;

/// `n` bytes repeating `tag`, so every planted file has content of its own.
fn fill(tag: &str, n: usize) -> Vec<u8> {
    tag.bytes().cycle().take(n).collect()
}

/// The planted files' contents, kept to compute the expected figures.
struct Planted {
    blob: Vec<u8>,
    readme: Vec<u8>,
    copyright: Vec<u8>,
    log: Vec<u8>,
    header: Vec<u8>,
    cc1: Vec<u8>,
    dup: Vec<u8>,
    ds_store: Vec<u8>,
    deb: Vec<u8>,
    scratch: Vec<u8>,
    model: Vec<u8>,
    main: Vec<u8>,
}

impl Planted {
    fn new() -> Planted {
        Planted {
            // Incompressible, so the layer is over the 50 MB oversized-layer floor even as the
            // gzip a push makes of it (it is stored uncompressed).
            blob: noise(50_000_000, 1),
            readme: fill("readme ", 4_000),
            copyright: fill("copyright ", 900),
            log: fill("log line\n", 7_000),
            header: fill("#define X 1\n", 2_500),
            cc1: fill("cc1 ", 90_000),
            dup: fill("same bytes ", 30_000),
            ds_store: fill("ds ", 600),
            deb: fill("deb ", 12_000),
            scratch: fill("scratch ", 20_000),
            model: fill("weights ", 1_200_000),
            main: fill("print('hi')\n", 120),
        }
    }
}

fn write_planted(dir: &Path, p: &Planted) -> String {
    let base = tar_bytes(&[Item::Dir("opt"), Item::File("opt/data/blob.bin", &p.blob)]);
    let build = tar_bytes(&[
        Item::File("usr/share/doc/pkg/README", &p.readme),
        Item::File("usr/share/doc/pkg/copyright", &p.copyright),
        Item::File("var/log/app.log", &p.log),
        Item::File("usr/include/x.h", &p.header),
        Item::File("usr/lib/gcc/x86_64-linux-gnu/12/cc1", &p.cc1),
        Item::File("app/a.bin", &p.dup),
        Item::File("app/b.bin", &p.dup),
        Item::File("app/.DS_Store", &p.ds_store),
        Item::File("var/cache/apt/archives/x.deb", &p.deb),
        Item::File("tmp/scratch", &p.scratch),
    ]);
    let top = tar_bytes(&[
        Item::Whiteout("tmp/scratch"),
        Item::File("app/c.bin", &p.dup),
        Item::File("app/model.bin", &p.model),
        Item::File("app/main.py", &p.main),
    ]);
    write_layout_with(
        dir,
        "latest",
        &[(base, Comp::None), (build, Comp::Gzip), (top, Comp::Gzip)],
        |config| config["config"]["User"] = "65532".into(),
    );
    format!("oci:{}:latest", dir.display())
}

fn write_clean(dir: &Path, p: &Planted) -> String {
    let base = tar_bytes(&[Item::File("usr/bin/app", &fill("elf ", 3_000))]);
    let build = tar_bytes(&[
        Item::File("usr/share/doc/pkg/copyright", &p.copyright),
        Item::File("usr/share/locale/en/LC_MESSAGES/app.mo", &fill("mo ", 800)),
        Item::File("app/main.py", &p.main),
        Item::File("app/util.py", &fill("def f(): pass\n", 300)),
    ]);
    let top = tar_bytes(&[Item::File("app/config.json", &fill("{} ", 200))]);
    write_layout_with(
        dir,
        "latest",
        &[(base, Comp::None), (build, Comp::Gzip), (top, Comp::Gzip)],
        |config| config["config"]["User"] = "65532".into(),
    );
    format!("oci:{}:latest", dir.display())
}

/// `strata report` on a test image; these images have no program to start (tests/startup.rs and
/// tests/planted.rs cover that), so the `wont-start` findings are left out.
fn report(reference: &str, extra: &[&str]) -> crate::support::Run {
    let mut args = vec![
        "report",
        reference,
        "--no-progress",
        "--ignore",
        "wont-start",
    ];
    args.extend_from_slice(extra);
    let run = strata(&args);
    assert_eq!(run.code, 0, "strata report failed: {}", run.stderr);
    run
}

/// (kind, rule, layer, path) of every finding, sorted.
fn findings(v: &serde_json::Value) -> Vec<(String, String, u64, String)> {
    let mut found: Vec<_> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["rule"].as_str().unwrap().to_string(),
                f["layer"].as_u64().unwrap(),
                f["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    found.sort();
    found
}

fn rule_bytes(v: &serde_json::Value, rule: &str) -> u64 {
    v["reclaimable"]["by_rule"]
        .as_array()
        .expect("by_rule")
        .iter()
        .find(|r| r["rule"] == rule)
        .and_then(|r| r["bytes"].as_u64())
        .unwrap_or(0)
}

fn every_planted_bloat_item_is_reported_with_a_fix_and_counted_once() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Planted::new();
    let reference = write_planted(&tmp.path().join("planted"), &p);
    let run = report(&reference, &["--format", "json"]);
    let v = run.json();
    let expected: Vec<(String, String, u64, String)> = [
        ("bloat", "dev-artifacts", 1, "/usr/include"),
        ("bloat", "docs", 1, "/usr/share/doc"),
        ("bloat", "duplicate", 1, "/app/b.bin"),
        (
            "bloat",
            "junk",
            1,
            "**/{.DS_Store,Thumbs.db,*.swp,*~,.idea,.vscode}",
        ),
        ("bloat", "large-recent-file", 2, "/app/model.bin"),
        ("bloat", "logs", 1, "/var/log"),
        ("bloat", "oversized-layer", 0, "(layer 0)"),
        ("bloat", "toolchain", 1, "/usr/lib/gcc"),
        ("cache", "apt-cache", 1, "/var/cache/apt"),
        ("cache", "tmp", 1, "/tmp"),
        ("dead_bytes", "deleted", 1, "/tmp/scratch"),
    ]
    .iter()
    .map(|(k, r, l, p)| (k.to_string(), r.to_string(), *l, p.to_string()))
    .collect();
    assert_eq!(findings(&v), expected);

    for f in v["findings"].as_array().unwrap() {
        if f["kind"] == "bloat" {
            assert!(f["fix"].as_str().is_some_and(|s| !s.is_empty()), "{f}");
            assert_eq!(f["severity"], "info");
        }
    }
    let duplicate = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "duplicate")
        .unwrap();
    let message = duplicate["message"].as_str().unwrap();
    assert!(
        message.contains("/app/a.bin (layer 1)") && message.contains("/app/c.bin (layer 2)"),
        "{message}"
    );
    assert_eq!(duplicate["bytes"], 2 * p.dup.len() as u64);

    // The deleted scratch file is both the `tmp` cache and dead bytes: counted once. The large
    // file and the oversized layer are pointers, not removals.
    let len = |b: &Vec<u8>| b.len() as u64;
    let net = len(&p.readme)
        + len(&p.log)
        + len(&p.header)
        + len(&p.cc1)
        + 2 * len(&p.dup)
        + len(&p.ds_store)
        + len(&p.deb)
        + len(&p.scratch);
    assert_eq!(v["reclaimable"]["total"], net);
    assert_eq!(rule_bytes(&v, "tmp"), len(&p.scratch));
    assert_eq!(rule_bytes(&v, "deleted"), len(&p.scratch));
    assert_eq!(rule_bytes(&v, "duplicate"), 2 * len(&p.dup));
    assert_eq!(rule_bytes(&v, "large-recent-file"), 0);

    // Bloat fixes in app layers are advice too.
    let advice: Vec<&str> = v["advice"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["action"].as_str())
        .collect();
    assert!(
        advice
            .iter()
            .any(|a| a.starts_with("/usr/lib/gcc: build in a separate stage")),
        "{advice:?}"
    );

    // Past `--top`, duplicate groups and dead files fold into one row each that still reclaims.
    let folded = report(&reference, &["--format", "json", "--top", "0"]).json();
    assert_eq!(folded["reclaimable"]["total"], net);
    let paths: Vec<&str> = folded["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert!(
        paths.contains(&"(1 more groups)") && paths.contains(&"(1 more files)"),
        "{paths:?}"
    );

    // Ignoring a rule takes its bytes out of the total.
    let ignored = report(&reference, &["--format", "json", "--ignore", "toolchain"]).json();
    assert_eq!(ignored["reclaimable"]["total"], net - len(&p.cc1));

    let table = report(&reference, &[]);
    let markdown = report(&reference, &["--format", "markdown"]);
    let human = strata::units::human_bytes(net);
    for out in [&table.stdout, &markdown.stdout] {
        assert!(out.contains(&format!("Net reclaimable {human}")), "{out}");
    }
}

fn a_clean_control_image_has_no_finding_and_nothing_reclaimable() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Planted::new();
    let reference = write_clean(&tmp.path().join("clean"), &p);
    let v = report(&reference, &["--format", "json"]).json();
    assert_eq!(findings(&v), []);
    assert_eq!(v["reclaimable"]["total"], 0);
    let table = report(&reference, &[]);
    assert!(
        !table.stdout.contains("Net reclaimable"),
        "{}",
        table.stdout
    );
}

crate::tests![
    every_planted_bloat_item_is_reported_with_a_fix_and_counted_once,
    a_clean_control_image_has_no_finding_and_nothing_reclaimable,
];
