//! Temp paths: what strata writes before renaming it into place (layer blobs in the cache, blobs
//! and new layouts in a sink, archives, staged files, spools). Each is registered while it exists
//! and removed when dropped unfinished; [`remove_on_interrupt`] removes every registered one on
//! Ctrl-C (SIGINT) or SIGTERM before the process exits. A `kill -9` gives no such chance, so what a
//! killed writer left is found by its name and its lock:
//!
//! - **The name** is `.LABEL.PID-START-N.tmp`: LABEL says what it becomes (the blob's hex, `index.json`,
//!   the layout's directory name; `strata` for an anonymous one), PID is the writer's process id,
//!   START its start time (field 22 of `/proc/PID/stat`, clock ticks since boot; 0 when unknown) and
//!   N a counter of the process, so no two writers (threads or processes) share a name. A name is a
//!   temp name exactly when [`owner_of`] parses it; names of older strata versions
//!   (`.NAME.PID.tmp`, `.tmp-PID-N`, `.tmp-WORD-PID-…`) parse too, without START.
//! - **The lock**: the writer holds an `flock` on the file or directory (an open descriptor kept
//!   by its [`TempPath`]) until it is renamed or removed; the kernel releases it when the process
//!   dies, however it dies.
//!
//! [`left_over`] calls a temp path abandoned when no process PID with start time START runs (so a
//! reused pid does not keep it alive) and its lock is free (so a writer in another pid namespace,
//! a container sharing the cache, is not mistaken for a dead one). A name without START (an older
//! version's) needs its pid gone or an hour of age instead. Without `/proc` nothing is abandoned.
//! [`sweep`] removes the abandoned ones of a directory: the layout sink and the layer cache call it
//! when they open a place to write, and `strata cache prune` for the cache and the system temp
//! directory. The one case this does not cover: a writer in another pid namespace seen in the
//! microseconds between creating its temp path and locking it.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime};

/// The temp paths of this process that exist now, by registration number.
static LIVE: Mutex<BTreeMap<u64, PathBuf>> = Mutex::new(BTreeMap::new());

fn live() -> MutexGuard<'static, BTreeMap<u64, PathBuf>> {
    LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn remove(path: &Path) {
    if path.is_dir() {
        let _ = std::fs::remove_dir_all(path);
    } else {
        let _ = std::fs::remove_file(path);
    }
}

/// A temp file or directory of this process: locked while it exists, removed when dropped
/// (unless [`TempPath::persist`] moved it into place) and on interrupt.
#[derive(Debug)]
pub struct TempPath {
    id: u64,
    path: PathBuf,
    /// The descriptor holding its `flock`: what tells another process its writer still runs.
    /// `None` when it could not be taken (a hard link to an inode another process locks).
    lock: Option<File>,
}

impl TempPath {
    /// Makes the temp `path` with `make` (create the file, the directory, the link), locks it
    /// and registers it in one step under the registry's lock, so an interrupt either removes it
    /// or comes before it exists.
    pub fn create<T>(
        path: PathBuf,
        make: impl FnOnce(&Path) -> io::Result<T>,
    ) -> io::Result<(TempPath, T)> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let mut live = live();
        let made = make(&path)?;
        let lock = File::open(&path).ok().filter(|f| f.try_lock().is_ok());
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        live.insert(id, path.clone());
        Ok((TempPath { id, path, lock }, made))
    }

    /// Creates the temp file `path`, open for writing.
    pub fn file(path: PathBuf) -> io::Result<(TempPath, File)> {
        TempPath::create(path, |p| {
            File::options().write(true).create_new(true).open(p)
        })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames it to `to`, its final place; on failure it stays a temp path (given back in the
    /// error, removed when that is dropped).
    pub fn persist(mut self, to: &Path) -> Result<(), Unpersisted> {
        let mut live = live();
        if let Err(error) = std::fs::rename(&self.path, to) {
            drop(live);
            return Err(Unpersisted { error, temp: self });
        }
        live.remove(&self.id);
        drop(live);
        drop(self.lock.take());
        std::mem::forget(self);
        Ok(())
    }
}

/// A [`TempPath::persist`] that failed: why, and the temp path, still there.
#[derive(Debug)]
pub struct Unpersisted {
    /// The rename's error.
    pub error: io::Error,
    /// The temp path, removed when dropped.
    pub temp: TempPath,
}

impl From<Unpersisted> for io::Error {
    fn from(failed: Unpersisted) -> io::Error {
        failed.error
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let mut live = live();
        live.remove(&self.id);
        remove(&self.path);
    }
}

/// The start time of process `pid` (field 22 of `/proc/PID/stat`), `None` when it does not run
/// (or `/proc` cannot say).
fn start_time(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after its end.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// This process's part of a temp name, `PID-START-N`, N counting the names it gave.
fn own_mark() -> String {
    static START: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let start = START.get_or_init(|| start_time("self").unwrap_or(0));
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{}-{start}-{n}", std::process::id())
}

/// A temp name for `path`, beside it: `.NAME.PID-START-N.tmp`.
pub fn beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or("blob".into(), |n| n.to_string_lossy());
    path.with_file_name(format!(".{name}.{}.tmp", own_mark()))
}

/// A temp name in `dir` no other writer (thread or process) uses: `.strata.PID-START-N.tmp`.
pub fn unique_in(dir: &Path) -> PathBuf {
    dir.join(format!(".strata.{}.tmp", own_mark()))
}

/// `s` when it is a decimal number.
fn number(s: &str) -> Option<&str> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then_some(s)
}

