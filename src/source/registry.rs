//! Images in a registry, through the `oci-client` crate: manifests (following indexes by platform),
//! the config, and layers streamed straight into the analysis, never written to disk.
//! Authentication comes from `--username/--password-stdin` or `~/.docker/config.json` (`auths` and
//! credential helpers). CAs beside the system store come from the registry's certs.d directories
//! or `--cert-dir` ([`crate::source::certs`]); loopback registries that do not speak TLS and
//! `--insecure` ones are spoken to over plain HTTP ([`crate::source::scheme`]). Transient failures
//! (5xx, resets, timeouts) are retried with backoff.

use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use crate::error::{Error, Kind, Result};
use crate::layer::digest::Digest;
use crate::layer::readahead::ChunkReader;
use crate::model::Image;
use crate::source::manifest::{
    choose_from_index, digest_of, image_from_manifest, parse_document, verify_blob, Document,
    FetchedManifest, ACCEPTED_MANIFEST_TYPES,
};
use crate::source::platform::Platform;
use crate::source::reference::Repository;
use crate::source::scheme;
use crate::source::LayerSource;

const ATTEMPTS: u32 = 4;
const MAX_INDEX_DEPTH: usize = 8;

/// How to reach and authenticate to registries.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Use plain HTTP (and accept any certificate) for every registry, not just loopback ones
    /// that do not speak TLS.
    pub insecure: bool,
    /// The directory of CAs (`*.crt`) and client certificates to use instead of the registry's
    /// certs.d directories (skopeo's `--cert-dir`).
    pub cert_dir: Option<std::path::PathBuf>,
    /// How long to wait for a connection, or for the next bytes of a response.
    pub timeout: Duration,
    /// Explicit credentials, which win over `~/.docker/config.json`.
    pub credentials: Option<(String, String)>,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            insecure: false,
            cert_dir: None,
            timeout: Duration::from_secs(60),
            credentials: None,
        }
    }
}

/// A connection to one repository of one registry (shared by the registry source and sink).
pub(crate) struct Remote {
    pub(crate) runtime: tokio::runtime::Runtime,
    pub(crate) client: Client,
    pub(crate) reference: Reference,
    /// How errors name what was asked for (the reference, or a repository without tag).
    label: String,
    pub(crate) auth: RegistryAuth,
    /// `SCHEME://HOST[:PORT]`: where the registry was found (for requests oci-client cannot make).
    pub(crate) base: String,
    /// The CAs (PEM) trusted beside the system store.
    pub(crate) cas: Vec<Vec<u8>>,
    /// The timeout the HTTP client does not enforce itself, so [`Remote::run`] enforces it as a
    /// limit on idle time (pushing: reqwest's read timeout runs from the start of a request, so
    /// it would cut off every blob upload that takes longer, however steadily its bytes flow).
    pub(crate) idle_limit: Option<Duration>,
    /// When the request in flight last made progress; an upload touches it for every chunk.
    pub(crate) activity: Arc<Activity>,
}

/// Bytes handed to a connection may still sit in kernel socket buffers (a few MiB on Linux)
/// when the last one is handed over; the answer comes once they drained, assumed at no less than
/// this many bytes per second.
const DRAIN_RATE: u64 = 64 << 10;
/// The most a connection is assumed to buffer (Linux's default `tcp_wmem` maximum).
const DRAIN_BYTES: u64 = 4 << 20;

