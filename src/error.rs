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
    /// The result could not be written: stdout closed, a full disk (1, like a failed check:
    /// the command did not deliver what it was asked for).
    OutputFailed,
    /// A tool strata ran failed with this code, passed through (`strata cook`: cargo's).
    Tool(i32),
}

impl ExitCode {
    /// The number the process exits with.
    pub fn code(self) -> i32 {
        match self {
            ExitCode::Ok => 0,
            ExitCode::CheckFailed | ExitCode::OutputFailed => 1,
            ExitCode::BadInput => 2,
            ExitCode::Registry => 3,
            ExitCode::Tool(code) => code,
        }
    }
}

/// What went wrong, grouped by what the user can do about it. Callers that recover from a failure
/// match on [`Error::kind`], never on the message; [`Error::exit_code`] is the one map to the
/// documented exit codes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line or a config value is wrong.
    #[error("{0}")]
    Usage(String),
    /// The input is not a usable image (malformed, missing blob, corrupt layer, ambiguous choice).
    #[error("{0}")]
    Invalid(String),
    /// What was named is not there: a path, a tag of a layout or archive, or (`in_registry`) a
    /// registry's repository, tag or blob.
    #[error("{}{what}", origin(*.in_registry))]
    NotFound {
        /// What is missing, in one line.
        what: String,
        /// Whether a registry said so (exit 3) rather than the local filesystem (exit 2).
        in_registry: bool,
    },
    /// Bytes that do not parse as what they claim to be, at a known offset.
    #[error("{what} at offset {offset}: {detail}")]
    Corrupt {
        /// What was being read, e.g. `corrupt tar` (context goes in front).
        what: String,
        /// Where in the stream the damage was found.
        offset: u64,
        /// What is wrong there (never the bytes themselves).
        detail: String,
    },
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
        /// The file being read (and any context in front of it).
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Writing the command's result failed (stdout closed, a full disk): exit 1.
    #[error("{what}: {source}")]
    Output {
        /// Where the result was going (`stdout`).
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The registry refused the credentials, or has none for this request (401, 403).
    #[error("registry: {0}")]
    Auth(String),
    /// The registry failed or could not be reached (5xx after retries, timeouts, refused
    /// connections, a protocol error).
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
    /// Another error, with a line that tells the user what to do about it.
    #[error("{error}")]
    Hinted {
        /// The error itself (its kind and exit code are this error's).
        error: Box<Error>,
        /// What to do, in one line (printed as `hint: …`).
        hint: String,
    },
}

/// The kinds of [`Error`], for callers that recover from some of them (`strata base --exists`
/// treats [`Kind::NotFound`] as "not built yet").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// [`Error::Usage`].
    Usage,
    /// [`Error::Invalid`].
    Invalid,
    /// [`Error::NotFound`], locally or in a registry.
    NotFound,
    /// [`Error::Corrupt`].
    Corrupt,
    /// [`Error::DigestMismatch`].
    DigestMismatch,
    /// [`Error::Io`].
    Io,
    /// [`Error::Output`].
    Output,
    /// [`Error::Auth`].
    Auth,
    /// [`Error::Registry`].
    Registry,
    /// [`Error::Tool`].
    Tool,
}

/// What the `Display` of a [`Error::NotFound`] starts with: registry failures say so.
fn origin(in_registry: bool) -> &'static str {
    if in_registry {
        "registry: "
    } else {
        ""
    }
}

/// The hint every authentication failure gets.
const AUTH_HINT: &str =
    "log in with `docker login REGISTRY`, or pass --username NAME --password-stdin";

