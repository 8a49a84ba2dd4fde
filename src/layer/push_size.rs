//! The size a push gives an uncompressed layer. A registry keeps what the client uploads, and
//! `docker push` (like containerd and crane) gzips a plain-tar layer on the way at Go's default
//! level, 6; a `docker save` archive or an uncompressed layout stores the tar itself, so its stored
//! size is not what a push or a later pull transfers. This works that size out while the layer
//! streams past, on a thread of its own behind a bounded channel (the walk never waits on deflate,
//! memory stays a few MiB):
//!
//! - a layer too small for [`MIN_SAMPLES`] samples at a stride of 2 (under 64 MiB) is gzipped
//!   whole at level 6 and the output counted;
//! - a larger one is sampled: one [`UNIT`] in every `stride` (at a fixed pseudo-random place in
//!   each stretch of `stride` units, so no periodic layout lines up with the samples) is deflated
//!   at level 6, primed with the [`WINDOW`] bytes before it, the context a streaming compressor
//!   would have there, and the ratio is scaled to the whole layer. The stride gives at least
//!   [`MIN_SAMPLES`] samples and is at most [`MAX_STRIDE`].
//!
//! zlib-rs at level 6 came within 0.05 % of Go's gzip (what `docker push` sent) on the 1.33 GB
//! benchmark layer; the sampled figure came within 1.9 % of the whole-layer gzip on nine real
//! layers (BENCHMARKS.md). The figure is the same on every run: nothing in it depends on timing.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::{self, JoinHandle};

use flate2::{Compress, Compression, FlushCompress, Status};

/// The deflate level of the gzip a push makes of a plain-tar layer (Go's `gzip.DefaultCompression`).
pub const PUSH_GZIP_LEVEL: u32 = 6;

/// Bytes of one sample.
pub const UNIT: u64 = 16 * 1024;

/// Bytes before a sample that prime its compressor (deflate's whole window).
pub const WINDOW: u64 = 32 * 1024;

/// The fewest samples a sampled layer gets (about 1 % error on real layers, BENCHMARKS.md); a
/// layer too small for that many at a stride of 2 is gzipped whole.
pub const MIN_SAMPLES: u64 = 2048;

/// One sample in at most this many units: the cost is at most 1/32 of a whole-layer gzip.
pub const MAX_STRIDE: u64 = 32;

/// The gzip header (10 bytes) and trailer (CRC-32 and length, 8 bytes) around the deflate stream.
const GZIP_FRAME: u64 = 18;

/// Bytes the whole-layer gzip is handed at a time.
const BATCH: usize = 256 * 1024;

/// Messages waiting for the compressing thread.
const DEPTH: usize = 8;

/// What the compressing thread is sent.
enum Work {
    /// The next bytes of a layer gzipped whole.
    Bytes(Vec<u8>),
    /// One sample: `bytes[..primer]` primes the compressor, the rest is deflated.
    Sample { bytes: Vec<u8>, primer: usize },
    /// The end of the layer, and its length.
    End(u64),
}

/// How a layer is measured: whole, or one unit in every `stride`.
fn stride_for(stored_bytes: Option<u64>) -> u64 {
    stored_bytes.map_or(1, |size| {
        (size.div_ceil(UNIT) / MIN_SAMPLES).clamp(1, MAX_STRIDE)
    })
}

/// The unit sampled in stretch `stretch` of `stride` units: fixed, and spread over the stretch by a
/// 64-bit mix (splitmix64's finalizer) of the stretch's number.
fn sampled_unit(stretch: u64, stride: u64) -> u64 {
    let mut x = stretch.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    stretch * stride + x % stride
}

/// A sample being copied out of the stream: the bytes `[start, end)`, the unit from `unit_start`.
struct Capture {
    start: u64,
    unit_start: u64,
    end: u64,
    bytes: Vec<u8>,
}

/// Starts measuring a layer of `stored_bytes` (when the source says; a layer of unknown size is
/// gzipped whole). Feed every byte of the layer, in order, to the returned [`Feeder`]; once it is
/// dropped, [`PushSize::bytes`] gives the figure.
pub fn measure(stored_bytes: Option<u64>) -> (Feeder, PushSize) {
    let (tx, rx) = sync_channel(DEPTH);
    let stride = stride_for(stored_bytes);
    let worker = thread::spawn(move || {
        if stride == 1 {
            gzip_whole(rx)
        } else {
            deflate_samples(rx)
        }
    });
    let feeder = Feeder {
        stride,
        offset: 0,
        batch: Vec::new(),
        next_stretch: 0,
        captures: VecDeque::new(),
        tx: Some(tx),
    };
    (feeder, PushSize { worker })
}