/// When a request last made progress, so a timeout can bound idle time rather than total time.
pub(crate) struct Activity {
    origin: Instant,
    last_ms: AtomicU64,
    /// Idle time allowed on top of the limit (for draining the socket buffers after an upload).
    grace_ms: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            origin: Instant::now(),
            last_ms: AtomicU64::new(0),
            grace_ms: AtomicU64::new(0),
        }
    }

    /// Records progress now.
    pub(crate) fn touch(&self) {
        let now = self.origin.elapsed().as_millis() as u64;
        self.last_ms.store(now, Ordering::Relaxed);
    }

    /// Records that an upload of `bytes` handed over its last byte: the registry answers only
    /// once the kernel has sent what it still buffers, so waiting gets time for that.
    pub(crate) fn uploaded(&self, bytes: u64) {
        self.touch();
        let drain = bytes.min(DRAIN_BYTES) * 1000 / DRAIN_RATE;
        self.grace_ms.store(drain, Ordering::Relaxed);
    }

    fn begin(&self) {
        self.grace_ms.store(0, Ordering::Relaxed);
        self.touch();
    }

    /// How much longer a request may stay idle before it has stalled for `limit`.
    fn left(&self, limit: Duration) -> Option<Duration> {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        let grace = Duration::from_millis(self.grace_ms.load(Ordering::Relaxed));
        let idle = self.origin.elapsed().saturating_sub(last);
        (limit + grace).checked_sub(idle).filter(|d| !d.is_zero())
    }
}

/// Makes ring rustls's process-wide crypto provider, once, before the first HTTP client is made:
/// reqwest is built without a provider of its own (its default, aws-lc-rs, is a long C build),
/// and panics without one. A provider the embedding program installed first is kept.
fn install_tls_crypto() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        // An error means a provider is already installed, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The CAs (PEM) `registry` is given beyond the system store (see [`crate::source::certs`]); a
/// client certificate is refused, since oci-client's HTTP client cannot present one.
fn extra_roots(registry: &str, opts: &RegistryOptions) -> Result<Vec<Vec<u8>>> {
    let trust = crate::source::certs::for_registry(registry, opts.cert_dir.as_deref())?;
    if let Some(cert) = trust.client_certs.first() {
        return Err(Error::Registry(format!(
            "{registry}: client certificates are not supported yet ({})",
            cert.display()
        )));
    }
    Ok(trust.cas)
}

fn resolve_auth(reference: &Reference, opts: &RegistryOptions) -> RegistryAuth {
    if let Some((user, pass)) = &opts.credentials {
        return RegistryAuth::Basic(user.clone(), pass.clone());
    }
    let server = match reference.resolve_registry() {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" => "https://index.docker.io/v1/",
        other => other,
    };
    match docker_credential::get_credential(server) {
        Ok(docker_credential::DockerCredential::UsernamePassword(user, pass)) => {
            RegistryAuth::Basic(user, pass)
        }
        Ok(docker_credential::DockerCredential::IdentityToken(token)) => {
            RegistryAuth::Basic("<token>".into(), token)
        }
        Err(_) => RegistryAuth::Anonymous,
    }
}

/// Classifies a registry failure, once, into an error kind with a one-line message (never
/// credentials), and says whether trying again may help.
fn classify(e: &OciDistributionError) -> (Error, bool) {
    let not_found = |what: String| Error::NotFound {
        what,
        in_registry: true,
    };
    let by_status = |code: u16, what: String| match code {
        404 => not_found(what),
        401 | 403 => Error::Auth(what),
        _ => Error::Registry(what),
    };
    match e {
        OciDistributionError::ImageManifestNotFoundError(m) => {
            (not_found(format!("not found (404): {m}")), false)
        }
        OciDistributionError::AuthenticationFailure(m) => (
            Error::Auth(format!("authentication failed (401): {m}")),
            false,
        ),
        OciDistributionError::UnauthorizedError { url } => {
            (Error::Auth(format!("unauthorized (401) at {url}")), false)
        }
        OciDistributionError::ServerError { code, url, message } => (
            by_status(*code, format!("server error {code} at {url}: {message}")),
            *code >= 500 || *code == 429,
        ),
        OciDistributionError::RegistryError { envelope, url } => {
            let what = format!("registry error at {url}: {envelope}");
            let code =
                |wanted: &[OciErrorCode]| envelope.errors.iter().any(|e| wanted.contains(&e.code));
            let error = if code(&[
                OciErrorCode::ManifestUnknown,
                OciErrorCode::NameUnknown,
                OciErrorCode::BlobUnknown,
                OciErrorCode::NotFound,
            ]) {
                not_found(what)
            } else if code(&[OciErrorCode::Unauthorized, OciErrorCode::Denied]) {
                Error::Auth(what)
            } else {
                Error::Registry(what)
            };
            (error, code(&[OciErrorCode::Toomanyrequests]))
        }
        OciDistributionError::RequestError(r) => {
            if let Some(status) = r.status() {
                let transient = status.is_server_error() || status.as_u16() == 429;
                let what = format!("registry answered {status}");
                return (by_status(status.as_u16(), what), transient);
            }
            // Resets and broken pipes in the middle of a request (`is_request`) are transient.
            let transient = r.is_timeout() || r.is_connect() || r.is_request() || r.is_body();
            // reqwest's own message names only the URL; the cause is at the end of the chain.
            let mut cause: &dyn std::error::Error = r;
            while let Some(next) = cause.source() {
                cause = next;
            }
            let what = if r.is_timeout() {
                "timed out"
            } else if r.is_connect() {
                "cannot reach registry"
            } else {
                "connection failed"
            };
            // Upload URLs carry a long opaque session state in their query: the path suffices.
            let url = r.url().map_or("", |u| u.as_str());
            let url = url.split('?').next().unwrap_or(url);
            (
                Error::Registry(format!("{what}: {url}: {cause}")),
                transient,
            )
        }
        OciDistributionError::IoError(e) if e.kind() == io::ErrorKind::TimedOut => {
            (Error::Registry(format!("timed out: {e}")), true)
        }
        other => (Error::Registry(other.to_string()), false),
    }
}

