//! File actions: a file's head for the pager, and a file saved to a path — both streamed from
//! the one layer that holds it, its tar read up to the file, nothing of the image extracted —
//! each run as a [`Job`] on its own thread, so the UI keeps taking keys while a layer streams.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, TryRecvError};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::layer::walk::clean_path;
use crate::source::OpenedImage;

/// How far a chain of hard links is followed.
const LINK_HOPS: usize = 8;

/// Bytes of a file's head the pager shows.
pub const HEAD_BYTES: usize = 64 << 10;

/// What a finished [`Job`] gives the UI.
pub enum Outcome {
    /// A file's head for the pager: its title, and its lines (`None`: binary).
    Head {
        /// The path and layer (escaped).
        title: String,
        /// The lines, escaped.
        lines: Option<Vec<String>>,
    },
    /// A save's result line (escaped).
    Saved(String),
}

/// A file action on its own thread: what the status line calls it, the file's bytes read so far
/// of how many, and its outcome once done.
pub struct Job {
    /// What it does (escaped), for the status line.
    pub what: String,
    /// Bytes of the file read so far.
    pub read: Arc<AtomicU64>,
    /// The file's bytes.
    pub total: u64,
    outcome: Receiver<Result<Outcome>>,
}

impl Job {
    /// Runs `work` on a new thread; it counts the bytes it reads of the file in its argument.
    pub fn spawn(
        what: String,
        total: u64,
        work: impl FnOnce(&AtomicU64) -> Result<Outcome> + Send + 'static,
    ) -> Job {
        let read = Arc::new(AtomicU64::new(0));
        let (send, outcome) = channel();
        let counter = read.clone();
        std::thread::spawn(move || {
            let _ = send.send(work(&counter));
        });
        Job {
            what,
            read,
            total,
            outcome,
        }
    }

    /// Its outcome, once it is done.
    pub fn finished(&self) -> Option<Result<Outcome>> {
        match self.outcome.try_recv() {
            Ok(outcome) => Some(outcome),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(Error::invalid(format!(
                "{}: stopped unexpectedly",
                self.what
            )))),
        }
    }
}

/// A reader that adds the bytes it reads to a counter.
struct Counted<'a, R> {
    inner: R,
    read: &'a AtomicU64,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Streams layer `layer` to the regular file `path` (rooted or not), following hard links inside
/// the layer, and hands it to `use_file` (counting its bytes read in `read`); with `verify`, the
/// rest of the layer is read too and checked against its digests before the result is returned.
fn with_file<T>(
    image: &OpenedImage,
    layer: usize,
    path: &str,
    verify: bool,
    read: &AtomicU64,
    mut use_file: impl FnMut(&mut dyn Read) -> Result<T>,
) -> Result<T> {
    let mut wanted = clean_path(path);
    for _ in 0..LINK_HOPS {
        let mut archive = tar::Archive::new(image.open_uncompressed(layer)?);
        let mut link = None;
        let mut found = None;
        let corrupt = |e: io::Error| Error::invalid(format!("layer {layer}: {e}"));
        for entry in archive.entries().map_err(corrupt)? {
            let mut entry = entry.map_err(corrupt)?;
            let name = clean_path(&String::from_utf8_lossy(&entry.path_bytes()));
            if name != wanted {
                continue;
            }
            match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    found = Some(use_file(&mut Counted {
                        inner: &mut entry,
                        read,
                    })?);
                }
                tar::EntryType::Link => {
                    let target = entry.link_name_bytes().unwrap_or_default();
                    link = Some(clean_path(&String::from_utf8_lossy(&target)));
                }
                _ => {
                    return Err(Error::usage(format!(
                        "{path} is not a regular file in layer {layer}"
                    )))
                }
            }
            break;
        }
        if let Some(found) = found {
            if verify {
                let mut rest = archive.into_inner();
                io::copy(&mut rest, &mut io::sink()).map_err(corrupt)?;
                rest.finish()?;
            }
            return Ok(found);
        }
        match link {
            Some(target) => wanted = target,
            None => return Err(Error::not_found(format!("{path}: not in layer {layer}"))),
        }
    }
    Err(Error::invalid(format!("{path}: too many hard links")))
}

/// The first [`HEAD_BYTES`] of `path` as layer `layer` ships it (read up to the file only).
pub fn head(image: &OpenedImage, layer: usize, path: &str, read: &AtomicU64) -> Result<Vec<u8>> {
    with_file(image, layer, path, false, read, |file| {
        let mut head = Vec::new();
        file.take(HEAD_BYTES as u64)
            .read_to_end(&mut head)
            .map_err(|e| Error::invalid(format!("layer {layer}: {e}")))?;
        Ok(head)
    })
}

/// Writes `path` as layer `layer` ships it to `dest`, returning its bytes (counted in `read` as
/// they go); the layer is read to its end and verified, and `dest` removed when it does not
/// check out.
pub fn save(
    image: &OpenedImage,
    layer: usize,
    path: &str,
    dest: &Path,
    read: &AtomicU64,
) -> Result<u64> {
    let mut created = false;
    let written = with_file(image, layer, path, true, read, |file| {
        let failed = |e: io::Error| Error::io(dest.display(), e);
        let mut out = File::create(dest).map_err(failed)?;
        created = true;
        let bytes = io::copy(file, &mut out).map_err(failed)?;
        out.flush().map_err(failed)?;
        Ok(bytes)
    });
    if written.is_err() && created {
        let _ = std::fs::remove_file(dest);
    }
    written
}

/// Lines of `head` for the pager, or `None` when it looks binary (a NUL byte); control
/// characters are shown as `\u{fffd}` and tabs as spaces, so nothing reaches the terminal raw.
pub fn text_lines(head: &[u8]) -> Option<Vec<String>> {
    if head.contains(&0) {
        return None;
    }
    let text = String::from_utf8_lossy(head);
    Some(
        text.lines()
            .map(|line| {
                line.chars()
                    .map(|c| match c {
                        '\t' => ' ',
                        c if c.is_control() => '\u{fffd}',
                        c => c,
                    })
                    .collect()
            })
            .collect(),
    )
}
