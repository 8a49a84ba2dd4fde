//! Pushing to a registry without waste: each blob is HEAD-checked and skipped when present, else
//! mounted from the source repository when both live on the same registry (under token auth with
//! one token for `pull` on the source and `pull,push` here, as Docker asks; a `202` or a refusal
//! falls back to an upload), else streamed in one monolithic request; the manifest goes last, as the exact
//! bytes that were hashed. Transient failures (5xx, resets mid-body, timeouts) are retried with
//! backoff in a new upload session, re-reading the blob from its start. The timeout bounds how long
//! an upload may make no progress, never how long a steadily flowing upload may take.

use std::io::Read;
use std::sync::Arc;

use oci_spec::distribution::Reference;

use oci_spec::image::Descriptor;

use crate::error::{Error, Kind, Result};
use crate::layer::digest::Digest;
use crate::mutate::index::Index;
use crate::sink::layout::untagged;
use crate::sink::{Opener, Sink};
use crate::source::manifest::OCI_INDEX;
use crate::source::distribution::manifests::Referrers;
use crate::source::registry::{referrers_tag, Activity, RegistryOptions, Remote};

/// Upload chunk size: small enough that a slow but live link hands over a chunk well within the
/// timeout (64 KiB per 60 s is 1 KiB/s), so only a stalled upload times out.
const CHUNK: usize = 64 << 10;

/// A registry repository being pushed to.
pub struct RegistrySink {
    remote: Remote,
    /// Whether the registry has the referrers API, once asked.
    referrers_api: Option<bool>,
}

impl RegistrySink {
    /// Connects to `reference`'s registry to push to it (every request, the HEAD checks too,
    /// asks a `pull,push` token, so one token serves the whole push); nothing is sent yet.
    pub fn connect(reference: &str, opts: &RegistryOptions) -> Result<RegistrySink> {
        let remote = Remote::connect_for_push(reference, opts)?;
        Ok(RegistrySink {
            remote,
            referrers_api: None,
        })
    }
}

/// Streams a reader as the body of an upload, read on a helper thread in 64 KiB chunks; each
/// chunk the connection takes counts as progress on `activity`, and the end of the `size` bytes
/// gives the registry time to receive what is still buffered.
fn body(
    reader: Box<dyn Read + Send>,
    size: u64,
    activity: Arc<Activity>,
) -> impl futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Send + 'static {
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
            Err(e) => Err(e),
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
        if http::HeaderValue::from_str(media_type).is_err() {
            return Err(Error::invalid(format!(
                "invalid manifest media type {media_type:?}"
            )));
        }
        let name = at.digest().or(at.tag()).unwrap_or("latest").to_string();
        remote.retry("pushing the manifest", || {
            remote.client.put_manifest(&name, bytes.to_vec(), media_type)
        })?;
        Ok(())
    }

    /// Whether the registry has the referrers API: asked once, by `GET
    /// /v2/<name>/referrers/<subject>`, whose 404 means it has not and 200 that it has (as
    /// the distribution spec says); any other answer is an error.
    fn has_referrers_api(&mut self, subject: &Digest) -> Result<bool> {
        if let Some(known) = self.referrers_api {
            return Ok(known);
        }
        let remote = &self.remote;
        let name = subject.to_string();
        let answer = remote.retry("asking for the referrers API", || {
            remote.client.referrers(&name)
        })?;
        let known = matches!(answer, Referrers::Index(_));
        self.referrers_api = Some(known);
        Ok(known)
    }
}

impl Sink for RegistrySink {
    fn has_blob(&mut self, digest: &Digest) -> Result<bool> {
        let remote = &self.remote;
        let digest = digest.to_string();
        remote.retry(&format!("checking blob {digest}"), || {
            remote.client.has_blob(&digest)
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
        // 201 means mounted; anything else (202 "upload instead", a refusal, a failure to get
        // the token for both repositories) falls back to an upload.
        let digest = digest.to_string();
        Ok(remote
            .run(remote.client.mount(&digest, from.repository()))
            .unwrap_or(false))
    }

    fn put_blob(&mut self, digest: &Digest, size: u64, open: &mut Opener<'_>) -> Result<()> {
        let remote = &self.remote;
        let digest = digest.to_string();
        // Every attempt opens a new upload session and sends the blob from its first byte.
        remote.retry_prepared(&format!("uploading {digest}"), || {
            let stream = body(open()?, size, remote.activity.clone());
            Ok(remote.client.upload(&digest, size, stream))
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
        let tag = referrers_tag(&remote.reference, subject);
        let mut index = match remote.manifest(&tag) {
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
