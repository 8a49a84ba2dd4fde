//! `--format html`: the pages of `strata report` and `strata diff` opened in headless Chromium.
//! The page's own script marks `<html data-script="ok">` once loaded and counts script errors and
//! Content-Security-Policy violations into `data-errors` / `data-violations`; `--dump-dom` reads
//! them back, and Chromium's stderr log (`--enable-logging=stderr`) must hold no console message.
//! The figures in the page's `data-*` attributes must equal the JSON report's.


use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

use crate::support::layout::{tar_bytes, write_layout, write_layout_with, Comp, Item};
use crate::support::{have, optional, strata};

fn sample(tag: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample-app");
    format!("oci:{}:{tag}", dir.display())
}

/// Where this test keeps what it renders (screenshots are test artifacts).
fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/html-test");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Whether Chromium is there for the in-browser part of a test (see [`optional`]).
fn chromium_ok() -> bool {
    optional(have("chromium"), "chromium (Debian package chromium)")
}

/// One Chromium at a time, so the load time measured is the page's, not the machine's contention.
static CHROMIUM: Mutex<()> = Mutex::new(());

fn chromium(args: &[&str]) -> std::process::Output {
    let _one = CHROMIUM.lock().unwrap_or_else(|e| e.into_inner());
    Command::new("timeout")
        .arg("120")
        .arg("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .args(args)
        .output()
        .expect("run chromium")
}

/// The DOM after load (and after the page's script ran), with Chromium's console log.
struct Loaded {
    dom: String,
    log: String,
    seconds: f64,
}

fn load(page: &Path, fragment: &str) -> Loaded {
    let url = format!("file://{}{fragment}", page.display());
    let start = Instant::now();
    let out = chromium(&["--enable-logging=stderr", "--v=0", "--dump-dom", &url]);
    let seconds = start.elapsed().as_secs_f64();
    let loaded = Loaded {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        log: String::from_utf8_lossy(&out.stderr).into_owned(),
        seconds,
    };
    assert!(
        out.status.success() && loaded.dom.contains("</html>"),
        "chromium failed: {}",
        loaded.log
    );
    loaded
}

/// The attributes of the first tag that contains `marker`.
fn tag_with<'a>(html: &'a str, marker: &str) -> &'a str {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} not in the page"));
    let start = html[..at].rfind('<').unwrap();
    let end = at + html[at..].find('>').unwrap();
    &html[start..=end]
}

/// The value of attribute `name` in `tag` (`""` for a bare `hidden`).
fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    match tag.find(&key) {
        Some(at) => {
            let at = at + key.len();
            Some(tag[at..at + tag[at..].find('"')?].to_string())
        }
        None => [" ", ">", "/"]
            .iter()
            .any(|end| tag.contains(&format!(" {name}{end}")))
            .then(String::new),
    }
}

fn num(tag: &str, name: &str) -> u64 {
    attr(tag, name)
        .unwrap_or_else(|| panic!("no {name} in {tag}"))
        .parse()
        .unwrap()
}

/// The page ran its script without an error, broke no CSP rule and logged nothing.
fn assert_clean(loaded: &Loaded) {
    let html_tag = tag_with(&loaded.dom, "<html");
    assert_eq!(
        attr(html_tag, "data-script").as_deref(),
        Some("ok"),
        "{html_tag}"
    );
    assert_eq!(attr(html_tag, "data-errors"), None, "{html_tag}");
    assert_eq!(attr(html_tag, "data-violations"), None, "{html_tag}");
    let console: Vec<&str> = loaded
        .log
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
}

/// Nothing in the file can reach the network: no URL, no `src=`, and a CSP that forbids loads.
fn assert_offline(html: &str) {
    for needle in ["http://", "https://", "src=", "//cdn", "@import", "url("] {
        assert!(!html.contains(needle), "the page contains {needle:?}");
    }
    let csp = tag_with(html, "Content-Security-Policy");
    assert!(
        csp.contains("content=\"default-src 'none';"),
        "no strict CSP: {csp}"
    );
    assert!(html.contains("name=\"viewport\""), "no viewport meta");
}

fn render(args: &[&str], out: &Path) -> String {
    let run = strata(args);
    assert_eq!(run.code, 0, "strata {args:?}: {}", run.stderr);
    std::fs::write(out, &run.stdout).unwrap();
    run.stdout
}

