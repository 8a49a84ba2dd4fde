//! A bounded read-ahead thread: the producer side (read, or decompress) runs on its own thread
//! while the consumer (hash, tar walk) runs on the caller's, so one large layer uses both cores; a
//! tap adds a middle stage (the blob's hash) on a third thread, passing the same buffers along.
//! Memory stays bounded: at most `DEPTH` chunks of `CHUNK` bytes wait in each stage's channel, and
//! consumed chunks go back to the producer for reuse.

use std::io::{self, BufRead, Read};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender};
use std::thread;

const CHUNK: usize = 256 * 1024;
const DEPTH: usize = 8;

/// A reader over chunks delivered by a producer (a thread, or an async download): `next` returns the
/// next chunk, an error in its place, or `None` at the end.
pub struct ChunkReader<F> {
    next: F,
    current: Vec<u8>,
    pos: usize,
    done: bool,
    /// Where a consumed chunk goes back for reuse, so the producer neither allocates nor zeroes a
    /// fresh buffer per chunk.
    spent: Option<Sender<Vec<u8>>>,
}

impl<F: FnMut() -> Option<io::Result<Vec<u8>>>> ChunkReader<F> {
    /// Reads the chunks `next` yields, in order.
    pub fn new(next: F) -> Self {
        ChunkReader {
            next,
            current: Vec::new(),
            pos: 0,
            done: false,
            spent: None,
        }
    }
}

/// The consumer end of a read-ahead pipe.
pub type ReadAhead = ChunkReader<Box<dyn FnMut() -> Option<io::Result<Vec<u8>>> + Send>>;

impl ReadAhead {
    /// Starts a thread that reads `source` to the end in chunks; the returned reader yields the same
    /// bytes. An error on the producer side is delivered in order, at the point it happened. If the
    /// reader is dropped early, the producer stops at its next send.
    pub fn spawn<R: Read + Send + 'static>(mut source: R) -> ReadAhead {
        let (tx, rx) = sync_channel(DEPTH);
        let (spent_tx, spent_rx) = channel::<Vec<u8>>();
        thread::spawn(move || loop {
            // A full chunk handed back is reused as it is (its stale bytes are overwritten).
            let mut buf = spent_rx.try_recv().unwrap_or_default();
            buf.resize(CHUNK, 0);
            let mut filled = 0;
            // Fill the chunk (or reach the end) so the channel carries few, large messages.
            let result = loop {
                match source.read(&mut buf[filled..]) {
                    Ok(0) => break Ok(filled),
                    Ok(n) => {
                        filled += n;
                        if filled == CHUNK {
                            break Ok(filled);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(e),
                }
            };
            match result {
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.send(Ok(buf)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    if filled > 0 {
                        buf.truncate(filled);
                        if tx.send(Ok(buf)).is_err() {
                            return;
                        }
                    }
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        });
        let rx: Receiver<io::Result<Vec<u8>>> = rx;
        let mut reader = ChunkReader::new(Box::new(move || rx.recv().ok()) as Box<_>);
        reader.spent = Some(spent_tx);
        reader
    }
}

impl ReadAhead {
    /// Passes every chunk to `inspect` (a hasher) on a thread of its own before this reader yields
    /// it: reading, inspecting and consuming then run at once, and the chunk is not copied on the
    /// way. Call it before reading anything.
    pub fn tap(mut self, mut inspect: impl FnMut(&[u8]) + Send + 'static) -> ReadAhead {
        let (tx, rx) = sync_channel(DEPTH);
        let spent = self.spent.take();
        thread::spawn(move || {
            while let Some(item) = (self.next)() {
                if let Ok(chunk) = &item {
                    inspect(chunk);
                }
                if tx.send(item).is_err() {
                    return;
                }
            }
        });
        let mut reader = ChunkReader::new(Box::new(move || rx.recv().ok()) as Box<_>);
        reader.spent = spent;
        reader
    }
}

impl<F: FnMut() -> Option<io::Result<Vec<u8>>>> ChunkReader<F> {
    /// Makes sure unread bytes are at hand unless the stream has ended; an error from the
    /// producer is returned once, at its place in the stream.
    fn refill(&mut self) -> io::Result<()> {
        while self.pos == self.current.len() {
            if self.done {
                return Ok(());
            }
            match (self.next)() {
                Some(Ok(chunk)) => {
                    let spent = std::mem::replace(&mut self.current, chunk);
                    if let Some(back) = &self.spent {
                        // The producer may have finished; then the buffer is simply dropped.
                        let _ = back.send(spent);
                    }
                    self.pos = 0;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                None => {
                    self.done = true;
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

impl<F: FnMut() -> Option<io::Result<Vec<u8>>>> BufRead for ChunkReader<F> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.refill()?;
        Ok(&self.current[self.pos..])
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.current.len());
    }
}

impl<F: FnMut() -> Option<io::Result<Vec<u8>>>> Read for ChunkReader<F> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.refill()?;
        let n = out.len().min(self.current.len() - self.pos);
        out[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yields_the_same_bytes() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut out = Vec::new();
        ReadAhead::spawn(io::Cursor::new(data.clone()))
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn a_tap_sees_every_byte_once_in_order() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let tapped = seen.clone();
        let mut out = Vec::new();
        ReadAhead::spawn(io::Cursor::new(data.clone()))
            .tap(move |chunk| tapped.lock().unwrap().extend_from_slice(chunk))
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
        assert_eq!(*seen.lock().unwrap(), data);
    }

    #[test]
    fn delivers_errors_after_the_good_bytes() {
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::other("boom"));
                }
                let n = buf.len().min(self.0);
                buf[..n].fill(1);
                self.0 -= n;
                Ok(n)
            }
        }
        let mut r = ReadAhead::spawn(Failing(1000));
        let mut out = Vec::new();
        let err = r.read_to_end(&mut out).unwrap_err();
        assert_eq!((out.len(), err.to_string()), (1000, "boom".to_string()));
    }
}
