//! The Docker Engine as an image source (`docker-daemon:NAME[:TAG|@DIGEST]`, and bare names,
//! looked up there before Docker Hub), through its API with bollard: the unix socket, or
//! `DOCKER_HOST` (`unix://…`, `tcp://…`).
//!
//! An image is read through the engine's export (`GET /images/{name}/get`, what `docker save`
//! writes), and never written to disk. The export's own index (`manifest.json`, `index.json`)
//! comes last in the stream, after the layers, so one pass reads the whole stream: every member
//! is kept in memory while the members kept so far stay within [`memory_budget`]; a member past
//! it is skipped, its name and size noted. The image is then parsed from the members by the
//! archive reader every `docker save` file goes through ([`docker_archive::open_archive`]), so
//! the engine's image reads exactly as its saved archive does. A skipped member is read again
//! from a later export (`Refetch`), one stream shared by every reader waiting: it hands each
//! member to the reader waiting for it and starts afresh only for a member it already passed.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::Docker;
use bytes::Bytes;
use futures_util::StreamExt;

use crate::error::{Error, Result};
use crate::layer::walk::describe_tar_error;
use crate::source::files::{resolve_member, tar_member, Files, Member};
use crate::source::platform::Platform;
use crate::source::reference::ArchiveKind;
use crate::source::{open_archive_in, OpenedImage};

/// Where the engine is when `DOCKER_HOST` is not set.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// How long a question to the engine (its version, an image inspect) may take: an engine that
/// does not answer must not hold up a bare name's way on to Docker Hub.
const QUESTION_TIMEOUT: Duration = Duration::from_secs(30);

/// How long an export or a load may take before its answer starts (an export of a large image is
/// prepared whole by the engine before its first byte; a load answers once all is read).
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(3600);

/// Bytes of an export kept in memory by default (`STRATA_ENGINE_MEMORY`, in MiB, changes it).
const DEFAULT_MEMORY_BUDGET: u64 = 512 << 20;

/// Members smaller than this are kept whatever the budget: manifests, configs, tiny layers.
const ALWAYS_KEPT: u64 = 1 << 20;

/// Chunks of a member in flight to one reader: its bound on memory while it streams.
const CHUNKS_IN_FLIGHT: usize = 8;
/// Bytes of one chunk handed to a reader.
const CHUNK: usize = 256 << 10;

/// Bytes of an export strata keeps in memory (`STRATA_ENGINE_MEMORY=MiB`, default 512 MiB):
/// members past it are read again from the engine when asked for.
pub fn memory_budget() -> u64 {
    std::env::var("STRATA_ENGINE_MEMORY")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(DEFAULT_MEMORY_BUDGET, |mib| mib << 20)
}

/// A connection to the Docker Engine, with the runtime its async client runs on.
pub struct Engine {
    /// For questions ([`QUESTION_TIMEOUT`]).
    docker: Docker,
    /// For exports and loads ([`TRANSFER_TIMEOUT`]).
    transfers: Docker,
    runtime: tokio::runtime::Runtime,
    host: String,
}