fn the_report_page_runs_offline_and_shows_the_json_figures() {
    let (latest, base) = (sample("latest"), sample("base"));
    let page = artifacts().join("report.html");
    let args = ["report", &latest, "--base", &base, "--no-progress"];
    let html = render(&[&args[..], &["--format", "html"]].concat(), &page);
    let json = strata(&[&args[..], &["--format", "json"]].concat()).json();
    assert_offline(&html);
    if !chromium_ok() {
        return;
    }
    let loaded = load(&page, "");
    assert_clean(&loaded);
    let dom = &loaded.dom;

    let img = &json["image"];
    let summary = |name: &str| {
        num(
            tag_with(dom, &format!("data-{name}=")),
            &format!("data-{name}"),
        )
    };
    assert_eq!(
        summary("compressed-bytes"),
        img["compressed_bytes"].as_u64().unwrap()
    );
    assert_eq!(
        summary("uncompressed-bytes"),
        img["uncompressed_bytes"].as_u64().unwrap()
    );
    assert_eq!(
        summary("visible-bytes"),
        img["visible_bytes"].as_u64().unwrap()
    );
    assert_eq!(
        summary("dead-bytes"),
        json["dead_bytes"]["total"].as_u64().unwrap()
    );
    let layers = json["layers"].as_array().unwrap();
    assert_eq!(summary("layers"), layers.len() as u64);
    let saved: u64 = json["advice"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["bytes_saved_per_deploy"].as_u64().unwrap())
        .sum();
    assert_eq!(summary("saved-per-deploy"), saved);
    assert!(layers.len() >= 2);
    for l in layers {
        let i = l["index"].as_u64().unwrap();
        let row = tag_with(dom, &format!("<tr data-layer=\"{i}\""));
        assert_eq!(attr(row, "data-role").unwrap(), l["role"].as_str().unwrap());
        for key in [
            "compressed_bytes",
            "uncompressed_bytes",
            "content_bytes",
            "files",
        ] {
            let name = format!("data-{}", key.replace('_', "-"));
            assert_eq!(num(row, &name), l[key].as_u64().unwrap(), "layer {i} {key}");
        }
        // The treemap's root view covers exactly the layer's content.
        if l["files"].as_u64().unwrap() > 0 {
            let root = tag_with(dom, &format!("id=\"tm-{i}-0\""));
            assert_eq!(
                num(root, "data-bytes"),
                l["content_bytes"].as_u64().unwrap()
            );
            assert_eq!(attr(root, "hidden"), None, "the root view shows first");
        }
    }
    for f in json["findings"].as_array().unwrap() {
        assert!(
            dom.contains(&format!("data-rule=\"{}\"", f["rule"].as_str().unwrap())),
            "finding {} missing",
            f["rule"]
        );
    }
    // The dependency root and its largest package are on the page with their sizes.
    let dep = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "dependencies")
        .expect("the sample has a .venv in an app layer");
    let head = tag_with(
        dom,
        &format!("<h3 data-path=\"{}\"", dep["path"].as_str().unwrap()),
    );
    assert_eq!(num(head, "data-bytes"), dep["bytes"].as_u64().unwrap());
    let package = &dep["packages"][0];
    let row = tag_with(
        dom,
        &format!("data-package=\"{}\"", package["name"].as_str().unwrap()),
    );
    assert_eq!(num(row, "data-bytes"), package["bytes"].as_u64().unwrap());

    let shot = artifacts().join("report.png");
    let _ = std::fs::remove_file(&shot);
    let out = chromium(&[
        &format!("--screenshot={}", shot.display()),
        "--window-size=1200,2000",
        &format!("file://{}", page.display()),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
}

fn a_click_target_in_the_fragment_zooms_into_a_directory() {
    let page = artifacts().join("zoom.html");
    let html = render(
        &[
            "report",
            &sample("latest"),
            "--format",
            "html",
            "--no-progress",
        ],
        &page,
    );
    // Layer 1 holds /app; its view is one of the zoom targets of the layer's root view.
    let target = attr(tag_with(&html, "data-zoom=\"tm-1-"), "data-zoom").unwrap();
    assert_eq!(
        attr(tag_with(&html, &format!("id=\"{target}\"")), "hidden").as_deref(),
        Some(""),
        "views below the root start hidden"
    );
    if !chromium_ok() {
        return;
    }
    let loaded = load(&page, &format!("#{target}"));
    assert_clean(&loaded);
    let view = tag_with(&loaded.dom, &format!("id=\"{target}\""));
    assert_eq!(attr(view, "hidden"), None, "{view}");
    let root = tag_with(&loaded.dom, "id=\"tm-1-0\"");
    assert!(attr(root, "hidden").is_some(), "{root}");
}

fn strings_from_the_image_cannot_inject_markup() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("evil");
    let evil = "app/<script>document.title='owned'</script>/x.txt";
    let layer = tar_bytes(&[
        Item::File(evil, b"0123456789"),
        Item::File("app/\"><img src=x onerror=alert(1)>.bin", b"abc"),
    ]);
    write_layout_with(&layout, "latest", &[(layer, Comp::Gzip)], |c| {
        c["history"][0]["created_by"] = "RUN echo '<script>alert(1)</script>'".into();
    });
    let reference = format!("oci:{}:latest", layout.display());
    let page = dir.path().join("evil.html");
    let html = render(
        &["report", &reference, "--format", "html", "--no-progress"],
        &page,
    );
    assert_eq!(
        html.matches("<script").count(),
        1,
        "only the page's own script"
    );
    assert!(!html.contains("<img"));
    assert!(html.contains("&lt;script&gt;document.title="));
    if !chromium_ok() {
        return;
    }
    let loaded = load(&page, "");
    assert_clean(&loaded);
    assert!(loaded.dom.contains("<title>strata report: "));
    assert!(!loaded.dom.contains("<title>owned"));
    assert!(!loaded.dom.contains("<img"));
}