/// Who wrote a temp path: the process id, and its start time when the name carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// The writer's process id.
    pub pid: u32,
    /// Its start time (clock ticks since boot), `None` in an older version's name.
    pub start: Option<u64>,
}

/// The label and owner of a temp name strata gives (see the module doc), or `None` when `name`
/// is not one.
pub fn owner_of(name: &str) -> Option<(&str, Owner)> {
    let current = || {
        let (label, mark) = name
            .strip_prefix('.')?
            .strip_suffix(".tmp")?
            .rsplit_once('.')?;
        let mut parts = mark.split('-');
        let pid = number(parts.next()?)?.parse().ok()?;
        let start = match (parts.next(), parts.next(), parts.next()) {
            (None, _, _) => None,
            (Some(start), Some(n), None) if number(n).is_some() => {
                Some(number(start)?.parse().ok()?)
            }
            _ => return None,
        };
        Some((label, Owner { pid, start }))
    };
    let older = || {
        let rest = name.strip_prefix(".tmp-")?;
        let pid = rest.split('-').find_map(number)?.parse().ok()?;
        Some(("", Owner { pid, start: None }))
    };
    current().or_else(older)
}

/// Whether the temp path `path` was left by a writer that is gone (see the module doc): its
/// process no longer runs (or another one has its pid) and its lock is free. Paths without a
/// temp name are never left over.
pub fn left_over(path: &Path) -> bool {
    let Some((_, owner)) = path.file_name().and_then(|n| n.to_str()).and_then(owner_of) else {
        return false;
    };
    if !Path::new("/proc/self/stat").exists() {
        return false;
    }
    let running = start_time(&owner.pid.to_string());
    let gone = match owner.start {
        Some(0) => running.is_none(),
        Some(start) => running != Some(start),
        None => running.is_none() || age_of(path) >= Duration::from_secs(3600),
    };
    // A lock still held means a live writer, whatever its pid says (another pid namespace).
    gone && File::open(path).is_ok_and(|f| f.try_lock().is_ok())
}

/// How long ago `path` was last modified (zero when that cannot be told).
fn age_of(path: &Path) -> Duration {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .unwrap_or_default()
}

/// Bytes of the file `path`, or of every file under the directory `path`.
fn size_of(path: &Path) -> u64 {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::read_dir(path)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| size_of(&e.path()))
            .sum(),
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}

/// What [`sweep`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Temp files and directories.
    pub paths: usize,
    /// Their bytes.
    pub bytes: u64,
}

impl std::ops::AddAssign for Swept {
    fn add_assign(&mut self, other: Swept) {
        self.paths += other.paths;
        self.bytes += other.bytes;
    }
}

/// Removes the temp paths in `dir` (not below) that writers which are gone left (see
/// [`left_over`]); with `label`, only those whose label is that (a layout's staged directories
/// beside it, among the user's files). A missing `dir` has none.
pub fn sweep(dir: &Path, label: Option<&str>) -> io::Result<Swept> {
    let listing = match std::fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Swept::default()),
        Err(e) => return Err(e),
    };
    let mut swept = Swept::default();
    for entry in listing {
        let entry = entry?;
        let name = entry.file_name();
        let Some((found, _)) = name.to_str().and_then(owner_of) else {
            continue;
        };
        let path = entry.path();
        if label.is_some_and(|l| l != found) || !left_over(&path) {
            continue;
        }
        let bytes = size_of(&path);
        let removed = match entry.file_type()?.is_dir() {
            true => std::fs::remove_dir_all(&path),
            false => std::fs::remove_file(&path),
        };
        match removed {
            Ok(()) => swept += Swept { paths: 1, bytes },
            // Another sweeper was first.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(swept)
}

/// Removes what killed writers of `path` left beside it (temp paths labelled with its name, as
/// [`beside`] gives them), before `path` is written again. Housekeeping only: errors are ignored.
pub fn sweep_beside(path: &Path) {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str()))
    else {
        return;
    };
    let parent = match parent.as_os_str().is_empty() {
        true => Path::new("."),
        false => parent,
    };
    let _ = sweep(parent, Some(name));
}

