//! The analyses themselves, on images whose digests always match: the fuzzer describes a few layers
//! (entry names as raw bytes, so `..`, `//`, `/` prefixes, `.`, `.wh.` whiteouts and opaque markers
//! all occur; entry types; sizes; link targets; history; runtime config), the harness writes them as
//! real tar streams, computes digests and diff_ids, and runs what `strata report` and `strata diff`
//! run: `analyze` (scan with the read-ahead thread, walk, stacking, dead bytes, dive figures,
//! caches, dependencies, findings, advice) and `diff::compare` between two images sharing layers,
//! then every renderer. `analyze_archive` can hardly reach this code: a mutated layer no longer
//! matches its diff_id.

#![no_main]

use std::collections::HashSet;
use std::io::{Cursor, Read};
use std::sync::Arc;

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use strata::analysis::diff::{compare, DiffOptions};
use strata::analysis::scan::ScanOptions;
use strata::analysis::{analyze, AnalyzeOptions, BaseLayers};
use strata::error::Result;
use strata::layer::compression::Compression;
use strata::layer::digest::Digest;
use strata::layer::walk::Contents;
use strata::layer::Layer;
use strata::model::{Image, ImageConfig};
use strata::report;
use strata::source::{LayerSource, OpenedImage};

const MAX_LAYERS: usize = 8;
const MAX_ENTRIES: usize = 64;
/// Content bytes per input, so that no input makes an execution slow.
const MAX_CONTENT: u64 = 1 << 20;

#[derive(Arbitrary, Debug)]
enum Kind {
    File,
    Dir,
    Symlink,
    Hardlink,
    Fifo,
    CharDevice,
}

#[derive(Arbitrary, Debug)]
struct FuzzEntry {
    name: Vec<u8>,
    kind: Kind,
    size: u16,
    mode: u16,
    /// Content byte (files with equal names, sizes and fill are identical).
    fill: u8,
    link: Vec<u8>,
}

#[derive(Arbitrary, Debug)]
struct FuzzLayer {
    entries: Vec<FuzzEntry>,
    /// Header mtime: the same entries with another mtime make a rebuilt, not identical, layer.
    mtime: u8,
    created_by: Option<String>,
    /// A history entry for a step without a layer goes before this layer's entry.
    empty_step_before: bool,
    /// Whether the layer is one of the base image's.
    base: bool,
}

#[derive(Arbitrary, Debug)]
struct FuzzRuntime {
    user: Option<String>,
    env: Vec<String>,
    cmd: Option<Vec<String>>,
    labels: Vec<(String, String)>,
    ports: Vec<String>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    layers: Vec<FuzzLayer>,
    /// The old image of the diff is `layers[..old_len]`, the new one (also analyzed)
    /// `layers[new_from..]`.
    old_len: u8,
    new_from: u8,
    old_runtime: FuzzRuntime,
    new_runtime: FuzzRuntime,
    top: u8,
    threads: bool,
    hash_contents: bool,
    diff_files: bool,
}

/// Copies `src` into a fixed-size header field, truncated.
fn put(field: &mut [u8], src: &[u8]) {
    let n = src.len().min(field.len());
    field[..n].copy_from_slice(&src[..n]);
}

fn tar_of(layer: &FuzzLayer, budget: &mut u64) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in layer.entries.iter().take(MAX_ENTRIES) {
        let size = u64::from(e.size).min(*budget);
        *budget -= size;
        if e.name.len() >= 100 {
            // GNU long name: a `././@LongLink` member holding the name, then the entry.
            let mut long = tar::Header::new_gnu();
            put(&mut long.as_old_mut().name, b"././@LongLink");
            long.set_entry_type(tar::EntryType::GNULongName);
            long.set_size(e.name.len() as u64 + 1);
            long.set_cksum();
            let mut name = e.name.clone();
            name.push(0);
            b.append(&long, &name[..]).expect("in-memory tar");
        }
        let mut h = tar::Header::new_gnu();
        put(&mut h.as_old_mut().name, &e.name);
        put(&mut h.as_old_mut().linkname, &e.link);
        h.set_entry_type(match e.kind {
            Kind::File => tar::EntryType::Regular,
            Kind::Dir => tar::EntryType::Directory,
            Kind::Symlink => tar::EntryType::Symlink,
            Kind::Hardlink => tar::EntryType::Link,
            Kind::Fifo => tar::EntryType::Fifo,
            Kind::CharDevice => tar::EntryType::Char,
        });
        h.set_mode(u32::from(e.mode));
        h.set_mtime(u64::from(layer.mtime));
        h.set_size(size);
        h.set_cksum();
        b.append(&h, std::io::repeat(e.fill).take(size))
            .expect("in-memory tar");
    }
    b.into_inner().expect("in-memory tar")
}

