//! Issue 8's acceptance: `fixtures/planted/build.sh` builds, with Docker, an image planted with
//! one instance of every finding family (a secret deleted by a later layer, an entrypoint whose
//! library is missing, setuid, world-writable, root, every bloat rule, a cache, dependencies,
//! dead bytes) and a clean control on the same busybox base. strata reports exactly the planted
//! items and nothing on the control, `strata check` gates on them, and no planted secret value
//! reaches any output format or stderr. The same files built by `strata build` give the set that
//! builder can express. Needs Docker, busybox-static and gcc: skipped without them, a failure
//! under CI=true.


use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::support::{docker_ok, have, report_json, require, sh, strata};

/// One finding as the tests compare them: rule, path, layer, hiding layer.
type Item = crate::support::FindingItem;

/// The output directory of `build.sh`, run once per test run (a skip, or a failure under
/// CI=true, when a prerequisite is missing).
fn built() -> &'static Path {
    static OUT: OnceLock<PathBuf> = OnceLock::new();
    OUT.get_or_init(|| {
        require(docker_ok(&["info"]), "a running Docker Engine");
        require(
            Path::new("/bin/busybox").exists(),
            "busybox-static (/bin/busybox)",
        );
        require(have("gcc") && have("ldd"), "gcc and ldd");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("planted");
        let _ = std::fs::remove_dir_all(&out);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/planted/build.sh");
        sh(&format!("'{}' '{}'", script.display(), out.display()));
        out
    })
}

/// The planted secret values (random, written by `build.sh`), one a line.
fn secret_values(out: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(out.join("secrets")).expect("secrets");
    let values: Vec<String> = text.lines().map(str::to_string).collect();
    assert!(values.len() >= 4 && values.iter().all(|v| v.len() >= 16));
    values
}

fn items(report: &serde_json::Value) -> Vec<Item> {
    crate::support::finding_items(report, |_| true)
}

fn sorted(expected: &[(&str, &str, u64, Option<u64>)]) -> Vec<Item> {
    let mut out: Vec<Item> = expected
        .iter()
        .map(|(r, p, l, h)| (r.to_string(), p.to_string(), *l, *h))
        .collect();
    out.sort();
    out
}

const JUNK: &str = "**/{.DS_Store,Thumbs.db,*.swp,*~,.idea,.vscode}";

/// What both builders plant the same way, in layer 1 (the `files/` tree) and in the newest layer.
const COMMON: &[(&str, &str, u64, Option<u64>)] = &[
    ("secret-npm-token", "/app/.npmrc", 1, None),
    ("secret-aws-key", "/app/config.txt", 1, None),
    ("secret-env-file", "/app/.env", 1, None),
    ("secret-private-key", "/root/.ssh/id_rsa", 2, Some(3)),
    ("wont-start-missing-library", "/app/app", 1, None),
    ("unstripped", "/app/app", 1, None),
    ("runs-as-root", "(config) User", 5, None),
    ("python", "/app/.venv", 1, None),
    ("duplicate", "/app/data/b.bin", 1, None),
    ("pip-cache", "/root/.cache/pip", 3, None),
    ("toolchain", "/usr/lib/gcc", 1, None),
    ("docs", "/usr/share/doc", 1, None),
    ("logs", "/var/log", 1, None),
    ("dev-artifacts", "/usr/include", 1, None),
    ("junk", JUNK, 1, None),
    ("oversized-layer", "(layer 4)", 4, None),
    ("large-recent-file", "/app/assets/big.bin", 5, None),
];

fn docker_built_planted_image_reports_exactly_the_planted_items() {
    let out = built();
    let planted = out.join("planted.tar");
    let report = report_json(planted.to_str().unwrap());
    let mut expected = COMMON.to_vec();
    expected.extend([
        ("deleted", "/root/.ssh/id_rsa", 2, Some(3)),
        ("setuid", "/bin/planted-su", 3, None),
        ("world-writable", "/shared", 3, None),
    ]);
    assert_eq!(items(&report), sorted(&expected));
    let text = report["findings"].to_string();
    assert!(
        text.contains("/app/app needs libplanted.so")
            && text.contains("present in layer 2, hidden by layer 3, still downloadable"),
        "{text}"
    );
    assert!(report["reclaimable"]["total"].as_u64().unwrap() > 65_536);

    let clean = report_json(out.join("clean.tar").to_str().unwrap());
    assert_eq!(items(&clean), []);
    assert_eq!(clean["reclaimable"]["total"], 0);
}

