//! Sizes mean one thing whatever the transport (issue 16). The same two-layer image is built in the
//! Docker Engine, `docker save`d (an archive of uncompressed layers) and `docker push`ed to a
//! loopback registry (gzip layers, compressed by the Engine itself); skopeo copies the pushed
//! image, blob for blob, into an OCI layout. The oracle is the registry's manifest, read with
//! `skopeo inspect --raw`: what the push really produced. strata's compressed figures for the
//! archive must come within 3 % of it, be labelled as estimates in every format, and give the same
//! `strata check` verdicts and `strata diff` deploy cost as the pushed image.

use std::path::Path;
use std::sync::OnceLock;

use serde_json::Value;

use crate::support::images::{tool, DockerImages};
use crate::support::registry::Registry;
use crate::support::{docker_ok, fresh_dir, have, report_json, require, sh, strata};

/// The largest relative difference allowed between an estimate and the pushed size.
const TOLERANCE: f64 = 0.03;

/// What the shared setup built, pushed and read back.
struct Fixture {
    /// `docker save` of the base image and of the app image (base layer + one COPY layer).
    base_archive: String,
    app_archive: String,
    /// The pushed app image, copied blob for blob out of the registry into an OCI layout.
    app_layout: String,
    /// The layer sizes in the registry's manifest of the pushed app image, bottom first.
    pushed: Vec<u64>,
    /// The layer digests of that manifest.
    pushed_digests: Vec<String>,
    /// The layer sizes of the archive copied by skopeo into an OCI layout, gzipping each layer
    /// (`--dest-compress`, the compressor of podman and `skopeo copy` to registries).
    skopeo_gzipped: Vec<u64>,
    /// `strata report --format json` of the app image read from the registry itself.
    registry_report: Value,
}

/// A little generator of layer-like bytes (xorshift64: the same files on every machine).
struct Bytes(u64);

impl Bytes {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A file of `len` bytes: source-like text most of the time, sometimes random (already
    /// compressed data) or zero-filled, as the files of real layers are.
    fn file(&mut self, len: usize) -> Vec<u8> {
        const WORDS: [&str; 10] = [
            "import ", "numpy", " def ", "return ", "self.", "\n    ", "lib/", "0x1f", " = ", "(",
        ];
        let mut out = Vec::with_capacity(len + 16);
        match self.next() % 6 {
            0 => {
                while out.len() < len {
                    out.extend_from_slice(&self.next().to_le_bytes());
                }
            }
            1 => out.resize(len, 0),
            _ => {
                while out.len() < len {
                    let r = self.next();
                    out.extend_from_slice(WORDS[(r % 10) as usize].as_bytes());
                    out.push(b'a' + ((r >> 8) % 26) as u8);
                }
            }
        }
        out.truncate(len);
        out
    }

    /// Writes files under `dir` until they add up to `total` bytes.
    fn fill(&mut self, dir: &Path, total: usize) {
        std::fs::create_dir_all(dir).unwrap();
        let (mut written, mut n) = (0, 0);
        while written < total {
            let len = 4096 + (self.next() % (600 * 1024)) as usize;
            std::fs::write(dir.join(format!("f{n:05}.dat")), self.file(len)).unwrap();
            written += len;
            n += 1;
        }
    }
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        require(docker_ok(&["info"]), "a running Docker Engine");
        require(have("skopeo"), "skopeo");
        build_fixture()
    })
}

