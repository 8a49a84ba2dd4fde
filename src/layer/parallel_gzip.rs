//! Block-parallel, deterministic gzip (the pigz scheme): the input is cut into blocks of a fixed
//! size, each block is raw-deflated on its own worker thread, primed with the previous block's last
//! 32 KiB as dictionary and ended with a sync flush (the last one finished), and the outputs are
//! written in order behind a fixed gzip header, followed by the CRC-32 and length of the whole
//! input. Block boundaries depend only on the input, never on the thread count, so the bytes are
//! the same with 1 or 64 threads; the result is one ordinary gzip member any decoder reads.
//!
//! Memory stays bounded: at most `IN_FLIGHT_PER_THREAD` blocks per worker are queued or being
//! compressed or waiting to be written.

use std::io::{self, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use crc32fast::Hasher as Crc;
use flate2::{Compress, Compression, FlushCompress, Status};

/// Bytes of input per independently compressed block. A constant: the output must not depend on
/// the machine.
pub const BLOCK_SIZE: usize = 1 << 20;

/// Bytes of the previous block that prime the next one (deflate's whole window).
const DICTIONARY: usize = 32 * 1024;

/// Blocks queued, compressing or awaiting their turn to be written, per worker thread.
const IN_FLIGHT_PER_THREAD: usize = 3;

/// The number of compression threads for this machine.
pub fn default_threads() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// One block to compress.
struct Job {
    dictionary: Vec<u8>,
    data: Vec<u8>,
    last: bool,
    reply: SyncSender<io::Result<Deflated>>,
}

/// One compressed block.
struct Deflated {
    bytes: Vec<u8>,
    crc: Crc,
    input_len: u64,
    last: bool,
}

/// A `Write` that gzips what is written to it onto `W`, block-parallel. `finish` must be called to
/// write the trailer and get `W` back; dropping it instead abandons the output.
pub struct ParallelGzip<W: Write + Send + 'static> {
    block: Vec<u8>,
    dictionary: Vec<u8>,
    jobs: Option<SyncSender<Job>>,
    order: Option<SyncSender<Receiver<io::Result<Deflated>>>>,
    workers: Vec<JoinHandle<()>>,
    writer: Option<JoinHandle<io::Result<W>>>,
}

/// The gzip header: no name, no mtime (0), unknown OS (255), the XFL hint deflate levels imply.
fn header(level: u32) -> [u8; 10] {
    let xfl = match level {
        1 => 4,
        9 => 2,
        _ => 0,
    };
    [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255]
}

/// Deflates one block with a compressor of its own: zlib-rs's `reset` leaves state behind that
/// changes the next block's bytes, which would make the output depend on scheduling.
fn compress_block(level: u32, job: &Job) -> io::Result<Vec<u8>> {
    let mut compress = Compress::new(Compression::new(level), false);
    if !job.dictionary.is_empty() {
        compress
            .set_dictionary(&job.dictionary)
            .map_err(io::Error::other)?;
    }
    let flush = if job.last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(job.data.len() + job.data.len() / 8 + 1024);
    loop {
        let consumed = compress.total_in() as usize;
        let status = compress
            .compress_vec(&job.data[consumed..], &mut out, flush)
            .map_err(io::Error::other)?;
        let done = compress.total_in() as usize == job.data.len()
            && out.len() < out.capacity()
            && (!job.last || status == Status::StreamEnd);
        if done {
            return Ok(out);
        }
        out.reserve(64 * 1024);
    }
}

fn worker(level: u32, jobs: Arc<Mutex<Receiver<Job>>>) {
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let result = compress_block(level, &job).map(|bytes| {
            let mut crc = Crc::new();
            crc.update(&job.data);
            Deflated {
                bytes,
                crc,
                input_len: job.data.len() as u64,
                last: job.last,
            }
        });
        // The writer is gone only if it failed; it reports that itself.
        let _ = job.reply.send(result);
    }
}

fn write_in_order<W: Write>(
    mut out: W,
    level: u32,
    order: Receiver<Receiver<io::Result<Deflated>>>,
) -> io::Result<W> {
    out.write_all(&header(level))?;
    let mut crc = Crc::new();
    let mut total: u64 = 0;
    for reply in order {
        let block = reply
            .recv()
            .map_err(|_| io::Error::other("a gzip worker stopped"))??;
        out.write_all(&block.bytes)?;
        crc.combine(&block.crc);
        total += block.input_len;
        if block.last {
            out.write_all(&crc.finalize().to_le_bytes())?;
            // ISIZE is the length modulo 2^32 (RFC 1952).
            out.write_all(&(total as u32).to_le_bytes())?;
            return Ok(out);
        }
    }
    Err(io::Error::other("gzip stream abandoned before its end"))
}