impl Engine {
    /// Connects to the engine at `DOCKER_HOST` (default [`DEFAULT_HOST`]) and agrees on an API
    /// version with it; an engine that does not answer is a registry/network error naming where
    /// it was looked for.
    pub fn connect() -> Result<Engine> {
        let host = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| DEFAULT_HOST.to_string());
        let unreachable = |e: &dyn std::fmt::Display| {
            Error::Registry(format!(
                "cannot reach the Docker Engine at {host} ({}): {e}",
                host_origin()
            ))
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| Error::io("the Docker Engine client's runtime", e))?;
        let docker = Docker::connect_with_host(&host)
            .map_err(|e| unreachable(&e))?
            .with_timeout(QUESTION_TIMEOUT);
        let docker = runtime
            .block_on(docker.negotiate_version())
            .map_err(|e| unreachable(&e))?;
        let transfers = docker.clone().with_timeout(TRANSFER_TIMEOUT);
        Ok(Engine {
            docker,
            transfers,
            runtime,
            host,
        })
    }

    /// Where the engine is, for messages (`unix:///var/run/docker.sock`).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Whether the engine holds the image `name` (an image inspect).
    pub fn has_image(&self, name: &str) -> Result<bool> {
        match self.runtime.block_on(self.docker.inspect_image(name)) {
            Ok(_) => Ok(true),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(false),
            Err(e) => Err(Error::Registry(format!(
                "the Docker Engine at {}: inspecting {name}: {e}",
                self.host
            ))),
        }
    }

    /// Removes the tag `name` (an image strata loaded for a moment: a builder); the engine
    /// deletes the image when no other tag or container holds it. Best effort: a tag that stays
    /// costs disk, not correctness.
    pub fn untag(&self, name: &str) {
        let options = bollard::query_parameters::RemoveImageOptionsBuilder::default()
            .noprune(false)
            .build();
        let _ = self
            .runtime
            .block_on(self.docker.remove_image(name, Some(options), None));
    }

    /// The export of `name` (a `docker save` tar), read as it arrives.
    fn export(&self, name: &str) -> ChannelReader {
        self.reader(self.transfers.export_image(name))
    }

    /// A body the engine streams (an export, a container's archive) read as it arrives, a
    /// bounded number of chunks ahead of the reader.
    pub(crate) fn reader<S>(&self, stream: S) -> ChannelReader
    where
        S: futures_util::Stream<Item = std::result::Result<Bytes, bollard::errors::Error>>
            + Send
            + 'static,
    {
        let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(CHUNKS_IN_FLIGHT);
        let mut stream = Box::pin(stream);
        self.runtime.spawn(async move {
            while let Some(item) = stream.next().await {
                let item = item.map_err(io::Error::other);
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    break;
                }
            }
        });
        ChannelReader {
            rx: Incoming::Async(rx),
            current: Bytes::new(),
        }
    }

    /// Spawns `task` on the client's runtime (the sink's upload).
    pub(crate) fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.runtime.spawn(task)
    }

    /// Waits for `future` on the client's runtime.
    pub(crate) fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The client for the sink's load.
    pub(crate) fn transfers(&self) -> &Docker {
        &self.transfers
    }
}

/// Where the engine's address came from, for messages.
fn host_origin() -> &'static str {
    if std::env::var_os("DOCKER_HOST").is_some_and(|h| !h.is_empty()) {
        "DOCKER_HOST"
    } else {
        "the default socket; set DOCKER_HOST for another"
    }
}

/// The image `docker-daemon:NAME` names: a registry/network error (exit 3) when the engine does
/// not answer, not found (exit 2) when it has no such image.
pub fn open_daemon(name: &str, platform: &Platform, reference: String) -> Result<OpenedImage> {
    let engine = Engine::connect()?;
    if !engine.has_image(name)? {
        return Err(Error::not_found(format!(
            "{name}: no such image in the Docker Engine at {}",
            engine.host()
        )));
    }
    open_engine_image(engine, name, platform, reference)
}

/// The image `name`, which `engine` holds, read from one export (see the module doc).
pub fn open_engine_image(
    engine: Engine,
    name: &str,
    platform: &Platform,
    reference: String,
) -> Result<OpenedImage> {
    let engine = Arc::new(engine);
    let files = ExportFiles::read(engine, name, memory_budget())?;
    let files: Arc<dyn Files> = Arc::new(files);
    open_archive_in(files, None, ArchiveKind::Detected, platform, reference)
}

/// A member of the export: its size, and its bytes when they were kept.
struct Stored {
    size: u64,
    bytes: Option<Bytes>,
}

/// The members of one export of an image, as [`Files`]: kept ones from memory, the others from
/// a later export.
struct ExportFiles {
    members: HashMap<String, Member<Stored>>,
    refetch: Arc<Refetch>,
}