/// The hint for a tag or repository the registry does not have.
fn missing_hint(repository: &Reference) -> String {
    format!(
        "check the name and tag: `strata history {}/{}` lists the repository's tags",
        repository.registry(),
        repository.repository()
    )
}

impl Remote {
    /// Connects to the registry of `reference` to read from it (nothing is sent until the first
    /// request).
    pub(crate) fn connect(reference: &str, opts: &RegistryOptions) -> Result<Remote> {
        Remote::connect_with(reference, opts, false)
    }

    /// Connects to the registry of `reference` to push to it: the timeout then bounds the idle
    /// time of each request (see [`Remote::idle_limit`]).
    pub(crate) fn connect_for_push(reference: &str, opts: &RegistryOptions) -> Result<Remote> {
        Remote::connect_with(reference, opts, true)
    }

    fn connect_with(reference: &str, opts: &RegistryOptions, push: bool) -> Result<Remote> {
        let reference: Reference = reference
            .parse()
            .map_err(|e| Error::usage(format!("invalid image reference {reference:?}: {e}")))?;
        Remote::connect_to(reference, opts, push)
    }

    fn connect_to(reference: Reference, opts: &RegistryOptions, push: bool) -> Result<Remote> {
        let registry = reference.resolve_registry().to_string();
        let connect_timeout = opts.timeout.min(Duration::from_secs(10));
        let plain = scheme::plain_http(&registry, opts.insecure, connect_timeout);
        let protocol = if plain {
            ClientProtocol::HttpsExcept(vec![registry.clone(), reference.registry().to_string()])
        } else {
            ClientProtocol::Https
        };
        let cas = extra_roots(reference.registry(), opts)?;
        let config = ClientConfig {
            protocol,
            accept_invalid_certificates: opts.insecure,
            extra_root_certificates: cas
                .iter()
                .map(|pem| Certificate {
                    encoding: CertificateEncoding::Pem,
                    data: pem.clone(),
                })
                .collect(),
            connect_timeout: Some(connect_timeout),
            read_timeout: (!push).then_some(opts.timeout),
            // Blobs are uploaded in one streamed request, never in 4 MiB chunks.
            use_monolithic_push: true,
            ..Default::default()
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| Error::Registry(format!("cannot start the network runtime: {e}")))?;
        let auth = resolve_auth(&reference, opts);
        install_tls_crypto();
        // `Client::new` would fall back to a default client on a bad CA file: refuse it instead.
        let client = Client::try_from(config).map_err(|e| {
            Error::usage(format!(
                "{}: cannot use its CA certificates: {e}",
                reference.registry()
            ))
        })?;
        Ok(Remote {
            runtime,
            client,
            base: format!("{}://{registry}", if plain { "http" } else { "https" }),
            cas,
            label: reference.to_string(),
            reference,
            auth,
            idle_limit: push.then_some(opts.timeout),
            activity: Arc::new(Activity::new()),
        })
    }

