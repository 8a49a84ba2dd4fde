//! Pushing to a registry without waste: each blob is HEAD-checked and skipped when present, else
//! mounted from the source repository when both live on the same registry (under token auth with
//! one token for `pull` on the source and `pull,push` here, as Docker asks; a `202` or a refusal
//! falls back to an upload), else streamed in one monolithic request; the manifest goes last, as the exact
//! bytes that were hashed. Transient failures (5xx, resets mid-body, timeouts) are retried with
//! backoff in a new upload session, re-reading the blob from its start. The timeout bounds how long
//! an upload may make no progress, never how long a steadily flowing upload may take.

use std::io::Read;
use std::sync::Arc;

use oci_client::errors::OciDistributionError;
use oci_client::token_cache::{RegistryToken, RegistryTokenType};
use oci_client::{Reference, RegistryOperation};

use oci_spec::image::Descriptor;

use crate::error::{Error, Kind, Result};
use crate::layer::digest::Digest;
use crate::mutate::index::Index;
use crate::sink::layout::untagged;
use crate::sink::{Opener, Sink};
use crate::source::manifest::OCI_INDEX;
use crate::source::registry::{Activity, RegistryOptions, Remote};
use crate::source::token::Tokens;

/// Upload chunk size: small enough that a slow but live link hands over a chunk well within the
/// timeout (64 KiB per 60 s is 1 KiB/s), so only a stalled upload times out.
const CHUNK: usize = 64 << 10;

/// A registry repository being pushed to.
pub struct RegistrySink {
    remote: Remote,
    /// Tokens for mounts, whose scope set oci-client does not ask for.
    tokens: Tokens,
    /// Whether the registry has the referrers API, once asked.
    referrers_api: Option<bool>,
}

impl RegistrySink {
    /// Connects to `reference`'s registry and authenticates for pushing.
    pub fn connect(reference: &str, opts: &RegistryOptions) -> Result<RegistrySink> {
        let remote = Remote::connect_for_push(reference, opts)?;
        let token = remote.retry("authenticating to push", || {
            remote
                .client
                .auth(&remote.reference, &remote.auth, RegistryOperation::Push)
        })?;
        // The push token (`pull,push`) also serves the HEAD checks, which oci-client would ask
        // a pull token of their own for.
        if let Some(token) = token {
            remote.set_token(RegistryOperation::Pull, token);
        }
        let tokens = Tokens::new(
            remote.base.clone(),
            &remote.cas,
            opts.insecure,
            remote.auth.clone(),
            opts.timeout,
        )?;
        Ok(RegistrySink {
            remote,
            tokens,
            referrers_api: None,
        })
    }
}

impl Remote {
    /// Makes oci-client use `token` for `operation` on this repository.
    fn set_token(&self, operation: RegistryOperation, token: String) {
        let token = RegistryTokenType::Bearer(RegistryToken::Token { token });
        self.runtime
            .block_on(self.client.tokens.insert(&self.reference, operation, token));
    }
}

/// Streams a reader as the body of an upload, read on a helper thread in 64 KiB chunks; each
/// chunk the connection takes counts as progress on `activity`, and the end of the `size` bytes
/// gives the registry time to receive what is still buffered.
fn body(
    reader: Box<dyn Read + Send>,
    size: u64,
    activity: Arc<Activity>,
) -> impl futures_util::Stream<Item = std::result::Result<bytes::Bytes, OciDistributionError>> {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let mut reader = reader.take(size);
    std::thread::spawn(move || loop {
        let mut buf = vec![0u8; CHUNK];
        let item = match reader.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                buf.truncate(n);
                Ok(bytes::Bytes::from(buf))
            }
            Err(e) => Err(OciDistributionError::IoError(e)),
        };
        let failed = item.is_err();
        if tx.blocking_send(item).is_err() || failed {
            return;
        }
    });
    futures_util::stream::unfold((rx, 0u64), move |(mut rx, sent)| {
        activity.touch();
        let activity = activity.clone();
        async move {
            let item = rx.recv().await?;
            let sent = sent + item.as_ref().map_or(0, |b| b.len() as u64);
            // The client stops asking once it has `size` bytes: the last chunk is the end.
            if sent >= size {
                activity.uploaded(size);
            }
            Some((item, (rx, sent)))
        }
    })
}

impl RegistrySink {
    /// Pushes `bytes` as the manifest `at` names (a tag or a digest of this repository).
    fn push_manifest_to(&self, at: &Reference, bytes: &[u8], media_type: &str) -> Result<()> {
        let remote = &self.remote;
        let content_type = http::HeaderValue::from_str(media_type)
            .map_err(|_| Error::invalid(format!("invalid manifest media type {media_type:?}")))?;
        remote.retry("pushing the manifest", || {
            remote
                .client
                .push_manifest_raw(at, bytes.to_vec(), content_type.clone())
        })?;
        Ok(())
    }

