//! The cooked dependency build as a shareable artifact, without Docker: `cook --cache-to REF`
//! pushes the target directory (local units already removed) as a one-layer image tagged by the
//! dependency fingerprint plus everything else that decides the outputs (toolchain, targets,
//! profile, features, subcommand); `cook --cache-from REF` restores it on a fresh runner, so
//! `cargo build` compiles only the workspace's own crates. File times are kept: cargo compares them
//! for build scripts' `rerun-if-changed`.

use std::path::Path;
use std::process::Command;

use sha2::{Digest as _, Sha256};

use crate::assemble::files::collect;
use crate::assemble::plan::LayerSpec;
use crate::cargo::fingerprint::fingerprint;
use crate::cargo::invoke::BuildOptions;
use crate::cargo::recipe::Recipe;
use crate::error::{Error, Kind, Result};
use crate::layer::writer::{normalize_entries, write_layer, LayerCompression, Normalization};
use crate::mutate::image::{history_entry, ManifestLayer, NewImage};
use crate::sink::copy::{bytes_blob, file_blob, write_image, CopyStats};
use crate::sink::open_sink;
use crate::source::reference::ImageRef;
use crate::source::{open, SourceOptions};
use crate::temp::{self, TempPath};

/// The tag a cooked build is stored under: `deps-<fingerprint>-<build key>`.
pub fn cache_tag(recipe: &Recipe, build: &BuildOptions) -> Result<String> {
    let rustc = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("-vV")
        .output()
        .map_err(|e| Error::usage(format!("running rustc -vV: {e}")))?;
    let mut h = Sha256::new();
    h.update(&rustc.stdout);
    for arg in build.args() {
        h.update(arg.as_bytes());
        h.update(b"\0");
    }
    let key = hex::encode(h.finalize());
    Ok(format!("{}-{}", fingerprint(recipe)?, &key[..12]))
}

/// Pushes the target directory `target` as the image `reference`.
pub fn push_cache(target: &Path, reference: &str, opts: &SourceOptions) -> Result<CopyStats> {
    let spec = LayerSpec {
        name: "cargo-target".into(),
        from: vec![target.display().to_string()],
        to: "/".into(),
        exclude: Vec::new(),
        include: Vec::new(),
        owner: None,
        dependencies: false,
    };
    let entries = normalize_entries(collect(&spec, Path::new("/"))?);
    let tmp_dir = std::env::temp_dir();
    let (blob, file) =
        TempPath::file(temp::unique_in(&tmp_dir)).map_err(|e| Error::io(tmp_dir.display(), e))?;
    write_and_push(&entries, file, blob.path(), reference, opts)
}

fn write_and_push(
    entries: &[crate::layer::writer::LayerEntry],
    file: std::fs::File,
    blob_path: &Path,
    reference: &str,
    opts: &SourceOptions,
) -> Result<CopyStats> {
    let n = Normalization {
        uid: 0,
        gid: 0,
        mtime: None,
    };
    let layer = write_layer(entries, &n, LayerCompression::Zstd, file)?;
    let host = crate::source::platform::Platform::host();
    let mut image = NewImage::scratch(&host.os, &host.architecture)?;
    image.append_layer(
        ManifestLayer::written(&layer)?,
        history_entry("1970-01-01T00:00:00Z", "strata cook --cache-to"),
    );
    let assembled = image.finish()?;
    let blobs = vec![
        file_blob(layer.digest, layer.size, blob_path.to_path_buf()),
        bytes_blob(assembled.config),
    ];
    let mut sink = open_sink(&ImageRef::parse_destination(reference)?, &opts.registry)?;
    write_image(
        sink.as_mut(),
        blobs,
        &assembled.manifest,
        &assembled.media_type,
        std::sync::Arc::new(()),
    )
}

/// Moves everything under `from` to the same place under `to` (replacing files, merging
/// directories), by renames on one filesystem.
fn move_into(from: &Path, to: &Path) -> Result<()> {
    if !to.exists() {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent.display(), e))?;
        }
        if !from.exists() {
            return std::fs::create_dir_all(to).map_err(|e| Error::io(to.display(), e));
        }
        return std::fs::rename(from, to).map_err(|e| Error::io(to.display(), e));
    }
    let entries = std::fs::read_dir(from).map_err(|e| Error::io(from.display(), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(from.display(), e))?;
        let (source, dest) = (entry.path(), to.join(entry.file_name()));
        let is_dir = |p: &Path| p.symlink_metadata().is_ok_and(|m| m.is_dir());
        if is_dir(&source) && is_dir(&dest) {
            move_into(&source, &dest)?;
            continue;
        }
        if is_dir(&dest) {
            std::fs::remove_dir_all(&dest).map_err(|e| Error::io(dest.display(), e))?;
        }
        std::fs::rename(&source, &dest).map_err(|e| Error::io(dest.display(), e))?;
    }
    Ok(())
}

/// Restores the image `reference` into `target`; `Ok(false)` when there is no such image yet.
pub fn restore_cache(target: &Path, reference: &str, opts: &SourceOptions) -> Result<bool> {
    let opened = match open(&ImageRef::parse(reference)?, opts) {
        Ok(o) => o,
        Err(e) if e.kind() == Kind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    // Unpacked beside `target` (so the move is a rename), committed once every layer verified:
    // a cache image that does not match its manifest leaves `target` as it was.
    temp::sweep_beside(target);
    let (staging, ()) = TempPath::create(temp::beside(target), |p| std::fs::create_dir_all(p))
        .map_err(|e| Error::io(target.display(), e))?;
    let restored = (|| {
        for index in 0..opened.image.layers.len() {
            let mut archive = tar::Archive::new(opened.open_uncompressed(index)?);
            archive.set_preserve_mtime(true);
            archive.set_overwrite(true);
            // `unpack` keeps every entry inside the directory (no `..`, no absolute paths, no
            // writing through symlinks that point outside).
            archive
                .unpack(staging.path())
                .map_err(|e| Error::invalid(format!("restoring {reference}: {e}")))?;
            archive.into_inner().finish()?;
        }
        move_into(staging.path(), target)
    })();
    drop(staging);
    restored?;
    Ok(true)
}