impl ExportFiles {
    /// Reads the whole export of `name` once, keeping members while within `budget` bytes
    /// (metadata always: it is small, and the image cannot be parsed without it).
    fn read(engine: Arc<Engine>, name: &str, budget: u64) -> Result<ExportFiles> {
        let describe = format!("docker-daemon:{name}");
        let unreadable = |e: io::Error| {
            Error::invalid(format!(
                "{describe}: the engine's export is not a readable tar archive: {}",
                describe_tar_error(&e)
            ))
        };
        let mut archive = tar::Archive::new(engine.export(name));
        let mut members = HashMap::new();
        let mut kept = 0u64;
        for entry in archive.entries().map_err(unreadable)? {
            let mut entry = entry.map_err(unreadable)?;
            let Some((path, link)) = tar_member(&entry) else {
                continue;
            };
            let member = match link {
                Some(target) => Member::Link { target },
                None => {
                    let size = entry.size();
                    let keep = size < ALWAYS_KEPT || kept.saturating_add(size) <= budget;
                    let bytes = if keep {
                        kept += size;
                        let mut buf = Vec::with_capacity(size as usize);
                        entry.read_to_end(&mut buf).map_err(unreadable)?;
                        Some(Bytes::from(buf))
                    } else {
                        None
                    };
                    Member::Data(Stored { size, bytes })
                }
            };
            members.insert(path, member);
        }
        Ok(ExportFiles {
            members,
            refetch: Arc::new(Refetch {
                engine,
                name: name.to_string(),
                describe,
                pass: Mutex::new(None),
            }),
        })
    }
}

impl Files for ExportFiles {
    fn open(&self, path: &str) -> Result<Option<(Box<dyn Read + Send>, u64)>> {
        let Some((name, stored)) = resolve_member(&self.members, path) else {
            return Ok(None);
        };
        let reader: Box<dyn Read + Send> = match &stored.bytes {
            Some(bytes) => Box::new(io::Cursor::new(bytes.clone())),
            None => Box::new(Refetched {
                refetch: self.refetch.clone(),
                member: name,
                reader: None,
            }),
        };
        Ok(Some((reader, stored.size)))
    }

    fn describe(&self) -> String {
        self.refetch.describe.clone()
    }
}

/// A member read again from the engine, the export joined or started at the first read (the
/// archive reader opens every layer once for its size alone, which must cost no export).
struct Refetched {
    refetch: Arc<Refetch>,
    member: String,
    reader: Option<ChannelReader>,
}

impl Read for Refetched {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let refetch = &self.refetch;
        let member = &self.member;
        self.reader
            .get_or_insert_with(|| refetch.open(member))
            .read(buf)
    }
}

/// Members read again from the engine: one export at a time, shared by every reader that waits
/// for a member it has not passed yet.
struct Refetch {
    engine: Arc<Engine>,
    name: String,
    describe: String,
    pass: Mutex<Option<Arc<Pass>>>,
}

/// One export streaming to the readers waiting for its members.
#[derive(Default)]
struct Pass {
    state: Mutex<PassState>,
}

#[derive(Default)]
struct PassState {
    /// The readers waiting, by member name.
    waiting: HashMap<String, Vec<SyncSender<io::Result<Bytes>>>>,
    /// The members this export has reached (a reader for one of them needs another export).
    passed: HashSet<String>,
    /// The export ended or stopped: nobody may join it any more.
    done: bool,
}

