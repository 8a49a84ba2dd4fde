//! The Docker Engine as a destination (`docker-daemon:NAME:TAG`, `strata build --load`): the
//! archive [`ArchiveSink`] writes (`docker load`'s format) streams into the engine's load
//! (`POST /images/load`) as it is written, never to a file. The engine tags the image only once
//! it has read the whole archive (its `manifest.json` comes last), so a write that fails, or that
//! the engine refuses, leaves no tag; the engine's refusal is the error.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bollard::query_parameters::ImportImageOptionsBuilder;
use bytes::Bytes;
use futures_util::StreamExt;

use crate::error::{Error, Result};
use crate::sink::archive::{ArchiveSink, ArchiveTarget};
use crate::source::engine::Engine;
use crate::source::reference::{ArchiveKind, ImageRef};

/// Chunks of the archive in flight to the engine.
const CHUNKS_IN_FLIGHT: usize = 8;
/// Bytes gathered before a chunk is sent.
const CHUNK: usize = 256 << 10;

/// A sink that loads the image into the engine as `name` (`NAME[:TAG]`, `:latest` implied).
pub fn engine_sink(name: &str) -> Result<ArchiveSink> {
    if name.contains('@') {
        return Err(Error::usage(format!(
            "docker-daemon:{name}: the Docker Engine tags what it loads: give NAME:TAG, not a digest"
        )));
    }
    let engine = Engine::connect()?;
    let describe = ImageRef::Daemon(name.to_string()).to_string();
    let target = EngineLoad::start(engine, describe.clone());
    Ok(ArchiveSink::streaming(
        Box::new(target),
        Some(name.to_string()),
        ArchiveKind::Docker,
        describe.clone(),
        describe,
    ))
}

/// The engine's load under way, fed by the archive's writes.
struct EngineLoad {
    engine: Engine,
    describe: String,
    buffer: Vec<u8>,
    tx: Option<tokio::sync::mpsc::Sender<Bytes>>,
    /// Set once every byte was written: only then does the upload end cleanly.
    complete: Arc<AtomicBool>,
    task: Option<tokio::task::JoinHandle<std::result::Result<(), String>>>,
}

impl EngineLoad {
    /// Starts the load: its body is what is written to this target.
    fn start(engine: Engine, describe: String) -> EngineLoad {
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(CHUNKS_IN_FLIGHT);
        let complete = Arc::new(AtomicBool::new(false));
        let done = complete.clone();
        // The body ends with an error unless the archive was completed: a load the writer gave
        // up on is cut short, so the engine never tags a partial archive.
        let body = futures_util::stream::unfold((rx, false), move |(mut rx, ended)| {
            let done = done.clone();
            async move {
                if ended {
                    return None;
                }
                match rx.recv().await {
                    Some(chunk) => Some((Ok(chunk), (rx, false))),
                    None if done.load(Ordering::SeqCst) => None,
                    None => Some((Err(io::Error::other("archive abandoned")), (rx, true))),
                }
            }
        });
        let options = ImportImageOptionsBuilder::default().quiet(true).build();
        let mut answers = engine.transfers().import_image_stream(options, body, None);
        let task = engine.spawn(async move {
            while let Some(answer) = answers.next().await {
                answer.map_err(|e| e.to_string())?;
            }
            Ok(())
        });
        EngineLoad {
            engine,
            describe,
            buffer: Vec::with_capacity(CHUNK),
            tx: Some(tx),
            complete,
            task: Some(task),
        }
    }

    /// The engine's refusal of the image, `why` in its words.
    fn refused(&self, why: &str) -> Error {
        Error::Registry(format!(
            "{}: the Docker Engine refused the image: {why}",
            self.describe
        ))
    }

    /// Sends what is buffered; when the engine stopped reading, its answer is the error (carried
    /// through the tar writer as a registry error, see [`crate::layer::verify::carried`]).
    fn send_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK),
        ));
        let sent = self.tx.as_ref().map(|tx| tx.blocking_send(chunk));
        match sent {
            Some(Ok(())) => Ok(()),
            _ => {
                let why = self.answer().err();
                let why = why.as_deref().unwrap_or("it stopped reading the archive");
                Err(io::Error::other(self.refused(why)))
            }
        }
    }

    /// What the engine answered the load (waiting for it).
    fn answer(&mut self) -> std::result::Result<(), String> {
        let Some(task) = self.task.take() else {
            return Err("the Docker Engine's answer was already read".to_string());
        };
        match self.engine.block_on(task) {
            Ok(answer) => answer,
            Err(e) => Err(e.to_string()),
        }
    }
}

impl Write for EngineLoad {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        if self.buffer.len() >= CHUNK {
            self.send_buffer()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_buffer()
    }
}

impl ArchiveTarget for EngineLoad {
    fn commit(mut self: Box<Self>) -> Result<()> {
        self.send_buffer().map_err(|e| {
            crate::layer::verify::carried(e).unwrap_or_else(|e| Error::io(&self.describe, e))
        })?;
        self.complete.store(true, Ordering::SeqCst);
        self.tx = None;
        self.answer().map_err(|why| self.refused(&why))
    }
}

impl Drop for EngineLoad {
    fn drop(&mut self) {
        // Not committed: the sender's end makes the body fail (see `start`); wait for the
        // engine to have dropped the upload before the process goes on (or exits).
        self.tx = None;
        if let Some(task) = self.task.take() {
            let _ = self.engine.block_on(task);
        }
    }
}
