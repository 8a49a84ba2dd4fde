//! Manifest-level JSON: `parse_document` (manifest or index, decided by content), then what the
//! sources do with the result (platform choice, digests, assembling the image model), and
//! `ImageConfig::parse` on the same bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use strata::layer::compression::Compression;
use strata::layer::digest::Digest;
use strata::model::ImageConfig;
use strata::source::manifest::{
    choose_from_index, digest_of, image_from_manifest, parse_document, Document, FetchedManifest,
};
use strata::source::platform::Platform;

const DIFF_ID: &str = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

fuzz_target!(|data: &[u8]| {
    match parse_document(data, "fuzz") {
        Ok(Document::Index(index)) => {
            for platform in [
                Platform::host(),
                Platform::parse("linux/arm64/v8").unwrap(),
                Platform::parse("windows/amd64").unwrap(),
            ] {
                let _ = choose_from_index(&index, &platform, "fuzz").map(digest_of);
            }
            for d in index.manifests() {
                let _ = digest_of(d);
            }
        }
        Ok(Document::Manifest(manifest)) => {
            for layer in manifest.layers() {
                let _ = digest_of(layer);
                let _ = Compression::from_media_type(layer.media_type().as_ref());
            }
            // A config whose diff_ids match the layer count, so the model gets validated as a whole.
            let diff_ids = vec![format!("\"{DIFF_ID}\""); manifest.layers().len().min(4096)];
            let config = format!(
                r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":[{}]}}}}"#,
                diff_ids.join(",")
            );
            let fetched = FetchedManifest {
                digest: Digest::sha256_of(data),
                bytes: data,
                manifest: &manifest,
            };
            let _ = image_from_manifest("fuzz".into(), fetched, config.as_bytes());
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    if let Ok(config) = ImageConfig::parse(data) {
        let _ = config.layer_history(config.diff_ids.len() + 1);
    }
});
