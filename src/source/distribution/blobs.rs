//! Blobs: HEAD (is it there), GET (streamed by the caller, or whole when small), a
//! cross-repository mount (`POST ?mount=&from=`, in one token for both repositories), and a
//! monolithic upload (`POST` for a session, then one `PUT ?digest=` streaming every byte).

use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use reqwest::StatusCode;

use super::error::without_query;
use super::{expect, Client, Failure};

impl Client {
    /// Whether the repository has the blob `digest` (HEAD: 200 yes, 404 no).
    pub async fn has_blob(&self, digest: &str) -> Result<bool, Failure> {
        let request = self.http.head(self.url(&format!("blobs/{digest}")));
        let response = self.send(request).await?;
        match response.status() {
            StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(Failure::from_response(response).await),
        }
    }

    /// GETs the blob `digest`: the response, whose body the caller streams (redirects to
    /// storage are followed, without the registry's credentials).
    pub async fn blob(&self, digest: &str) -> Result<reqwest::Response, Failure> {
        let request = self.http.get(self.url(&format!("blobs/{digest}")));
        expect(self.send(request).await?, StatusCode::OK).await
    }

    /// GETs the whole blob `digest` (a config: small, checked by the caller).
    pub async fn blob_bytes(&self, digest: &str) -> Result<bytes::Bytes, Failure> {
        Ok(self.blob(digest).await?.bytes().await?)
    }

    /// Asks the registry to mount `digest` from `from` (a repository of the same registry),
    /// under one token with `pull` on `from` and `pull,push` here, as Docker asks; whether it
    /// did (`201`). Any other answer (`202` opens an upload instead, as ECR does; a refusal)
    /// means the blob is to be uploaded.
    pub async fn mount(&self, digest: &str, from: &str) -> Result<bool, Failure> {
        let mut scopes = vec![format!("repository:{from}:pull")];
        scopes.extend(self.scopes.iter().cloned());
        let request = self
            .http
            .post(self.url("blobs/uploads/"))
            .query(&[("mount", digest), ("from", from)])
            .header(CONTENT_LENGTH, 0);
        let response = self.send_for(request, &scopes).await?;
        Ok(response.status() == StatusCode::CREATED)
    }

    /// Opens an upload session: the URL to send the blob to.
    async fn begin_upload(&self) -> Result<reqwest::Url, Failure> {
        // Some registries want a length even on an empty POST.
        let request = self
            .http
            .post(self.url("blobs/uploads/"))
            .header(CONTENT_LENGTH, 0);
        let response = expect(self.send(request).await?, StatusCode::ACCEPTED).await?;
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .ok_or_else(|| {
                Failure::Protocol(format!(
                    "{}: an upload session without a Location",
                    without_query(response.url().as_str())
                ))
            })?;
        // A relative Location is relative to the request's URL.
        response
            .url()
            .join(location)
            .map_err(|e| Failure::Protocol(format!("an upload Location that is no URL: {e}")))
    }

    /// Uploads the blob `digest` of `size` bytes in one request streaming `body`, in a new
    /// upload session.
    pub async fn upload<S>(&self, digest: &str, size: u64, body: S) -> Result<(), Failure>
    where
        S: futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Send + 'static,
    {
        let mut url = self.begin_upload().await?;
        url.query_pairs_mut().append_pair("digest", digest);
        let request = self
            .http
            .put(url)
            .header(CONTENT_LENGTH, size)
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(reqwest::Body::wrap_stream(body));
        expect(self.send(request).await?, StatusCode::CREATED).await?;
        Ok(())
    }
}
