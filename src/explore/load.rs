//! The background side of the explorer: one thread runs `report`'s pipeline on the opened image
//! (and `diff`'s for `--compare`), filling the shared [`ChangeTree`] layer by layer, bottom first,
//! as scans finish, and telling the UI through a channel what is ready.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::analysis::diff::reported_scans;
use crate::analysis::scan::LayerScan;
use crate::error::Error;
use crate::explore::tree::{ChangeTree, LayerEntry};
use crate::layer::walk::EntryKind;
use crate::ops::diff::{diff_scanned, DiffRequest, Diffed};
use crate::ops::report::{report_opened, ReportRequest, Reported};
use crate::progress::Progress;
use crate::source::OpenedImage;

/// What the background thread tells the UI.
pub enum Loaded {
    /// Layer `n`'s files are in the tree (layers arrive bottom first).
    Layer(usize),
    /// The analysis is done.
    Report(Box<Reported>),
    /// The comparison with `--compare`'s image is done.
    Compare(Box<Diffed>),
    /// Reading failed; the explorer ends with this error.
    Failed(Error),
}

/// Bytes read so far of how many, for the progress line.
#[derive(Default)]
pub struct Counter {
    /// Bytes expected (compressed, from the manifest).
    pub total: AtomicU64,
    /// Bytes read.
    pub read: AtomicU64,
}

impl Progress for Counter {
    fn start(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
        self.read.store(0, Ordering::Relaxed);
    }

    fn advance(&self, n: u64) {
        self.read.fetch_add(n, Ordering::Relaxed);
    }
}

/// The tree as the loader fills it and the UI reads it.
pub type SharedTree = Arc<Mutex<ChangeTree>>;

/// Locks the tree (a panic elsewhere while it was held leaves it usable).
pub fn lock(tree: &SharedTree) -> MutexGuard<'_, ChangeTree> {
    tree.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts the background thread: `request` is `report`'s (its progress is `counter`), `compare`
/// `diff`'s when asked.
pub fn start(
    opened: Arc<OpenedImage>,
    request: ReportRequest,
    compare: Option<DiffRequest>,
    tree: SharedTree,
) -> Receiver<Loaded> {
    let (send, receive) = channel();
    std::thread::spawn(move || {
        let pending = Mutex::new(BTreeMap::new());
        let on_layer = |index: usize, scan: &LayerScan| {
            add_in_order(&tree, &pending, &send, index, scan);
        };
        let reported = report_opened(&request, &opened, &on_layer);
        let (message, scans) = match reported {
            Ok(mut reported) => {
                // The tree holds what the UI needs of the entries; the comparison the rest.
                let scans = std::mem::take(&mut reported.report.scans);
                (Loaded::Report(Box::new(reported)), scans)
            }
            Err(e) => (Loaded::Failed(e), Vec::new()),
        };
        let failed = matches!(message, Loaded::Failed(_));
        if send.send(message).is_err() || failed {
            return;
        }
        if let Some(compare) = compare {
            let _ = send.send(
                match diff_scanned(&compare, &opened, reported_scans(scans)) {
                    Ok(diffed) => Loaded::Compare(Box::new(diffed)),
                    Err(e) => Loaded::Failed(e.context("--compare")),
                },
            );
        }
    });
    receive
}

/// Entries added to the tree per hold of its lock: the UI takes it between parts of a large
/// layer (a 1 M-entry layer takes seconds to add).
const PART: usize = 16_384;

/// Adds layer `index` to the tree when every layer below it is there, else keeps a copy of its
/// entries until they are; then adds the layers kept that can follow.
fn add_in_order(
    tree: &SharedTree,
    pending: &Mutex<BTreeMap<usize, Vec<LayerEntry>>>,
    send: &Sender<Loaded>,
    index: usize,
    scan: &LayerScan,
) {
    // Held throughout: only this function changes which layers the tree has.
    let mut pending = pending.lock().unwrap_or_else(|p| p.into_inner());
    if index != lock(tree).applied() {
        pending.insert(index, scan.entries.iter().map(LayerEntry::from).collect());
        return;
    }
    add_in_parts(
        tree,
        scan.entries.iter().map(|e| (&*e.path, e.kind, e.size)),
    );
    let _ = send.send(Loaded::Layer(index));
    loop {
        let next = lock(tree).applied();
        let Some(entries) = pending.remove(&next) else {
            return;
        };
        add_in_parts(tree, entries.iter().map(|e| (&*e.path, e.kind, e.size)));
        let _ = send.send(Loaded::Layer(next));
    }
}

/// Adds the next layer's `entries` [`PART`] at a time, the lock let go between parts.
fn add_in_parts<'a>(tree: &SharedTree, entries: impl Iterator<Item = (&'a str, EntryKind, u64)>) {
    let mut entries = entries.peekable();
    loop {
        let mut held = lock(tree);
        held.apply_part(entries.by_ref().take(PART));
        if entries.peek().is_none() {
            held.close_layer();
            return;
        }
        drop(held);
        std::thread::yield_now();
    }
}