fn the_diff_page_shows_shared_and_new_bytes_and_the_changed_files() {
    let page = artifacts().join("diff.html");
    let args = [
        "diff",
        &sample("base"),
        &sample("latest"),
        "--files",
        "--no-progress",
    ];
    let html = render(&[&args[..], &["--format", "html"]].concat(), &page);
    let json = strata(&[&args[..], &["--format", "json"]].concat()).json();
    assert_offline(&html);
    let shared: u64 = json["shared_layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["compressed_bytes"].as_u64().unwrap())
        .sum();
    assert!(shared > 0 && json["pull_bytes"].as_u64().unwrap() > 0);
    if !chromium_ok() {
        return;
    }
    let loaded = load(&page, "");
    assert_clean(&loaded);
    let dom = &loaded.dom;
    let card = |name: &str| {
        num(
            tag_with(dom, &format!("data-{name}=")),
            &format!("data-{name}"),
        )
    };
    assert_eq!(card("pull-bytes"), json["pull_bytes"].as_u64().unwrap());
    assert_eq!(card("push-bytes"), json["push_bytes"].as_u64().unwrap());
    assert_eq!(card("shared-bytes"), shared);
    let files = json["files"].as_array().unwrap();
    assert!(!files.is_empty());
    assert_eq!(card("files-total"), json["files_total"].as_u64().unwrap());
    for f in files {
        let row = tag_with(
            dom,
            &format!("data-path=\"{}\"", f["path"].as_str().unwrap()),
        );
        assert_eq!(
            attr(row, "data-change").unwrap(),
            f["change"].as_str().unwrap()
        );
    }
}

fn commands_without_a_page_refuse_html_before_doing_any_work() {
    for args in [
        vec!["check", "oci:/nonexistent:latest", "--format", "html"],
        vec![
            "copy",
            "oci:/nonexistent:a",
            "oci:/nonexistent:b",
            "--format",
            "html",
        ],
        vec!["lint", "/nonexistent/Dockerfile", "--format", "html"],
    ] {
        let run = strata(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("strata {} has no html format", args[0])),
            "{args:?}: {}",
            run.stderr
        );
    }
}

