//! Errors and the exit codes they map to.
//!
//! Every failure a user can cause or meet is one [`Error`] whose `Display` is a single line naming the
//! cause; [`Error::exit_code`] maps it to the documented exit codes (README, "Exit codes").

use std::fmt;

/// The documented process exit codes, so scripts and CI can tell failures apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Everything worked and every check passed (0).
    Ok,
    /// The command ran but a check failed (1, `strata check`).
    CheckFailed,
    /// Bad input: a usage error, an unreadable or invalid image, a digest mismatch (2).
    BadInput,
    /// The registry or the network failed: 401/404/5xx, timeouts, refused connections (3).
    Registry,
    /// A tool strata ran failed with this code, passed through (`strata cook`: cargo's).
    Tool(i32),
}

impl ExitCode {
    /// The number the process exits with.
    pub fn code(self) -> i32 {
        match self {
            ExitCode::Ok => 0,
            ExitCode::CheckFailed => 1,
            ExitCode::BadInput => 2,
            ExitCode::Registry => 3,
            ExitCode::Tool(code) => code,
        }
    }
}

/// What went wrong, grouped by what the user can do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line or a config value is wrong.
    #[error("{0}")]
    Usage(String),
    /// The input is not a usable image (malformed, missing blob, corrupt layer, ambiguous choice).
    #[error("{0}")]
    Invalid(String),
    /// A blob's bytes do not hash to the digest that names them.
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        /// Which blob or stream was being verified.
        what: String,
        /// The digest the manifest or config promised.
        expected: String,
        /// The digest of the bytes actually read.
        actual: String,
    },
    /// Reading a local file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file being read.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The registry refused, failed, or could not be reached.
    #[error("registry: {0}")]
    Registry(String),
    /// A tool strata ran (cargo) failed; its own diagnostics are already on stderr.
    #[error("{what}")]
    Tool {
        /// What failed, in one line.
        what: String,
        /// The tool's exit code, passed through.
        code: i32,
    },
}

impl Error {
    /// The exit code this error maps to.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Registry(_) => ExitCode::Registry,
            Error::Tool { code, .. } => ExitCode::Tool(*code),
            _ => ExitCode::BadInput,
        }
    }

    /// Shorthand for [`Error::Invalid`] from anything printable.
    pub fn invalid(msg: impl fmt::Display) -> Self {
        Error::Invalid(msg.to_string())
    }

    /// Shorthand for [`Error::Usage`] from anything printable.
    pub fn usage(msg: impl fmt::Display) -> Self {
        Error::Usage(msg.to_string())
    }

    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl fmt::Display, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_string(),
            source,
        }
    }

    /// Adds context in front of the message, keeping the kind (and so the exit code).
    pub fn context(self, ctx: impl fmt::Display) -> Self {
        match self {
            Error::Usage(m) => Error::Usage(format!("{ctx}: {m}")),
            Error::Invalid(m) => Error::Invalid(format!("{ctx}: {m}")),
            Error::Registry(m) => Error::Registry(format!("{ctx}: {m}")),
            Error::DigestMismatch {
                what,
                expected,
                actual,
            } => Error::DigestMismatch {
                what: format!("{ctx}: {what}"),
                expected,
                actual,
            },
            Error::Io { path, source } => Error::Invalid(format!("{ctx}: {path}: {source}")),
            Error::Tool { what, code } => Error::Tool {
                what: format!("{ctx}: {what}"),
                code,
            },
        }
    }
}

/// The crate-wide result type.
pub type Result<T> = std::result::Result<T, Error>;
