//! Temp paths: what strata writes before renaming it into place (layer blobs in the cache, blobs
//! and new layouts in a sink, archives, staged files). Each is named with its writer's process id,
//! registered while it exists and removed when dropped unfinished; [`remove_on_interrupt`] removes
//! every registered one on Ctrl-C (SIGINT) or SIGTERM before the process exits, so an interrupted
//! build leaves no debris, and [`left_over`] tells `strata cache prune` which names a killed
//! process left behind.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

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

/// A temp file or directory of this process: removed when dropped (unless [`TempPath::persist`]
/// moved it into place) and on interrupt.
#[derive(Debug)]
pub struct TempPath {
    id: u64,
    path: PathBuf,
}

impl TempPath {
    /// Makes the temp `path` with `make` (create the file, the directory, the link) and
    /// registers it in one step under the registry's lock, so an interrupt either removes it or
    /// comes before it exists.
    pub fn create<T>(
        path: PathBuf,
        make: impl FnOnce(&Path) -> io::Result<T>,
    ) -> io::Result<(TempPath, T)> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let mut live = live();
        let made = make(&path)?;
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        live.insert(id, path.clone());
        Ok((TempPath { id, path }, made))
    }

    /// Creates the temp file `path`, open for writing.
    pub fn file(path: PathBuf) -> io::Result<(TempPath, std::fs::File)> {
        TempPath::create(path, |p| std::fs::File::create(p))
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames it to `to`, its final place; on failure it stays a temp path (given back in the
    /// error, removed when that is dropped).
    pub fn persist(self, to: &Path) -> Result<(), Unpersisted> {
        let mut live = live();
        if let Err(error) = std::fs::rename(&self.path, to) {
            drop(live);
            return Err(Unpersisted { error, temp: self });
        }
        live.remove(&self.id);
        drop(live);
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

/// A temp name for `path`, beside it: `.NAME.PID.tmp`.
pub fn beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or("blob".into(), |n| n.to_string_lossy());
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// A temp name in `dir` no other writer (thread or process) uses: `.tmp-PID-N`.
pub fn unique_in(dir: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".tmp-{}-{n}", std::process::id()))
}

/// The process id in a temp name strata gives (`.tmp-[WORD-]PID-…`, `.NAME.PID.tmp`), or
/// `None` when `name` is not one.
pub fn writer_of(name: &str) -> Option<u32> {
    if let Some(rest) = name.strip_prefix(".tmp-") {
        return rest
            .split('-')
            .find(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))?
            .parse()
            .ok();
    }
    let inner = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    inner.rsplit_once('.')?.1.parse().ok()
}

/// Whether the temp name `name`, last written `age` ago, was left by a writer that is gone: its
/// process no longer runs (Linux's `/proc` tells), or it is an hour old (a process id may be
/// reused). Names that are not temp names are never left over.
pub fn left_over(name: &str, age: Duration) -> bool {
    let Some(pid) = writer_of(name) else {
        return false;
    };
    let proc_known = Path::new("/proc/self").exists();
    let gone = proc_known && !Path::new(&format!("/proc/{pid}")).exists();
    gone || age >= Duration::from_secs(3600)
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
    fn temp_names_carry_their_writer() {
        let pid = std::process::id();
        let dir = Path::new("/c/blobs");
        for name in [
            unique_in(dir),
            beside(&dir.join("sha256/abc")),
            dir.join(format!(".tmp-venv-{pid}-0123abcd")),
        ] {
            let name = name.file_name().unwrap().to_str().unwrap().to_string();
            assert_eq!(writer_of(&name), Some(pid), "{name}");
            assert!(!left_over(&name, Duration::ZERO), "{name}: its writer runs");
            assert!(left_over(&name, Duration::from_secs(7200)), "{name}: old");
        }
        for name in ["abc", ".tmp", "index.json", ".hidden", ".x.tmp"] {
            assert_eq!(writer_of(name), None, "{name}");
            assert!(!left_over(name, Duration::from_secs(1 << 30)));
        }
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
