//! Progress reporting, decoupled from how it is shown: long operations (layer scans, blob
//! uploads) report bytes; the command line draws bars on a terminal, tests and libraries ignore it.

/// Receives byte counts as work advances.
pub trait Progress: Send + Sync {
    /// The total is now known to be `total` bytes.
    fn start(&self, _total: u64) {}

    /// `n` more bytes were processed.
    fn advance(&self, n: u64);
}

/// No progress reporting.
impl Progress for () {
    fn advance(&self, _: u64) {}
}
