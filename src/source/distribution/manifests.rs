//! Manifests and tags: GET and HEAD of a manifest by tag or digest (accepting OCI and Docker
//! manifests and indexes), PUT of a manifest's exact bytes, and one page of the tag list (after
//! a tag, or at the `Link: <…>; rel="next"` the page before named, on the registry's own origin).

use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::StatusCode;

use super::{expect, Client, Failure};
use crate::source::manifest::{ACCEPTED_MANIFEST_TYPES, OCI_INDEX};

/// The header naming a manifest's digest.
const DIGEST_HEADER: &str = "Docker-Content-Digest";

/// A manifest as the registry served it.
pub struct Fetched {
    /// Its exact bytes (what its digest is of).
    pub bytes: bytes::Bytes,
    /// The digest the registry claims for it, if it said.
    pub digest: Option<String>,
    /// Its `Content-Type`.
    pub media_type: Option<String>,
}

/// The referrers API's answer: a registry without it, or its index of a subject's referrers.
pub enum Referrers {
    /// The registry has no referrers API: referrers live under the `sha256-<hex>` tag.
    NoApi,
    /// The image index listing the referrers (exact bytes as served).
    Index(bytes::Bytes),
}

/// What a HEAD of a manifest tells without its bytes.
pub struct Described {
    /// The digest the registry names.
    pub digest: Option<String>,
    /// Its `Content-Type`.
    pub media_type: Option<String>,
    /// Its size in bytes.
    pub size: Option<u64>,
}

/// A header's value as text, if it has a valid one.
fn header(
    response: &reqwest::Response,
    name: impl reqwest::header::AsHeaderName,
) -> Option<String> {
    let value = response.headers().get(name)?.to_str().ok()?;
    Some(value.to_string())
}

#[derive(serde::Deserialize)]
struct TagList {
    tags: Option<Vec<String>>,
}

/// One page of a repository's tags.
pub struct TagPage {
    /// The page's tags, in the registry's order.
    pub tags: Vec<String>,
    /// The next page's URL, as the registry's `Link` header named it (on its own origin only,
    /// since the request carries the registry's credentials).
    pub next: Option<reqwest::Url>,
}

/// Where a page of tags starts.
pub enum After<'a> {
    /// At the first tag.
    Start,
    /// After this tag (`last=`).
    Tag(&'a str),
    /// At the URL the page before named.
    Link(&'a reqwest::Url),
}

/// The URL of the `rel="next"` entry of a `Link` header.
fn next_link(header: &str) -> Option<&str> {
    header.split(',').find_map(|link| {
        let (target, params) = link.trim().split_once(';')?;
        let next = params
            .split(';')
            .any(|p| matches!(p.trim().replace('"', "").as_str(), "rel=next"));
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        next.then_some(target)
    })
}

impl Client {
    /// A request for the manifest `reference` (a tag or a digest), accepting every image
    /// manifest and index type.
    fn manifest_request(
        &self,
        method: reqwest::Method,
        reference: &str,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(&format!("manifests/{reference}")))
            .header(ACCEPT, ACCEPTED_MANIFEST_TYPES.join(", "))
    }

    /// GETs the manifest `reference` names.
    pub async fn manifest(&self, reference: &str) -> Result<Fetched, Failure> {
        let request = self.manifest_request(reqwest::Method::GET, reference);
        let response = expect(self.send(request).await?, StatusCode::OK).await?;
        let digest = header(&response, DIGEST_HEADER);
        let media_type = header(&response, CONTENT_TYPE);
        let bytes = response.bytes().await?;
        Ok(Fetched {
            bytes,
            digest,
            media_type,
        })
    }

    /// HEADs the manifest `reference` names; `None` when the registry has none (404).
    pub async fn head_manifest(&self, reference: &str) -> Result<Option<Described>, Failure> {
        let request = self.manifest_request(reqwest::Method::HEAD, reference);
        let response = self.send(request).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = expect(response, StatusCode::OK).await?;
        Ok(Some(Described {
            digest: header(&response, DIGEST_HEADER),
            media_type: header(&response, CONTENT_TYPE),
            size: header(&response, CONTENT_LENGTH).and_then(|s| s.parse().ok()),
        }))
    }

    /// PUTs `bytes`, a manifest of `media_type`, as `reference` (a tag or its digest).
    pub async fn put_manifest(
        &self,
        reference: &str,
        bytes: Vec<u8>,
        media_type: &str,
    ) -> Result<(), Failure> {
        let request = self
            .http
            .put(self.url(&format!("manifests/{reference}")))
            .header(CONTENT_TYPE, media_type)
            .body(bytes);
        expect(self.send(request).await?, StatusCode::CREATED).await?;
        Ok(())
    }

    /// What the referrers API (`GET /v2/NAME/referrers/DIGEST`) lists for `digest`: a 404 is a
    /// registry without the API (the distribution spec forbids a 404 from one that has it).
    pub async fn referrers(&self, digest: &str) -> Result<Referrers, Failure> {
        let request = self
            .http
            .get(self.url(&format!("referrers/{digest}")))
            .header(ACCEPT, OCI_INDEX);
        let response = self.send(request).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(Referrers::NoApi);
        }
        let response = expect(response, StatusCode::OK).await?;
        Ok(Referrers::Index(response.bytes().await?))
    }

    /// One page of the repository's tags: at most `n`, starting where `after` says.
    pub async fn tags(&self, n: usize, after: &After<'_>) -> Result<TagPage, Failure> {
        let request = match after {
            After::Link(url) => self.http.get((*url).clone()),
            After::Start | After::Tag(_) => {
                let mut query = vec![("n", n.to_string())];
                if let After::Tag(last) = after {
                    query.push(("last", last.to_string()));
                }
                self.http.get(self.url("tags/list")).query(&query)
            }
        };
        let response = expect(self.send(request).await?, StatusCode::OK).await?;
        let next = header(&response, reqwest::header::LINK)
            .and_then(|link| response.url().join(next_link(&link)?).ok())
            .filter(|url| url.origin() == response.url().origin());
        let body = response.bytes().await?;
        let list: TagList = serde_json::from_slice(&body)
            .map_err(|e| Failure::Protocol(format!("the tag list is not JSON: {e}")))?;
        Ok(TagPage {
            tags: list.tags.unwrap_or_default(),
            next,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_is_the_links_rel_next() {
        assert_eq!(
            next_link(r#"</v2/app/tags/list?last=b&n=2>; rel="next""#),
            Some("/v2/app/tags/list?last=b&n=2")
        );
        assert_eq!(
            next_link(r#"<https://r/a?p=1>; rel="prev", <https://r/a?p=3>; rel=next"#),
            Some("https://r/a?p=3")
        );
        assert_eq!(next_link(r#"<https://r/a?p=1>; rel="prev""#), None);
        assert_eq!(next_link("garbage"), None);
    }
}
