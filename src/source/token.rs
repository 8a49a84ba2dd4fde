//! Bearer tokens of the Docker token flow, one per scope set. A request of the distribution
//! client names the scopes it needs (`repository:R:pull`, `repository:R:pull,push`, or, for a
//! cross-repository mount, `repository:SRC:pull` and `repository:DEST:pull,push` in one token,
//! as Docker asks for it, or the registry answers 202 and the blob is uploaded again).
//! [`Tokens`] asks the realm of the registry's Bearer challenge for a token (with basic
//! credentials when there are any) and keeps it, per sorted scope set, until shortly before it
//! expires (`expires_in`, 60 s when the server gives none, as the token specification says).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::source::distribution::Credentials;

/// How long a token without `expires_in` lasts (the token specification's default).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);
/// How long before its expiry a token is no longer handed out, at most (a quarter of a short
/// lifetime, so a token of 2 s is still used for 1.5 s).
const MARGIN: Duration = Duration::from_secs(5);

/// When a token of `lifetime`, asked for at `asked`, stops being handed out.
fn refresh_at(asked: Instant, lifetime: Duration) -> Instant {
    asked + lifetime - MARGIN.min(lifetime / 4)
}

/// Tokens of one registry, one per scope set, fetched when first asked for.
pub(crate) struct Tokens {
    http: reqwest::Client,
    /// The sorted scope set -> the token and when it stops being used.
    cache: tokio::sync::Mutex<HashMap<String, (String, Instant)>>,
}

/// The parameters of a `WWW-Authenticate: Bearer realm="…",service="…"` challenge.
#[derive(Debug, PartialEq)]
pub(crate) struct Challenge {
    /// The token server's URL.
    pub(crate) realm: String,
    /// The `service` the token is for (its audience).
    pub(crate) service: Option<String>,
}

/// Parses a Bearer challenge; `None` for any other scheme (basic auth needs no token).
pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let (scheme, params) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut realm = None;
    let mut service = None;
    let mut rest = params.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key.trim().trim_start_matches(',').trim();
        let after = after.trim_start();
        let (value, next) = match after.strip_prefix('"') {
            Some(quoted) => quoted.split_once('"').unwrap_or((quoted, "")),
            None => after.split_once(',').unwrap_or((after, "")),
        };
        match key.to_ascii_lowercase().as_str() {
            "realm" => realm = Some(value.to_string()),
            "service" => service = Some(value.to_string()),
            _ => {}
        }
        rest = next.trim_start_matches(',').trim();
    }
    Some(Challenge {
        realm: realm?,
        service,
    })
}

/// The answer of a token server.
#[derive(serde::Deserialize)]
struct Granted {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

impl Tokens {
    /// Tokens asked over `http` (the registry connection's client, so the same CAs and client
    /// certificate).
    pub(crate) fn new(http: reqwest::Client) -> Tokens {
        Tokens {
            http,
            cache: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// A token for `scopes` from `challenge`'s realm, the one fetched before while it lasts.
    pub(crate) async fn token(
        &self,
        challenge: &Challenge,
        credentials: &Credentials,
        scopes: &[String],
    ) -> Result<String> {
        let mut sorted = scopes.to_vec();
        sorted.sort();
        let key = sorted.join(" ");
        let mut cache = self.cache.lock().await;
        if let Some((token, until)) = cache.get(&key) {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let asked = Instant::now();
        let (token, lifetime) = self.fetch(challenge, credentials, &sorted).await?;
        cache.insert(key, (token.clone(), refresh_at(asked, lifetime)));
        Ok(token)
    }

    async fn fetch(
        &self,
        challenge: &Challenge,
        credentials: &Credentials,
        scopes: &[String],
    ) -> Result<(String, Duration)> {
        let failed = |e: reqwest::Error| {
            Error::Registry(format!("token request failed: {}", e.without_url()))
        };
        let mut query: Vec<(&str, &str)> = scopes.iter().map(|s| ("scope", s.as_str())).collect();
        if let Some(service) = &challenge.service {
            query.push(("service", service));
        }
        let mut request = self.http.get(&challenge.realm).query(&query);
        if let Credentials::Basic { user, password } = credentials {
            request = request.basic_auth(user, Some(password));
        }
        let answer = request.send().await.map_err(failed)?;
        let status = answer.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(Error::Auth(format!(
                "authentication failed ({}) at the token server",
                status.as_u16()
            )));
        }
        if !status.is_success() {
            return Err(Error::Registry(format!("token server answered {status}")));
        }
        let body = answer.bytes().await.map_err(failed)?;
        let granted: Granted = serde_json::from_slice(&body)
            .map_err(|e| Error::Registry(format!("token server's answer is not a token: {e}")))?;
        let token = granted
            .token
            .or(granted.access_token)
            .ok_or_else(|| Error::Registry("token server's answer has no token".to_string()))?;
        let lifetime = granted
            .expires_in
            .map_or(DEFAULT_LIFETIME, Duration::from_secs);
        Ok((token, lifetime))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_give_realm_and_service() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a:pull""#
            ),
            Some(Challenge {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into()),
            })
        );
        assert_eq!(
            parse_challenge("bearer realm=http://127.0.0.1:1/token"),
            Some(Challenge {
                realm: "http://127.0.0.1:1/token".into(),
                service: None,
            })
        );
        assert_eq!(parse_challenge(r#"Basic realm="registry""#), None);
        assert_eq!(parse_challenge(r#"Bearer service="x""#), None);
    }

    #[test]
    fn tokens_are_refreshed_shortly_before_they_expire() {
        let now = Instant::now();
        let secs = |s: f64| Duration::from_secs_f64(s);
        assert_eq!(refresh_at(now, secs(60.0)), now + secs(55.0));
        assert_eq!(refresh_at(now, secs(300.0)), now + secs(295.0));
        // A short lifetime keeps three quarters of it, never nothing.
        assert_eq!(refresh_at(now, secs(2.0)), now + secs(1.5));
        assert_eq!(refresh_at(now, Duration::ZERO), now);
    }
}
