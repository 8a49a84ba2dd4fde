//! strata's own client of the OCI distribution API, on reqwest and rustls: one [`Client`] per
//! repository of a registry, asking each request's authorization ([`auth`]), over an HTTP client
//! that trusts the registry's certs.d CAs and presents its client certificate ([`transport`]).
//! Manifests and tags are in [`manifests`], blobs and uploads in [`blobs`], a blob's body resumed
//! through resets, truncation and trickles in [`resume`]; a failed request is a
//! [`Failure`] (status and error envelope, or the transport's error) for the caller to classify
//! and retry. Operations are `async`; [`crate::source::registry`] runs them on its runtime.

pub mod auth;
pub mod blobs;
pub mod error;
pub mod manifests;
pub mod resume;
pub mod transport;

pub use auth::Credentials;
pub use error::Failure;

use auth::Authorizer;

/// One repository of one registry, and how to authorize requests to it.
pub struct Client {
    http: reqwest::Client,
    /// `SCHEME://HOST[:PORT]`.
    base: String,
    /// The repository's path, e.g. `team/app`.
    repository: String,
    /// The scopes every request of this client asks a token for.
    scopes: Vec<String>,
    auth: Authorizer,
}

impl Client {
    /// A client of `repository` at `base` (`SCHEME://HOST[:PORT]`) over `http`; with `push`,
    /// its token scope is `pull,push` for every request (so one token serves the whole push),
    /// else `pull`. Nothing is sent yet.
    pub fn new(
        http: reqwest::Client,
        base: String,
        repository: String,
        push: bool,
        credentials: Credentials,
    ) -> Client {
        let actions = if push { "pull,push" } else { "pull" };
        Client {
            auth: Authorizer::new(credentials, http.clone()),
            scopes: vec![format!("repository:{repository}:{actions}")],
            http,
            base,
            repository,
        }
    }

    /// The URL of `tail` under this repository (`/v2/REPOSITORY/TAIL`).
    fn url(&self, tail: &str) -> String {
        format!("{}/v2/{}/{tail}", self.base, self.repository)
    }

    /// Sends `request`, authorized for this client's scopes.
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, Failure> {
        self.send_for(request, &self.scopes).await
    }

    /// Sends `request`, authorized for `scopes`.
    async fn send_for(
        &self,
        request: reqwest::RequestBuilder,
        scopes: &[String],
    ) -> Result<reqwest::Response, Failure> {
        let request = self
            .auth
            .authorize(request, &self.http, &self.base, scopes)
            .await?;
        Ok(request.send().await?)
    }
}

/// `response` when its status is `expected`, else the failure it stands for.
async fn expect(
    response: reqwest::Response,
    expected: reqwest::StatusCode,
) -> Result<reqwest::Response, Failure> {
    if response.status() == expected {
        Ok(response)
    } else {
        Err(Failure::from_response(response).await)
    }
}
