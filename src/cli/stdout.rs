//! Writing a command's result to stdout so that a lost result is never a silent success: a
//! closed stdout (`strata report IMG >&-`) or a failed write is an error (exit 1), while a
//! reader that went away (`| head`, EPIPE) ends the output quietly, the command's own exit code
//! kept.

use std::io::Write;

use strata::error::{Error, Result};

/// Writes a rendered document to stdout in one piece (see the module doc).
pub fn write_stdout(rendered: &str) -> Result<()> {
    let failed = |source| Error::Output {
        what: "stdout".into(),
        source,
    };
    if closed_at_start() {
        return Err(failed(std::io::Error::other(
            "closed, nothing was written (redirect it to a file or /dev/null)",
        )));
    }
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(rendered.as_bytes())
        .and_then(|_| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(failed(e)),
        _ => Ok(()),
    }
}

/// Whether the process started with stdout closed. The Rust runtime reopens a closed stdout as
/// `/dev/null` before `main`, read-write, and then every write "succeeds"; a shell's
/// `>/dev/null` opens it write-only, so a stdout that is `/dev/null` and readable was closed.
#[cfg(unix)]
fn closed_at_start() -> bool {
    use std::io::Read;
    use std::os::fd::AsFd;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};

    let Ok(fd) = std::io::stdout().as_fd().try_clone_to_owned() else {
        return true;
    };
    let mut out = std::fs::File::from(fd);
    let (Ok(meta), Ok(null)) = (out.metadata(), std::fs::metadata("/dev/null")) else {
        return false;
    };
    let is_null = meta.file_type().is_char_device() && meta.rdev() == null.rdev();
    is_null && matches!(out.read(&mut [0u8; 1]), Ok(0))
}

/// Elsewhere the runtime leaves a closed stdout closed, and writing to it fails by itself.
#[cfg(not(unix))]
fn closed_at_start() -> bool {
    false
}