/// The writing side of a measurement: it copies what the compressing thread needs out of the
/// stream (everything, or the samples with their primers) and hands it over.
pub struct Feeder {
    stride: u64,
    offset: u64,
    batch: Vec<u8>,
    next_stretch: u64,
    captures: VecDeque<Capture>,
    tx: Option<SyncSender<Work>>,
}

impl Feeder {
    /// The next bytes of the layer.
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.stride == 1 {
            // Batches of exactly BATCH bytes: the compressor sees the same writes however the
            // stream was cut into reads, so the figure is the same too.
            let mut rest = chunk;
            while !rest.is_empty() {
                let take = rest.len().min(BATCH - self.batch.len());
                self.batch.extend_from_slice(&rest[..take]);
                rest = &rest[take..];
                if self.batch.len() == BATCH {
                    let full = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
                    self.send(Work::Bytes(full));
                }
            }
        } else {
            self.sample(chunk);
        }
        self.offset += chunk.len() as u64;
    }

    fn sample(&mut self, chunk: &[u8]) {
        let (low, high) = (self.offset, self.offset + chunk.len() as u64);
        // Open every sample that starts in this chunk (they start in order, a prefix of the rest).
        loop {
            let unit_start = sampled_unit(self.next_stretch, self.stride) * UNIT;
            let start = unit_start.saturating_sub(WINDOW);
            if start >= high {
                break;
            }
            self.captures.push_back(Capture {
                start,
                unit_start,
                end: unit_start + UNIT,
                bytes: Vec::with_capacity((WINDOW + UNIT) as usize),
            });
            self.next_stretch += 1;
        }
        for c in &mut self.captures {
            let from = c.start + c.bytes.len() as u64;
            let to = c.end.min(high);
            if from < to {
                c.bytes
                    .extend_from_slice(&chunk[(from - low) as usize..(to - low) as usize]);
            }
        }
        while self.captures.front().is_some_and(|c| c.end <= high) {
            if let Some(done) = self.captures.pop_front() {
                self.send_capture(done);
            }
        }
    }

    fn send_capture(&mut self, c: Capture) {
        let primer = (c.unit_start - c.start) as usize;
        if c.bytes.len() > primer {
            self.send(Work::Sample {
                bytes: c.bytes,
                primer,
            });
        }
    }

    fn send(&mut self, work: Work) {
        // The thread stops early only by panicking; `PushSize::bytes` reports that.
        if let Some(tx) = &self.tx {
            if tx.send(work).is_err() {
                self.tx = None;
            }
        }
    }
}

impl Drop for Feeder {
    /// The end of the layer: what is left goes to the compressing thread, and the channel closes.
    fn drop(&mut self) {
        if self.stride == 1 {
            let rest = std::mem::take(&mut self.batch);
            self.send(Work::Bytes(rest));
        } else {
            // The last unit may be short: its sample is what the layer has of it.
            while let Some(c) = self.captures.pop_front() {
                self.send_capture(c);
            }
        }
        self.send(Work::End(self.offset));
        self.tx = None;
    }
}

/// The figure of a measurement, once its [`Feeder`] is dropped.
pub struct PushSize {
    worker: JoinHandle<u64>,
}