impl Refetch {
    /// A reader of the member `member`: joins the export under way when it has not reached the
    /// member yet, else starts a new one.
    fn open(&self, member: &str) -> ChannelReader {
        let (tx, rx) = sync_channel(CHUNKS_IN_FLIGHT);
        let mut current = self.pass.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(pass) = current.as_ref() {
            let mut state = pass.state.lock().unwrap_or_else(|p| p.into_inner());
            if !state.done && !state.passed.contains(member) {
                state
                    .waiting
                    .entry(member.to_string())
                    .or_default()
                    .push(tx);
                return ChannelReader::sync(rx);
            }
        }
        let pass = Arc::new(Pass::default());
        pass.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .waiting
            .insert(member.to_string(), vec![tx]);
        *current = Some(pass.clone());
        let reader = self.engine.export(&self.name);
        let describe = self.describe.clone();
        std::thread::spawn(move || pass.run(reader, &describe));
        ChannelReader::sync(rx)
    }
}

impl Pass {
    /// Streams the export `reader` to the waiting readers, member by member, until nobody waits;
    /// a reader still waiting at the end hears why its member did not come.
    fn run(&self, reader: ChannelReader, describe: &str) {
        let failure = self.deliver(reader).err();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.done = true;
        for (name, senders) in state.waiting.drain() {
            let why = match &failure {
                Some(e) => format!("{describe}: reading {name} again from the engine: {e}"),
                None => format!("{describe}: {name} is no longer in the engine's export"),
            };
            for tx in senders {
                let _ = tx.send(Err(io::Error::other(why.clone())));
            }
        }
    }

    fn deliver(&self, reader: ChannelReader) -> io::Result<()> {
        let mut archive = tar::Archive::new(reader);
        for entry in archive.entries()? {
            let mut entry = entry?;
            let Some((name, None)) = tar_member(&entry) else {
                continue;
            };
            let senders = {
                let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
                state.passed.insert(name.clone());
                let senders = state.waiting.remove(&name);
                if senders.is_none() && state.waiting.is_empty() {
                    state.done = true;
                    return Ok(());
                }
                senders
            };
            let Some(mut senders) = senders else {
                continue;
            };
            let mut buf = vec![0u8; CHUNK];
            loop {
                let n = entry.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                let chunk = Bytes::copy_from_slice(&buf[..n]);
                senders.retain(|tx| tx.send(Ok(chunk.clone())).is_ok());
                if senders.is_empty() {
                    break;
                }
            }
        }
        Ok(())
    }
}

/// Where a [`ChannelReader`]'s chunks come from.
enum Incoming {
    /// The async client's task (an export's body).
    Async(tokio::sync::mpsc::Receiver<io::Result<Bytes>>),
    /// A [`Pass`] thread (one member of a shared export).
    Sync(Receiver<io::Result<Bytes>>),
}

/// Chunks from a channel read as a byte stream; the sender's end is the stream's end.
pub(crate) struct ChannelReader {
    rx: Incoming,
    current: Bytes,
}

impl ChannelReader {
    fn sync(rx: Receiver<io::Result<Bytes>>) -> ChannelReader {
        ChannelReader {
            rx: Incoming::Sync(rx),
            current: Bytes::new(),
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            let next = match &mut self.rx {
                Incoming::Async(rx) => rx.blocking_recv(),
                Incoming::Sync(rx) => rx.recv().ok(),
            };
            match next {
                None => return Ok(0),
                Some(chunk) => self.current = chunk?,
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_read_as_one_stream() {
        let (tx, rx) = sync_channel(4);
        tx.send(Ok(Bytes::from_static(b"hel"))).unwrap();
        tx.send(Ok(Bytes::new())).unwrap();
        tx.send(Ok(Bytes::from_static(b"lo"))).unwrap();
        drop(tx);
        let mut out = String::new();
        ChannelReader::sync(rx).read_to_string(&mut out).unwrap();
        assert_eq!(out, "hello");
    }

    #[test]
    fn a_failed_chunk_fails_the_read() {
        let (tx, rx) = sync_channel(4);
        tx.send(Err(io::Error::other("engine went away"))).unwrap();
        let mut out = Vec::new();
        let e = ChannelReader::sync(rx).read_to_end(&mut out).unwrap_err();
        assert!(e.to_string().contains("engine went away"));
    }
}
