//! Whole multi-platform indexes: `report --all-platforms`, `diff` platform by platform and
//! `copy --all` with the referrers (OCI 1.1 `subject`) of the index's manifests. The index is made
//! here: small images per platform, a buildx-style attestation (platform unknown/unknown) and an
//! SBOM referrer of the amd64 manifest. Oracles: skopeo (`inspect --raw`, `copy --all`), the
//! registry's API read with curl and its access log, the blobs on disk.

use std::path::Path;

use serde_json::{json, Value};

use crate::support::layout::{blob_path, sha256, tar_bytes, write_layout_with, Comp, Item};
use crate::support::faulty_proxy::{self, Fault};
use crate::support::registry::Registry;
use crate::support::{have, optional, require, sh, strata, Run};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const SBOM: &str = "application/vnd.example.sbom";

/// Writes `bytes` as a blob of the layout `dir`; its digest.
fn put_blob(dir: &Path, bytes: &[u8]) -> String {
    let digest = sha256(bytes);
    let path = blob_path(dir, &digest);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    digest
}

/// A descriptor of the blob `digest` of `dir`.
fn descriptor(dir: &Path, media_type: &str, digest: &str) -> Value {
    let size = std::fs::metadata(blob_path(dir, digest)).unwrap().len();
    json!({"mediaType": media_type, "digest": digest, "size": size})
}

/// An index under construction in a layout: what was written.
struct Fixture {
    /// `oci:DIR:v1`.
    reference: String,
    /// The index digest.
    index: String,
    /// Platform → manifest digest.
    manifests: Vec<(String, String)>,
    /// Every layer digest of the images.
    layers: Vec<String>,
    /// The SBOM referrer's manifest digest (its subject: the first platform's manifest).
    referrer: String,
}

