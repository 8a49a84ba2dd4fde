//! A whole archive file (`docker save` output, Docker 25+ save, OCI archive): the tar index of its
//! members, then `open_archive` (manifest.json or index.json, configs, layer members, symlinked
//! members). When an image comes out, each layer member is opened and scanned like `strata report`
//! does (digest, size and diff_id checks included).

#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use strata::analysis::scan::{scan_layer, ScanOptions};
use strata::layer::walk::Contents;
use strata::source::docker_archive::open_archive;
use strata::source::files::{Files, TarFiles};
use strata::source::platform::Platform;
use strata::source::reference::ArchiveKind;

fuzz_target!(|data: &[u8]| {
    let path = common::scratch_file("docker_archive", data);
    let Ok(files) = TarFiles::index(&path) else {
        return;
    };
    let _ = files.read_small("manifest.json");
    let _ = files.read_small("index.json");
    let scan = ScanOptions {
        contents: Contents::Skip,
        threads: 1,
        progress: Arc::new(()),
    };
    for (tag, kind) in [
        (None, ArchiveKind::Detected),
        (Some("latest"), ArchiveKind::Oci),
        (Some("busybox:latest"), ArchiveKind::Docker),
    ] {
        let Ok(found) = open_archive(&files, tag, kind, &Platform::host(), "fuzz".into()) else {
            continue;
        };
        let layers = common::MemberLayers {
            files: &files,
            paths: found.layer_paths.clone(),
        };
        for index in 0..found.image.layers.len() {
            if scan_layer(&found.image, &layers, index, &scan).is_err() {
                break;
            }
        }
    }
});