    /// Runs one request to completion; with an idle limit, fails it once it has made no
    /// progress for that long.
    pub(crate) fn run<T>(
        &self,
        request: impl std::future::Future<Output = std::result::Result<T, OciDistributionError>>,
    ) -> std::result::Result<T, OciDistributionError> {
        let Some(limit) = self.idle_limit else {
            return self.runtime.block_on(request);
        };
        self.activity.begin();
        let stalled = async {
            while let Some(left) = self.activity.left(limit) {
                tokio::time::sleep(left).await;
            }
        };
        self.runtime.block_on(async {
            tokio::select! {
                done = request => done,
                () = stalled => Err(OciDistributionError::IoError(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no progress for {} s", limit.as_secs()),
                ))),
            }
        })
    }

    /// Runs `op` until it succeeds, fails for good, or runs out of attempts.
    pub(crate) fn retry<T, Fut>(&self, what: &str, op: impl Fn() -> Fut) -> Result<T>
    where
        Fut: std::future::Future<Output = std::result::Result<T, OciDistributionError>>,
    {
        self.retry_prepared(what, || Ok(op()))
    }

    /// Like [`Remote::retry`], for requests prepared afresh for each attempt (a blob upload
    /// re-opens its bytes from the start); a failure to prepare ends the retries.
    pub(crate) fn retry_prepared<T, Fut>(
        &self,
        what: &str,
        mut prepare: impl FnMut() -> Result<Fut>,
    ) -> Result<T>
    where
        Fut: std::future::Future<Output = std::result::Result<T, OciDistributionError>>,
    {
        let mut delay = Duration::from_millis(250);
        for attempt in 1..=ATTEMPTS {
            match self.run(prepare()?) {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let (error, transient) = classify(&e);
                    if !transient || attempt == ATTEMPTS {
                        return Err(error.context(format!("{}: {what}", self.label)));
                    }
                    std::thread::sleep(delay);
                    delay *= 2;
                }
            }
        }
        unreachable!("the last attempt returns")
    }

    fn manifest(&self, reference: &Reference) -> Result<(Vec<u8>, Digest)> {
        let (bytes, digest) = self
            .retry("fetching manifest", || {
                self.client
                    .pull_manifest_raw(reference, &self.auth, ACCEPTED_MANIFEST_TYPES)
            })
            .map_err(|e| match e.kind() {
                Kind::NotFound => e.with_hint(missing_hint(reference)),
                _ => e,
            })?;
        let computed = Digest::sha256_of(&bytes);
        if let Some(pinned) = reference.digest() {
            Digest::parse(pinned)?.verify(&computed, "manifest")?;
        } else if let Ok(claimed) = Digest::parse(&digest) {
            claimed.verify(&computed, "manifest")?;
        }
        Ok((bytes.to_vec(), computed))
    }

    fn small_blob(&self, digest: &Digest, size: u64, what: &str) -> Result<Vec<u8>> {
        if size > crate::source::files::MAX_METADATA_BYTES {
            return Err(Error::invalid(format!(
                "{what} {digest} claims {size} bytes, too large"
            )));
        }
        let descriptor = OciDescriptor {
            digest: digest.to_string(),
            size: size as i64,
            ..Default::default()
        };
        let bytes = self.retry(&format!("fetching {what}"), || async {
            let mut out = Vec::new();
            self.client
                .pull_blob(&self.reference, &descriptor, &mut out)
                .await
                .map(|_| out)
        })?;
        verify_blob(&bytes, digest, Some(size), what)?;
        Ok(bytes)
    }
}