/// Writes into `dir` an index tagged `v1` with one image per platform of `platforms`
/// (`(platform, app file contents)`; every image has the same base layer), an attestation entry,
/// and an SBOM referrer of the first platform's manifest listed in `index.json`.
fn write_index(dir: &Path, platforms: &[(&str, &[u8])]) -> Fixture {
    let base = tar_bytes(&[Item::File("etc/os-release", b"ID=test\n")]);
    let mut entries = Vec::new();
    let mut manifests = Vec::new();
    let mut layers = Vec::new();
    for (platform, app) in platforms {
        let parts: Vec<&str> = platform.split('/').collect();
        let app = tar_bytes(&[Item::File("app/bin", app)]);
        let written = write_layout_with(
            dir,
            "scratch",
            &[(base.clone(), Comp::Gzip), (app, Comp::Gzip)],
            |c| {
                c["os"] = parts[0].into();
                c["architecture"] = parts[1].into();
                if let Some(v) = parts.get(2) {
                    c["variant"] = (*v).into();
                }
            },
        );
        let mut entry = descriptor(dir, OCI_MANIFEST, &written.manifest_digest);
        entry["platform"] = json!({"os": parts[0], "architecture": parts[1]});
        if let Some(v) = parts.get(2) {
            entry["platform"]["variant"] = (*v).into();
        }
        entries.push(entry);
        manifests.push((platform.to_string(), written.manifest_digest));
        layers.extend(written.layer_digests);
    }
    // A buildx-style attestation of the first image.
    let statement = put_blob(dir, br#"{"_type":"https://in-toto.io/Statement/v0.1"}"#);
    let config = put_blob(dir, b"{}");
    let attestation = json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": descriptor(dir, "application/vnd.oci.image.config.v1+json", &config),
        "layers": [descriptor(dir, "application/vnd.in-toto+json", &statement)],
    });
    let attestation = put_blob(dir, &serde_json::to_vec(&attestation).unwrap());
    let mut entry = descriptor(dir, OCI_MANIFEST, &attestation);
    entry["platform"] = json!({"os": "unknown", "architecture": "unknown"});
    entry["annotations"] = json!({
        "vnd.docker.reference.type": "attestation-manifest",
        "vnd.docker.reference.digest": manifests[0].1,
    });
    entries.push(entry);
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries});
    let index = put_blob(dir, &serde_json::to_vec(&index).unwrap());
    // The SBOM of the first image: an OCI 1.1 artifact whose subject is its manifest.
    let empty = put_blob(dir, b"{}");
    let sbom = put_blob(dir, br#"{"spdxVersion":"SPDX-2.3","name":"app"}"#);
    let referrer = json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": SBOM,
        "config": descriptor(dir, "application/vnd.oci.empty.v1+json", &empty),
        "layers": [descriptor(dir, "application/spdx+json", &sbom)],
        "subject": descriptor(dir, OCI_MANIFEST, &manifests[0].1),
    });
    let referrer = put_blob(dir, &serde_json::to_vec(&referrer).unwrap());
    let mut referrer_entry = descriptor(dir, OCI_MANIFEST, &referrer);
    referrer_entry["artifactType"] = SBOM.into();
    let mut top = descriptor(dir, OCI_INDEX, &index);
    top["annotations"] = json!({"org.opencontainers.image.ref.name": "v1"});
    let top = json!({"schemaVersion": 2, "manifests": [top, referrer_entry]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();
    Fixture {
        reference: format!("oci:{}:v1", dir.display()),
        index,
        manifests,
        layers,
        referrer,
    }
}

/// Two platforms, the referrer on amd64.
fn two_platforms(dir: &Path) -> Fixture {
    write_index(
        dir,
        &[
            ("linux/amd64", &[1u8; 3000]),
            ("linux/arm64", &[2u8; 5000]),
        ],
    )
}

fn ok(run: Run, what: &str) -> Run {
    assert_eq!(run.code, 0, "{what}: {}", run.stderr);
    run
}

fn json_of(args: &[&str]) -> Value {
    ok(strata(args), &args.join(" ")).json()
}

/// The digest of the bytes skopeo reads raw at `reference`.
fn raw_digest(reference: &str) -> String {
    sha256(sh(&format!("skopeo inspect --tls-verify=false --raw {reference}")).as_bytes())
}

fn report_all_platforms_equals_each_platform_alone() {
    require(have("skopeo"), "skopeo");
    let dir = tempfile::tempdir().unwrap();
    let fixture = two_platforms(&dir.path().join("layout"));
    let registry = Registry::start(None);
    sh(&format!(
        "skopeo copy --quiet --all --dest-tls-verify=false {} docker://{}/app:v1",
        fixture.reference, registry.host
    ));
    let archive = dir.path().join("app.tar");
    sh(&format!(
        "tar -C {} -cf {} .",
        dir.path().join("layout").display(),
        archive.display()
    ));
    let remote = format!("docker://{}/app:v1", registry.host);
    for reference in [
        fixture.reference.clone(),
        format!("oci-archive:{}:v1", archive.display()),
        remote.clone(),
    ] {
        let all = json_of(&["report", &reference, "--all-platforms", "--format", "json"]);
        assert_eq!(all["schema_version"], 1);
        assert_eq!(all["reference"], reference.as_str());
        let platforms = all["platforms"].as_array().unwrap();
        let names: Vec<&str> = platforms
            .iter()
            .map(|p| p["platform"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["linux/amd64", "linux/arm64"], "{reference}");
        let skipped = all["skipped"].as_array().unwrap();
        assert_eq!(skipped.len(), 1, "{all}");
        assert!(skipped[0].as_str().unwrap().contains("attestation"));
        for (entry, (platform, manifest)) in platforms.iter().zip(&fixture.manifests) {
            let alone = json_of(&[
                "report",
                &reference,
                "--platform",
                platform,
                "--format",
                "json",
            ]);
            assert_eq!(entry["report"], alone, "{reference} {platform}");
            assert_eq!(entry["report"]["image"]["manifest_digest"], manifest.as_str());
            // The layer sizes skopeo lists for this platform's manifest, from the registry.
            let raw: Value = serde_json::from_str(&sh(&format!(
                "skopeo inspect --tls-verify=false --raw docker://{}/app@{manifest}",
                registry.host
            )))
            .unwrap();
            let sizes: Vec<&Value> = raw["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| &l["size"])
                .collect();
            let reported: Vec<&Value> = entry["report"]["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| &l["compressed_bytes"])
                .collect();
            assert_eq!(reported, sizes, "{reference} {platform}");
        }
    }
    let table = ok(
        strata(&["report", &remote, "--all-platforms", "--no-progress"]),
        "table",
    );
    assert!(table.stdout.contains("== Platform linux/amd64 (1 of 2) =="));
    assert!(table.stdout.contains("== Platform linux/arm64 (2 of 2) =="));
    assert!(table.stdout.contains("skipped sha256:"), "{}", table.stdout);
    // The page: a section per platform, each with ids of its own.
    let page = ok(
        strata(&["report", &remote, "--all-platforms", "--format", "html"]),
        "html",
    );
    assert_eq!(page.stdout.matches("<section data-platform=").count(), 2);
    for id in ["p0-summary", "p1-summary"] {
        assert_eq!(page.stdout.matches(&format!("id=\"{id}\"")).count(), 1, "{id}");
    }
        // One image, not an index: one entry, its platform from the config.
    let single = dir.path().join("single");
    write_layout_with(
        &single,
        "v1",
        &[(tar_bytes(&[Item::File("a", b"a")]), Comp::Gzip)],
        |_| {},
    );
    let one = json_of(&[
        "report",
        &format!("oci:{}:v1", single.display()),
        "--all-platforms",
        "--format",
        "json",
    ]);
    assert_eq!(one["platforms"].as_array().unwrap().len(), 1);
    assert_eq!(one["platforms"][0]["platform"], "linux/amd64");
}

fn diff_of_two_indexes_goes_platform_by_platform() {
    let dir = tempfile::tempdir().unwrap();
    let old = write_index(
        &dir.path().join("old"),
        &[
            ("linux/amd64", &[1u8; 3000]),
            ("linux/arm64", &[2u8; 5000]),
            ("linux/s390x", &[3u8; 100]),
        ],
    );
    let new_dir = dir.path().join("new");
    let new = write_index(
        &new_dir,
        &[
            ("linux/amd64", &[9u8; 4000]),
            ("linux/arm64", &[2u8; 5000]),
            ("linux/arm/v7", &[4u8; 100]),
        ],
    );
    let d = json_of(&["diff", &old.reference, &new.reference, "--format", "json"]);
    assert_eq!(d["schema_version"], 1);
    let platforms = d["platforms"].as_array().unwrap();
    let names: Vec<&str> = platforms
        .iter()
        .map(|p| p["platform"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["linux/amd64", "linux/arm64"]);
    assert_eq!(d["added_platforms"], json!(["linux/arm/v7"]));
    assert_eq!(d["removed_platforms"], json!(["linux/s390x"]));
    // amd64: its app layer changed, a deploy pulls exactly that blob.
    let amd64 = &platforms[0]["diff"];
    let changed = &new.layers[1];
    let changed_size = std::fs::metadata(blob_path(&new_dir, changed)).unwrap().len();
    let added: Vec<&Value> = amd64["added_layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| &l["digest"])
        .collect();
    assert_eq!(added, [changed.as_str()]);
    assert_eq!(amd64["pull_bytes"], changed_size);
    assert_eq!(amd64["new"]["manifest_digest"], new.manifests[0].1.as_str());
    // arm64: the same image on both sides.
    let arm64 = &platforms[1]["diff"];
    assert_eq!(arm64["added_layers"], json!([]));
    assert_eq!(arm64["pull_bytes"], 0);
    assert_eq!(d["total"]["pull_bytes"], changed_size);
    assert_eq!(d["total"]["added_layers"], 1);
    // --platform still picks one: the single-image document.
    let one = json_of(&[
        "diff",
        &old.reference,
        &new.reference,
        "--platform",
        "linux/arm64",
        "--format",
        "json",
    ]);
    assert!(one.get("platforms").is_none());
    assert_eq!(one["new"]["manifest_digest"], new.manifests[1].1.as_str());
    let table = ok(
        strata(&["diff", &old.reference, &new.reference, "--no-progress"]),
        "table",
    );
    for line in [
        "== Platform linux/amd64 (1 of 2) ==",
        "Total over 2 platforms",
        "Added platforms: linux/arm/v7",
        "Removed platforms: linux/s390x",
    ] {
        assert!(table.stdout.contains(line), "{line}: {}", table.stdout);
    }
}

/// The index.json entries of the layout `dir`.
fn layout_entries(dir: &Path) -> Vec<Value> {
    let index: Value = serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap())
        .unwrap();
    index["manifests"].as_array().unwrap().clone()
}

fn copy_all_keeps_the_index_and_its_referrers_through_a_registry() {
    require(have("skopeo"), "skopeo");
    require(have("curl"), "curl");
    let dir = tempfile::tempdir().unwrap();
    let fixture = two_platforms(&dir.path().join("src"));
    let registry = Registry::start(None);
    let remote = format!("docker://{}/app:v1", registry.host);
    let pushed = json_of(&["copy", "--all", &fixture.reference, &remote, "--format", "json"]);
    assert_eq!(pushed["manifest_digest"], fixture.index.as_str());
    assert_eq!(pushed["index"]["manifests"], 3, "{pushed}");
    assert_eq!(pushed["index"]["referrers"], 1, "{pushed}");
    // The index is the same bytes, every platform manifest and blob is there.
    assert_eq!(raw_digest(&remote), fixture.index);
    let pulled = dir.path().join("pulled");
    sh(&format!(
        "skopeo copy --quiet --all --src-tls-verify=false {remote} dir:{}",
        pulled.display()
    ));
    // skopeo's dir: keeps each instance's manifest as HEX.manifest.json.
    for (_, manifest) in &fixture.manifests {
        let name = format!("{}.manifest.json", &manifest["sha256:".len()..]);
        assert!(pulled.join(&name).is_file(), "{name}");
    }
    for layer in &fixture.layers {
        assert!(pulled.join(&layer["sha256:".len()..]).is_file(), "{layer}");
    }
    // docker-registry (distribution 2.8) has no referrers API: strata asked (404) and wrote
    // the tag schema's index, which names the SBOM.
    let subject = &fixture.manifests[0].1;
    let probes: Vec<String> = registry
        .log()
        .lines()
        .filter(|l| l.contains("/referrers/"))
        .map(str::to_string)
        .collect();
    assert!(
        probes.iter().any(|l| l.contains("\" 404 ")),
        "{probes:?}"
    );
    let tag = subject.replace(':', "-");
    let tag_index: Value = serde_json::from_str(&sh(&format!(
        "curl -sf -H 'Accept: {OCI_INDEX}' http://{}/v2/app/manifests/{tag}",
        registry.host
    )))
    .unwrap();
    let listed: Vec<(&Value, &Value)> = tag_index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (&m["digest"], &m["artifactType"]))
        .collect();
    assert_eq!(listed, [(&json!(fixture.referrer), &json!(SBOM))]);
    let referrer: Value = serde_json::from_str(&sh(&format!(
        "curl -sf -H 'Accept: {OCI_MANIFEST}' http://{}/v2/app/manifests/{}",
        registry.host, fixture.referrer
    )))
    .unwrap();
    assert_eq!(referrer["subject"]["digest"], subject.as_str());
    // And back to a layout: the index, every manifest, the referrer in index.json.
    let back = dir.path().join("back");
    let copied = json_of(&[
        "copy",
        "--all",
        &remote,
        &format!("oci:{}:v1", back.display()),
        "--format",
        "json",
    ]);
    assert_eq!(copied["manifest_digest"], fixture.index.as_str());
    assert_eq!(copied["index"]["referrers"], 1, "{copied}");
    assert_eq!(raw_digest(&format!("oci:{}:v1", back.display())), fixture.index);
    let entries = layout_entries(&back);
    let referrer_entry = entries
        .iter()
        .find(|e| e["digest"] == fixture.referrer.as_str())
        .unwrap_or_else(|| panic!("no referrer in {entries:?}"));
    assert_eq!(referrer_entry["artifactType"], SBOM);
    assert!(referrer_entry.get("annotations").is_none());
    for digest in fixture.manifests.iter().map(|m| &m.1).chain(&fixture.layers) {
        assert!(blob_path(&back, digest).is_file(), "{digest}");
    }
    sh(&format!(
        "skopeo copy --quiet --all oci:{}:v1 dir:{}",
        back.display(),
        dir.path().join("again").display()
    ));
}

fn a_registry_with_the_referrers_api_gets_no_tag_schema() {
    require(have("curl"), "curl");
    let dir = tempfile::tempdir().unwrap();
    let fixture = two_platforms(&dir.path().join("src"));
    let registry = Registry::start(None);
    // The proxy answers the referrers API as a registry that has it (200).
    let proxy = faulty_proxy::start(&registry.host, Fault::ReferrersApi);
    let remote = format!("docker://{}/app:v1", proxy.host);
    let pushed = json_of(&["copy", "--all", &fixture.reference, &remote, "--format", "json"]);
    assert_eq!(pushed["index"]["referrers"], 1, "{pushed}");
    assert!(proxy.faults.load(std::sync::atomic::Ordering::SeqCst) > 0, "no probe");
    let tags: Value = serde_json::from_str(&sh(&format!(
        "curl -sf http://{}/v2/app/tags/list",
        registry.host
    )))
    .unwrap();
    assert_eq!(tags["tags"], json!(["v1"]), "no sha256- tag: {tags}");
    // The referrer itself is there, with its subject, for the registry to index.
    let referrer: Value = serde_json::from_str(&sh(&format!(
        "curl -sf -H 'Accept: {OCI_MANIFEST}' http://{}/v2/app/manifests/{}",
        registry.host, fixture.referrer
    )))
    .unwrap();
    assert_eq!(referrer["subject"]["digest"], fixture.manifests[0].1.as_str());
}

fn copy_all_to_archives() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = two_platforms(&dir.path().join("src"));
    let docker = dir.path().join("app.tar");
    let run = strata(&[
        "copy",
        "--all",
        &fixture.reference,
        &format!("docker-archive:{}:app:v1", docker.display()),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("cannot hold a multi-platform index"),
        "{}",
        run.stderr
    );
    assert!(!docker.exists());
    // An OCI archive holds the index as a layout does.
    let oci = dir.path().join("app.oci.tar");
    let reference = format!("oci-archive:{}:v1", oci.display());
    let copied = json_of(&["copy", "--all", &fixture.reference, &reference, "--format", "json"]);
    assert_eq!(copied["manifest_digest"], fixture.index.as_str());
    let all = json_of(&["report", &reference, "--all-platforms", "--format", "json"]);
    assert_eq!(all["platforms"].as_array().unwrap().len(), 2);
    if optional(have("skopeo"), "skopeo") {
        assert_eq!(raw_digest(&reference), fixture.index);
    }
}

crate::tests![
    report_all_platforms_equals_each_platform_alone,
    diff_of_two_indexes_goes_platform_by_platform,
    copy_all_keeps_the_index_and_its_referrers_through_a_registry,
    a_registry_with_the_referrers_api_gets_no_tag_schema,
    copy_all_to_archives,
];