/// 20 000 small files in 400 directories over three layers: the page stays under 2 MB (small
/// entries fold) and loads fast. Prints the figures for BENCHMARKS.md.
fn a_twenty_thousand_file_image_makes_a_small_fast_page() {
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<Vec<String>> = (0..3)
        .map(|layer| {
            (0..20_000 / 3 + 1)
                .map(|i| {
                    format!(
                        "srv/l{layer}/pkg{}/sub{}/file-{i}.dat",
                        i % 40,
                        (i / 40) % 3
                    )
                })
                .collect()
        })
        .collect();
    let content = [b'x'; 700];
    let layers: Vec<(Vec<u8>, Comp)> = paths
        .iter()
        .map(|ps| {
            let items: Vec<Item> = ps
                .iter()
                .enumerate()
                .map(|(i, p)| Item::File(p, &content[..1 + i % 700]))
                .collect();
            (tar_bytes(&items), Comp::Gzip)
        })
        .collect();
    let layout = dir.path().join("big");
    write_layout(&layout, "latest", &layers);
    let reference = format!("oci:{}:latest", layout.display());
    let page = artifacts().join("twenty-thousand.html");
    let html = render(
        &["report", &reference, "--format", "html", "--no-progress"],
        &page,
    );
    let files: usize = paths.iter().map(Vec::len).sum();
    assert!(files >= 20_000);
    eprintln!("html report of {files} files: {} bytes", html.len());
    assert!(html.len() < 2_000_000, "{} bytes", html.len());
    assert_offline(&html);
    if !chromium_ok() {
        return;
    }
    // The best of three loads: the machine's other work is noise, not the page's cost.
    let mut best = u64::MAX;
    let mut whole = f64::MAX;
    for _ in 0..3 {
        let loaded = load(&page, "");
        assert_clean(&loaded);
        best = best.min(num(tag_with(&loaded.dom, "<html"), "data-load-ms"));
        whole = whole.min(loaded.seconds);
    }
    eprintln!(
        "chromium: page loaded in {best} ms (navigation start to load event, best of 3); whole headless run {whole:.2} s"
    );
    assert!(best < 1000, "{best} ms");
}

/// The lines of the first ```mermaid block of `markdown`.
fn mermaid(markdown: &str) -> Vec<String> {
    let start = markdown.find("```mermaid\n").expect("a mermaid block") + "```mermaid\n".len();
    let end = start + markdown[start..].find("```").expect("closed");
    markdown[start..end]
        .lines()
        .map(|l| l.trim().to_string())
        .collect()
}

fn markdown_draws_the_layers_and_the_deploy_as_mermaid_charts() {
    let (latest, base) = (sample("latest"), sample("base"));
    let report = ["report", &latest, "--base", &base, "--no-progress"];
    let md = strata(&[&report[..], &["--format", "markdown"]].concat()).stdout;
    let json = strata(&[&report[..], &["--format", "json"]].concat()).json();
    let chart = mermaid(&md);
    assert_eq!(chart[0], "xychart-beta");
    assert_eq!(chart[1], "title \"Compressed size per layer (MB)\"");
    let layers = json["layers"].as_array().unwrap();
    let labels: Vec<String> = layers
        .iter()
        .map(|l| format!("\"{} {}\"", l["index"], l["role"].as_str().unwrap()))
        .collect();
    assert_eq!(chart[2], format!("x-axis [{}]", labels.join(", ")));
    let bars: Vec<String> = layers
        .iter()
        .map(|l| {
            format!(
                "{:.2}",
                l["compressed_bytes"].as_u64().unwrap() as f64 / 1e6
            )
        })
        .collect();
    assert_eq!(chart[4], format!("bar [{}]", bars.join(", ")));

    let diff = ["diff", &base, &latest, "--no-progress"];
    let md = strata(&[&diff[..], &["--format", "markdown"]].concat()).stdout;
    let json = strata(&[&diff[..], &["--format", "json"]].concat()).json();
    let shared = json["shared_layers"][0]["compressed_bytes"]
        .as_u64()
        .unwrap();
    let pulled = json["pull_bytes"].as_u64().unwrap();
    assert_eq!(
        mermaid(&md),
        [
            "pie title What a deploy of NEW downloads".to_string(),
            format!(
                "\"shared, already there (MB)\" : {:.2}",
                shared as f64 / 1e6
            ),
            format!("\"downloaded (MB)\" : {:.2}", pulled as f64 / 1e6),
        ]
    );
}

crate::tests![
    the_report_page_runs_offline_and_shows_the_json_figures,
    a_click_target_in_the_fragment_zooms_into_a_directory,
    strings_from_the_image_cannot_inject_markup,
    the_diff_page_shows_shared_and_new_bytes_and_the_changed_files,
    commands_without_a_page_refuse_html_before_doing_any_work,
    a_twenty_thousand_file_image_makes_a_small_fast_page,
    markdown_draws_the_layers_and_the_deploy_as_mermaid_charts,
];
