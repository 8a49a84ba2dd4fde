//! Reading every layer once: the bytes are read on one thread, hashed and counted as stored on a
//! second, decoded on a third (compressed layers), hashed again (the diff_id) and walked as a tar,
//! header by header. An uncompressed layer of a local source is also gzipped (or sampled) on a
//! thread of its own, for the size a push would give it. Layers are scanned in parallel, largest
//! first, on as many threads as there are cores; per-file records are all that is kept.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::analysis::inspect::{Inspected, LayerInspectors};
use crate::analysis::transfer::CompressedSource;
use crate::error::Result;
use crate::layer::compression::Compression;
use crate::layer::digest::Digest;
use crate::layer::push_size;
use crate::layer::walk::{walk, Contents, Entry, TarEnd};
use crate::model::Image;
use crate::progress::Progress;
use crate::source::{layer_name, open_uncompressed, LayerSource};

/// What one pass over a layer found.
#[derive(Debug, Clone)]
pub struct LayerScan {
    /// The digest of the compressed blob, verified against the manifest when it names one.
    pub digest: Digest,
    /// Bytes of the blob as stored or downloaded.
    pub compressed_bytes: u64,
    /// Bytes of the gzip a push would make of the layer, measured for uncompressed layers of
    /// local sources (a registry's layer is transferred as it is held).
    pub push_gzip_bytes: Option<u64>,
    /// The digest of the uncompressed tar, verified against the config's diff_id.
    pub diff_id: Digest,
    /// Bytes of the uncompressed tar stream.
    pub uncompressed_bytes: u64,
    /// The compression found in the bytes.
    pub compression: Compression,
    /// Every entry, in tar order.
    pub entries: Vec<Entry>,
    /// How the tar ended.
    pub tar_end: TarEnd,
    /// What the inspectors learned about the entries' content (with [`Contents::Inspect`]).
    pub inspected: Inspected,
}

impl LayerScan {
    /// What a pull or push transfers of this layer, and how that figure was obtained.
    pub fn transfer(&self) -> (u64, CompressedSource) {
        match self.push_gzip_bytes {
            Some(bytes) => (bytes, CompressedSource::EstimatedPushGzip),
            None => (self.compressed_bytes, CompressedSource::Stored),
        }
    }
}

/// How to scan: what to record, on how many threads, reporting progress where.
#[derive(Clone)]
pub struct ScanOptions {
    /// Headers only, or content digests too.
    pub contents: Contents,
    /// Threads that scan layers in parallel.
    pub threads: usize,
    /// Receives compressed byte counts.
    pub progress: Arc<dyn Progress>,
}

/// Scans layer `index`, verifying its digest, size and diff_id as it streams: a layer that does
/// not match is an error, and no scan of it is returned.
pub fn scan_layer(
    image: &Image,
    source: &dyn LayerSource,
    index: usize,
    opts: &ScanOptions,
) -> Result<LayerScan> {
    let progress = opts.progress.clone();
    let name = layer_name(image, index);
    let mut tar = open_uncompressed(image, source, index, move |n| progress.advance(n))?;
    let pushed = (tar.compression() == Compression::None && !source.is_remote()).then(|| {
        let (mut feeder, size) = push_size::measure(image.layers[index].size);
        tar.observe(move |bytes| feeder.feed(bytes));
        size
    });
    let mut entries = Vec::new();
    let mut inspectors = LayerInspectors::default();
    let walked = walk(tar, opts.contents, &mut inspectors.all(), |e| {
        entries.push(e)
    })
    .map_err(|e| e.context(&name))?;
    let verified = walked.rest.finish()?;
    // Kept for the whole analysis: up to half of a doubled vector would be spare room.
    entries.shrink_to_fit();
    Ok(LayerScan {
        digest: verified.digest,
        compressed_bytes: verified.compressed_bytes,
        push_gzip_bytes: pushed.map(push_size::PushSize::bytes),
        diff_id: verified.diff_id,
        uncompressed_bytes: verified.uncompressed_bytes,
        compression: verified.compression,
        entries,
        tar_end: walked.end,
        inspected: inspectors.finish(),
    })
}

/// Scans the layers `which` (indices into the image's layers) on up to `opts.threads` threads,
/// largest blobs first so the work balances, and returns the scans in the order of `which`. The
/// first failure stops the remaining work and is returned.
pub fn scan_layers(
    image: &Image,
    source: &dyn LayerSource,
    which: &[usize],
    opts: &ScanOptions,
) -> Result<Vec<LayerScan>> {
    scan_layers_each(image, source, which, opts, &|_, _| {})
}

/// [`scan_layers`], `on_scanned` hearing of each layer (its index in the image and its scan) as
/// soon as it is scanned, in the order scans finish: `strata explore` shows each layer's files
/// while the others stream.
pub fn scan_layers_each(
    image: &Image,
    source: &dyn LayerSource,
    which: &[usize],
    opts: &ScanOptions,
    on_scanned: &(dyn Fn(usize, &LayerScan) + Sync),
) -> Result<Vec<LayerScan>> {
    let count = which.len();
    let mut order: Vec<usize> = (0..count).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(image.layers[which[i]].size.unwrap_or(0)));
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<Result<LayerScan>>>> =
        Mutex::new((0..count).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..opts.threads.clamp(1, count.max(1)) {
            scope.spawn(|| loop {
                if failed.load(Ordering::Relaxed) {
                    return;
                }
                let slot = next.fetch_add(1, Ordering::Relaxed);
                let Some(&index) = order.get(slot) else {
                    return;
                };
                let result = scan_layer(image, source, which[index], opts);
                match &result {
                    Ok(scan) => on_scanned(which[index], scan),
                    Err(_) => failed.store(true, Ordering::Relaxed),
                }
                results.lock().unwrap_or_else(|p| p.into_inner())[index] = Some(result);
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut scans = Vec::with_capacity(count);
    let mut first_error = None;
    for r in results {
        match r {
            Some(Ok(scan)) => scans.push(scan),
            Some(Err(e)) => {
                first_error.get_or_insert(e);
            }
            None => {}
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(scans),
    }
}
