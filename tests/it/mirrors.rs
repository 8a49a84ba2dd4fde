//! Registry mirrors from registries.conf (`$CONTAINERS_REGISTRIES_CONF`, as podman reads it),
//! against real loopback registries: a name whose host cannot resolve
//! (`registry.example.invalid`) is read from the mirror its `[[registry]]` names, as the
//! mirror's access log shows; a digest-only mirror serves digests only; a dead mirror falls
//! through to the next; a blocked registry is refused before any request; pushes never use
//! mirrors.

use std::path::{Path, PathBuf};

use crate::support::layout::{tar_bytes, write_layout, Comp, Item};
use crate::support::registry::Registry;
use crate::support::{have, report_json, require, strata_in};

/// The logical name the tests read; `.invalid` never resolves.
const PRIMARY: &str = "registry.example.invalid/team";

/// A mirror registry holding a small image under `cache/team/app:v1`, the layout it came from,
/// and a directory for registries.conf (also the `HOME`, so no user file is read).
struct Mirrored {
    mirror: Registry,
    layout: tempfile::TempDir,
    home: tempfile::TempDir,
}

impl Mirrored {
    fn new() -> Mirrored {
        require(have("skopeo"), "skopeo (Debian package)");
        let mirror = Registry::start(None);
        let layout = tempfile::tempdir().unwrap();
        let layers = [
            (tar_bytes(&[Item::File("etc/os", b"base\n")]), Comp::Gzip),
            (
                tar_bytes(&[Item::File("app/main.py", b"print('hi')\n")]),
                Comp::Zstd,
            ),
        ];
        write_layout(layout.path(), "v1", &layers);
        mirror.push(&self::oci(layout.path()), "cache/team/app:v1", None);
        Mirrored {
            mirror,
            layout,
            home: tempfile::tempdir().unwrap(),
        }
    }

    /// The mirror's location for [`PRIMARY`].
    fn location(&self) -> String {
        format!("{}/cache/team", self.mirror.host)
    }

    /// Writes registries.conf: a `[[registry]]` for `prefix` with these extra lines.
    fn conf(&self, prefix: &str, body: &str) -> PathBuf {
        let path = self.home.path().join("registries.conf");
        std::fs::write(&path, format!("[[registry]]\nprefix = \"{prefix}\"\n{body}")).unwrap();
        path
    }

    /// Runs strata with the registries.conf and HOME of this test (and `STRATA_DEBUG`).
    fn strata(&self, args: &[&str]) -> crate::support::Run {
        let conf = self.home.path().join("registries.conf");
        strata_in(
            args,
            &[
                ("CONTAINERS_REGISTRIES_CONF", &conf),
                ("HOME", self.home.path()),
                ("STRATA_DEBUG", Path::new("1")),
            ],
            None,
        )
    }

    /// `strata report REF --format json` under this configuration, asserting success.
    fn report(&self, reference: &str) -> serde_json::Value {
        let run = self.strata(&["report", reference, "--format", "json"]);
        assert_eq!(run.code, 0, "report {reference}: {}", run.stderr);
        run.json()
    }

    /// The mirror's log lines for manifests of `cache/team/app` since line `from`.
    fn manifest_gets(&self, from: usize) -> Vec<String> {
        self.mirror
            .log()
            .lines()
            .skip(from)
            .filter(|l| l.contains("\"GET /v2/cache/team/app/manifests/"))
            .map(str::to_string)
            .collect()
    }

    fn log_lines(&self) -> usize {
        self.mirror.log().lines().count()
    }
}

fn oci(dir: &Path) -> String {
    format!("oci:{}:v1", dir.display())
}