impl PushSize {
    /// Bytes of the gzip a push makes of the layer fed (measured or scaled from the samples).
    pub fn bytes(self) -> u64 {
        self.worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

/// Counts what is written to it.
struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Gzips everything received and returns the size of the result.
fn gzip_whole(rx: Receiver<Work>) -> u64 {
    let mut gz = flate2::write::GzEncoder::new(Counter(0), Compression::new(PUSH_GZIP_LEVEL));
    for work in rx {
        if let Work::Bytes(bytes) = work {
            // Writing to a counter cannot fail.
            let _ = gz.write_all(&bytes);
        }
    }
    gz.finish().map_or(0, |c| c.0)
}

/// Deflates every sample received and scales their ratio to the layer's length.
fn deflate_samples(rx: Receiver<Work>) -> u64 {
    // One compressor, reset per sample: zlib-rs's reset can leave state that changes the next
    // output's bytes, but the samples come in one fixed order, so the figure stays the same.
    let mut compress = Compress::new(Compression::new(PUSH_GZIP_LEVEL), false);
    let mut out = Vec::with_capacity(2 * UNIT as usize);
    let (mut sampled_in, mut sampled_out) = (0u64, 0u64);
    for work in rx {
        match work {
            Work::Sample { bytes, primer } => {
                let (primer, unit) = bytes.split_at(primer);
                sampled_out += deflated_len(&mut compress, &mut out, primer, unit);
                sampled_in += unit.len() as u64;
            }
            Work::End(total) if sampled_in > 0 => {
                let scaled = sampled_out as f64 / sampled_in as f64 * total as f64;
                return scaled.round() as u64 + GZIP_FRAME;
            }
            Work::End(_) | Work::Bytes(_) => {}
        }
    }
    GZIP_FRAME
}

/// Bytes of `unit` deflated to its end by `compress` (reset, then primed with `primer`).
fn deflated_len(compress: &mut Compress, out: &mut Vec<u8>, primer: &[u8], unit: &[u8]) -> u64 {
    compress.reset();
    if !primer.is_empty() && compress.set_dictionary(primer).is_err() {
        return unit.len() as u64;
    }
    out.clear();
    loop {
        let consumed = compress.total_in() as usize;
        match compress.compress_vec(&unit[consumed..], out, FlushCompress::Finish) {
            Ok(Status::StreamEnd) => return out.len() as u64,
            Ok(_) => out.reserve(64 * 1024),
            // Deflate fails only on a broken stream state; count the unit as stored then.
            Err(_) => return unit.len() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes of `data` gzipped at the push level in one stream: the figure being estimated.
    fn gzipped_len(data: &[u8]) -> u64 {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), Compression::new(PUSH_GZIP_LEVEL));
        gz.write_all(data).unwrap();
        gz.finish().unwrap().len() as u64
    }

    /// Layer-like bytes: "files" of a few KiB to a few hundred, each text-like, zero-filled or
    /// random, so the ratio changes every few units as it does in real layers.
    fn layer_like(len: usize) -> Vec<u8> {
        let words: [&[u8]; 8] = [
            b"import ", b"numpy ", b"def ", b"return ", b"self.", b"\n    ", b"lib/", b"0x1f ",
        ];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut out = Vec::with_capacity(len + 512 * 1024);
        while out.len() < len {
            let file = 2048 + (next() % (400 * 1024)) as usize;
            let end = out.len() + file;
            match next() % 5 {
                0 => out.resize(end, 0),
                1 => {
                    while out.len() < end {
                        out.extend_from_slice(&next().to_le_bytes());
                    }
                }
                _ => {
                    while out.len() < end {
                        let r = next();
                        out.extend_from_slice(words[(r % 8) as usize]);
                        out.push(b'a' + (r >> 8) as u8 % 26);
                    }
                }
            }
            out.truncate(end);
        }
        out.truncate(len);
        out
    }

    fn measured(data: &[u8], declared: Option<u64>, piece: usize) -> u64 {
        let (mut feeder, size) = measure(declared);
        for chunk in data.chunks(piece) {
            feeder.feed(chunk);
        }
        drop(feeder);
        size.bytes()
    }

    #[test]
    fn a_small_layer_is_gzipped_whole() {
        let data = layer_like(3 << 20);
        let whole = measured(&data, Some(data.len() as u64), 7777);
        // The compressor may cut its blocks a little differently when handed the bytes in other
        // pieces: a few bytes in a million.
        let exact = gzipped_len(&data);
        assert!(whole.abs_diff(exact) * 10_000 < exact, "{whole} vs {exact}");
        // However the stream is read, and when the size is unknown, it is gzipped whole.
        assert_eq!(measured(&data, None, 100_000), whole);
        assert_eq!(measured(&data, Some(data.len() as u64), 1 << 20), whole);
        assert_eq!(measured(&[], Some(0), 1), gzipped_len(&[]));
    }

    #[test]
    fn a_large_layer_is_sampled_within_two_percent_whatever_the_reads() {
        let data = layer_like(80 << 20);
        let declared = Some(data.len() as u64);
        assert!(stride_for(declared) > 1, "80 MiB must be sampled");
        let exact = gzipped_len(&data) as f64;
        let estimate = measured(&data, declared, 256 * 1024);
        let error = estimate as f64 / exact - 1.0;
        assert!(error.abs() < 0.02, "estimate {estimate}, gzip {exact}");
        // The samples do not depend on how the stream was cut into reads.
        for piece in [511, 48 * 1024 + 3, 1 << 20] {
            assert_eq!(
                measured(&data, declared, piece),
                estimate,
                "reads of {piece}"
            );
        }
    }

    #[test]
    fn the_stride_keeps_enough_samples_and_a_bounded_cost() {
        let samples = UNIT * MIN_SAMPLES;
        assert_eq!(stride_for(Some(0)), 1);
        assert_eq!(stride_for(None), 1);
        // Below 64 MiB there are too few units for a stride of 2.
        assert_eq!(stride_for(Some(2 * samples - UNIT)), 1);
        assert_eq!(stride_for(Some(2 * samples)), 2);
        assert_eq!(stride_for(Some(10 * samples)), 10);
        assert_eq!(stride_for(Some(1 << 40)), MAX_STRIDE);
        // Every stretch samples one of its own units.
        for stretch in 0..1000 {
            let unit = sampled_unit(stretch, 7);
            assert!((stretch * 7..stretch * 7 + 7).contains(&unit));
        }
    }
}
