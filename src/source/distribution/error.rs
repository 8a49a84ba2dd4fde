//! What a failed distribution request says, before it is judged: the status and the error
//! envelope (`{"errors":[{"code","message"}]}`) the registry answered, or the transport's error.
//! [`crate::source::registry`] classifies a [`Failure`] once into an exit-code kind and decides
//! whether to retry; nothing here decides either.

use std::fmt;
use std::time::Duration;

/// The most of a registry's error message kept (it is the server's text, shown in one line).
const MAX_MESSAGE: usize = 200;

/// One failed request of the distribution API.
#[derive(Debug)]
pub enum Failure {
    /// The registry answered with a status the operation does not expect.
    Status {
        /// The HTTP status code.
        status: u16,
        /// The request's URL without its query (upload URLs carry opaque session state).
        url: String,
        /// The error envelope's entries, when the body was one.
        errors: Vec<ErrorInfo>,
    },
    /// The request did not complete: no connection, a TLS failure, a reset, a read timeout.
    Http(reqwest::Error),
    /// The request made no progress for this long (the idle limit of pushes).
    Stalled(Duration),
    /// A blob's body brought only this many bytes in a window of the minimum rate.
    TooSlow {
        /// Bytes the window brought.
        bytes: u64,
        /// The window.
        window: Duration,
    },
    /// The registry answered something the protocol does not allow (a `202` without `Location`).
    Protocol(String),
    /// No authorization could be had for the request (the token server refused or failed).
    Auth(crate::error::Error),
}

/// One entry of the distribution API's error envelope.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct ErrorInfo {
    /// The spec's error code, e.g. `MANIFEST_UNKNOWN`, `DENIED`, `TOOMANYREQUESTS`.
    pub code: String,
    /// The registry's explanation (cut to one short line).
    #[serde(default)]
    pub message: String,
}

#[derive(serde::Deserialize)]
struct Envelope {
    errors: Vec<ErrorInfo>,
}

/// `url` without its query.
pub(crate) fn without_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// The envelope in `body`, its messages cut to one short printable line; empty when `body` is
/// not one (the raw body is never shown).
pub fn parse_envelope(body: &[u8]) -> Vec<ErrorInfo> {
    let Ok(envelope) = serde_json::from_slice::<Envelope>(body) else {
        return Vec::new();
    };
    envelope
        .errors
        .into_iter()
        .map(|e| ErrorInfo {
            code: one_line(&e.code),
            message: one_line(&e.message),
        })
        .collect()
}

fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_MESSAGE)
        .collect()
}

impl Failure {
    /// The failure a response with an unexpected status stands for (its body read for the
    /// envelope).
    pub(crate) async fn from_response(response: reqwest::Response) -> Failure {
        let status = response.status().as_u16();
        let url = without_query(response.url().as_str()).to_string();
        let body = response.bytes().await.unwrap_or_default();
        Failure::Status {
            status,
            url,
            errors: parse_envelope(&body),
        }
    }

    /// Whether the registry's envelope carries one of `codes`.
    pub fn has_code(&self, codes: &[&str]) -> bool {
        matches!(self, Failure::Status { errors, .. } if errors.iter().any(|e| codes.contains(&e.code.as_str())))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Status {
                status,
                url,
                errors,
            } => {
                let reason = http::StatusCode::from_u16(*status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("");
                write!(f, "registry answered {status} {reason} at {url}")?;
                for e in errors {
                    write!(f, ": {}", e.code)?;
                    if !e.message.is_empty() {
                        write!(f, " ({})", e.message)?;
                    }
                }
                Ok(())
            }
            Failure::Http(e) => write!(f, "{e}"),
            Failure::Stalled(limit) => write!(f, "no progress for {} s", limit.as_secs()),
            Failure::TooSlow { bytes, window } => write!(
                f,
                "{bytes} bytes in {} s, under the minimum rate (STRATA_MIN_RATE)",
                window.as_secs()
            ),
            Failure::Protocol(what) => write!(f, "{what}"),
            Failure::Auth(e) => write!(f, "{e}"),
        }
    }
}

impl From<reqwest::Error> for Failure {
    fn from(e: reqwest::Error) -> Failure {
        Failure::Http(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_is_read_and_anything_else_is_not_shown() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest\nunknown","detail":{}}]}"#;
        assert_eq!(
            parse_envelope(body),
            vec![ErrorInfo {
                code: "MANIFEST_UNKNOWN".into(),
                message: "manifest unknown".into(),
            }]
        );
        assert!(parse_envelope(b"<html>secret page</html>").is_empty());
        let failure = Failure::Status {
            status: 404,
            url: "http://r/v2/a/manifests/v9".into(),
            errors: parse_envelope(body),
        };
        assert_eq!(
            failure.to_string(),
            "registry answered 404 Not Found at http://r/v2/a/manifests/v9: MANIFEST_UNKNOWN (manifest unknown)"
        );
        assert!(failure.has_code(&["NAME_UNKNOWN", "MANIFEST_UNKNOWN"]));
        assert_eq!(without_query("http://r/u?_state=x"), "http://r/u");
    }
}