impl<W: Write + Send + 'static> ParallelGzip<W> {
    /// Gzips onto `out` at deflate `level` (0-9) with `threads` workers (at least one).
    pub fn new(out: W, level: u32, threads: usize) -> Self {
        let threads = threads.max(1);
        let (jobs_tx, jobs_rx) = sync_channel::<Job>(threads);
        let (order_tx, order_rx) = sync_channel(threads * IN_FLIGHT_PER_THREAD);
        let jobs_rx = Arc::new(Mutex::new(jobs_rx));
        let workers = (0..threads)
            .map(|_| {
                let jobs = Arc::clone(&jobs_rx);
                thread::spawn(move || worker(level, jobs))
            })
            .collect();
        let writer = thread::spawn(move || write_in_order(out, level, order_rx));
        ParallelGzip {
            block: Vec::with_capacity(BLOCK_SIZE),
            dictionary: Vec::new(),
            jobs: Some(jobs_tx),
            order: Some(order_tx),
            workers,
            writer: Some(writer),
        }
    }

    /// The writer thread's outcome once it has stopped (its error explains a failed send).
    fn writer_result(&mut self) -> io::Result<W> {
        self.jobs = None;
        self.order = None;
        let result = match self.writer.take() {
            Some(w) => w
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("gzip writer thread panicked"))),
            None => Err(io::Error::other("gzip stream already finished")),
        };
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        result
    }

    fn dispatch(&mut self, last: bool) -> io::Result<()> {
        let data = std::mem::replace(&mut self.block, Vec::with_capacity(BLOCK_SIZE));
        let next_dictionary = data[data.len().saturating_sub(DICTIONARY)..].to_vec();
        let dictionary = std::mem::replace(&mut self.dictionary, next_dictionary);
        let (reply, answer) = sync_channel(1);
        let job = Job {
            dictionary,
            data,
            last,
            reply,
        };
        let sent = match (&self.order, &self.jobs) {
            (Some(order), Some(jobs)) => order.send(answer).is_ok() && jobs.send(job).is_ok(),
            _ => false,
        };
        if sent {
            Ok(())
        } else {
            Err(self
                .writer_result()
                .err()
                .unwrap_or_else(|| io::Error::other("gzip stream already finished")))
        }
    }

    /// Compresses what is left, writes the trailer and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.dispatch(true)?;
        self.writer_result()
    }
}

impl<W: Write + Send + 'static> Write for ParallelGzip<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(BLOCK_SIZE - self.block.len());
        self.block.extend_from_slice(&buf[..n]);
        if self.block.len() == BLOCK_SIZE {
            self.dispatch(false)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write + Send + 'static> Drop for ParallelGzip<W> {
    fn drop(&mut self) {
        if self.writer.is_some() {
            let _ = self.writer_result();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// Compressible but not trivial: words from a small LCG, so blocks differ.
    fn sample(len: usize) -> Vec<u8> {
        let words: [&[u8]; 6] = [
            b"layer ",
            b"tar ",
            b"gzip ",
            b"\0\0\0\0",
            b"strata\n",
            b"venv/",
        ];
        let mut x: u32 = 12345;
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            out.extend_from_slice(words[(x >> 16) as usize % words.len()]);
            out.push((x >> 8) as u8);
        }
        out.truncate(len);
        out
    }

    fn gzip(data: &[u8], threads: usize) -> Vec<u8> {
        let mut gz = ParallelGzip::new(Vec::new(), 6, threads);
        // Uneven writes, so block cutting is exercised across write boundaries.
        for chunk in data.chunks(300_001) {
            gz.write_all(chunk).unwrap();
        }
        gz.finish().unwrap()
    }

    fn gunzip(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(data)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn same_bytes_whatever_the_thread_count_and_round_trips() {
        let data = sample(3 * BLOCK_SIZE + 12_345);
        let one = gzip(&data, 1);
        assert_eq!(one, gzip(&data, 2));
        assert_eq!(one, gzip(&data, 5));
        assert!(one.len() < data.len() / 2, "compressed: {}", one.len());
        assert_eq!(gunzip(&one), data);
        // One member: a single-member decoder reads all of it.
        let mut single = Vec::new();
        flate2::read::GzDecoder::new(&one[..])
            .read_to_end(&mut single)
            .unwrap();
        assert_eq!(single, data);
    }

    #[test]
    fn same_bytes_for_real_binary_data_whatever_the_thread_count() {
        // A compressor reused across blocks leaks state into its output (seen with zlib-rs's reset):
        // machine code, with its many long-distance matches, shows it where synthetic text did not.
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let data = &exe[..exe.len().min(12 * BLOCK_SIZE)];
        let one = gzip(data, 1);
        assert_eq!(one, gzip(data, 2));
        assert_eq!(one, gzip(data, 3));
        assert_eq!(gunzip(&one), data);
    }

    #[test]
    fn empty_and_exact_multiple_of_the_block_size() {
        assert_eq!(gunzip(&gzip(&[], 2)), Vec::<u8>::new());
        let data = sample(2 * BLOCK_SIZE);
        assert_eq!(gunzip(&gzip(&data, 2)), data);
    }

    #[test]
    fn system_gzip_decodes_it() {
        if !crate::test_tools::require_tool("gzip") {
            return;
        }
        let data = sample(2 * BLOCK_SIZE + 77);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.gz");
        std::fs::write(&path, gzip(&data, 2)).unwrap();
        let out = std::process::Command::new("gzip")
            .arg("-dc")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, data);
    }
}
