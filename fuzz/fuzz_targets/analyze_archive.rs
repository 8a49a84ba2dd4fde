//! The whole pipeline on an archive file: `strata::source::open` then `strata::analysis::analyze`,
//! then every renderer. Mutated layers rarely survive the digest checks, so this mostly covers the
//! source side; `analyze_layers` covers the analysis with digests that always match.

#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use strata::analysis::scan::ScanOptions;
use strata::analysis::{analyze, AnalyzeOptions};
use strata::layer::walk::Contents;
use strata::report;
use strata::source::reference::{ArchiveKind, ImageRef};
use strata::source::{open, SourceOptions};

fuzz_target!(|data: &[u8]| {
    let file = common::scratch_file("analyze_archive", data);
    let reference = ImageRef::Archive {
        file,
        tag: None,
        kind: ArchiveKind::Detected,
    };
    let Ok(opened) = open(&reference, &SourceOptions::default()) else {
        return;
    };
    let opts = AnalyzeOptions {
        top: 5,
        base: None,
        scan: ScanOptions {
            contents: Contents::Skip,
            threads: 1,
            progress: Arc::new(()),
        },
    };
    if let Ok(analysis) = analyze(&opened, &opts) {
        let _ = report::table::render(&analysis);
        let _ = report::markdown::render(&analysis);
        let _ = report::json::render(&analysis);
    }
});
