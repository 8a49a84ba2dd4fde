//! Crash safety of the writers: four `strata copy` into one new layout at once all succeed and
//! leave one valid layout (skopeo reads every tag); a `copy` or `build` killed with SIGKILL at
//! random points leaves temp files, which the next run into the same place (and `strata cache
//! prune`) removes, while the temp file of a writer that still runs is never removed.
//!
//! A temp file is what `src/temp.rs` names one: `.LABEL.PID-START-N.tmp` ([`is_temp`]).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::support::layout::{noise, tar_bytes, write_layout, Comp, Item};
use crate::support::{have, require, sh, strata};

/// Whether `name` is a temp name of the current scheme: `.LABEL.PID-START-N.tmp`.
fn is_temp(name: &str) -> bool {
    let mark = name
        .strip_prefix('.')
        .and_then(|n| n.strip_suffix(".tmp"))
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, mark)| mark.split('-').collect::<Vec<_>>());
    mark.is_some_and(|parts| {
        parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// Every temp file or directory under `dir` (itself included, recursively).
fn temps_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if is_temp(&entry.file_name().to_string_lossy()) {
            found.push(path.clone());
        }
        if path.is_dir() {
            found.extend(temps_under(&path));
        }
    }
    found
}

/// A random delay in `0..max_ms` milliseconds (the clock's nanoseconds: good enough to vary
/// where a kill lands).
fn random_ms(max_ms: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    u64::from(nanos) % max_ms
}

/// The tags `index.json` of the layout `dir` lists.
fn tags_of(dir: &Path) -> Vec<String> {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let mut tags: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["annotations"]["org.opencontainers.image.ref.name"].as_str())
        .map(str::to_string)
        .collect();
    tags.sort();
    tags
}

