//! Bearer tokens for scope sets oci-client cannot ask for. oci-client asks one token per
//! repository and operation (`repository:R:pull` or `repository:R:pull,push`); a cross-repository
//! mount needs `repository:SRC:pull` and `repository:DEST:pull,push` in one token, as Docker asks
//! for it, or the registry answers 202 and the blob is uploaded again. [`Tokens`] runs the Docker
//! token flow for such a set (the `/v2/` challenge's realm and service, basic credentials when
//! there are any) and keeps each token until it expires; the caller hands it to oci-client's own
//! token cache.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use oci_client::secrets::RegistryAuth;

use crate::error::{Error, Result};

/// How long a token without `expires_in` lasts (the token specification's default).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);
/// How long before its expiry a token is no longer handed out.
const MARGIN: Duration = Duration::from_secs(5);

/// Tokens of one registry, one per scope set, fetched when first asked for.
pub(crate) struct Tokens {
    http: reqwest::Client,
    /// `SCHEME://HOST[:PORT]` of the registry.
    base: String,
    auth: RegistryAuth,
    /// The registry's challenge, asked once (`None`: it wants no token).
    challenge: tokio::sync::OnceCell<Option<Challenge>>,
    /// The sorted scope set → the token and when it stops being used.
    cache: tokio::sync::Mutex<HashMap<String, (String, Instant)>>,
}

/// The parameters of a `WWW-Authenticate: Bearer realm="…",service="…"` challenge.
#[derive(Debug, PartialEq)]
struct Challenge {
    realm: String,
    service: Option<String>,
}

/// Parses a Bearer challenge; `None` for any other scheme (basic auth needs no token).
fn parse_challenge(header: &str) -> Option<Challenge> {
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
    /// Tokens for the registry at `base` (`SCHEME://HOST[:PORT]`), trusting `cas` (PEM) beside
    /// the system store, or any certificate when `insecure`.
    pub(crate) fn new(
        base: String,
        cas: &[Vec<u8>],
        insecure: bool,
        auth: RegistryAuth,
        timeout: Duration,
    ) -> Result<Tokens> {
        let mut builder = reqwest::Client::builder()
            .danger_accept_invalid_certs(insecure)
            .connect_timeout(timeout)
            .read_timeout(timeout);
        for pem in cas {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                Error::usage(format!("{base}: cannot use its CA certificates: {e}"))
            })?;
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder
            .build()
            .map_err(|e| Error::Registry(format!("cannot make an HTTP client: {e}")))?;
        Ok(Tokens {
            http,
            base,
            auth,
            challenge: tokio::sync::OnceCell::new(),
            cache: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    /// A token for `scopes`, the one fetched before while it lasts; `None` when the registry
    /// asks for no token (anonymous or basic auth).
    pub(crate) async fn token(&self, scopes: &[String]) -> Result<Option<String>> {
        let mut sorted = scopes.to_vec();
        sorted.sort();
        let key = sorted.join(" ");
        let mut cache = self.cache.lock().await;
        if let Some((token, until)) = cache.get(&key) {
            if Instant::now() < *until {
                return Ok(Some(token.clone()));
            }
        }
        let Some((token, lifetime)) = self.fetch(&sorted).await? else {
            return Ok(None);
        };
        let until = Instant::now() + lifetime.saturating_sub(MARGIN);
        cache.insert(key, (token.clone(), until));
        Ok(Some(token))
    }

    /// The status of `GET {base}{path}` with a token for `scopes` (or the basic credentials):
    /// for answers oci-client does not tell apart, such as a referrers API that does not exist
    /// (404) from one that lists nothing (200).
    pub(crate) async fn probe(&self, path: &str, scopes: &[String]) -> Result<u16> {
        let mut request = self.http.get(format!("{}{path}", self.base));
        match (self.token(scopes).await?, &self.auth) {
            (Some(token), _) => request = request.bearer_auth(token),
            (None, RegistryAuth::Basic(user, password)) => {
                request = request.basic_auth(user, Some(password))
            }
            (None, _) => {}
        }
        let answer = request
            .send()
            .await
            .map_err(|e| Error::Registry(format!("{path}: request failed: {}", e.without_url())))?;
        Ok(answer.status().as_u16())
    }

    async fn fetch(&self, scopes: &[String]) -> Result<Option<(String, Duration)>> {
        let failed = |e: reqwest::Error| {
            Error::Registry(format!("token request failed: {}", e.without_url()))
        };
        let challenge = self
            .challenge
            .get_or_try_init(|| async {
                let probe = self
                    .http
                    .get(format!("{}/v2/", self.base))
                    .send()
                    .await
                    .map_err(failed)?;
                Ok::<_, Error>(
                    probe
                        .headers()
                        .get(reqwest::header::WWW_AUTHENTICATE)
                        .and_then(|h| h.to_str().ok())
                        .and_then(parse_challenge),
                )
            })
            .await?;
        let Some(challenge) = challenge else {
            return Ok(None);
        };
        let mut query: Vec<(&str, &str)> = scopes.iter().map(|s| ("scope", s.as_str())).collect();
        if let Some(service) = &challenge.service {
            query.push(("service", service));
        }
        let mut request = self.http.get(&challenge.realm).query(&query);
        if let RegistryAuth::Basic(user, password) = &self.auth {
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
        Ok(Some((token, lifetime)))
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
}
