//! Who the distribution client says it is, as the registry asks: the `/v2/` probe, once per
//! connection, tells the scheme (`WWW-Authenticate`); a Bearer challenge means a token per scope
//! set from its realm ([`crate::source::token`]), a Basic one (or none) the credentials as they
//! are, and no credentials nothing at all. Credentials come from `--username/--password-stdin`
//! or `$DOCKER_CONFIG/config.json` (`auths` and credential helpers, through `docker_credential`).

use std::fmt;

use reqwest::header::{HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};

use super::error::Failure;
use crate::source::token::{parse_challenge, Challenge, Tokens};

/// What strata authenticates with to one registry.
#[derive(Clone, PartialEq)]
pub enum Credentials {
    /// No credentials: anonymous pulls, anonymous tokens.
    Anonymous,
    /// A user and password (or an identity token as the password), sent as Basic auth or to the
    /// token server.
    Basic {
        /// The user name.
        user: String,
        /// The password or identity token (never shown).
        password: String,
    },
}

/// Shows the user only, so a credential never reaches a log or an error by accident.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Anonymous => write!(f, "Anonymous"),
            Credentials::Basic { user, .. } => write!(f, "Basic({user}, <password>)"),
        }
    }
}

impl Credentials {
    /// The credentials for `registry` (the resolved host, `index.docker.io` for Docker Hub):
    /// `explicit` when given, else what the docker config or its helpers hold, else none.
    pub fn resolve(registry: &str, explicit: Option<&(String, String)>) -> Credentials {
        if let Some((user, password)) = explicit {
            return Credentials::Basic {
                user: user.clone(),
                password: password.clone(),
            };
        }
        let server = match registry {
            "index.docker.io" | "registry-1.docker.io" | "docker.io" => {
                "https://index.docker.io/v1/"
            }
            other => other,
        };
        match docker_credential::get_credential(server) {
            Ok(docker_credential::DockerCredential::UsernamePassword(user, password)) => {
                Credentials::Basic { user, password }
            }
            Ok(docker_credential::DockerCredential::IdentityToken(token)) => Credentials::Basic {
                user: "<token>".into(),
                password: token,
            },
            Err(_) => Credentials::Anonymous,
        }
    }
}

/// How the registry wants requests authorized, as its `/v2/` probe said.
enum Scheme {
    /// Credentials as they are (Basic), or nothing when there are none.
    Direct,
    /// A token from the challenge's realm.
    Bearer(Challenge),
}

/// The `Authorization` of one registry's requests.
pub(crate) struct Authorizer {
    credentials: Credentials,
    scheme: tokio::sync::OnceCell<Scheme>,
    tokens: Tokens,
}

impl Authorizer {
    /// Authorizes with `credentials`, asking tokens over `http`.
    pub(crate) fn new(credentials: Credentials, http: reqwest::Client) -> Authorizer {
        Authorizer {
            credentials,
            scheme: tokio::sync::OnceCell::new(),
            tokens: Tokens::new(http),
        }
    }

    /// The `Authorization` header for a request needing `scopes`, if any; the first call probes
    /// `base`'s `/v2/`.
    pub(crate) async fn header(
        &self,
        http: &reqwest::Client,
        base: &str,
        scopes: &[String],
    ) -> Result<Option<HeaderValue>, Failure> {
        let scheme = self
            .scheme
            .get_or_try_init(|| async {
                let probe = http.get(format!("{base}/v2/")).send().await?;
                let challenge = probe
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|h| h.to_str().ok())
                    .and_then(parse_challenge);
                Ok::<_, Failure>(challenge.map_or(Scheme::Direct, Scheme::Bearer))
            })
            .await?;
        let value = match (scheme, &self.credentials) {
            (Scheme::Bearer(challenge), credentials) => {
                let token = self
                    .tokens
                    .token(challenge, credentials, scopes)
                    .await
                    .map_err(Failure::Auth)?;
                format!("Bearer {token}")
            }
            (Scheme::Direct, Credentials::Basic { user, password }) => {
                use base64::Engine;
                let pair = format!("{user}:{password}");
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )
            }
            (Scheme::Direct, Credentials::Anonymous) => return Ok(None),
        };
        let mut value = HeaderValue::from_str(&value)
            .map_err(|_| Failure::Protocol("credentials that cannot be sent in a header".into()))?;
        value.set_sensitive(true);
        Ok(Some(value))
    }

    /// Adds the authorization for `scopes` to `request`.
    pub(crate) async fn authorize(
        &self,
        request: reqwest::RequestBuilder,
        http: &reqwest::Client,
        base: &str,
        scopes: &[String],
    ) -> Result<reqwest::RequestBuilder, Failure> {
        Ok(match self.header(http, base, scopes).await? {
            Some(value) => request.header(AUTHORIZATION, value),
            None => request,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_show_no_password() {
        let basic = Credentials::Basic {
            user: "alice".into(),
            password: "s3cret".into(),
        };
        assert_eq!(format!("{basic:?}"), "Basic(alice, <password>)");
        let given = ("bob".to_string(), "pw".to_string());
        assert_eq!(
            Credentials::resolve("r.example", Some(&given)),
            Credentials::Basic {
                user: "bob".into(),
                password: "pw".into()
            }
        );
    }
}
