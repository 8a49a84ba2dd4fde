//! Reading every layer once: the bytes are read on one thread, hashed and counted as stored on a
//! second, decoded on a third (compressed layers), hashed again (the diff_id) and walked as a tar,
//! header by header. Layers are scanned in parallel, largest first, on as many threads as there
//! are cores; per-file records are all that is kept.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::analysis::inspect::{Inspected, LayerInspectors};
use crate::error::{Error, Result};
use crate::layer::compression::{decompress_buffered, describe_read_error, Compression};
use crate::layer::digest::{Algorithm, Digest, Hasher, HashingReader};
use crate::layer::readahead::ReadAhead;
use crate::layer::walk::{walk, Contents, Entry};
use crate::model::Image;
use crate::progress::Progress;
use crate::source::LayerSource;

/// What one pass over a layer found.
#[derive(Debug, Clone)]
pub struct LayerScan {
    /// The digest of the compressed blob, verified against the manifest when it names one.
    pub digest: Digest,
    /// Bytes of the blob as stored or downloaded.
    pub compressed_bytes: u64,
    /// The digest of the uncompressed tar, verified against the config's diff_id.
    pub diff_id: Digest,
    /// Bytes of the uncompressed tar stream.
    pub uncompressed_bytes: u64,
    /// The compression found in the bytes.
    pub compression: Compression,
    /// Every entry, in tar order.
    pub entries: Vec<Entry>,
    /// What the inspectors learned about the entries' content (with [`Contents::Inspect`]).
    pub inspected: Inspected,
}

fn layer_name(image: &Image, index: usize) -> String {
    match &image.layers[index].digest {
        Some(d) => format!("layer {index} ({d})"),
        None => format!("layer {index}"),
    }
}

/// The uncompressed tar stream as the walk reads it: hashed for the diff_id, or only counted when
/// the blob is the tar itself (its digest is the diff_id).
enum Uncompressed<R> {
    /// Hashed with the diff_id's algorithm.
    Hashed(Box<HashingReader<R>>),
    /// Counted only.
    Counted(R, u64),
}

impl<R: Read> Read for Uncompressed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Uncompressed::Hashed(r) => r.read(buf),
            Uncompressed::Counted(r, bytes) => {
                let n = r.read(buf)?;
                *bytes += n as u64;
                Ok(n)
            }
        }
    }
}

impl<R: Read> Uncompressed<R> {
    /// Reads the rest of the stream; the diff_id when it was hashed here, and the byte count.
    fn finish(self) -> io::Result<(Option<Digest>, u64)> {
        match self {
            Uncompressed::Hashed(r) => r.finish().map(|(d, n)| (Some(d), n)),
            Uncompressed::Counted(mut r, bytes) => {
                let rest = io::copy(&mut r, &mut io::sink())?;
                Ok((None, bytes + rest))
            }
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

/// Scans layer `index`, verifying its digest, size and diff_id.
pub fn scan_layer(
    image: &Image,
    source: &dyn LayerSource,
    index: usize,
    opts: &ScanOptions,
) -> Result<LayerScan> {
    let (contents, progress) = (opts.contents, opts.progress.clone());
    let name = layer_name(image, index);
    let descriptor = &image.layers[index];
    let expected_diff_id = &image.config.diff_ids[index];
    let algorithm = descriptor
        .digest
        .as_ref()
        .map_or(Algorithm::Sha256, Digest::algorithm);
    let state = Arc::new(Mutex::new((Hasher::new(algorithm), 0u64)));
    let tapped = state.clone();
    // Three stages run at once: reading (the copy out of the page cache or the network), hashing
    // and counting the blob as stored, and decoding + walking. The hashing of the largest layer is
    // the critical path of the scan, so it has a thread to itself and never copies a byte.
    let chunks = ReadAhead::spawn(source.open_layer(index)?).tap(move |chunk| {
        let mut state = tapped.lock().unwrap_or_else(|p| p.into_inner());
        state.0.update(chunk);
        state.1 += chunk.len() as u64;
        progress.advance(chunk.len() as u64);
    });
    let (compression, decoder) =
        decompress_buffered(chunks, descriptor.compression).map_err(|e| e.context(&name))?;
    // A compressed layer is decoded on a thread of its own; an uncompressed one is walked straight
    // from the hashed chunks.
    let tar: Box<dyn Read + Send> = match compression {
        Compression::None => decoder,
        _ => Box::new(ReadAhead::spawn(decoder)),
    };
    // An uncompressed layer's blob is its tar: the digest the tap computes is also its diff_id,
    // so the same bytes are not hashed a second time on the walking thread.
    let same_bytes = compression == Compression::None && expected_diff_id.algorithm() == algorithm;
    let uncompressed = if same_bytes {
        Uncompressed::Counted(tar, 0)
    } else {
        Uncompressed::Hashed(Box::new(HashingReader::new(
            tar,
            expected_diff_id.algorithm(),
        )))
    };
    let mut entries = Vec::new();
    let mut inspectors = LayerInspectors::default();
    let rest = walk(uncompressed, contents, &mut inspectors.all(), |e| {
        entries.push(e)
    })
    .map_err(|e| e.context(&name))?;
    let (rehashed, uncompressed_bytes) = rest.finish().map_err(|e| {
        Error::invalid(format!(
            "{name}: reading layer: {}",
            describe_read_error(&e)
        ))
    })?;
    let (hasher, compressed_bytes) = {
        let mut guard = state.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::replace(&mut *guard, (Hasher::new(algorithm), 0))
    };
    let digest = hasher.finish();
    let diff_id = rehashed.unwrap_or_else(|| digest.clone());
    if let Some(expected) = &descriptor.digest {
        expected.verify(&digest, &name)?;
    }
    if let Some(size) = descriptor.size {
        if size != compressed_bytes {
            return Err(Error::invalid(format!(
                "{name}: descriptor says {size} bytes, blob has {compressed_bytes}"
            )));
        }
    }
    expected_diff_id.verify(&diff_id, &format!("{name} uncompressed (diff_id)"))?;
    Ok(LayerScan {
        digest,
        compressed_bytes,
        diff_id,
        uncompressed_bytes,
        compression,
        entries,
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
                if result.is_err() {
                    failed.store(true, Ordering::Relaxed);
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