struct MemLayers(Vec<Arc<[u8]>>);

impl LayerSource for MemLayers {
    fn open_layer(&self, index: usize) -> Result<Box<dyn Read + Send>> {
        Ok(Box::new(Cursor::new(self.0[index].clone())))
    }
}

/// An image of `layers`, with its config built as JSON and parsed like a real one.
fn image_of(
    name: &str,
    layers: &[(&FuzzLayer, Arc<[u8]>)],
    runtime: &FuzzRuntime,
) -> Option<OpenedImage> {
    let mut history = Vec::new();
    for (l, _) in layers {
        if l.empty_step_before {
            history.push(json!({"created_by": "ENV A=1", "empty_layer": true}));
        }
        history.push(json!({"created_by": l.created_by}));
    }
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|(_, t)| Digest::sha256_of(t).to_string())
        .collect();
    let labels: serde_json::Map<String, serde_json::Value> = runtime
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let ports: serde_json::Map<String, serde_json::Value> = runtime
        .ports
        .iter()
        .map(|p| (p.clone(), json!({})))
        .collect();
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "User": runtime.user,
            "Env": runtime.env,
            "Cmd": runtime.cmd,
            "Labels": labels,
            "ExposedPorts": ports,
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    });
    let config_bytes = serde_json::to_vec(&config).expect("serializable");
    let config = ImageConfig::parse(&config_bytes).expect("the harness writes valid configs");
    let image = Image {
        reference: name.into(),
        manifest_digest: None,
        config_digest: Digest::sha256_of(&config_bytes),
        config_bytes: config_bytes.clone(),
        raw_manifest: None,
        annotations: Default::default(),
        layers: layers
            .iter()
            .map(|(_, t)| Layer {
                digest: Some(Digest::sha256_of(t)),
                diff_id: Digest::sha256_of(t),
                media_type: "application/vnd.oci.image.layer.v1.tar".into(),
                size: Some(t.len() as u64),
                compression: Some(Compression::None),
                annotations: Default::default(),
            })
            .collect(),
        config,
    };
    image.validate().ok()?;
    Some(OpenedImage {
        image,
        layers: Box::new(MemLayers(layers.iter().map(|(_, t)| t.clone()).collect())),
    })
}

fuzz_target!(|input: Input| {
    let mut budget = MAX_CONTENT;
    let layers: Vec<(&FuzzLayer, Arc<[u8]>)> = input
        .layers
        .iter()
        .take(MAX_LAYERS)
        .map(|l| (l, tar_of(l, &mut budget).into()))
        .collect();
    let old_len = usize::from(input.old_len).min(layers.len());
    let new_from = usize::from(input.new_from).min(layers.len());
    let Some(old) = image_of("old", &layers[..old_len], &input.old_runtime) else {
        return;
    };
    let Some(new) = image_of("new", &layers[new_from..], &input.new_runtime) else {
        return;
    };
    let scan = ScanOptions {
        contents: if input.hash_contents {
            Contents::Hash
        } else {
            Contents::Skip
        },
        threads: if input.threads { 2 } else { 1 },
        progress: Arc::new(()),
    };

    let base: HashSet<Digest> = layers[new_from..]
        .iter()
        .filter(|(l, _)| l.base)
        .map(|(_, t)| Digest::sha256_of(t))
        .collect();
    let opts = AnalyzeOptions {
        top: usize::from(input.top),
        base: (!base.is_empty()).then(|| BaseLayers {
            reference: "base".into(),
            diff_ids: base,
        }),
        scan: scan.clone(),
    };
    // Tars written by the harness always scan; an error is still not a crash (walk may refuse
    // some names legitimately), but it is worth a look when the corpus shows many.
    if let Ok(analysis) = analyze(&new, &opts) {
        let _ = report::table::render(&analysis);
        let _ = report::markdown::render(&analysis);
        report::json::render(&analysis).expect("the analysis serializes");
    }

    let opts = DiffOptions {
        files: input.diff_files,
        top: usize::from(input.top),
        scan,
        old_base: None,
        new_base: None,
        new_scanned: Default::default(),
    };
    if let Ok(diff) = compare(&old, &new, &opts) {
        let _ = report::diff::table(&diff);
        let _ = report::diff::markdown(&diff);
        report::json::render(&diff).expect("the diff serializes");
    }
});
