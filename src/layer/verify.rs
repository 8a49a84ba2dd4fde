//! Layer bytes verified as they stream: a [`Verifier`] hashes and counts what passes and, at the
//! end, compares digest and size with what the manifest promised; [`VerifyingReader`] puts one on
//! a compressed blob, [`LayerStream`] on both sides of a layer (the blob as stored, and the tar it
//! decodes to, against the config's diff_id). A reader that reaches the end of bytes that do not
//! match returns an error instead of its end, so nothing that reads to the end can take a corrupt
//! layer for a good one; callers that act on the bytes (unpacking, writing) commit only after it.

use std::io::{self, Read};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::layer::compression::{decompress_buffered, describe_read_error, Compression};
use crate::layer::digest::{Algorithm, Digest, Hasher};
use crate::layer::readahead::ReadAhead;

/// A digest and size being checked: the state of a hash over bytes seen in pieces, and what
/// they must add up to.
pub struct Verifier {
    what: String,
    expected: Option<Digest>,
    size: Option<u64>,
    hasher: Hasher,
    bytes: u64,
}

impl Verifier {
    /// Checks bytes against `expected` (when the source names a digest; else the digest is only
    /// computed, with `algorithm`) and `size` (when known); `what` names them in errors.
    pub fn new(
        what: impl Into<String>,
        algorithm: Algorithm,
        expected: Option<Digest>,
        size: Option<u64>,
    ) -> Verifier {
        let algorithm = expected.as_ref().map_or(algorithm, Digest::algorithm);
        Verifier {
            what: what.into(),
            expected,
            size,
            hasher: Hasher::new(algorithm),
            bytes: 0,
        }
    }

    /// Feeds the next bytes.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.hasher.update(chunk);
        self.bytes += chunk.len() as u64;
    }

    /// The algorithm of the digest being computed.
    pub fn algorithm(&self) -> Algorithm {
        self.hasher.algorithm()
    }

    /// An error once more bytes came than the size promised (a reader stops there rather than
    /// stream an unbounded blob).
    fn overrun(&self) -> Result<()> {
        match self.size {
            Some(size) if self.bytes > size => Err(size_error(&self.what, size, self.bytes)),
            _ => Ok(()),
        }
    }

    /// The digest and byte count of everything fed, once they match the promise (the digest is
    /// checked first: a same-size blob with other bytes is a digest mismatch).
    pub fn finish(self) -> Result<(Digest, u64)> {
        let digest = self.hasher.finish();
        if let Some(expected) = &self.expected {
            expected.verify(&digest, &self.what)?;
        }
        match self.size {
            Some(size) if size != self.bytes => Err(size_error(&self.what, size, self.bytes)),
            _ => Ok((digest, self.bytes)),
        }
    }
}

fn size_error(what: &str, size: u64, bytes: u64) -> Error {
    Error::invalid(format!(
        "{what}: descriptor says {size} bytes, blob has {bytes}"
    ))
}

/// Carries a verification failure through `io::Read`, so readers that only know I/O errors
/// (decoders, the tar walk) pass it on unchanged.
fn to_io(e: Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// The verification failure an I/O error from a verified stream carries, or the I/O error back
/// when it is another failure (of the source, or of a writer the bytes were copied to).
pub fn carried(e: io::Error) -> std::result::Result<Error, io::Error> {
    if !e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
        return Err(e);
    }
    match e.into_inner().map(|inner| inner.downcast::<Error>()) {
        Some(Ok(inner)) => Ok(*inner),
        _ => Err(io::Error::other("a verification failure")),
    }
}

/// The error reading a verified stream of `what` ended with.
fn read_error(e: io::Error, what: &str) -> Error {
    carried(e).unwrap_or_else(|e| {
        Error::invalid(format!(
            "{what}: reading layer: {}",
            describe_read_error(&e)
        ))
    })
}

/// Where a verified stream stands.
enum State<T> {
    /// Bytes still pass.
    Reading,
    /// The end was reached and everything matched.
    Verified(T),
    /// The end was reached and something did not match (already reported).
    Failed,
}

