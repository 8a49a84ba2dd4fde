//! Inputs the fuzzers in `fuzz/` found to crash or hang strata, kept so they stay fixed. Each test
//! names the fuzz target and the fix; see RELIABILITY.md.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use strata::analysis::top_paths::top_paths;
use strata::layer::walk::{walk, Contents, Entry};
use strata::policy::dive_ci;

/// Runs `f` on another thread and fails the test if it does not return within `secs` (a hang is
/// the bug being guarded against, so the test must not hang with it).
fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .expect("did not finish: hang (or panic) regression")
}

/// One regular file whose name is written raw into the header, with `size` bytes of content.
fn layer_with_file_named(name: &[u8], size: usize) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(size as u64);
    h.set_cksum();
    let mut b = tar::Builder::new(Vec::new());
    b.append(&h, &vec![0x61u8; size][..]).unwrap();
    b.into_inner().unwrap()
}

fn walk_all(layer: &[u8]) -> Vec<Entry> {
    let mut entries = Vec::new();
    walk(layer, Contents::Skip, &mut [], |e| entries.push(e)).unwrap();
    entries
}

/// fuzz target `analyze_layers`, input `c5c5 0ac5 c5c5 0ac5` (2026-11-22): one layer holding a
/// regular file with an empty name and 197 bytes. Its path cleans to "" (the root), which
/// `top_paths` listed as its own child and then descended into forever, so `strata report` hung on
/// any layer with a regular-file entry named ``, `.`, `./`, `/` or `a/..`.
/// Fixed in src/analysis/top_paths.rs (the root is nobody's child).
fn a_regular_file_named_like_the_root_does_not_hang_top_paths() {
    for name in [&b""[..], b".", b"./", b"/", b"a/.."] {
        let entries = walk_all(&layer_with_file_named(name, 197));
        assert_eq!(entries.len(), 1);
        assert_eq!(&*entries[0].path, "", "name {name:?}");
        let top = within(10, move || top_paths(&entries, 5));
        assert!(top.iter().all(|t| t.path != "//"), "{top:?}");
    }
}

/// The same root file next to ordinary ones: the other directories are still ranked.
fn a_root_file_does_not_hide_the_other_top_paths() {
    let mut entries = walk_all(&layer_with_file_named(b".", 10));
    entries.extend(walk_all(&layer_with_file_named(b"usr/lib/x", 100)));
    let top = within(10, move || top_paths(&entries, 5));
    assert!(top.iter().any(|t| t.path.starts_with("/usr")), "{top:?}");
}

/// fuzz target `dive_ci`, input `rules: ` then 32 000 `[` and 32 000 `]` (64 KB; written by hand
/// after the fuzzer's own inputs stayed short, 2026-12-03): the YAML scanner's time grows with the
/// square of the flow nesting depth, so `strata check --dive-ci` ran for about 100 s on it (8 000
/// levels: 6.4 s) and did not end within the fuzzer's 30 s. Fixed in src/policy/dive_ci.rs: nesting
/// deeper than 64 is refused before the YAML parser sees the text.
fn deeply_nested_brackets_in_a_dive_ci_file_are_refused_at_once() {
    for (open, close) in [("[", "]"), ("{a: ", "}")] {
        let text = format!("rules: {}{}\n", open.repeat(32_000), close.repeat(32_000));
        let outcome = within(10, move || {
            dive_ci::parse(&text, Path::new(".dive-ci")).map_err(|e| e.to_string())
        });
        let message = outcome.expect_err("a 32 000-deep document is not a dive CI file");
        assert_eq!(
            message,
            ".dive-ci: not a dive CI file: brackets nested more than 64 deep"
        );
    }
    // Flow style as dive's users write it still reads.
    let rules = dive_ci::parse("rules: {lowestEfficiency: 0.8}\n", Path::new(".dive-ci")).unwrap();
    assert_eq!(rules.lowest_efficiency, dive_ci::Limit::Threshold(0.8));
}

crate::tests![
    a_regular_file_named_like_the_root_does_not_hang_top_paths,
    a_root_file_does_not_hide_the_other_top_paths,
    deeply_nested_brackets_in_a_dive_ci_file_are_refused_at_once,
];