fn four_concurrent_copies_into_a_new_layout_all_succeed() {
    require(have("skopeo"), "skopeo");
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let layers = [
        (tar_bytes(&[Item::File("etc/os-release", b"ID=test\n")]), Comp::Gzip),
        (tar_bytes(&[Item::File("app/data.bin", &noise(300_000, 3))]), Comp::Gzip),
    ];
    let digest = write_layout(&src, "v1", &layers).manifest_digest;
    let source = format!("oci:{}:v1", src.display());
    // Rounds 0-4 into a missing directory, 5-9 into an empty one; round 9 all with one tag.
    for round in 0..10 {
        let new = dir.path().join(format!("new{round}"));
        if round >= 5 {
            std::fs::create_dir(&new).unwrap();
        }
        let tags: Vec<String> = (0..4)
            .map(|n| match round {
                9 => "same".to_string(),
                _ => format!("tag{n}"),
            })
            .collect();
        let runs: Vec<_> = std::thread::scope(|s| {
            let spawned: Vec<_> = tags
                .iter()
                .map(|tag| {
                    let dest = format!("oci:{}:{tag}", new.display());
                    let source = &source;
                    s.spawn(move || strata(&["copy", source, &dest]))
                })
                .collect();
            spawned.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for run in &runs {
            assert_eq!(run.code, 0, "round {round}: {}", run.stderr);
        }
        let mut expected = tags.clone();
        expected.dedup();
        assert_eq!(tags_of(&new), expected, "round {round}: index.json has every tag");
        for tag in &expected {
            let inspect = sh(&format!("skopeo inspect oci:{}:{tag}", new.display()));
            assert!(inspect.contains(&digest), "round {round} {tag}: {inspect}");
        }
        let left: Vec<_> = temps_under(dir.path());
        assert_eq!(left, Vec::<PathBuf>::new(), "round {round}: no temp left");
    }
}

/// Starts `args` (a strata command) in `dir`, its output discarded.
fn spawn(args: &[&str], dir: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Runs `args` in `dir` and kills it with SIGKILL after a random delay below `max_ms`, in
/// `rounds` rounds that each ended with temp files under `watch` (a round whose kill came too
/// early or too late is repeated, up to 40 tries in all); `change` runs before each try, so
/// each writes something new.
fn kill_mid_write(args: &[&str], dir: &Path, watch: &Path, max_ms: u64, mut change: impl FnMut(usize)) {
    let (mut killed_mid_write, mut tries, mut max_ms) = (0, 0, max_ms);
    while killed_mid_write < 3 {
        assert!(tries < 40, "no kill landed mid-write in {tries} tries");
        change(tries);
        tries += 1;
        let before = temps_under(watch);
        let mut child = spawn(args, dir);
        std::thread::sleep(Duration::from_millis(random_ms(max_ms)));
        // A run that ended before its kill was too short for the delays: halve them.
        if child.try_wait().unwrap().is_some() {
            max_ms = (max_ms / 2).max(10);
            continue;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        // Each run first removes what earlier ones left: a new name is this kill's.
        if temps_under(watch).iter().any(|t| !before.contains(t)) {
            killed_mid_write += 1;
        }
    }
}

fn killed_copies_leave_temp_files_the_next_copy_removes() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let big = tar_bytes(&[Item::File("data/big.bin", &noise(40 << 20, 5))]);
    write_layout(&src, "v1", &[(big, Comp::None)]);
    let source = format!("oci:{}:v1", src.display());
    let dest = dir.path().join("out").join("layout");
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    let target = format!("oci:{}:v1", dest.display());
    kill_mid_write(&["copy", &source, &target], dir.path(), dest.parent().unwrap(), 1500, |_| {
        // A layout that exists, and one staged beside it, are both killed into; either way the
        // blob is missing, so each copy writes it.
        if dest.exists() {
            if random_ms(2) == 0 {
                std::fs::remove_dir_all(&dest).unwrap();
            } else {
                for blob in std::fs::read_dir(dest.join("blobs/sha256")).unwrap() {
                    let path = blob.unwrap().path();
                    if !path.file_name().unwrap().to_string_lossy().starts_with('.') {
                        std::fs::remove_file(path).unwrap();
                    }
                }
            }
        }
    });
    let left = temps_under(dest.parent().unwrap());
    assert!(!left.is_empty(), "the kills left temp files");
    let run = strata(&["copy", &source, &target]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(temps_under(dest.parent().unwrap()), Vec::<PathBuf>::new(), "were: {left:?}");
}

/// A project of one incompressible file of `mb` MB, built as one layer.
fn big_project(dir: &Path, mb: usize) -> PathBuf {
    let project = dir.join("big");
    std::fs::create_dir_all(project.join("data")).unwrap();
    std::fs::write(project.join("data/random.bin"), noise(mb << 20, 9)).unwrap();
    project
}

fn build_args<'a>(cache: &'a str, output: &'a str) -> Vec<&'a str> {
    let mut args = vec!["build", "--base", "scratch", "--layer", "data=data:/data"];
    args.extend(["--cache-dir", cache, "--output", output, "--no-progress"]);
    args
}

fn killed_builds_leave_temp_files_a_rebuild_and_prune_remove() {
    let dir = tempfile::tempdir().unwrap();
    let project = big_project(dir.path(), 40);
    let cache = dir.path().join("cache");
    let cache_arg = cache.display().to_string();
    let output = format!("oci:{}:v1", dir.path().join("out").display());
    let args = build_args(&cache_arg, &output);
    kill_mid_write(&args, &project, &cache, 2500, |n| {
        std::fs::write(project.join("data/round.txt"), n.to_string()).unwrap();
    });
    let left = temps_under(&cache);
    assert!(!left.is_empty(), "the kills left temp files");
    let run = crate::support::strata_in(&args, &[], Some(&project));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(temps_under(&cache), Vec::<PathBuf>::new(), "the rebuild removed {left:?}");

    // Killed again, then pruned.
    kill_mid_write(&args, &project, &cache, 2500, |n| {
        std::fs::write(project.join("data/round.txt"), format!("again {n}")).unwrap();
    });
    let left = temps_under(&cache);
    let prune = strata(&["cache", "prune", "--cache-dir", &cache_arg]);
    assert_eq!(prune.code, 0, "{}", prune.stderr);
    assert!(
        prune.stdout.contains(&format!("{} temp files", left.len())),
        "{left:?}: {}",
        prune.stdout
    );
    assert_eq!(temps_under(&cache), Vec::<PathBuf>::new());
}

fn prune_never_removes_a_live_writers_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let project = big_project(dir.path(), 120);
    let cache = dir.path().join("cache");
    let cache_arg = cache.display().to_string();
    let output = format!("oci:{}:v1", dir.path().join("out").display());
    let child = spawn(&build_args(&cache_arg, &output), &project);
    let deadline = Instant::now() + Duration::from_secs(120);
    let writing = loop {
        if let Some(temp) = temps_under(&cache).pop() {
            break temp;
        }
        assert!(Instant::now() < deadline, "the build never wrote its layer");
        std::thread::sleep(Duration::from_millis(5));
    };
    let prune = strata(&["cache", "prune", "--cache-dir", &cache_arg]);
    assert_eq!(prune.code, 0, "{}", prune.stderr);
    assert!(prune.stdout.contains(" 0 temp files"), "{}", prune.stdout);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the build survived the prune");
    assert!(!writing.exists(), "and renamed its temp file into place");
    let report = strata(&["report", &output, "--format", "json"]);
    assert_eq!(report.code, 0, "{}", report.stderr);
}

crate::tests![
    four_concurrent_copies_into_a_new_layout_all_succeed,
    killed_copies_leave_temp_files_the_next_copy_removes,
    killed_builds_leave_temp_files_a_rebuild_and_prune_remove,
    prune_never_removes_a_live_writers_temp_file,
];