static INTERRUPT_HOOK: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

/// Has the Ctrl-C / SIGTERM handler of [`remove_on_interrupt`] call `hook` before it exits (once
/// per process; `strata explore` restores the terminal with it). A second hook is ignored.
pub fn on_interrupt(hook: fn()) {
    let _ = INTERRUPT_HOOK.set(hook);
}

/// Installs the handler of Ctrl-C (SIGINT) and SIGTERM: it removes every registered temp path,
/// says so on stderr and exits with 128 + the signal number (130, 143), as a shell reports a
/// process its signal ended. Without a handler (it could not be installed) the signal ends the
/// process as before.
pub fn remove_on_interrupt() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    let signals = {
        let _context = runtime.enter();
        signal(SignalKind::interrupt()).and_then(|i| Ok((i, signal(SignalKind::terminate())?)))
    };
    let Ok((mut interrupt, mut terminate)) = signals else {
        return;
    };
    let watcher = move || {
        let number = runtime.block_on(async {
            tokio::select! {
                _ = interrupt.recv() => 2,
                _ = terminate.recv() => 15,
            }
        });
        if let Some(hook) = INTERRUPT_HOOK.get() {
            hook();
        }
        // Held until the process exits: no temp path is made or moved after this.
        let live = live();
        for path in live.values() {
            remove(path);
        }
        eprintln!("strata: interrupted; temp files removed");
        std::process::exit(128 + number);
    };
    let _ = std::thread::Builder::new()
        .name("interrupt".into())
        .spawn(watcher);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_carry_their_writer_and_its_start() {
        let pid = std::process::id();
        let start = start_time("self");
        assert!(
            start.is_some_and(|s| s > 0),
            "/proc/self/stat gives a start time"
        );
        let dir = Path::new("/c/blobs");
        for (path, label) in [
            (unique_in(dir), "strata"),
            (beside(&dir.join("sha256/abc")), "abc"),
            (beside(&dir.join("index.json")), "index.json"),
        ] {
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            assert_eq!(
                owner_of(&name),
                Some((label, Owner { pid, start })),
                "{name}"
            );
        }
        let old = Owner {
            pid: 42,
            start: None,
        };
        for (name, label) in [
            (".tmp-42-0", ""),
            (".tmp-venv-42-0123abcd", ""),
            (".abc.42.tmp", "abc"),
        ] {
            assert_eq!(owner_of(name), Some((label, old)), "{name}");
        }
        for name in [
            "abc",
            ".tmp",
            "index.json",
            ".hidden",
            ".x.tmp",
            ".x.1-2.tmp",
            ".x.1-a-3.tmp",
        ] {
            assert_eq!(owner_of(name), None, "{name}");
        }
    }

    #[test]
    fn only_temps_of_gone_writers_are_left_over() {
        let dir = tempfile::tempdir().unwrap();
        let (mine, _) = TempPath::file(unique_in(dir.path())).unwrap();
        assert!(
            !left_over(mine.path()),
            "its writer runs and holds its lock"
        );
        // This pid with another start time: a reused pid, gone.
        let pid = std::process::id();
        let reused = dir.path().join(format!(".strata.{pid}-1-0.tmp"));
        std::fs::write(&reused, b"x").unwrap();
        assert!(left_over(&reused));
        // ... unless its lock is held (a writer in another pid namespace).
        let held = File::open(&reused).unwrap();
        held.lock().unwrap();
        assert!(!left_over(&reused));
        drop(held);
        let plain = dir.path().join("index.json");
        std::fs::write(&plain, b"{}").unwrap();
        assert!(!left_over(&plain), "not a temp name");
        let swept = sweep(dir.path(), None).unwrap();
        assert_eq!(swept, Swept { paths: 1, bytes: 1 });
        assert!(mine.path().exists() && plain.exists() && !reused.exists());
    }

    #[test]
    fn a_dropped_temp_is_removed_a_persisted_one_moved() {
        let dir = tempfile::tempdir().unwrap();
        let (dropped, _) =
            TempPath::create(unique_in(dir.path()), |p| std::fs::write(p, b"x")).unwrap();
        let path = dropped.path().to_path_buf();
        assert!(path.is_file());
        drop(dropped);
        assert!(!path.exists());
        let (kept, _) =
            TempPath::create(unique_in(dir.path()), |p| std::fs::create_dir(p)).unwrap();
        let to = dir.path().join("kept");
        kept.persist(&to).unwrap();
        assert!(to.is_dir());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