fn build_fixture() -> Fixture {
    let registry = Registry::start(None);
    let pid = std::process::id();
    let dir = fresh_dir("sizes");
    let mut images = DockerImages::default();
    let (base, app) = (
        format!("{}/sizes/base:{pid}", registry.host),
        format!("{}/sizes/app:{pid}", registry.host),
    );

    // The base: about 72 MB in one layer, large enough that strata samples it.
    let mut bytes = Bytes(0x9e37_79b9_7f4a_7c15);
    bytes.fill(&dir.join("rootfs/usr/lib/data"), 72 << 20);
    images.0.push(base.clone());
    sh(&format!(
        "tar -C '{}' -c . | docker import - {base}",
        dir.join("rootfs").display()
    ));
    // The app: a COPY of about 6 MB, small enough that strata gzips it whole.
    let context = dir.join("context");
    bytes.fill(&context.join("app"), 6 << 20);
    std::fs::write(
        context.join("Dockerfile"),
        format!("FROM {base}\nCOPY app /app\n"),
    )
    .unwrap();
    images.0.push(app.clone());
    let buildkit = docker_ok(&["buildx", "version"]) as u8;
    sh(&format!(
        "DOCKER_BUILDKIT={buildkit} docker build -q -t {app} '{}'",
        context.display()
    ));

    let base_archive = DockerImages::save(&base, &dir);
    let app_archive = DockerImages::save(&app, &dir);
    tool("docker", &["push", "-q", &app], &dir);

    let raw = raw_manifest(&format!("--tls-verify=false docker://{app}"));
    let layers = raw["layers"].as_array().expect("manifest layers");
    let pushed = layers.iter().map(|l| l["size"].as_u64().unwrap()).collect();
    let pushed_digests = layers
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_string())
        .collect();
    let layout = dir.join("pushed");
    sh(&format!(
        "skopeo copy --quiet --src-tls-verify=false docker://{app} oci:{}:app",
        layout.display()
    ));
    let gzipped = format!("oci:{}:app", dir.join("skopeo").display());
    sh(&format!(
        "skopeo copy --quiet --dest-compress {app_archive} {gzipped}"
    ));
    let skopeo_gzipped = raw_manifest(&gzipped)["layers"]
        .as_array()
        .expect("manifest layers")
        .iter()
        .map(|l| l["size"].as_u64().unwrap())
        .collect();
    Fixture {
        skopeo_gzipped,
        base_archive,
        app_archive,
        app_layout: format!("oci:{}:app", layout.display()),
        pushed,
        pushed_digests,
        registry_report: report_json(&format!("docker://{app}")),
    }
}

/// `skopeo inspect --raw ARGS`: the manifest as stored.
fn raw_manifest(args: &str) -> Value {
    serde_json::from_str(&sh(&format!("skopeo inspect --raw {args}")))
        .expect("the manifest is JSON")
}

fn close(estimate: u64, pushed: u64) -> bool {
    (estimate as f64 / pushed as f64 - 1.0).abs() <= TOLERANCE
}