impl Error {
    /// The exit code this error maps to (README, "Exit codes").
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Hinted { error, .. } => error.exit_code(),
            Error::NotFound {
                in_registry: true, ..
            }
            | Error::Auth(_)
            | Error::Registry(_) => ExitCode::Registry,
            Error::Tool { code, .. } => ExitCode::Tool(*code),
            Error::Output { .. } => ExitCode::OutputFailed,
            Error::Usage(_)
            | Error::Invalid(_)
            | Error::NotFound { .. }
            | Error::Corrupt { .. }
            | Error::DigestMismatch { .. }
            | Error::Io { .. } => ExitCode::BadInput,
        }
    }

    /// What kind of failure this is, whatever its hint.
    pub fn kind(&self) -> Kind {
        match self {
            Error::Usage(_) => Kind::Usage,
            Error::Invalid(_) => Kind::Invalid,
            Error::NotFound { .. } => Kind::NotFound,
            Error::Corrupt { .. } => Kind::Corrupt,
            Error::DigestMismatch { .. } => Kind::DigestMismatch,
            Error::Io { .. } => Kind::Io,
            Error::Auth(_) => Kind::Auth,
            Error::Registry(_) => Kind::Registry,
            Error::Tool { .. } => Kind::Tool,
            Error::Output { .. } => Kind::Output,
            Error::Hinted { error, .. } => error.kind(),
        }
    }

    /// The line that tells the user what to do, when there is one.
    pub fn hint(&self) -> Option<&str> {
        match self {
            Error::Hinted { hint, .. } => Some(hint),
            Error::Auth(_) => Some(AUTH_HINT),
            _ => None,
        }
    }

    /// The same error with `hint` as what to do about it.
    pub fn with_hint(self, hint: impl fmt::Display) -> Self {
        let error = match self {
            Error::Hinted { error, .. } => error,
            other => Box::new(other),
        };
        Error::Hinted {
            error,
            hint: hint.to_string(),
        }
    }

    /// The message and the hint as printed to a terminal: control characters (which input bytes
    /// echoed by a parser may hold) escaped, so an error can never drive the terminal, and the
    /// password of a `user:password@host` reference replaced by `***` ([`redact_credentials`]).
    pub fn printable(&self) -> (String, Option<String>) {
        let shown = |s: &str| escape_controls(&redact_credentials(s));
        (shown(&self.to_string()), self.hint().map(shown))
    }

    /// Shorthand for [`Error::Invalid`] from anything printable.
    pub fn invalid(msg: impl fmt::Display) -> Self {
        Error::Invalid(msg.to_string())
    }

    /// Shorthand for [`Error::Usage`] from anything printable.
    pub fn usage(msg: impl fmt::Display) -> Self {
        Error::Usage(msg.to_string())
    }

    /// A local [`Error::NotFound`]: a missing path, or a tag a layout or archive does not have.
    pub fn not_found(what: impl fmt::Display) -> Self {
        Error::NotFound {
            what: what.to_string(),
            in_registry: false,
        }
    }

    /// An [`Error::Corrupt`]: `what` (e.g. `corrupt tar`) is damaged at `offset`.
    pub fn corrupt(what: impl fmt::Display, offset: u64, detail: impl fmt::Display) -> Self {
        Error::Corrupt {
            what: what.to_string(),
            offset,
            detail: detail.to_string(),
        }
    }

    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl fmt::Display, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_string(),
            source,
        }
    }

    /// Adds context in front of the message, keeping the kind (and so the exit code), the source
    /// and the hint.
    pub fn context(self, ctx: impl fmt::Display) -> Self {
        let prefix = |m: String| format!("{ctx}: {m}");
        match self {
            Error::Usage(m) => Error::Usage(prefix(m)),
            Error::Invalid(m) => Error::Invalid(prefix(m)),
            Error::Auth(m) => Error::Auth(prefix(m)),
            Error::Registry(m) => Error::Registry(prefix(m)),
            Error::NotFound { what, in_registry } => Error::NotFound {
                what: prefix(what),
                in_registry,
            },
            Error::Corrupt {
                what,
                offset,
                detail,
            } => Error::Corrupt {
                what: prefix(what),
                offset,
                detail,
            },
            Error::DigestMismatch {
                what,
                expected,
                actual,
            } => Error::DigestMismatch {
                what: prefix(what),
                expected,
                actual,
            },
            Error::Io { path, source } => Error::Io {
                path: prefix(path),
                source,
            },
            Error::Output { what, source } => Error::Output {
                what: prefix(what),
                source,
            },
            Error::Tool { what, code } => Error::Tool {
                what: prefix(what),
                code,
            },
            Error::Hinted { error, hint } => Error::Hinted {
                error: Box::new(error.context(ctx)),
                hint,
            },
        }
    }
}

/// `text` with the password of every `user:password@host` in it (a reference written with
/// credentials, `docker://user:secret@registry/app`) replaced by `***`: `user:***@host`. A
/// word's `user:password@` is what precedes its first `@` when no `/` comes before it and the
/// `@` is not a digest's (`app:v1@sha256:…` keeps its tag); everything else is kept.
pub fn redact_credentials(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('@') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '(' | ')' | ',' | ';') {
            out.push_str(&redact_word(&word));
            word.clear();
            out.push(c);
        } else {
            word.push(c);
        }
    }
    out.pop();
    std::borrow::Cow::Owned(out)
}

