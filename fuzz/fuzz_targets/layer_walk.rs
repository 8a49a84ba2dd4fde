//! A layer blob as a registry or archive would hand it over: compression sniffed from the magic
//! bytes (gzip, zstd, estargz or plain tar), the tar walked header by header, then the rest of the
//! stream drained, exactly as `strata::analysis::scan::scan_layer` does (minus digests and the
//! read-ahead thread). Any input must end in `Ok` or `Err`, never a panic.

#![no_main]

use std::io::{self, Read};

use libfuzzer_sys::fuzz_target;
use strata::layer::compression::{decompress, describe_read_error, Compression};
use strata::layer::walk::{walk, Contents, Entry};

fuzz_target!(|data: &[u8]| {
    // The media type's promise is checked against the magic before any decoding; exercise both the
    // legacy "no promise" path (which decodes) and a promise taken from the bytes themselves.
    let promised = Compression::sniff(data);
    let _ = decompress(data, Some(promised)).map(|(found, _)| assert_eq!(found, promised));

    let Ok((_, decoder)) = decompress(data, None) else {
        return;
    };
    // `strata report` skips file contents, `strata diff` hashes them: take either, by a bit of the
    // input that the tar parser does not care much about.
    let contents = if data.len().is_multiple_of(2) {
        Contents::Skip
    } else {
        Contents::Hash
    };
    let mut entries = 0usize;
    let mut content = 0u64;
    let result = walk(decoder, contents, &mut [], |e: Entry| {
        entries += 1;
        content = content.saturating_add(e.size);
        assert!(!e.path.starts_with('/'), "walk returned an absolute path");
    });
    if let Ok(walked) = result {
        let mut rest = walked.rest;
        // Drain what follows the last entry (padding, trailing members), as the digests need.
        if let Err(e) = io::copy(&mut rest, &mut io::sink()) {
            let _ = describe_read_error(&e);
        }
        let mut probe = [0u8; 1];
        let _ = rest.read(&mut probe);
    }
});
