//! One reference grammar and typed errors, end to end: a destination that names no registry host
//! is refused before any connection (a loopback listener set as every proxy variable sees none),
//! a registry's missing tag is exit 3 with a hint, and a junk archive's header bytes never reach
//! the terminal raw.


use std::path::Path;

use crate::support::layout::{tar_bytes, write_layout, Comp, Item};
use crate::support::listener::Listener;
use crate::support::registry::Registry;
use crate::support::{strata, strata_in};

/// A one-layer image in the layout `dir`, tagged `v1`.
fn sample(dir: &Path) -> String {
    write_layout(
        dir,
        "v1",
        &[(
            tar_bytes(&[Item::File("app/main.py", b"print(1)\n")]),
            Comp::Gzip,
        )],
    );
    format!("oci:{}:v1", dir.display())
}

/// The names of the entries of `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn a_destination_without_registry_host_is_refused_before_any_connection() {
    let tmp = tempfile::tempdir().unwrap();
    let src = sample(&tmp.path().join("src"));
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let listener = Listener::start();
    for dest in ["weird", "weird:latest", "team/app:1"] {
        let run = listener.strata(&["copy", &src, dest, "--timeout", "2"], &work);
        assert_eq!(run.code, 2, "copy {dest}: {}", run.stderr);
        assert!(
            run.stderr.contains("names no registry host"),
            "{}",
            run.stderr
        );
        let hint = run
            .stderr
            .lines()
            .find(|l| l.starts_with("hint: "))
            .unwrap_or_else(|| panic!("no hint line: {}", run.stderr));
        assert!(hint.contains(&format!("docker://{dest}")), "{hint}");
        assert!(hint.contains(&format!("oci:{dest}")), "{hint}");
        let run = listener.strata(
            &["rebase", &src, "--new-base", &src, "--output", dest],
            &work,
        );
        assert_eq!(run.code, 2, "rebase --output {dest}: {}", run.stderr);
        assert!(run.stderr.contains("hint: "), "{}", run.stderr);
    }
    assert_eq!(listener.connections(), 0, "strata connected somewhere");
    assert!(listing(&work).is_empty(), "wrote {:?}", listing(&work));

    // The oracle sees connections when there are some: the same image pushed to Docker Hub
    // explicitly goes through the proxy (and fails there, exit 3).
    let run = listener.strata(&["copy", &src, "docker://weird", "--timeout", "2"], &work);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(listener.connections() > 0, "the listener saw no connection");
}

fn a_missing_tag_in_a_registry_is_exit_3_with_a_hint() {
    let registry = Registry::start(None);
    let tmp = tempfile::tempdir().unwrap();
    let src = sample(&tmp.path().join("src"));
    let pushed = format!("docker://{}/team/app:v1", registry.host);
    let run = strata(&["copy", &src, &pushed]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let repository = format!("{}/team/app", registry.host);
    for missing in [
        format!("{repository}:nope"),
        format!("{}/never/pushed:v1", registry.host),
    ] {
        let run = strata(&["report", &missing]);
        assert_eq!(run.code, 3, "{missing}: {}", run.stderr);
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("strata: error: registry: ")),
            "{}",
            run.stderr
        );
        let hint = lines
            .iter()
            .find(|l| l.starts_with("hint: "))
            .unwrap_or_else(|| panic!("no hint: {}", run.stderr));
        assert!(hint.contains("strata history "), "{hint}");
    }
    // The tag that is there is found, and the hint's command lists it.
    let run = strata(&["history", &repository, "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("\"v1\""), "{}", run.stdout);
}

fn a_junk_archive_never_prints_its_bytes_raw() {
    let tmp = tempfile::tempdir().unwrap();
    // A tar header whose name field holds terminal escapes (clear the screen, set the title)
    // and whose checksum field is not a number: the tar reader's own error quotes both.
    let mut header = [0u8; 512];
    let name = b"\x1b[2J\x1b]0;owned\x07\x1b[31mred\r\x9b";
    header[..name.len()].copy_from_slice(name);
    header[148..156].copy_from_slice(b"\x1b[5mzzz\0");
    let junk = tmp.path().join("junk.tar");
    std::fs::write(&junk, [&header[..], &[0u8; 1024]].concat()).unwrap();
    let run = strata(&["report", junk.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.starts_with("strata: error: "), "{}", run.stderr);
    let raw: Vec<char> = run
        .stderr
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect();
    assert!(
        raw.is_empty(),
        "raw control characters {raw:?} in {:?}",
        run.stderr
    );
}

/// `cook --cache-to` takes a repository: a bare name is refused before anything is cooked (on
/// main, cargo compiled the dependencies first and the push failed afterwards).
fn cook_refuses_a_bare_cache_destination_before_compiling() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(
        project.join("Cargo.toml"),
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(project.join("src/main.rs"), "fn main() {}\n").unwrap();
    let recipe = strata_in(&["recipe", "--recipe-path", "recipe.json"], &[], Some(&project));
    assert_eq!(recipe.code, 0, "{}", recipe.stderr);
    let empty = tmp.path().join("cook");
    std::fs::create_dir(&empty).unwrap();
    std::fs::copy(project.join("recipe.json"), empty.join("recipe.json")).unwrap();
    let run = strata_in(
        &["cook", "--recipe-path", "recipe.json", "--cache-to", "weird"],
        &[],
        Some(&empty),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("hint: write docker://weird"), "{}", run.stderr);
    assert!(!run.stderr.contains("Compiling"), "{}", run.stderr);
    assert_eq!(listing(&empty), vec!["recipe.json".to_string()]);
}

crate::tests![
    a_destination_without_registry_host_is_refused_before_any_connection,
    a_missing_tag_in_a_registry_is_exit_3_with_a_hint,
    a_junk_archive_never_prints_its_bytes_raw,
    cook_refuses_a_bare_cache_destination_before_compiling,
];