/// One word of [`redact_credentials`]: its password, if it has one, as `***`.
fn redact_word(word: &str) -> String {
    let start = word.find("://").map_or(0, |i| i + 3);
    let rest = &word[start..];
    let Some(at) = rest.find('@') else {
        return word.to_string();
    };
    let userinfo = &rest[..at];
    let after = &rest[at + 1..];
    let digest = after.split_once(':').is_some_and(|(algorithm, hex)| {
        !algorithm.is_empty()
            && algorithm.chars().all(|c| c.is_ascii_alphanumeric())
            && hex.chars().take_while(char::is_ascii_hexdigit).count() >= 32
    });
    match userinfo.find(':') {
        Some(colon) if !userinfo.contains('/') && !digest => {
            format!("{}:***@{after}", &word[..start + colon])
        }
        _ => word.to_string(),
    }
}

/// `s` with every control character (ESC, CR, newlines, C1 codes, …) written as an escape
/// (`\u{1b}`), so text that came from input cannot move the cursor or change colours.
fn escape_controls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The crate-wide result type.
pub type Result<T> = std::result::Result<T, Error>;

/// `text` without control characters: what a tool run by strata (uv, a builder container, the
/// base's interpreter) printed, made safe to quote in an error or a note on a terminal.
pub fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_a_reference_is_redacted_and_nothing_else() {
        for (text, shown) in [
            (
                "invalid image reference \"docker://user:secret@127.0.0.1:5000/app\": bad",
                "invalid image reference \"docker://user:***@127.0.0.1:5000/app\": bad",
            ),
            ("user:pw@host/app:1 failed", "user:***@host/app:1 failed"),
            ("a:b:c@host", "a:***@host"),
            ("user:***@host/app", "user:***@host/app"),
        ] {
            assert_eq!(redact_credentials(text), shown);
        }
        let digest = format!("app:v1@sha256:{}", "ab".repeat(32));
        for kept in [
            digest.as_str(),
            "host:5000/app:v1@x",
            "mail me@example.com",
            "no at sign",
        ] {
            assert_eq!(redact_credentials(kept), kept);
        }
    }

    #[test]
    fn an_output_error_exits_1() {
        let e = Error::Output {
            what: "stdout".into(),
            source: std::io::Error::other("closed"),
        };
        assert_eq!(e.exit_code().code(), 1);
        assert_eq!(e.kind(), Kind::Output);
    }

    #[test]
    fn context_keeps_the_kind_the_source_and_the_hint() {
        let io = Error::io("index.json", std::io::Error::other("disk on fire")).context("layout");
        assert_eq!(io.kind(), Kind::Io);
        assert_eq!(io.to_string(), "layout: index.json: disk on fire");
        let source = std::error::Error::source(&io).expect("the I/O error is kept");
        assert_eq!(source.to_string(), "disk on fire");

        let hinted = Error::NotFound {
            what: "app:v9: not found (404)".into(),
            in_registry: true,
        }
        .with_hint("list the tags")
        .context("base image");
        assert_eq!(hinted.kind(), Kind::NotFound);
        assert_eq!(hinted.exit_code(), ExitCode::Registry);
        assert_eq!(
            hinted.to_string(),
            "registry: base image: app:v9: not found (404)"
        );
        assert_eq!(hinted.hint(), Some("list the tags"));

        let corrupt = Error::corrupt("corrupt tar", 1024, "bad checksum").context("layer 2");
        assert_eq!(
            corrupt.to_string(),
            "layer 2: corrupt tar at offset 1024: bad checksum"
        );
    }

    #[test]
    fn kinds_map_to_the_documented_exit_codes() {
        let cases = [
            (Error::usage("bad flag"), 2),
            (Error::invalid("not an image"), 2),
            (Error::not_found("/x: no such directory"), 2),
            (Error::corrupt("corrupt tar", 0, "junk"), 2),
            (Error::io("f", std::io::Error::other("x")), 2),
            (
                Error::NotFound {
                    what: "404".into(),
                    in_registry: true,
                },
                3,
            ),
            (Error::Auth("401".into()), 3),
            (Error::Registry("503".into()), 3),
            (
                Error::Tool {
                    what: "cargo".into(),
                    code: 101,
                },
                101,
            ),
            (Error::usage("x").with_hint("y"), 2),
        ];
        for (error, code) in cases {
            assert_eq!(error.exit_code().code(), code, "{error}");
        }
        assert!(Error::Auth("401".into())
            .hint()
            .unwrap()
            .contains("docker login"));
        assert_eq!(Error::invalid("x").hint(), None);
    }

    #[test]
    fn printed_errors_cannot_drive_the_terminal() {
        let e = Error::invalid("numeric field was not a number: \u{1b}[2J\u{7}\r\u{9b}31m")
            .with_hint("\u{1b}]0;title\u{7}");
        let (message, hint) = e.printable();
        let hint = hint.unwrap();
        for text in [&message, &hint] {
            assert!(!text.chars().any(char::is_control), "{text:?}");
        }
        assert!(message.contains("\\u{1b}[2J"), "{message}");
    }
}