fn check_gates_the_planted_image_and_passes_the_clean_one() {
    let out = built();
    let gate = |archive: &str| {
        strata(&[
            "check",
            out.join(archive).to_str().unwrap(),
            "--no-progress",
            "--fail-on",
            "secret",
            "--fail-on",
            "wont-start",
        ])
    };
    let planted = gate("planted.tar");
    assert_eq!(planted.code, 1, "{}{}", planted.stdout, planted.stderr);
    assert!(planted.stdout.contains("wont-start-missing-library"));
    let clean = gate("clean.tar");
    assert_eq!(clean.code, 0, "{}{}", clean.stdout, clean.stderr);
    for value in secret_values(out) {
        assert!(
            !planted.stdout.contains(&value) && !planted.stderr.contains(&value),
            "a planted secret value leaked into `strata check`"
        );
    }
}

fn no_planted_secret_value_reaches_any_output_format() {
    let out = built();
    let planted = out.join("planted.tar");
    let values = secret_values(out);
    for format in ["table", "json", "markdown", "html"] {
        let run = strata(&[
            "report",
            planted.to_str().unwrap(),
            "--format",
            format,
            "--no-progress",
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stdout.contains("secret-private-key"), "{format}");
        for value in &values {
            assert!(
                !run.stdout.contains(value) && !run.stderr.contains(value),
                "a planted secret value leaked into the {format} output"
            );
        }
    }
}

/// The planted files built with `strata build` on the same base. Its builder normalizes modes and
/// its layers only add files, so two items cannot be expressed — the setuid file and the
/// world-writable directory — and the key is hidden by OVERWRITING it in a later layer
/// (`overwritten` dead bytes instead of `deleted`). The base is known here (the builder records
/// it), so every layer above it is recent: the 52 MB model and any host library of 1 MB or more
/// copied into layer 1 are large recent files too.
fn strata_built_planted_image_reports_what_its_builder_can_plant() {
    let out = built();
    let ctx = out.join("context");
    let root = ctx.join("strata/root");
    std::fs::create_dir_all(root.join(".ssh")).unwrap();
    std::fs::create_dir_all(root.join(".cache/pip/http/a")).unwrap();
    std::fs::write(root.join(".ssh/id_rsa"), "replaced: no key here\n").unwrap();
    sh(&format!(
        "head -c 40000 /dev/urandom > '{}' && head -c 52000000 /dev/urandom > '{}'",
        root.join(".cache/pip/http/a/entry").display(),
        ctx.join("strata/model.bin").display()
    ));
    std::fs::write(
        ctx.join("strata.toml"),
        format!(
            "[image]\nbase = \"docker-archive:{}\"\nentrypoint = [\"/app/app\"]\n\n\
             [[layer]]\nname = \"files\"\nfrom = [\"files\"]\nto = \"/\"\n\n\
             [[layer]]\nname = \"key\"\nfrom = [\"id_rsa\"]\nto = \"/root/.ssh\"\n\n\
             [[layer]]\nname = \"overwrite\"\nfrom = [\"strata/root\"]\nto = \"/root\"\n\n\
             [[layer]]\nname = \"model\"\nfrom = [\"strata/model.bin\"]\nto = \"/opt\"\n\n\
             [[layer]]\nname = \"big\"\nfrom = [\"big.bin\"]\nto = \"/app/assets\"\n",
            out.join("base.tar").display()
        ),
    )
    .unwrap();
    let image = format!("oci:{}:planted", out.join("built").display());
    let run = strata(&[
        "build",
        "--config",
        ctx.join("strata.toml").to_str().unwrap(),
        "--cache-dir",
        out.join("cache").to_str().unwrap(),
        "--output",
        &image,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    std::fs::remove_file(ctx.join("strata/model.bin")).unwrap();
    std::fs::remove_dir_all(out.join("cache")).unwrap();

    let report = report_json(&image);
    let mut expected: Vec<(String, String, u64, Option<u64>)> = sorted(COMMON);
    expected.extend(sorted(&[
        ("overwritten", "/root/.ssh/id_rsa", 2, Some(3)),
        ("large-recent-file", "/opt/model.bin", 4, None),
    ]));
    for lib in walk(&ctx.join("files")) {
        if std::fs::symlink_metadata(&lib).unwrap().len() >= 1_000_000 {
            let path = lib.strip_prefix(ctx.join("files")).unwrap();
            let path = format!("/{}", path.display());
            expected.push(("large-recent-file".into(), path, 1, None));
        }
    }
    expected.sort();
    assert_eq!(items(&report), expected);
    for value in secret_values(out) {
        assert!(!report.to_string().contains(&value));
    }
}

/// Every file and symlink below `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

crate::tests![
    docker_built_planted_image_reports_exactly_the_planted_items,
    check_gates_the_planted_image_and_passes_the_clean_one,
    no_planted_secret_value_reaches_any_output_format,
    strata_built_planted_image_reports_what_its_builder_can_plant,
];
