//! A bounded read-ahead thread: the producer side (read, hash, decompress) runs on its own thread
//! while the consumer (hash, tar walk) runs on the caller's, so one large layer uses both cores.
//! Memory stays bounded: at most `DEPTH` chunks of `CHUNK` bytes are in flight.

use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver};
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
}

impl<F: FnMut() -> Option<io::Result<Vec<u8>>>> ChunkReader<F> {
    /// Reads the chunks `next` yields, in order.
    pub fn new(next: F) -> Self {
        ChunkReader {
            next,
            current: Vec::new(),
            pos: 0,
            done: false,
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
        thread::spawn(move || loop {
            let mut buf = vec![0u8; CHUNK];
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
        ChunkReader::new(Box::new(move || rx.recv().ok()))
    }
}

impl<F: FnMut() -> Option<io::Result<Vec<u8>>>> Read for ChunkReader<F> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            if self.done {
                return Ok(0);
            }
            match (self.next)() {
                Some(Ok(chunk)) => {
                    self.current = chunk;
                    self.pos = 0;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                None => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
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