/// A loopback port nothing listens on.
fn dead_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn a_mirror_serves_reads_of_a_name_that_cannot_resolve() {
    let m = Mirrored::new();
    m.conf(
        PRIMARY,
        &format!("[[registry.mirror]]\nlocation = \"{}\"\n", m.location()),
    );
    let from_layout = report_json(&oci(m.layout.path()));
    let name = format!("{PRIMARY}/app:v1");
    let before = m.log_lines();
    let report = m.report(&name);
    assert_eq!(report["image"]["reference"], name, "named as asked");
    assert_eq!(
        report["image"]["manifest_digest"],
        from_layout["image"]["manifest_digest"]
    );
    assert_eq!(report["layers"], from_layout["layers"]);
    assert_eq!(m.manifest_gets(before).len(), 1, "{}", m.mirror.log());
    let blobs = m.mirror.blob_gets();
    for layer in from_layout["layers"].as_array().unwrap() {
        let digest = layer["digest"].as_str().unwrap();
        assert!(
            blobs.iter().any(|g| g.contains(digest)),
            "{digest} read from the mirror"
        );
    }
    // Every read goes there: check, diff, history and copy's source.
    let run = m.strata(&["check", &name, "--max-total", "100MB"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = m.strata(&["diff", &oci(m.layout.path()), &name, "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["pull_bytes"], 0, "the same image");
    let run = m.strata(&["history", &format!("{PRIMARY}/app"), "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["tags"][0]["tag"], "v1");
    let copy = tempfile::tempdir().unwrap();
    let dest = format!("oci:{}:v1", copy.path().join("copy").display());
    let run = m.strata(&["copy", &name, &dest]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        report_json(&dest)["image"]["manifest_digest"],
        from_layout["image"]["manifest_digest"]
    );
}

fn a_digest_only_mirror_serves_digests_and_not_tags() {
    let m = Mirrored::new();
    m.conf(
        PRIMARY,
        &format!(
            "[[registry.mirror]]\nlocation = \"{}\"\npull-from-mirror = \"digest-only\"\n",
            m.location()
        ),
    );
    let before = m.log_lines();
    let run = m.strata(&["report", &format!("{PRIMARY}/app:v1")]);
    assert_eq!(run.code, 3, "the primary cannot resolve: {}", run.stderr);
    assert!(run.stderr.contains("registry.example.invalid"), "{}", run.stderr);
    assert_eq!(m.log_lines(), before, "the mirror was not asked");
    let digest = report_json(&oci(m.layout.path()))["image"]["manifest_digest"].clone();
    let pinned = format!("{PRIMARY}/app@{}", digest.as_str().unwrap());
    assert_eq!(m.report(&pinned)["image"]["manifest_digest"], digest);
    assert_eq!(m.manifest_gets(before).len(), 1, "{}", m.mirror.log());
}

fn a_dead_mirror_falls_through_to_the_next() {
    let m = Mirrored::new();
    let dead = format!("127.0.0.1:{}/team", dead_port());
    m.conf(
        PRIMARY,
        &format!(
            "[[registry.mirror]]\nlocation = \"{dead}\"\n[[registry.mirror]]\nlocation = \"{}\"\n",
            m.location()
        ),
    );
    let name = format!("{PRIMARY}/app:v1");
    let run = m.strata(&["report", &name, "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.json()["image"]["manifest_digest"],
        report_json(&oci(m.layout.path()))["image"]["manifest_digest"]
    );
    assert!(
        run.stderr.contains(&format!("debug: mirror {dead}/app:v1 failed")),
        "{}",
        run.stderr
    );
    // When every place fails, the error is the primary's and names the mirrors tried first.
    m.conf(
        PRIMARY,
        &format!("[[registry.mirror]]\nlocation = \"{dead}\"\n"),
    );
    let run = m.strata(&["report", &name]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let error = run.stderr.lines().find(|l| l.starts_with("strata: error:"));
    assert!(
        error.is_some_and(|e| e.contains(&format!(
            "mirrors {dead}/app:v1 failed first: {PRIMARY}/app:v1: fetching manifest"
        ))),
        "{}",
        run.stderr
    );
}

fn a_blocked_registry_is_refused_and_pushes_skip_mirrors() {
    let m = Mirrored::new();
    let conf = m.conf(&m.mirror.host, "blocked = true\n");
    let before = m.log_lines();
    let run = m.strata(&["report", &format!("{}/cache/team/app:v1", m.mirror.host)]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("is blocked by {}", conf.display())),
        "{}",
        run.stderr
    );
    assert_eq!(m.log_lines(), before, "no request was sent");
    // A push to a registry with a mirror goes to the registry itself.
    let primary = Registry::start(None);
    m.conf(
        &primary.host,
        &format!("[[registry.mirror]]\nlocation = \"{}\"\n", m.mirror.host),
    );
    let dest = format!("{}/team/app:v2", primary.host);
    let run = m.strata(&["copy", &oci(m.layout.path()), &dest]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(m.log_lines(), before, "the mirror saw nothing");
    assert!(primary.log().contains("PUT /v2/team/app/manifests/v2"));
}

crate::tests![
    a_mirror_serves_reads_of_a_name_that_cannot_resolve,
    a_digest_only_mirror_serves_digests_and_not_tags,
    a_dead_mirror_falls_through_to_the_next,
    a_blocked_registry_is_refused_and_pushes_skip_mirrors,
];