    /// Whether the registry has the referrers API: asked once, by `GET
    /// /v2/<name>/referrers/<subject>`, whose 404 means it has not, 200 or 400 that it has (as
    /// the distribution spec says); any other answer is an error.
    fn has_referrers_api(&mut self, subject: &Digest) -> Result<bool> {
        if let Some(known) = self.referrers_api {
            return Ok(known);
        }
        let remote = &self.remote;
        let repository = remote.reference.repository();
        let scopes = [format!("repository:{repository}:pull")];
        let path = format!("/v2/{repository}/referrers/{subject}");
        let status = remote.runtime.block_on(self.tokens.probe(&path, &scopes))?;
        let known = match status {
            404 => false,
            200..=299 | 400 => true,
            other => {
                return Err(Error::Registry(format!(
                    "{}: asking for its referrers API got HTTP {other}",
                    self.describe()
                )))
            }
        };
        self.referrers_api = Some(known);
        Ok(known)
    }
}

impl Sink for RegistrySink {
    fn has_blob(&mut self, digest: &Digest) -> Result<bool> {
        let remote = &self.remote;
        let digest = digest.to_string();
        remote.retry(&format!("checking blob {digest}"), || {
            remote.client.blob_exists(&remote.reference, &digest)
        })
    }

    fn mount_blob(&mut self, digest: &Digest, origin: Option<&str>) -> Result<bool> {
        let remote = &self.remote;
        // Only a repository of the same registry can lend a blob.
        let from = origin
            .and_then(|s| s.trim_start_matches("docker://").parse::<Reference>().ok())
            .filter(|s| {
                s.resolve_registry() == remote.reference.resolve_registry()
                    && s.repository() != remote.reference.repository()
            });
        let Some(from) = from else {
            return Ok(false);
        };
        // Under token auth the mount needs pull on the source in the push token, as Docker
        // asks for it; a failure to get one means an upload, as a refused mount does.
        let scopes = [
            format!("repository:{}:pull", from.repository()),
            format!("repository:{}:pull,push", remote.reference.repository()),
        ];
        match remote.runtime.block_on(self.tokens.token(&scopes)) {
            Ok(Some(token)) => remote.set_token(RegistryOperation::Push, token),
            Ok(None) => {}
            Err(_) => return Ok(false),
        }
        // 201 means mounted; anything else (202 "upload instead", 404) falls back to an upload.
        Ok(remote
            .run(
                remote
                    .client
                    .mount_blob(&remote.reference, &from, &digest.to_string()),
            )
            .is_ok())
    }

    fn put_blob(&mut self, digest: &Digest, size: u64, open: &mut Opener<'_>) -> Result<()> {
        let remote = &self.remote;
        let digest = digest.to_string();
        // Every attempt opens a new upload session and sends the blob from its first byte.
        remote.retry_prepared(&format!("uploading {digest}"), || {
            let stream = body(open()?, size, remote.activity.clone());
            Ok(remote
                .client
                .push_blob_stream(&remote.reference, stream, &digest, Some(size)))
        })?;
        Ok(())
    }

    fn put_manifest(&mut self, bytes: &[u8], media_type: &str) -> Result<Digest> {
        self.push_manifest_to(&self.remote.reference, bytes, media_type)?;
        Ok(Digest::sha256_of(bytes))
    }

    fn put_untagged(&mut self, bytes: &[u8], media_type: &str) -> Result<Digest> {
        let digest = Digest::sha256_of(bytes);
        self.push_manifest_to(
            &self.remote.reference.clone_with_digest(digest.to_string()),
            bytes,
            media_type,
        )?;
        Ok(digest)
    }

    /// A registry with the referrers API indexes a pushed referrer by its `subject`; one
    /// without (it answers the API with 404) gets the referrer added to the index tagged
    /// `sha256-<hex of subject>`, the distribution spec's tag schema.
    fn add_referrer(&mut self, subject: &Digest, referrer: &Descriptor) -> Result<()> {
        if self.has_referrers_api(subject)? {
            return Ok(());
        }
        let remote = &self.remote;
        let tag = Reference::with_tag(
            remote.reference.registry().to_string(),
            remote.reference.repository().to_string(),
            subject.to_string().replace(':', "-"),
        );
        let existing = remote.retry("fetching the referrers tag", || {
            remote
                .client
                .pull_manifest_raw(&tag, &remote.auth, &[OCI_INDEX])
        });
        let mut index = match existing {
            Ok((bytes, _)) => Index::parse(&bytes, "the referrers tag index")?,
            Err(e) if e.kind() == Kind::NotFound => Index::new(),
            Err(e) => return Err(e),
        };
        index.put(untagged(referrer));
        self.push_manifest_to(&tag, &index.to_bytes()?, OCI_INDEX)
    }

    fn describe(&self) -> String {
        format!("docker://{}", self.remote.reference)
    }
}