impl<T> State<T> {
    /// What a read returns once the end was reached: the end again, or the failure again.
    fn at_end(&self) -> Option<io::Result<usize>> {
        match self {
            State::Reading => None,
            State::Verified(_) => Some(Ok(0)),
            State::Failed => Some(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the stream failed verification",
            ))),
        }
    }
}

/// A compressed blob read through a [`Verifier`]: the same bytes, and an error in place of the
/// end when they do not hash to the digest (or add up to the size) that names them.
pub struct VerifyingReader<R> {
    inner: R,
    verifier: Option<Verifier>,
    state: State<(Digest, u64)>,
}

impl<R: Read> VerifyingReader<R> {
    /// Reads `inner` through `verifier`.
    pub fn new(inner: R, verifier: Verifier) -> Self {
        VerifyingReader {
            inner,
            verifier: Some(verifier),
            state: State::Reading,
        }
    }

    /// Reads the rest and returns the verified digest and size.
    pub fn finish(mut self) -> Result<(Digest, u64)> {
        let what = self
            .verifier
            .as_ref()
            .map_or_else(String::new, |v| v.what.clone());
        io::copy(&mut self, &mut io::sink()).map_err(|e| read_error(e, &what))?;
        match self.state {
            State::Verified(done) => Ok(done),
            _ => Err(Error::invalid(format!("{what}: not verified"))),
        }
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(done) = self.state.at_end() {
            return done;
        }
        let n = self.inner.read(buf)?;
        let checked = match self.verifier.as_mut() {
            Some(verifier) if n > 0 || buf.is_empty() => {
                verifier.feed(&buf[..n]);
                verifier.overrun().map(|()| None)
            }
            _ => self.verifier.take().map_or_else(
                || Err(Error::invalid("verified twice")),
                |v| v.finish().map(Some),
            ),
        };
        match checked {
            Ok(None) => Ok(n),
            Ok(Some(done)) => {
                self.state = State::Verified(done);
                Ok(0)
            }
            Err(e) => {
                self.verifier = None;
                self.state = State::Failed;
                Err(to_io(e))
            }
        }
    }
}

/// What reading a whole layer established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The blob's digest (the manifest's, now checked; or computed, for legacy archives).
    pub digest: Digest,
    /// Bytes of the blob as stored.
    pub compressed_bytes: u64,
    /// The tar stream's digest, checked against the config.
    pub diff_id: Digest,
    /// Bytes of the tar stream.
    pub uncompressed_bytes: u64,
    /// The compression found in the bytes.
    pub compression: Compression,
}

/// What [`LayerStream::observe`] hands the tar's bytes to.
type Observer = Box<dyn FnMut(&[u8]) + Send>;

/// The uncompressed tar of a layer, verified on both sides as it streams. Three stages run at
/// once: reading (the copy out of the page cache or the network), hashing and counting the blob
/// as stored, and decoding + consuming; the blob's hash is the critical path of a large layer,
/// so it has a thread to itself and never copies a byte. When the blob is the tar itself its
/// digest doubles as the diff_id, so the same bytes are not hashed a second time.
pub struct LayerStream {
    tar: Box<dyn Read + Send>,
    /// The blob's verifier, fed on the tap thread.
    blob: Arc<Mutex<Option<Verifier>>>,
    /// The diff_id's verifier (`None` when the blob's digest is the diff_id).
    diff: Option<Verifier>,
    diff_id: Digest,
    name: String,
    diff_what: String,
    uncompressed_bytes: u64,
    compression: Compression,
    /// Sees every byte of the tar as it passes (see [`LayerStream::observe`]).
    observer: Option<Observer>,
    state: State<Verified>,
}