impl Remote {
    /// Resolves `reference` to one image, following indexes by `platform`: manifests and config
    /// only, no layer. `name` is how the image is reported.
    fn image(&self, reference: &Reference, name: &str, platform: &Platform) -> Result<Image> {
        let mut current = reference.clone();
        for _ in 0..MAX_INDEX_DEPTH {
            let (bytes, digest) = self.manifest(&current)?;
            match parse_document(&bytes, &format!("manifest of {name}"))? {
                Document::Index(index) => {
                    let child = choose_from_index(&index, platform, name)?;
                    current = current.clone_with_digest(digest_of(child)?.to_string());
                }
                Document::Manifest(manifest) => {
                    let config_digest = digest_of(manifest.config())?;
                    let config =
                        self.small_blob(&config_digest, manifest.config().size(), "config")?;
                    let fetched = FetchedManifest {
                        digest,
                        bytes: &bytes,
                        manifest: &manifest,
                    };
                    return image_from_manifest(name.to_string(), fetched, &config);
                }
            }
        }
        Err(Error::invalid(format!(
            "{name}: image indexes nested too deeply"
        )))
    }
}

/// The layer source of `image`, streaming from `remote`.
fn layers_of(image: &Image, remote: Arc<Remote>) -> Box<dyn LayerSource> {
    Box::new(RegistryLayers {
        remote,
        digests: image.layers.iter().map(|l| l.digest.clone()).collect(),
    })
}

/// The digest of the manifest or index `reference` names now (a multi-platform tag resolves to its
/// index, as `docker pull` does), verified against the bytes: what a `FROM image:tag@sha256:...`
/// pins the tag to.
pub fn manifest_digest(reference: &str, opts: &RegistryOptions) -> Result<Digest> {
    let remote = Remote::connect(reference, opts)?;
    let (_, digest) = remote.manifest(&remote.reference)?;
    Ok(digest)
}

/// Resolves a registry reference to an image (manifests and config only) and a layer source.
pub fn open_registry(
    reference: &str,
    platform: &Platform,
    opts: &RegistryOptions,
) -> Result<(Image, Box<dyn LayerSource>)> {
    let remote = Remote::connect(reference, opts)?;
    let image = remote.image(&remote.reference, reference, platform)?;
    let layers = layers_of(&image, Arc::new(remote));
    Ok((image, layers))
}

/// A registry repository read by digest, for whole-index reads and copies (`--all-platforms`,
/// `copy --all`).
pub struct RegistryStore {
    remote: Arc<Remote>,
    name: String,
}

impl RegistryStore {
    /// Connects to the registry of `reference`; nothing is sent yet.
    pub fn connect(reference: &str, opts: &RegistryOptions) -> Result<RegistryStore> {
        Ok(RegistryStore {
            remote: Arc::new(Remote::connect(reference, opts)?),
            name: reference.to_string(),
        })
    }
}

impl crate::source::manifest::Store for RegistryStore {
    fn top(&self) -> Result<(Vec<u8>, String)> {
        let (bytes, _) = self.remote.manifest(&self.remote.reference)?;
        let media_type = crate::source::manifest::media_type_of(&bytes);
        Ok((bytes, media_type))
    }

    fn manifest(&self, digest: &Digest, size: Option<u64>) -> Result<Vec<u8>> {
        let at = self.remote.reference.clone_with_digest(digest.to_string());
        let (bytes, _) = self.remote.manifest(&at)?;
        verify_blob(&bytes, digest, size, "manifest")?;
        Ok(bytes)
    }

    fn open_blob(&self, digest: &Digest) -> Result<Box<dyn Read + Send>> {
        RegistryLayers {
            remote: self.remote.clone(),
            digests: vec![Some(digest.clone())],
        }
        .open_layer(0)
    }

    /// The referrers API, or (where the registry answers it with 404) the `sha256-<hex>` tag.
    fn referrers(&self, subject: &Digest) -> Result<Vec<oci_spec::image::Descriptor>> {
        let remote = &self.remote;
        let at = remote.reference.clone_with_digest(subject.to_string());
        let index = remote.retry(&format!("listing referrers of {subject}"), || {
            remote.client.pull_referrers(&at, None)
        })?;
        index
            .manifests
            .iter()
            .map(|entry| {
                serde_json::to_value(entry)
                    .and_then(serde_json::from_value)
                    .map_err(|e| Error::invalid(format!("referrer of {subject}: {e}")))
            })
            .collect()
    }