fn layer_figures(report: &Value, field: &str) -> Vec<u64> {
    report["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| l[field].as_u64().expect(field))
        .collect()
}

fn archive_figures_match_what_the_push_produced() {
    let fx = fixture();
    let pushed_total: u64 = fx.pushed.iter().sum();
    let archive = report_json(&fx.app_archive);
    let img = &archive["image"];
    assert_eq!(img["compressed_bytes_source"], "estimated_push_gzip");
    let total = img["compressed_bytes"].as_u64().unwrap();
    assert!(
        close(total, pushed_total),
        "archive {total} B, pushed {pushed_total} B"
    );
    // The stored figure is the archive's own: its layers are the uncompressed tars.
    assert_eq!(img["stored_bytes"], img["uncompressed_bytes"]);
    assert!(img["stored_bytes"].as_u64().unwrap() > 2 * pushed_total);
    let layers = layer_figures(&archive, "compressed_bytes");
    assert_eq!(layers.len(), fx.pushed.len());
    for (i, &estimate) in layers.iter().enumerate() {
        let (pushed, skopeo) = (fx.pushed[i], fx.skopeo_gzipped[i]);
        assert!(close(estimate, pushed), "layer {i}: {estimate} vs pushed {pushed}");
        assert!(close(estimate, skopeo), "layer {i}: {estimate} vs skopeo's {skopeo}");
        assert_eq!(
            archive["layers"][i]["compressed_bytes_source"],
            "estimated_push_gzip"
        );
    }

    // The pushed image, from its layout or the registry, is measured as stored: exactly.
    for (what, report) in [
        ("layout", report_json(&fx.app_layout)),
        ("registry", fx.registry_report.clone()),
    ] {
        let digests: Vec<&str> = report["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["digest"].as_str().unwrap())
            .collect();
        assert_eq!(digests, fx.pushed_digests, "{what}");
        assert_eq!(layer_figures(&report, "compressed_bytes"), fx.pushed, "{what}");
        assert_eq!(layer_figures(&report, "stored_bytes"), fx.pushed, "{what}");
        assert_eq!(report["image"]["compressed_bytes"], pushed_total, "{what}");
        assert_eq!(report["image"]["compressed_bytes_source"], "stored", "{what}");
    }
}

/// `strata check REF LIMITS`: its exit code and output.
fn check(reference: &str, limits: &[&str]) -> (i32, String) {
    let mut args = vec!["check", reference];
    args.extend_from_slice(limits);
    let run = strata(&args);
    (run.code, run.stdout + &run.stderr)
}

fn check_gives_one_verdict_whatever_the_transport() {
    let fx = fixture();
    let pushed_total: u64 = fx.pushed.iter().sum();
    let archive = report_json(&fx.app_archive);
    // The archive stores the tars themselves.
    let stored_total = archive["image"]["uncompressed_bytes"].as_u64().unwrap();
    let between = ((pushed_total + stored_total) / 2).to_string();
    let below = (pushed_total * 9 / 10).to_string();
    // Every layer is under this as pushed, and the base layer over it as stored.
    let largest = fx.pushed.iter().max().unwrap() * 3 / 2;
    assert!(layer_figures(&archive, "uncompressed_bytes")[0] > largest);
    let layer_between = largest.to_string();
    for (limits, verdict) in [
        (vec!["--max-total", between.as_str()], 0),
        (vec!["--max-layer", layer_between.as_str()], 0),
        (vec!["--max-total", below.as_str()], 1),
    ] {
        let (archive, said) = check(&fx.app_archive, &limits);
        let (layout, _) = check(&fx.app_layout, &limits);
        assert_eq!((archive, layout), (verdict, verdict), "{limits:?}: {said}");
        assert!(
            said.contains("estimated"),
            "an estimate says so: {said}"
        );
    }
}

fn diff_costs_a_deploy_what_the_push_sent() {
    let fx = fixture();
    let run = strata(&["diff", &fx.base_archive, &fx.app_archive, "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let diff = run.json();
    // The app image adds one layer to its base: the last of the pushed manifest.
    let added = *fx.pushed.last().unwrap();
    let pull = diff["pull_bytes"].as_u64().unwrap();
    assert!(close(pull, added), "pull {pull} B, pushed layer {added} B");
    assert_eq!(diff["pull_bytes_source"], "estimated_push_gzip");
    let layer = &diff["added_layers"][0];
    assert_eq!(layer["compressed_bytes"].as_u64(), Some(pull));
    assert!(layer["stored_bytes"].as_u64().unwrap() > pull);
}

fn every_format_labels_the_estimate() {
    let fx = fixture();
    for format in ["table", "markdown", "html"] {
        let run = strata(&["report", &fx.app_archive, "--format", format]);
        assert_eq!(run.code, 0, "{format}: {}", run.stderr);
        assert!(run.stdout.contains("est. push"), "{format} labels the estimate");
        let run = strata(&["report", &fx.app_layout, "--format", format]);
        assert!(!run.stdout.contains("est. push"), "{format}: stored figures are not estimates");
    }
    let run = strata(&["diff", &fx.base_archive, &fx.app_archive]);
    assert!(run.stdout.contains("est. push"), "{}", run.stdout);
}

crate::tests![
    archive_figures_match_what_the_push_produced,
    check_gives_one_verdict_whatever_the_transport,
    diff_costs_a_deploy_what_the_push_sent,
    every_format_labels_the_estimate,
];