impl LayerStream {
    /// Starts reading `raw` (the blob as stored) through `blob` and decoding it (`promised`: the
    /// compression the media type names) to a tar that must hash to `diff_id`; `on_bytes` hears
    /// of every chunk of the blob (progress). `what` names the layer in errors.
    pub fn open(
        raw: Box<dyn Read + Send>,
        blob: Verifier,
        promised: Option<Compression>,
        diff_id: &Digest,
        what: &str,
        on_bytes: impl Fn(u64) + Send + 'static,
    ) -> Result<LayerStream> {
        let algorithm = blob.algorithm();
        let shared = Arc::new(Mutex::new(Some(blob)));
        let tapped = shared.clone();
        let chunks = ReadAhead::spawn(raw).tap(move |chunk| {
            if let Some(v) = tapped.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
                v.feed(chunk);
            }
            on_bytes(chunk.len() as u64);
        });
        let (compression, decoder) =
            decompress_buffered(chunks, promised).map_err(|e| e.context(what))?;
        // A compressed layer is decoded on a thread of its own; an uncompressed one is read
        // straight from the hashed chunks.
        let tar: Box<dyn Read + Send> = match compression {
            Compression::None => decoder,
            _ => Box::new(ReadAhead::spawn(decoder)),
        };
        let diff_what = format!("{what} uncompressed (diff_id)");
        let same_bytes = compression == Compression::None && diff_id.algorithm() == algorithm;
        let diff = (!same_bytes)
            .then(|| Verifier::new(&diff_what, algorithm, Some(diff_id.clone()), None));
        Ok(LayerStream {
            tar,
            blob: shared,
            diff,
            diff_id: diff_id.clone(),
            name: what.to_string(),
            diff_what,
            uncompressed_bytes: 0,
            compression,
            observer: None,
            state: State::Reading,
        })
    }

    /// Hands every byte of the tar, in order, to `observer` as it is read (the drain of
    /// [`LayerStream::finish`] included), so a figure over the whole stream needs no second pass.
    pub fn observe(&mut self, observer: impl FnMut(&[u8]) + Send + 'static) {
        self.observer = Some(Box::new(observer));
    }

    /// The compression found in the blob's first bytes.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Reads the rest (so both digests cover everything) and returns what was verified.
    pub fn finish(mut self) -> Result<Verified> {
        let what = self.name.clone();
        io::copy(&mut self, &mut io::sink()).map_err(|e| read_error(e, &what))?;
        match self.state {
            State::Verified(done) => Ok(done),
            _ => Err(Error::invalid(format!("{what}: not verified"))),
        }
    }

    /// The checks at the end, in the order a reader is told about them: the blob's digest, its
    /// size, then the diff_id.
    fn verify(&mut self) -> Result<Verified> {
        let blob = self
            .blob
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or_else(|| Error::invalid(format!("{}: verified twice", self.diff_what)))?;
        let (digest, compressed_bytes) = blob.finish()?;
        let diff_id = match self.diff.take() {
            Some(diff) => diff.finish()?.0,
            None => {
                self.diff_id.verify(&digest, &self.diff_what)?;
                digest.clone()
            }
        };
        Ok(Verified {
            digest,
            compressed_bytes,
            diff_id,
            uncompressed_bytes: self.uncompressed_bytes,
            compression: self.compression,
        })
    }
}