    fn origin(&self) -> Option<String> {
        Some(self.name.clone())
    }
}

/// Tags asked for per page of `/v2/<name>/tags/list`.
const TAGS_PER_PAGE: usize = 1000;

/// One repository of a registry, read tag by tag over a single connection: what `strata
/// history` walks.
pub struct RepositoryClient {
    remote: Arc<Remote>,
    repository: Repository,
}

impl RepositoryClient {
    /// Connects to `repository`'s registry; nothing is sent yet.
    pub fn connect(repository: &Repository, opts: &RegistryOptions) -> Result<RepositoryClient> {
        let mut remote = Remote::connect_to(tag_reference(repository, "latest"), opts, false)?;
        remote.label = repository.to_string();
        Ok(RepositoryClient {
            remote: Arc::new(remote),
            repository: repository.clone(),
        })
    }

    /// Every tag of the repository, in the registry's order, following the pagination of the
    /// distribution API (`n` and `last`).
    pub fn tags(&self) -> Result<Vec<String>> {
        let remote = &self.remote;
        collect_pages(|last| {
            let page = remote.retry("listing tags", || {
                remote
                    .client
                    .list_tags(&remote.reference, &remote.auth, Some(TAGS_PER_PAGE), last)
            })?;
            Ok(page.tags)
        })
    }

    /// Opens the image `tag` names (manifests and config only; layers stream on demand).
    pub fn open(&self, tag: &str, platform: &Platform) -> Result<(Image, Box<dyn LayerSource>)> {
        let reference = tag_reference(&self.repository, tag);
        let image = self
            .remote
            .image(&reference, &self.repository.tagged(tag), platform)?;
        let layers = layers_of(&image, self.remote.clone());
        Ok((image, layers))
    }
}

/// The reference of `tag` in `repository`.
fn tag_reference(repository: &Repository, tag: &str) -> Reference {
    Reference::with_tag(
        repository.registry().to_string(),
        repository.path().to_string(),
        tag.to_string(),
    )
}

/// Gathers a paginated list: each page is asked for after the last item of the one before, until
/// a page is empty or brings nothing new (registries that ignore `last` repeat the first page).
fn collect_pages(mut page: impl FnMut(Option<&str>) -> Result<Vec<String>>) -> Result<Vec<String>> {
    let mut all: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    loop {
        let items = page(all.last().map(String::as_str))?;
        let before = all.len();
        all.extend(items.into_iter().filter(|t| seen.insert(t.clone())));
        if all.len() == before {
            return Ok(all);
        }
    }
}

struct RegistryLayers {
    remote: Arc<Remote>,
    digests: Vec<Option<Digest>>,
}

impl LayerSource for RegistryLayers {
    fn is_remote(&self) -> bool {
        true
    }

