//! A blob's bytes through a flaky network: a body cut off by a reset or closed before its
//! `Content-Length` is resumed with `Range: bytes=N-` from the byte already received (a registry
//! answering `200` instead of `206` sends it whole again, and the first N bytes are skipped), and
//! a body slower than a [`MinRate`] over a window counts as the same fault. The consumer sees each
//! byte once, in order, so the verifier above it hashes the whole blob; when the attempts run out
//! it reads the error, never an early end.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_RANGE, RANGE};
use reqwest::StatusCode;
use tokio::sync::mpsc::Sender;
use tokio::time::Instant;

use super::{Client, Failure};
use crate::error::{Error, Result};

/// The least a blob's body must progress (`STRATA_MIN_RATE=KIB[/SECONDS]`): `--timeout` bounds
/// idle time only, so a registry trickling a byte a second would otherwise never fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinRate {
    /// Bytes per second, averaged over a window.
    pub bytes_per_sec: u64,
    /// The window (the first starts with the request, so it includes the wait for the answer).
    pub window: Duration,
}

impl Default for MinRate {
    /// 10 KiB/s over 30 s windows: far below any real link, far above a trickle.
    fn default() -> Self {
        MinRate {
            bytes_per_sec: 10 << 10,
            window: Duration::from_secs(30),
        }
    }
}

impl MinRate {
    /// The rate `STRATA_MIN_RATE` sets (`KIB` or `KIB/SECONDS`), else the default.
    pub fn from_env() -> Result<MinRate> {
        match std::env::var("STRATA_MIN_RATE") {
            Ok(value) => MinRate::parse(&value),
            Err(_) => Ok(MinRate::default()),
        }
    }

    fn parse(value: &str) -> Result<MinRate> {
        let bad = || {
            Error::usage(format!(
                "STRATA_MIN_RATE={value:?}: expected KIB or KIB/SECONDS (e.g. 10/30)"
            ))
        };
        let (kib, window) = value.trim().split_once('/').unwrap_or((value.trim(), "30"));
        let kib: u64 = kib.trim().parse().map_err(|_| bad())?;
        let window: u64 = window.trim().parse().map_err(|_| bad())?;
        if window == 0 {
            return Err(bad());
        }
        Ok(MinRate {
            bytes_per_sec: kib << 10,
            window: Duration::from_secs(window),
        })
    }

    /// The bytes a window must bring.
    fn per_window(&self) -> u64 {
        self.bytes_per_sec * self.window.as_millis() as u64 / 1000
    }
}

/// How one blob is streamed: its digest, how many attempts its body gets, how fast it must be.
pub struct Plan {
    /// The blob's digest.
    pub digest: String,
    /// Attempts at the body in all (the first response's included).
    pub attempts: u32,
    /// The least progress allowed.
    pub min_rate: MinRate,
}

/// How a body's relay ended, when it did not fail.
enum Relayed {
    /// Every byte was handed over.
    Complete,
    /// The reader went away.
    Abandoned,
}

impl Client {
    /// GETs the blob `digest` from byte `offset` on: the response, and how many of its first
    /// bytes are before `offset` (all of them to skip when the registry ignored the range).
    pub async fn blob_from(
        &self,
        digest: &str,
        offset: u64,
    ) -> std::result::Result<(reqwest::Response, u64), Failure> {
        let request = self
            .http
            .get(self.url(&format!("blobs/{digest}")))
            .header(RANGE, format!("bytes={offset}-"));
        let response = self.send(request).await?;
        match response.status() {
            StatusCode::OK => Ok((response, offset)),
            StatusCode::PARTIAL_CONTENT => {
                let start = response
                    .headers()
                    .get(CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("bytes "))
                    .and_then(|v| v.split('-').next())
                    .and_then(|v| v.trim().parse::<u64>().ok());
                if start == Some(offset) {
                    Ok((response, 0))
                } else {
                    Err(Failure::Protocol(format!(
                        "asked for blob {digest} from byte {offset}, the registry sent another range"
                    )))
                }
            }
            _ => Err(Failure::from_response(response).await),
        }
    }

    /// Hands the body of `first` (the blob's first answer) to `tx` chunk by chunk, resuming as
    /// the module says; `judge` tells an error and whether trying again may help, and `what`
    /// names the blob in the error the reader gets when the attempts run out.
    pub async fn stream_blob(
        self: Arc<Client>,
        first: reqwest::Response,
        plan: Plan,
        judge: impl Fn(Failure) -> (Error, bool) + Send,
        what: String,
        tx: Sender<io::Result<Vec<u8>>>,
    ) {
        let mut received = 0;
        let mut next = Some((first, 0));
        let mut delay = Duration::from_millis(250);
        for attempt in 1..=plan.attempts {
            let relayed = match next.take() {
                Some((response, skip)) => Ok((response, skip)),
                None => self.blob_from(&plan.digest, received).await,
            };
            let relayed = match relayed {
                Ok((response, skip)) => {
                    relay(response, skip, &mut received, plan.min_rate, &tx).await
                }
                Err(failure) => Err(failure),
            };
            let failure = match relayed {
                Ok(Relayed::Complete | Relayed::Abandoned) => return,
                Err(failure) => failure,
            };
            let (error, transient) = judge(failure);
            if !transient || attempt == plan.attempts {
                let error = match attempt {
                    1 => error.context(what),
                    n => error.context(format!("{what} (after {n} attempts)")),
                };
                let _ = tx.send(Err(io::Error::other(error))).await;
                return;
            }
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
    }
}

/// Hands `response`'s body to `tx`, its first `skip` bytes left out, counting what was handed in
/// `received`; fails when a window of `rate` brings too little (time spent waiting for the reader
/// does not count).
async fn relay(
    mut response: reqwest::Response,
    mut skip: u64,
    received: &mut u64,
    rate: MinRate,
    tx: &Sender<io::Result<Vec<u8>>>,
) -> std::result::Result<Relayed, Failure> {
    // A body's error names no URL of its own.
    let url = response.url().clone();
    let mut window_end = Instant::now() + rate.window;
    let mut in_window = 0;
    loop {
        let chunk = match tokio::time::timeout_at(window_end, response.chunk()).await {
            Err(_) if in_window < rate.per_window() => {
                return Err(Failure::TooSlow {
                    bytes: in_window,
                    window: rate.window,
                })
            }
            Err(_) => {
                window_end += rate.window;
                in_window = 0;
                continue;
            }
            Ok(chunk) => chunk.map_err(|e| e.with_url(url.clone()))?,
        };
        let Some(mut chunk) = chunk else {
            return Ok(Relayed::Complete);
        };
        in_window += chunk.len() as u64;
        let skipped = skip.min(chunk.len() as u64);
        skip -= skipped;
        let chunk = chunk.split_off(skipped as usize);
        if chunk.is_empty() {
            continue;
        }
        *received += chunk.len() as u64;
        let waiting = Instant::now();
        if tx.send(Ok(chunk.to_vec())).await.is_err() {
            return Ok(Relayed::Abandoned);
        }
        window_end += waiting.elapsed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_minimum_rate_is_kib_over_seconds() {
        assert_eq!(MinRate::parse("10/30").unwrap(), MinRate::default());
        assert_eq!(MinRate::parse("10").unwrap(), MinRate::default());
        let low = MinRate::parse(" 1 / 2 ").unwrap();
        assert_eq!(low.per_window(), 2048);
        for bad in ["", "x", "1/0", "1/x", "-1"] {
            assert!(MinRate::parse(bad).is_err(), "{bad}");
        }
    }
}