impl Read for LayerStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(done) = self.state.at_end() {
            return done;
        }
        let n = self.tar.read(buf)?;
        if n > 0 || buf.is_empty() {
            self.uncompressed_bytes += n as u64;
            if let Some(diff) = self.diff.as_mut() {
                diff.feed(&buf[..n]);
            }
            if let Some(observer) = self.observer.as_mut() {
                observer(&buf[..n]);
            }
            return Ok(n);
        }
        match self.verify() {
            Ok(done) => {
                self.state = State::Verified(done);
                Ok(0)
            }
            Err(e) => {
                self.state = State::Failed;
                Err(to_io(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::compression::tests::gzip;

    fn blob(data: &[u8], expected: &[u8], size: u64) -> VerifyingReader<&'static [u8]> {
        let data: &'static [u8] = data.to_vec().leak();
        let verifier = Verifier::new(
            "blob",
            Algorithm::Sha256,
            Some(Digest::sha256_of(expected)),
            Some(size),
        );
        VerifyingReader::new(data, verifier)
    }

    /// The tar-like payload of the layer tests, its gzip blob, and a stream over `stored`
    /// promising `blob`'s digest and size and `tar`'s diff_id.
    fn layer(stored: &[u8], blob: &[u8], tar: &[u8]) -> LayerStream {
        let verifier = Verifier::new(
            "layer 0",
            Algorithm::Sha256,
            Some(Digest::sha256_of(blob)),
            Some(blob.len() as u64),
        );
        LayerStream::open(
            Box::new(io::Cursor::new(stored.to_vec())),
            verifier,
            None,
            &Digest::sha256_of(tar),
            "layer 0",
            |_| {},
        )
        .unwrap()
    }

    fn read_all(mut r: impl Read) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        r.read_to_end(&mut out).map(|_| out)
    }

    #[test]
    fn matching_bytes_read_through_and_report_digest_and_size() {
        let data = b"layer bytes".repeat(1000);
        assert_eq!(read_all(blob(&data, &data, 11_000)).unwrap(), data);
        let (digest, size) = blob(&data, &data, 11_000).finish().unwrap();
        assert_eq!((digest, size), (Digest::sha256_of(&data), 11_000));
    }

    #[test]
    fn other_bytes_of_the_same_size_fail_at_the_end_not_before() {
        let (good, bad) = (b"hello world".to_vec(), b"hello wOrld".to_vec());
        let mut r = blob(&bad, &good, 11);
        let mut first = [0u8; 11];
        r.read_exact(&mut first).unwrap();
        let err = carried(r.read(&mut [0u8; 8]).unwrap_err()).unwrap();
        assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
        // Read again after the failure: still an error, never a clean end.
        assert!(r.read(&mut [0u8; 8]).is_err());
        let err = blob(&bad, &good, 11).finish().unwrap_err();
        assert!(
            err.to_string().contains("digest mismatch for blob"),
            "{err}"
        );
    }

    #[test]
    fn a_wrong_size_and_a_truncated_blob_are_errors() {
        let data = b"0123456789".to_vec();
        let err = blob(&data, &data, 9).finish().unwrap_err();
        assert!(
            err.to_string().contains("says 9 bytes, blob has 10"),
            "{err}"
        );
        let err = blob(&data[..5], &data, 10).finish().unwrap_err();
        assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
        // Without a digest to compare, a short blob is caught by its size.
        let verifier = Verifier::new("blob", Algorithm::Sha256, None, Some(10));
        let err = VerifyingReader::new(&data[..5], verifier)
            .finish()
            .unwrap_err();
        assert!(
            err.to_string().contains("says 10 bytes, blob has 5"),
            "{err}"
        );
    }

    #[test]
    fn a_layer_stream_checks_blob_and_diff_id() {
        let tar = b"pretend tar ".repeat(5000);
        let gz = gzip(&tar);
        let mut stream = layer(&gz, &gz, &tar);
        assert_eq!(stream.compression(), Compression::Gzip);
        let mut out = Vec::new();
        stream.read_to_end(&mut out).unwrap();
        assert_eq!(out, tar);
        let verified = layer(&gz, &gz, &tar).finish().unwrap();
        assert_eq!(
            (
                verified.digest,
                verified.diff_id,
                verified.uncompressed_bytes
            ),
            (Digest::sha256_of(&gz), Digest::sha256_of(&tar), 60_000)
        );
    }

    #[test]
    fn a_wrong_diff_id_is_an_error_at_the_end_of_the_tar() {
        let tar = b"pretend tar ".repeat(5000);
        let gz = gzip(&tar);
        // The blob is what the manifest says; the config promises another tar.
        let err = layer(&gz, &gz, b"another tar").finish().unwrap_err();
        assert!(err.to_string().contains("diff_id"), "{err}");
        // An uncompressed blob is its own tar: a diff_id other than its digest is refused too.
        let err = layer(&tar, &tar, b"another tar").finish().unwrap_err();
        assert!(err.to_string().contains("diff_id"), "{err}");
    }

    #[test]
    fn a_layer_stream_over_a_changed_or_truncated_blob_fails() {
        let tar = b"pretend tar ".repeat(5000);
        let mut changed = tar.clone();
        changed[100] ^= 1;
        let err = layer(&changed, &tar, &tar).finish().unwrap_err();
        assert!(
            err.to_string().contains("digest mismatch for layer 0"),
            "{err}"
        );
        let gz = gzip(&tar);
        let err = layer(&gz[..gz.len() / 2], &gz, &tar).finish().unwrap_err();
        assert!(err.to_string().contains("layer 0"), "{err}");
    }
}