    fn open_layer(&self, index: usize) -> Result<Box<dyn Read + Send>> {
        let digest = self.digests[index]
            .clone()
            .ok_or_else(|| Error::invalid("registry layer without a digest"))?;
        let descriptor = OciDescriptor {
            digest: digest.to_string(),
            ..Default::default()
        };
        let remote = &self.remote;
        let stream = remote.retry(&format!("fetching layer {digest}"), || {
            remote
                .client
                .pull_blob_stream(&remote.reference, &descriptor)
        })?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<io::Result<Vec<u8>>>(8);
        remote.runtime.spawn(async move {
            use futures_util::StreamExt;
            let mut stream = stream.stream;
            while let Some(chunk) = stream.next().await {
                let item = chunk.map(|b| b.to_vec()).map_err(io::Error::other);
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    return;
                }
            }
        });
        Ok(Box::new(ChunkReader::new(move || rx.blocking_recv())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A registry holding `tags`, answering pages of at most `per_page` after `last`
    /// (or ignoring `last` entirely).
    fn pages(tags: &[&str], per_page: usize, honours_last: bool) -> (Vec<String>, usize) {
        let mut requests = 0;
        let all = collect_pages(|last| {
            requests += 1;
            let start = match last {
                Some(l) if honours_last => tags.iter().position(|t| *t == l).map_or(0, |i| i + 1),
                _ => 0,
            };
            Ok(tags[start..]
                .iter()
                .take(per_page)
                .map(|t| t.to_string())
                .collect())
        })
        .unwrap();
        (all, requests)
    }

    fn envelope(code: &str) -> OciDistributionError {
        let json = format!(r#"{{"errors":[{{"code":"{code}","message":"m"}}]}}"#);
        OciDistributionError::RegistryError {
            envelope: serde_json::from_str(&json).unwrap(),
            url: "http://127.0.0.1:5000/v2/app/manifests/nope".into(),
        }
    }

    fn server(code: u16) -> OciDistributionError {
        OciDistributionError::ServerError {
            code,
            url: "http://127.0.0.1:5000/v2/app/manifests/v1".into(),
            message: "no".into(),
        }
    }

    /// What each failure oci-client reports becomes: kind, exit code, and whether it is retried.
    #[test]
    fn registry_failures_are_classified_once() {
        let timeout = || io::Error::new(io::ErrorKind::TimedOut, "no progress for 60 s");
        let cases: Vec<(OciDistributionError, Kind, bool)> = vec![
            (
                OciDistributionError::ImageManifestNotFoundError("v9".into()),
                Kind::NotFound,
                false,
            ),
            (envelope("MANIFEST_UNKNOWN"), Kind::NotFound, false),
            (envelope("NAME_UNKNOWN"), Kind::NotFound, false),
            (envelope("BLOB_UNKNOWN"), Kind::NotFound, false),
            (envelope("UNAUTHORIZED"), Kind::Auth, false),
            (envelope("DENIED"), Kind::Auth, false),
            (envelope("TOOMANYREQUESTS"), Kind::Registry, true),
            (envelope("MANIFEST_INVALID"), Kind::Registry, false),
            (server(404), Kind::NotFound, false),
            (server(401), Kind::Auth, false),
            (server(403), Kind::Auth, false),
            (server(429), Kind::Registry, true),
            (server(503), Kind::Registry, true),
            (server(400), Kind::Registry, false),
            (
                OciDistributionError::UnauthorizedError { url: "u".into() },
                Kind::Auth,
                false,
            ),
            (
                OciDistributionError::AuthenticationFailure("bad token".into()),
                Kind::Auth,
                false,
            ),
            (
                OciDistributionError::IoError(timeout()),
                Kind::Registry,
                true,
            ),
            (
                OciDistributionError::RegistryNoDigestError,
                Kind::Registry,
                false,
            ),
        ];
        for (failure, kind, transient) in cases {
            let shown = failure.to_string();
            let (error, retried) = classify(&failure);
            assert_eq!((error.kind(), retried), (kind, transient), "{shown}");
            assert_eq!(
                error.exit_code(),
                crate::error::ExitCode::Registry,
                "{shown}"
            );
            assert!(error.to_string().starts_with("registry: "), "{error}");
        }
        let (auth, _) = classify(&server(401));
        assert!(auth.hint().unwrap().contains("docker login"));
    }

    #[test]
    fn a_missing_manifest_hints_at_the_tag_list() {
        let reference: Reference = "127.0.0.1:5000/team/app:v9".parse().unwrap();
        assert_eq!(
            missing_hint(&reference),
            "check the name and tag: `strata history 127.0.0.1:5000/team/app` lists the repository's tags"
        );
    }

    #[test]
    fn tag_pages_are_followed_to_the_end() {
        let tags = ["a", "b", "c", "d", "e"];
        assert_eq!(pages(&tags, 2, true), (tags.map(String::from).to_vec(), 4));
        assert_eq!(pages(&tags, 10, true).0.len(), 5);
        // A registry that ignores `last` repeats its first page: the walk still ends.
        assert_eq!(
            pages(&tags, 10, false),
            (tags.map(String::from).to_vec(), 2)
        );
        assert_eq!(pages(&[], 10, true), (vec![], 1));
    }
}
